"""The DuckDB schema of the Waterline store.

All timestamps are TIMESTAMP holding UTC; local calendars are applied when
bucketing days (each meter has its time zone). Raw readings carry no primary key:
each batch is de-duplicated against the recent window of the same meters, which
keeps loading fast. Rollups do carry keys, because batches add to them.
"""

SCHEMA_VERSION = 2

DDL = """
CREATE TABLE IF NOT EXISTS schema_info (version INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS zones (
    zone_id   VARCHAR PRIMARY KEY,
    name      VARCHAR,
    kind      VARCHAR,            -- elevated, mid-level, low-lying, industrial, dma ...
    tz        VARCHAR NOT NULL DEFAULT 'UTC',
    attrs     JSON
);

CREATE TABLE IF NOT EXISTS meters (
    meter_id        VARCHAR PRIMARY KEY,
    zone_id         VARCHAR,
    category        VARCHAR,      -- residential, commercial, industrial, municipal, inlet, outlet, sensor, weather
    quantity        VARCHAR NOT NULL,  -- the quantity consumption is derived from (first seen)
    unit            VARCHAR,      -- unit the device reports in (first seen)
    register_size_l DOUBLE,       -- counters: the value at which the register wraps, in litres
    max_flow_l_s    DOUBLE,       -- larger steps are implausible jumps
    tz              VARCHAR NOT NULL DEFAULT 'UTC',
    weather_station VARCHAR,
    interval_s      DOUBLE,       -- usual reporting interval: median of recent_intervals
    recent_intervals DOUBLE[],    -- the last five reporting intervals (s): gaps are judged against them
    registered_by   VARCHAR,      -- config, import, mqtt, register (an asset register), sim
    registered_at   TIMESTAMP,
    last_ts         TIMESTAMP,    -- state of the consumption quantity, the next batch's anchor
    last_value      DOUBLE,
    last_baseline   DOUBLE,
    last_seq        BIGINT,
    last_seen_at    TIMESTAMP,
    attrs           JSON,
    to_zone_id      VARCHAR       -- outlets: the zone the water goes on to (NULL: out of the network)
);

CREATE TABLE IF NOT EXISTS readings (
    meter_id    VARCHAR NOT NULL,
    ts          TIMESTAMP NOT NULL,
    quantity    VARCHAR NOT NULL,
    value       DOUBLE NOT NULL,  -- canonical unit of the quantity
    unit        VARCHAR NOT NULL, -- that canonical unit
    orig_unit   VARCHAR NOT NULL, -- the unit the device sent
    seq         BIGINT,
    attrs       JSON,
    source      VARCHAR,
    received_at TIMESTAMP,
    flags       INTEGER NOT NULL,
    quality     FLOAT NOT NULL
);

CREATE TABLE IF NOT EXISTS quarantine (
    received_at TIMESTAMP NOT NULL,
    source      VARCHAR,
    meter_id    VARCHAR,
    reason      VARCHAR NOT NULL,
    payload     VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS consumption (
    meter_id  VARCHAR NOT NULL,
    ts_start  TIMESTAMP NOT NULL,
    ts_end    TIMESTAMP NOT NULL,  -- the reading that closed the interval
    volume_l  DOUBLE NOT NULL,
    baseline  DOUBLE,
    flags     INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS meter_hourly (
    meter_id    VARCHAR NOT NULL,
    hour        TIMESTAMP NOT NULL,
    volume_l    DOUBLE NOT NULL,
    estimated_l DOUBLE NOT NULL,
    PRIMARY KEY (meter_id, hour)
);

CREATE TABLE IF NOT EXISTS meter_daily (
    meter_id    VARCHAR NOT NULL,
    day         DATE NOT NULL,     -- the meter's local calendar day
    volume_l    DOUBLE NOT NULL,
    estimated_l DOUBLE NOT NULL,
    PRIMARY KEY (meter_id, day)
);

CREATE TABLE IF NOT EXISTS zone_hourly (
    zone_id     VARCHAR NOT NULL,
    category    VARCHAR NOT NULL,
    hour        TIMESTAMP NOT NULL,
    volume_l    DOUBLE NOT NULL,
    estimated_l DOUBLE NOT NULL,
    PRIMARY KEY (zone_id, category, hour)
);

CREATE TABLE IF NOT EXISTS zone_daily (
    zone_id     VARCHAR NOT NULL,
    category    VARCHAR NOT NULL,
    day         DATE NOT NULL,
    volume_l    DOUBLE NOT NULL,
    estimated_l DOUBLE NOT NULL,
    PRIMARY KEY (zone_id, category, day)
);

-- Volume deltas of batches committed under load, not yet folded into the four rollups above
-- (the writer folds them at least every second and whenever it is idle; see data.rollups).
CREATE TABLE IF NOT EXISTS rollup_deltas (
    meter_id    VARCHAR NOT NULL,
    grain       VARCHAR NOT NULL,  -- 'hour' (UTC hour start) or 'day' (local midnight, as a timestamp)
    bucket      TIMESTAMP NOT NULL,
    volume_l    DOUBLE NOT NULL,
    estimated_l DOUBLE NOT NULL
);

CREATE TABLE IF NOT EXISTS reading_hourly (
    meter_id  VARCHAR NOT NULL,
    quantity  VARCHAR NOT NULL,
    hour      TIMESTAMP NOT NULL,
    n         BIGINT NOT NULL,
    total     DOUBLE NOT NULL,
    minimum   DOUBLE NOT NULL,
    maximum   DOUBLE NOT NULL,
    PRIMARY KEY (meter_id, quantity, hour)
);

CREATE TABLE IF NOT EXISTS ingest_stats (
    recorded_at       TIMESTAMP NOT NULL,
    messages          BIGINT,
    readings          BIGINT,
    stored            BIGINT,
    duplicates        BIGINT,
    quarantined       BIGINT,
    batch_p50_ms      DOUBLE,
    batch_p95_ms      DOUBLE,
    queue_depth       BIGINT
);
"""

#: What brings a store written by an earlier schema version up to this one (each statement is idempotent).
UPGRADES = """
ALTER TABLE meters ADD COLUMN IF NOT EXISTS to_zone_id VARCHAR;
UPDATE schema_info SET version = greatest(version, 2);
"""

#: Default largest plausible flow through a meter, by category (L/s).
MAX_FLOW_BY_CATEGORY = {
    "residential": 2.0,
    "commercial": 20.0,
    "municipal": 20.0,
    "industrial": 100.0,
    "inlet": 2000.0,
    "outlet": 2000.0,
    "sensor": 2000.0,  # a flow sensor on a main
}
DEFAULT_MAX_FLOW_L_S = 20.0
