"""`pressure_out_of_band` read straight from constructed readings: one event per excursion of the water."""

from __future__ import annotations

import pandas as pd

from detection.features import Window
from detection.rules_sensor import pressure_out_of_band
from tests.detection import series as s

DAY = pd.Timedelta(days=1)
WINDOW = Window(s.START + 28 * DAY, s.START + 35 * DAY)
SURGE = (s.START + 30 * DAY + pd.Timedelta(hours=2), s.START + 30 * DAY + pd.Timedelta(hours=3))
SAG = (s.START + 32 * DAY + pd.Timedelta(hours=14), s.START + 32 * DAY + pd.Timedelta(hours=15))


def readings(changes: dict[str, list[tuple[tuple[pd.Timestamp, pd.Timestamp], float]]], zones: dict[str, str | None]
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    flow = s.inlet_flow(seed=5)
    frames = []
    for k, name in enumerate(zones):
        values = s.pressure(flow, seed=40 + k)
        for (start, end), bar in changes.get(name, []):
            values[(values.index >= start) & (values.index < end)] += bar
        frames.append(pd.DataFrame({"meter_id": name, "ts": values.index, "value": values.to_numpy()}))
    catalogue = pd.DataFrame({"meter_id": list(zones), "zone_id": list(zones.values()), "quantity": "pressure"})
    return pd.concat(frames, ignore_index=True), catalogue


def test_sensors_of_a_zone_leaving_their_band_together_are_one_zone_event():
    zones = {"Z-PA": "Z", "Z-PB": "Z", "Z-PC": "Z", "Y-PA": "Y"}
    surge = [(SURGE, 0.8)]
    pressures, catalogue = readings({"Z-PA": surge, "Z-PB": surge, "Z-PC": [(SAG, -0.8)], "Y-PA": surge}, zones)
    events = pressure_out_of_band(pressures, catalogue, WINDOW)
    assert sorted((e["meter_id"], e["start"]) for e in events) == [
        ("Y-PA", SURGE[0]), ("Z-PC", SAG[0]), ("ZONE:Z", SURGE[0])]
    zone = next(e for e in events if e["meter_id"] == "ZONE:Z")
    assert zone["zone_id"] == "Z" and zone["end"] == SURGE[1] - pd.Timedelta(minutes=15)
    assert zone["explanation"].startswith("Pressure above its usual band at 2 sensors of zone Z together (Z-PA, Z-PB)")
    assert next(e for e in events if e["meter_id"] == "Z-PC")["explanation"].startswith("Pressure below its usual band")
    assert {e["meter_id"]: e["concern"] for e in events} == {  # a sag may be water leaving; a surge is a pump
        "Y-PA": "operations", "Z-PC": "water_loss", "ZONE:Z": "operations"}


def test_sensors_without_a_zone_are_never_joined():
    zones = {"PA": None, "PB": None}
    pressures, catalogue = readings({"PA": [(SURGE, 0.8)], "PB": [(SURGE, 0.8)]}, zones)
    assert sorted(e["meter_id"] for e in pressure_out_of_band(pressures, catalogue, WINDOW)) == ["PA", "PB"]


def test_a_zone_above_and_below_its_band_from_the_same_minute_is_two_events_with_two_ids():
    zones = {"Z-PA": "Z", "Z-PB": "Z", "Z-PC": "Z", "Z-PD": "Z"}
    surge, sag = [(SURGE, 0.8)], [(SURGE, -0.8)]  # a valve between them closing: upstream rises, downstream falls
    pressures, catalogue = readings({"Z-PA": surge, "Z-PB": surge, "Z-PC": sag, "Z-PD": sag}, zones)
    events = pressure_out_of_band(pressures, catalogue, WINDOW)
    assert sorted((e["meter_id"], e["start"], e["concern"]) for e in events) == [
        ("ZONE:Z", SURGE[0], "operations"), ("ZONE:Z", SURGE[0], "water_loss")]
    assert len({e["event_id"] for e in events}) == 2
