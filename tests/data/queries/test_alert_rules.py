"""The rules the Alert rules page reads, from any store: none yet, one from before concerns, one in use."""

from __future__ import annotations

import duckdb

from alerts.rules import save_rule
from alerts.schema import DEFAULT_RULES, ensure_alert_tables
from data.queries.alert_rules import rule_table
from data.schema import DDL


def test_no_rule_table_yet_reads_as_the_rules_the_service_will_seed():
    table = rule_table(duckdb.connect(":memory:"))
    assert len(table) == len(DEFAULT_RULES) and table["seeded"].all()
    assert table.iloc[0][["zone_id", "category", "kind", "concern"]].tolist() == ["*"] * 4
    assert table.iloc[-1][["category", "kind"]].tolist() in (["inlet", "burst"], ["zone", "night_flow_rise"])


def test_a_table_from_before_concerns_reads_any_concern_and_does_not_call_a_changed_rule_a_default():
    cur = duckdb.connect(":memory:")
    cur.execute("""CREATE TABLE alert_rules (zone_id VARCHAR, category VARCHAR, kind VARCHAR, severity VARCHAR,
                   min_score DOUBLE)""")
    cur.executemany("INSERT INTO alert_rules VALUES (?, ?, ?, ?, ?)",
                    [("*", "*", "*", None, 0.5), ("Z2", "*", "burst", "warning", 0.6)])
    table = rule_table(cur)
    assert table["concern"].tolist() == ["*", "*"] and table["seeded"].tolist() == [True, False]
    assert table["changed_at"].isna().all()


def test_a_changed_rule_says_who_and_is_no_longer_a_default():
    cur = duckdb.connect(":memory:")
    cur.execute(DDL)
    ensure_alert_tables(cur)
    save_rule(cur, kind="burst", severity="critical", min_score=0.3, actor="luca")  # the default's values again
    table = rule_table(cur)
    burst = table[(table["kind"] == "burst") & (table["category"] == "*")].iloc[0]
    assert (burst["changed_by"], bool(burst["seeded"])) == ("luca", False) and burst["changed_at"] is not None
