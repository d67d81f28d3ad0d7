"""Alert queries: filters, scope (zone-level alerts included through their zone), zone status, series."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from alerts.lifecycle import acknowledge, raise_alerts, resolve
from data.queries.alerts import ZoneStatus as AlertZone
from data.queries.alerts import (
    alert_detail,
    alert_series,
    has_alerts,
    list_alerts,
    with_zone_rules,
    zone_status,
)
from data.queries.zone_status import ZoneStatus as RuledZone
from data.schema import DDL
from tests.alerts.builders import T0, alert_db, event, events

NOW = T0 + timedelta(hours=7)


def seeded():
    cur = alert_db()
    raise_alerts(cur, events(
        event("a", meter_id="Z1-R-0001", zone_id="Z1"),
        event("b", meter_id="Z1-INLET", zone_id="Z1", kind="burst", score=0.9),
        event("c", meter_id="ZONE:Z2", zone_id="Z2", kind="night_flow_rise", score=0.7),
        event("d", meter_id="Z2-R-0001", zone_id="Z2", kind="sensor_stuck"),
    ), NOW)
    return cur


def ids_of(frame):
    return sorted(frame["event_id"])


def test_a_store_without_alert_tables_answers_empty():
    cur = duckdb.connect(":memory:")
    cur.execute(DDL)
    assert not has_alerts(cur)
    assert list_alerts(cur).empty and alert_detail(cur, "AL-1") is None and zone_status(cur) == []


def test_filters_and_scope():
    cur = seeded()
    assert ids_of(list_alerts(cur)) == ["a", "b", "c", "d"]
    assert ids_of(list_alerts(cur, zones=["Z2"])) == ["c", "d"]
    assert ids_of(list_alerts(cur, severities=["critical"])) == ["b"]
    assert ids_of(list_alerts(cur, kinds=["burst", "sensor_stuck"])) == ["b", "d"]
    assert ids_of(list_alerts(cur, scope=["Z2-R-0001"])) == ["c", "d"]  # the zone's alert comes with its meter
    assert ids_of(list_alerts(cur, scope=["Z1-R-0001"])) == ["a"]
    assert list(list_alerts(cur)["event_id"])[0] == "b"  # critical first


def test_zone_status_is_the_worst_active_severity_and_info_stays_normal():
    cur = seeded()
    status = {z.zone_id: (z.status, z.open_alerts) for z in zone_status(cur)}
    assert status == {"Z1": ("critical", 2), "Z2": ("warning", 2)}
    burst = cur.execute("SELECT alert_id FROM alerts WHERE event_id = 'b'").fetchall()[0][0]
    acknowledge(cur, burst, "maria", NOW)
    assert {z.zone_id: z.status for z in zone_status(cur)}["Z1"] == "critical"  # acknowledged is still active
    resolve(cur, burst, "maria", NOW)
    assert {z.zone_id: z.status for z in zone_status(cur)}["Z1"] == "warning"
    zone_two = cur.execute("SELECT alert_id FROM alerts WHERE event_id = 'c'").fetchall()[0][0]
    resolve(cur, zone_two, "maria", NOW)
    assert {z.zone_id: z.status for z in zone_status(cur)}["Z2"] == "normal"  # only the info alert is left
    assert [z.zone_id for z in zone_status(cur, scope=["Z2-R-0001"])] == ["Z2"]


def test_detail_carries_the_history_in_order():
    cur = seeded()
    alert_id = cur.execute("SELECT alert_id FROM alerts WHERE event_id = 'a'").fetchall()[0][0]
    acknowledge(cur, alert_id, "maria", NOW + timedelta(minutes=1), note="on it")
    detail = alert_detail(cur, alert_id)
    assert [(h["action"], h["actor"]) for h in detail["history"]] == [("opened", "waterline"), ("acknowledged", "maria")]
    assert alert_detail(cur, alert_id, scope=["Z2-R-0001"]) is None


def test_series_reads_meter_rollups_in_the_window():
    cur = alert_db()
    hours = [T0 + timedelta(hours=h) for h in range(-72, 48)]
    cur.executemany("INSERT INTO meter_hourly VALUES ('Z1-R-0001', ?, ?, 0)", [[h, 10.0] for h in hours])
    series = alert_series(cur, "Z1-R-0001", "Z1", T0, T0 + timedelta(hours=6))
    assert series.unit == "L/h" and len(series.frame) == 48 + 6 + 24 + 1
    assert series.frame["hour"].min() == T0 - timedelta(hours=48) and series.frame["value"].sum() == 790.0


@pytest.mark.parametrize("quantity", ["interval_volume", "flow"])
def test_a_customers_interval_volume_or_flow_meter_is_charted_from_its_rollups_like_a_register(quantity):
    cur = alert_db()
    cur.execute("UPDATE meters SET quantity = ? WHERE meter_id = 'Z1-R-0001'", [quantity])
    cur.executemany("INSERT INTO meter_hourly VALUES ('Z1-R-0001', ?, 10.0, 0)", [[T0 + timedelta(hours=h)] for h in range(6)])
    series = alert_series(cur, "Z1-R-0001", "Z1", T0, T0 + timedelta(hours=5))
    assert series.unit == "L/h" and series.frame["value"].sum() == 60.0
    cur.execute("UPDATE meters SET category = 'inlet' WHERE meter_id = 'Z1-R-0001'")
    inlet = alert_series(cur, "Z1-R-0001", "Z1", T0, T0 + timedelta(hours=5))
    assert inlet.unit == ("L/h" if quantity == "interval_volume" else "L/s")  # an inlet's flow is the network's


def test_zone_rules_raise_a_zone_above_its_alerts_and_say_why_but_never_lower_it():
    alerts = [AlertZone("Z1", "Colle", "normal", 0, None), AlertZone("Z2", "Centro", "critical", 1, None),
              AlertZone("Z3", "Borgo", "warning", 1, None), AlertZone("Z4", "Zona", "normal", 0, None)]
    judged = [RuledZone("Z1", "Colle", "Critical", ["Minimum night flow +81%.", "Pressure fine."], None, None, None),
              RuledZone("Z2", "Centro", "Warning", ["Pressure low."], None, None, None),
              RuledZone("Z3", "Borgo", "Warning", ["1 open alert, worst warning: leak"], None, None, None)]
    merged = {z.zone_id: z for z in with_zone_rules(alerts, judged)}
    assert (merged["Z1"].status, merged["Z1"].reason, merged["Z1"].open_alerts) == ("critical", "Minimum night flow +81%.", 0)
    assert (merged["Z2"].status, merged["Z2"].reason) == ("critical", "")  # an alert's severity stands
    assert (merged["Z3"].status, merged["Z3"].reason) == ("warning", "")   # the rules saw that very alert
    assert merged["Z4"] == alerts[3]                                        # not judged: as the alerts say
