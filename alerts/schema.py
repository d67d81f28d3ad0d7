"""The alert tables, created on first use, and the rules a fresh store starts with.

The alerts live beside the readings in the one DuckDB file. `alerts` keeps the
columns the zone status reads (zone_id, severity, state); `alert_history` is
the audit trail of every change; `alert_feedback` remembers "not a leak"
answers; `alert_rules` sets severities and score thresholds per zone, meter
category, event kind and concern; `notifications` logs every delivery attempt.
Tables made before alerts kept an event's concern gain the column: empty in
`alerts` and `alert_feedback`, '*' (any) in `alert_rules`.
"""

from __future__ import annotations

import duckdb

from data.queries.catalog import table_columns

STATES = ("open", "acknowledged", "resolved", "not_a_leak")
ACTIVE_STATES = ("open", "acknowledged")
SEVERITIES = ("info", "warning", "critical")

DDL = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id          VARCHAR PRIMARY KEY,
    event_id          VARCHAR NOT NULL,   -- the newest detected event this alert stands for
    meter_id          VARCHAR NOT NULL,   -- asset id, or 'ZONE:<zone_id>'
    zone_id           VARCHAR,
    category          VARCHAR,            -- the meter's category ('zone' for zone-level events)
    kind              VARCHAR NOT NULL,
    detector          VARCHAR,
    severity          VARCHAR NOT NULL,   -- info | warning | critical
    state             VARCHAR NOT NULL,   -- open | acknowledged | resolved | not_a_leak
    opened_at         TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    event_start       TIMESTAMP NOT NULL,
    last_event_end    TIMESTAMP NOT NULL,
    score             DOUBLE NOT NULL,
    explanation       VARCHAR,
    lost_volume_l     DOUBLE,
    cost              DOUBLE,
    acknowledged_by   VARCHAR,
    note              VARCHAR,
    escalation_level  INTEGER NOT NULL DEFAULT 0,
    suppressed_reason VARCHAR,            -- why feedback kept this alert from opening
    concern           VARCHAR             -- water_loss, operations, instrument, reporting, anomaly; NULL: not said
);

CREATE TABLE IF NOT EXISTS alert_history (
    alert_id   VARCHAR NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    actor      VARCHAR NOT NULL,          -- a person, or 'waterline' for the service
    action     VARCHAR NOT NULL,          -- opened, updated, moved, acknowledged, resolved, not_a_leak, suppressed, reopened, escalated
    from_state VARCHAR,
    to_state   VARCHAR,
    note       VARCHAR
);

CREATE TABLE IF NOT EXISTS alert_feedback (
    meter_id   VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    verdict    VARCHAR NOT NULL,          -- not_a_leak
    effect     VARCHAR NOT NULL,          -- suppress | raise_threshold
    factor     DOUBLE,                    -- raise_threshold: the score threshold is multiplied by it
    reason     VARCHAR,
    alert_id   VARCHAR,
    actor      VARCHAR,
    created_at TIMESTAMP NOT NULL,
    concern    VARCHAR                    -- NULL: the answer stands for every concern of its kind
);

CREATE TABLE IF NOT EXISTS alert_rules (
    zone_id    VARCHAR NOT NULL DEFAULT '*',
    category   VARCHAR NOT NULL DEFAULT '*',
    kind       VARCHAR NOT NULL DEFAULT '*',
    concern    VARCHAR NOT NULL DEFAULT '*',
    severity   VARCHAR,                   -- NULL keeps the detector's severity
    min_score  DOUBLE NOT NULL DEFAULT 0.0,
    changed_by VARCHAR,                   -- who set it last, when known
    changed_at TIMESTAMP,                 -- NULL: as Waterline seeded it
    PRIMARY KEY (zone_id, category, kind, concern)
);

CREATE TABLE IF NOT EXISTS notifications (
    alert_id         VARCHAR NOT NULL,
    channel          VARCHAR NOT NULL,    -- log, email, webhook, mqtt, sms
    target           VARCHAR NOT NULL,
    escalation_level INTEGER NOT NULL,
    status           VARCHAR NOT NULL,    -- sent | failed | held | reopened (sent before the alert reopened)
    attempts         INTEGER NOT NULL,
    error            VARCHAR,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (alert_id, channel, target, escalation_level)
);
"""

RULE_COLUMNS = "zone_id, category, kind, concern, severity, min_score"
#: The rules a store starts with: (zone_id, category, kind, concern, severity, min_score).
#: The most specific matching rule wins; NULL severity keeps the detector's.
DEFAULT_RULES = [
    ("*", "*", "*", "*", None, 0.5),
    ("*", "*", "burst", "*", "critical", 0.3),
    ("*", "inlet", "burst", "*", "critical", 0.3),
    ("*", "*", "continuous_flow", "*", "warning", 0.5),
    ("*", "zone", "night_flow_rise", "*", "warning", 0.5),
    ("*", "*", "pressure_out_of_band", "*", "warning", 0.5),
    ("*", "*", "zscore_anomaly", "*", "info", 0.6),
    ("*", "*", "isolation_forest", "*", "info", 0.7),
    ("*", "*", "sensor_stuck", "*", "info", 0.5),
    ("*", "*", "sensor_drift", "*", "info", 0.5),
    ("*", "*", "sensor_spike", "*", "info", 0.5),
    ("*", "*", "silent_meter", "*", "info", 0.5),
]


def ensure_alert_tables(cur: duckdb.DuckDBPyConnection) -> None:
    """Create the alert tables if missing, add the columns older ones lack, and seed the default rules into an
    empty rule table."""
    cur.execute(DDL)
    for table in ("alerts", "alert_feedback"):
        if "concern" not in table_columns(cur, table):
            cur.execute(f"ALTER TABLE {table} ADD COLUMN concern VARCHAR")
    if "concern" not in table_columns(cur, "alert_rules"):
        _rules_gain_concern(cur)
    if cur.execute("SELECT count(*) FROM alert_rules").fetchall()[0][0] == 0:
        cur.executemany(f"INSERT INTO alert_rules ({RULE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", DEFAULT_RULES)


def _rules_gain_concern(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild a rule table made before rules had a concern (the column is part of its key): each rule says '*'."""
    cur.execute("ALTER TABLE alert_rules RENAME TO alert_rules_before_concern")
    cur.execute(DDL)
    cur.execute(f"""INSERT INTO alert_rules ({RULE_COLUMNS})
                    SELECT zone_id, category, kind, '*', severity, min_score FROM alert_rules_before_concern""")
    cur.execute("DROP TABLE alert_rules_before_concern")

