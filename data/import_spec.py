"""What an import file looks like: layout, clock, column mappings, and the named presets.

A file is either *long* (one reading per row) or *wide* (a timestamp column and
one column per meter and quantity). Formats with their own layout are presets:
rows of data in `PRESETS`, not code, so a new published data set is one entry.
Meter templates in mappings are filled from the regex groups (named, or numbered from
1 as in the regex), ``{column}``, ``{station}`` and ``{file}`` (the file's name without its
extensions, for data sets that keep one series per file): ``DMA_(?P<id>[A-J])_l_per_s`` with
meter ``DMA_{id}``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Layout = Literal["long", "wide"]
LONG_COLUMNS = ("meter_id", "ts", "quantity", "value", "unit")


class ImportSpecError(ValueError):
    """An import was described in a way that cannot work (bad mapping, missing option)."""


@dataclass(frozen=True)
class ColumnMap:
    """One wide column, or every column a regex matches, read as one meter's quantity."""

    column: str
    meter: str
    quantity: str
    unit: str
    regex: bool = False

    def match(self, name: str, station: str | None, file: str = "") -> tuple[str, str, str] | None:
        """(meter_id, quantity, unit) for a column this mapping covers, else None."""
        if self.regex:
            found = re.fullmatch(self.column, name)
            if found is None:
                return None
            groups, named = (found.group(0), *found.groups()), found.groupdict()
        elif name != self.column:
            return None
        else:
            groups, named = (name,), {}
        values = {"column": name, "station": station or "", "file": file, **named}
        try:
            return tuple(t.format(*groups, **values) for t in (self.meter, self.quantity, self.unit))
        except (IndexError, KeyError) as err:
            raise ImportSpecError(
                f"mapping {self.column!r}: a template field is not a regex group ({err}); groups are "
                f"numbered from 1 as in the regex, or named, and {{0}} is the whole column") from None


@dataclass(frozen=True)
class ImportSpec:
    """How to read one file. ``None`` fields fall back to the store's defaults or are sniffed."""

    layout: Layout = "long"
    tz: str | None = None
    zone: str | None = None
    category: str | None = None
    to_zone: str | None = None          # outlets: the zone their water goes on to
    station: str | None = None
    ts_column: str | None = None
    ts_format: str | None = None
    separator: str | None = None
    decimal: str = "."                  # "," for files written with a decimal comma ("1234,5")
    columns: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    mappings: tuple[ColumnMap, ...] = ()
    needs_station: bool = False
    chunk_rows: int = 100_000
    batch_rows: int = 100_000

    def zone_for(self, meter_id: str) -> str | None:
        """The zone of a meter this file introduces: ``zone``, in which ``{meter_id}`` stands for the meter's
        own id (``--zone '{meter_id}'``: a file of DMA inflows, each DMA its own zone)."""
        return self._zone_filled(meter_id=meter_id) if self.zone else None

    def for_file(self, stem: str) -> ImportSpec:
        """This spec with ``{file}`` in its zone replaced by the file's name without extensions
        (``--zone '{file}'``: one file per district); ``{meter_id}`` is left for each meter."""
        if not self.zone or "{file}" not in self.zone:
            return self
        escaped = stem.replace("{", "{{").replace("}", "}}")
        return dataclasses.replace(self, zone=self._zone_filled(meter_id="{meter_id}", file=escaped))

    def _zone_filled(self, **fields: str) -> str:
        try:
            return self.zone.format(**fields)
        except (KeyError, IndexError, ValueError):
            raise ImportSpecError(f"zone {self.zone!r}: write a zone id, or '{{meter_id}}' in it for each "
                                  "meter's own id, or '{file}' for the file's name") from None

    def with_options(self, **options: object) -> ImportSpec:
        """This spec with the given options set; None leaves a field as it is."""
        return dataclasses.replace(self, **{k: v for k, v in options.items() if v is not None})


