"""Unit normalisation: every accepted unit lands in the canonical unit with the published factor."""

from __future__ import annotations

import numpy as np
import pytest

from data.units import QUANTITIES, conversion, is_consumption_meter, litres_to, resolve_quantity, to_canonical


@pytest.mark.parametrize(
    ("quantity", "unit", "value", "expected"),
    [
        # flow -> L/s
        ("flow", "L/s", 2.5, 2.5),
        ("flow", "L/min", 60.0, 1.0),
        ("flow", "m3/h", 3.6, 1.0),
        ("flow", "m3/h", 1.0, 1000 / 3600),
        ("flow", "US gpm", 60.0, 3.785411784),
        ("flow", "gpm", 1.0, 3.785411784 / 60),
        ("flow", "L/h", 36.0, 0.01),
        # register and interval volume -> L
        ("volume", "L", 123.0, 123.0),
        ("volume", "m3", 1.5, 1500.0),
        ("volume", "US gal", 1.0, 3.785411784),
        ("volume", "gal", 100.0, 378.5411784),
        ("volume", "ft3", 1.0, 28.316846592),
        ("interval_volume", "m3", 0.25, 250.0),
        ("interval_volume", "US gal", 10.0, 37.85411784),
        ("interval_volume", "ft3", 2.0, 56.633693184),
        # pressure -> bar
        ("pressure", "bar", 3.2, 3.2),
        ("pressure", "kPa", 350.0, 3.5),
        ("pressure", "psi", 1.0, 0.0689475729),
        ("pressure", "psi", 58.0, 58 * 0.0689475729),
        ("pressure", "m head", 10.0, 0.980665),
        ("pressure", "m", 10.0, 0.980665),
        ("pressure", "mbar", 3500.0, 3.5),
        ("pressure", "MPa", 0.35, 3.5),
        # level
        ("level", "m", 4.2, 4.2),
        ("level", "cm", 420.0, 4.2),
        ("level_pct", "%", 55.0, 55.0),
        # weather
        ("air_temperature", "degC", 21.5, 21.5),
        ("air_temperature", "degF", 32.0, 0.0),
        ("air_temperature", "degF", 212.0, 100.0),
        ("air_temperature", "degF", -40.0, -40.0),
        ("air_temperature", "K", 273.15, 0.0),
        ("rainfall", "mm", 12.0, 12.0),
        ("rainfall", "in", 1.0, 25.4),
        ("humidity", "%", 80.0, 80.0),
        ("wind_speed", "km/h", 18.0, 18.0),
        ("wind_speed", "m/s", 5.0, 18.0),
        ("wind_speed", "mph", 10.0, 16.09344),
    ],
)
def test_each_unit_converts_to_the_canonical_unit(quantity, unit, value, expected):
    assert to_canonical(np.array([value]), quantity, unit)[0] == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("quantity", "canonical"),
    [("flow", "L/s"), ("volume", "L"), ("interval_volume", "L"), ("pressure", "bar"), ("level", "m"),
     ("level_pct", "%"), ("air_temperature", "degC"), ("rainfall", "mm"), ("humidity", "%"),
     ("wind_speed", "km/h")],
)
def test_canonical_units_are_the_promised_ones_and_convert_to_themselves(quantity, canonical):
    assert QUANTITIES[quantity].canonical_unit == canonical
    assert conversion(quantity, canonical) == (1.0, 0.0)


def test_a_whole_batch_converts_at_once():
    gallons = np.array([0.0, 1.0, 2.0, 1000.0])
    assert to_canonical(gallons, "volume", "US gal").tolist() == pytest.approx(
        [0.0, 3.785411784, 7.570823568, 3785.411784]
    )


def test_level_in_percent_is_its_own_quantity():
    assert resolve_quantity("level", "%") == "level_pct"
    assert resolve_quantity("level", "m") == "level"
    assert resolve_quantity("volume", "%") == "volume"


@pytest.mark.parametrize(("quantity", "unit"), [("flow", "L/d"), ("volume", "bar"), ("pressure", "atm"),
                                                ("air_temperature", "F"), ("rainfall", "cm"), ("volume", "ML"),
                                                ("volume", "mL"), ("flow", "m3")])
def test_unknown_unit_is_an_error_naming_unit_and_quantity(quantity, unit):
    assert conversion(quantity, unit) is None
    with pytest.raises(ValueError, match=rf"unknown unit '{unit}' for quantity '{quantity}'"):
        to_canonical(np.array([1.0]), quantity, unit)


def test_unknown_quantity_has_no_conversion():
    assert conversion("salinity", "psu") is None
    with pytest.raises(ValueError):
        to_canonical(np.array([1.0]), "salinity", "psu")


@pytest.mark.parametrize(("unit", "expected"), [("L", 3785.411784), ("m3", 3.785411784), ("gal", 1000.0)])
def test_litres_to_display_units(unit, expected):
    assert litres_to(3785.411784, unit) == pytest.approx(expected)


def test_litres_to_an_unknown_display_unit_is_an_error():
    with pytest.raises(ValueError, match="unknown volume unit 'ft3'"):
        litres_to(1.0, "ft3")


@pytest.mark.parametrize(("quantity", "unit", "as_written"), [
    ("volume", "M3", "m3"), ("volume", " m³ ", "m3"), ("volume", "m^3", "m3"), ("volume", "Litres", "L"),
    ("volume", "lt", "L"), ("interval_volume", "cubic meters", "m3"), ("flow", "L/S", "L/s"), ("flow", "LPM", "L/min"),
    ("flow", "m³/h", "m3/h"), ("flow", "m3/hr", "m3/h"), ("pressure", "KPA", "kPa"), ("pressure", "mH2O", "m head"),
    ("air_temperature", "°C", "degC"), ("air_temperature", "° F", "degF"), ("wind_speed", "KM/H", "km/h"),
])
def test_other_spellings_of_a_unit_convert_as_it_does(quantity, unit, as_written):
    assert conversion(quantity, unit) == conversion(quantity, as_written) is not None


@pytest.mark.parametrize(("quantity", "category", "expected"), [
    ("volume", None, True), ("interval_volume", "inlet", True), ("flow", "residential", True),
    ("flow", "commercial", True), ("flow", "inlet", False), ("flow", "sensor", False), ("flow", None, False),
    ("flow", "", False), ("pressure", "residential", False), ("air_temperature", "weather", False)])
def test_which_meters_are_watched_as_consumption(quantity, category, expected):
    assert is_consumption_meter(quantity, category) is expected
