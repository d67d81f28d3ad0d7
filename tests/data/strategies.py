"""Hypothesis strategies for malformed readings: JSON-ish garbage and readings broken one field at a time."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.data.builders import at, reading

ANY_TEXT = st.text(st.characters(exclude_categories=[]), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**30), max_value=10**30) \
    | st.floats(allow_nan=True, allow_infinity=True) | ANY_TEXT
HUGE = st.sampled_from([2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, 10**400, -(10**400)])
JSONISH = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(ANY_TEXT, inner, max_size=3), max_leaves=8)
UNSTORABLE = st.sampled_from(["m-\ud800", "\udfff", "2024-06-01T11:00:00\udc00Z", "L\ud83d", "caf\u00e9"])
FIELD_VALUES = {
    "meter_id": st.sampled_from(["m-1", "gw/3:a", "", "a b", "x" * 70]) | UNSTORABLE | JSONISH,
    "ts": st.sampled_from(["2024-06-01T11:00:00Z", "2024-06-01T11:00:00", "2024-06-01T12:30:00+00:00",
                           "2023-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "1T+"]) | UNSTORABLE
          | st.integers(0, 5_000_000_000_000) | st.floats(1e12, 2e12) | HUGE | JSONISH,
    "quantity": st.sampled_from(["volume", "flow", "pressure", "level", "level_pct", "humidity", "nope"]) | UNSTORABLE | JSONISH,
    "unit": st.sampled_from(["L", "m3", "L/s", "bar", "psi", "%", "m", "degF", "??"]) | UNSTORABLE | JSONISH,
    "value": st.floats(allow_nan=True, allow_infinity=True) | st.integers() | HUGE | JSONISH,
    "seq": st.integers() | HUGE | JSONISH,
}


@st.composite
def reading_ish(draw) -> dict:
    """A valid reading with a few fields broken, dropped or added: close enough to reach every check."""
    fields = reading("m-9", at(hours=11, minutes=draw(st.integers(0, 59))), draw(st.floats(0, 1e6)), unit="m3")
    for name in draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=3, unique=True)):
        if draw(st.booleans()):
            fields[name] = draw(FIELD_VALUES[name])
        else:
            fields.pop(name, None)
    fields.update(draw(st.dictionaries(ANY_TEXT | st.sampled_from(["zone", "tz", "category"]), JSONISH, max_size=2)))
    return fields


READING_ISH = reading_ish() | st.fixed_dictionaries({}, optional=FIELD_VALUES)
ITEMS = st.lists(READING_ISH | JSONISH, min_size=0, max_size=6)


def valid_reading(i: int) -> dict:
    """A valid reading of meter ``good-i`` (i m3, with an extra field), to mix into garbage."""
    return reading(f"good-{i}", at(hours=11, minutes=i), float(i), unit="m3", note="kept")