BWDF_DMA_INFLOW = ColumnMap(r"DMA_(?P<id>[A-Za-z0-9]+)_l_per_s", "DMA_{id}", "flow", "L/s", regex=True)

PRESETS: dict[str, ImportSpec] = {
    "long": ImportSpec(),
    "wide": ImportSpec(layout="wide"),
    "daiad": ImportSpec(
        separator=";",
        ts_format="%d/%m/%Y %H:%M:%S",
        columns={"V1": "meter_id", "V2": "ts", "V3": "value"},
        constants={"quantity": "volume", "unit": "L"},
        ignore=("V4",),
        category="residential",
    ),
    "bwdf-inflow": ImportSpec(
        layout="wide", tz="Europe/Rome", ts_column="timestamp_local", category="inlet",
        mappings=(BWDF_DMA_INFLOW,),
    ),
    "bwdf-weather": ImportSpec(
        layout="wide", tz="Europe/Rome", ts_column="timestamp_local", needs_station=True,
        mappings=(
            ColumnMap("rainfall_mm", "{station}", "rainfall", "mm"),
            ColumnMap("air_temperature_c", "{station}", "air_temperature", "degC"),
            ColumnMap("air_humidity_pct", "{station}", "humidity", "%"),
            ColumnMap("windspeed_kmh", "{station}", "wind_speed", "km/h"),
        ),
    ),
}

#: Header columns that identify a preset's files when --format is not given.
PRESET_SIGNATURES: dict[str, frozenset[str]] = {
    "daiad": frozenset({"V1", "V2", "V3", "V4"}),
    "bwdf-weather": frozenset({"timestamp_local", "rainfall_mm", "air_temperature_c"}),
}


def preset(name: str) -> ImportSpec:
    try:
        return PRESETS[name]
    except KeyError:
        raise ImportSpecError(f"unknown format {name!r}; use one of {', '.join(PRESETS)}") from None


def parse_mapping(text: str, regex: bool = False) -> ColumnMap:
    """``COLUMN=METER:QUANTITY:UNIT`` (the last ``=`` and the last two ``:`` split it)."""
    column, equals, target = text.rpartition("=")
    parts = target.rsplit(":", 2)
    if not equals or not column or len(parts) != 3 or not all(parts):
        raise ImportSpecError(f"mapping {text!r} is not COLUMN=METER:QUANTITY:UNIT")
    if regex:
        try:
            re.compile(column)
        except re.error as err:
            raise ImportSpecError(f"mapping {text!r}: bad regex ({err})") from None
    return ColumnMap(column, *parts, regex=regex)


def detect_layout(header: list[str], spec: ImportSpec) -> str:
    """Name of the preset that fits a header: long columns, a known signature, or wide mappings."""
    names = set(header)
    if spec.mappings:
        return "wide"
    if set(LONG_COLUMNS) <= names:
        return "long"
    for name, signature in PRESET_SIGNATURES.items():
        if signature <= names:
            return name
    if any(BWDF_DMA_INFLOW.match(column, None) for column in header):
        return "bwdf-inflow"
    raise ImportSpecError(
        f"cannot tell the layout of a file with columns {', '.join(header[:8])}: "
        "give --format, or --map/--map-regex for a wide file"
    )


def wide_columns(header: list[str], spec: ImportSpec, file: str = "") -> dict[str, tuple[str, str, str]]:
    """Each mapped value column of a wide header -> (meter_id, quantity, unit); first mapping wins.
    ``file`` is the file's name without its extensions, for ``{file}`` in templates."""
    if not spec.mappings:
        raise ImportSpecError("a wide file needs --map or --map-regex to say which column is which meter")
    mapped: dict[str, tuple[str, str, str]] = {}
    for column in header:
        for mapping in spec.mappings:
            target = mapping.match(column, spec.station, file)
            if target is not None:
                mapped[column] = target
                break
    if not mapped:
        raise ImportSpecError(f"no column of {', '.join(header[:8])} matches the mappings")
    return mapped
