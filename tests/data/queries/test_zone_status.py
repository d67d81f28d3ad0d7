"""Zone status: each rule sets the status it should, and says why in words a user can check."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from data.queries.zone_status import StatusLimits, zone_statuses
from data.store import Store
from tests.data.queries.small_city import build_small_city


def _status(store: Store, now, zone_id: str = "ZA"):
    return next(s for s in zone_statuses(store.cursor(), now) if s.zone_id == zone_id)


def test_a_quiet_zone_is_normal_and_says_what_was_checked():
    with Store(":memory:") as store:
        end = build_small_city(store)
        status = _status(store, end)
    assert status.status == "Normal"
    assert status.inflow_l_s == pytest.approx(0.05)
    assert status.pressure_bar == pytest.approx(3.0)
    assert "Pressure 3.0–3.0 bar, within the 1.5–7.5 bar band." in status.reasons
    assert any(r.startswith("Minimum night flow 0.05 L/s") for r in status.reasons)


def test_low_pressure_is_a_warning_with_the_sensor_and_the_limit():
    with Store(":memory:") as store:
        end = build_small_city(store, last_hour_pressure_bar=1.2)
        status = _status(store, end)
    assert status.status == "Warning"
    assert status.reasons[0] == "Pressure at ZA-P1 1.2 bar, below the 1.5 bar service minimum."


def test_pressure_below_the_critical_minimum_is_critical_and_limits_come_from_settings():
    with Store(":memory:") as store:
        end = build_small_city(store, last_hour_pressure_bar=1.2)
        strict = StatusLimits(pressure_min_bar=2.0, pressure_critical_bar=1.5)
        status = zone_statuses(store.cursor(), end, limits=strict)[0]
    assert status.status == "Critical"
    assert status.reasons[0] == "Pressure at ZA-P1 1.2 bar, below the 1.5 bar critical minimum."


def test_a_silent_inlet_is_a_warning():
    with Store(":memory:") as store:
        end = build_small_city(store)
        status = _status(store, end + timedelta(hours=3))
    assert status.status == "Warning"
    assert any(r.startswith("No reading from inlet ZA-INLET for 3.0 h") for r in status.reasons)


def test_a_silent_inlets_last_flow_is_not_shown_as_the_zones_inflow():
    with Store(":memory:") as store:
        end = build_small_city(store, inlet_flow_l_s=0.2)
        reporting = _status(store, end + timedelta(minutes=45))
        silent = _status(store, end + timedelta(minutes=90))
    assert reporting.inflow_l_s == pytest.approx(0.2)
    assert silent.inflow_l_s is None
    assert any(r.startswith("No reading from inlet ZA-INLET for 90 min") for r in silent.reasons)


def test_a_night_flow_well_above_typical_is_critical():
    with Store(":memory:") as store:
        end = build_small_city(store, last_night_flow_l_s=0.12)
        status = _status(store, end)
    assert status.status == "Critical"
    assert status.reasons[0].startswith("Minimum night flow 0.12 L/s on the night to 06 Jun")
    assert "+140% against the zone's typical 0.05 L/s" in status.reasons[0]


def test_a_night_flow_change_is_weighed_against_the_size_of_an_inlet_that_reads_below_zero():
    """An inlet installed against the water's way: 0.1 L/s less through it is a fifth of its night flow, not a
    rise from nothing."""
    with Store(":memory:") as store:
        end = build_small_city(store, inlet_flow_l_s=-0.5, last_night_flow_l_s=-0.4)
        status = _status(store, end)
    assert status.status == "Normal"
    assert any("+20% against the zone's typical -0.50 L/s" in r for r in status.reasons)


def test_open_alerts_count_and_their_worst_severity_sets_the_status():
    with Store(":memory:") as store:
        end = build_small_city(store)
        cur = store.cursor()
        cur.execute("CREATE TABLE alerts (zone_id VARCHAR, severity VARCHAR, state VARCHAR, kind VARCHAR, "
                    "explanation VARCHAR)")
        cur.execute("""INSERT INTO alerts VALUES
            ('ZA', 'warning', 'open', 'leak', 'Night flow up at ZA-R-1'),
            ('ZA', 'critical', 'acknowledged', 'burst', 'Burst suspected near ZA-INLET'),
            ('ZA', 'critical', 'resolved', 'burst', 'old burst, fixed')""")
        status = _status(store, end)
    assert status.status == "Critical"
    assert status.reasons[0] == "2 open alerts, worst critical: Burst suspected near ZA-INLET"


def test_a_zone_without_meters_is_a_warning_that_says_so_and_an_empty_store_has_no_zones():
    with Store(":memory:") as store:
        assert zone_statuses(store.cursor(), datetime(2024, 6, 1)) == []
        end = build_small_city(store)
        status = _status(store, end, "ZB")
    assert status.status == "Warning"
    assert status.reasons == ["No inlet flow meter in this zone: its inflow and night flow cannot be watched."]
    assert status.inflow_l_s is None and status.pressure_bar is None


def test_scope_limits_the_zones():
    with Store(":memory:") as store:
        end = build_small_city(store)
        statuses = zone_statuses(store.cursor(), end, scope=["ZA-R-1"])
    assert [s.zone_id for s in statuses] == ["ZA"]
    assert statuses[0].inflow_l_s is None  # the inlet is outside this user's scope


def test_limits_come_from_settings_and_contradictory_limits_are_refused():
    from dashapp.settings import SettingsError, load_settings

    settings = load_settings(environ={"WATERLINE_ZONE_PRESSURE_MIN_BAR": "2.0",
                                      "WATERLINE_NIGHT_FLOW_TYPICAL_NIGHTS": "7"})
    limits = StatusLimits.from_settings(settings)
    assert (limits.pressure_min_bar, limits.pressure_critical_bar, limits.typical_nights) == (2.0, 1.0, 7)
    with pytest.raises(SettingsError, match="critical <= min < max"):
        load_settings(environ={"WATERLINE_ZONE_PRESSURE_CRITICAL_BAR": "3.0"})
