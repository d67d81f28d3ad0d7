"""The alert rules as pages read them: the rules as they stand, what a rule may name, which rule decides an alert.

The alert service creates `alert_rules` on first use and seeds Waterline's
defaults; until then (or on a store written before rules had a concern) this
answers as the service will, so the page never shows an empty or wrong table.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from alerts.rules import Rule, rule_for
from alerts.schema import DEFAULT_RULES, RULE_COLUMNS
from data.queries.catalog import table_columns

RULE_TABLE_COLUMNS = [*RULE_COLUMNS.split(", "), "changed_by", "changed_at"]


def rule_table(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every rule with who changed it last, the catch-all first, then the broadest before the narrowest.

    ``seeded`` says the rule is still as Waterline seeded it; a rule changed before changes were recorded has
    neither ``changed_at`` nor ``seeded``.
    """
    present = table_columns(cur, "alert_rules")
    if not present:
        table = pd.DataFrame([(*row, None, None) for row in DEFAULT_RULES], columns=RULE_TABLE_COLUMNS)
    else:
        columns = ", ".join(c if c in present else ("'*'" if c == "concern" else "NULL") + f" AS {c}"
                            for c in RULE_TABLE_COLUMNS)
        table = cur.execute(f"SELECT {columns} FROM alert_rules").df()
    table = table.astype(object).where(table.notna(), None)
    rules = rules_of(table)
    seeded = {Rule(*row) for row in DEFAULT_RULES}
    table["seeded"] = [rule in seeded and at is None for rule, at in zip(rules, table["changed_at"])]
    table["narrowness"] = [sum(rule.specificity) for rule in rules]
    table = table.sort_values(["narrowness", "kind", "concern", "category", "zone_id"]).drop(columns="narrowness")
    return table.reset_index(drop=True)


def rule_choices(cur: duckdb.DuckDBPyConnection) -> tuple[list[tuple[str, str]], list[str]]:
    """The zones (id, name) and meter categories a rule may name; zone-level events have the category 'zone'."""
    zones = cur.execute("SELECT zone_id, coalesce(name, zone_id) FROM zones ORDER BY zone_id").fetchall()
    categories = [c for (c,) in cur.execute(
        "SELECT DISTINCT category FROM meters WHERE category IS NOT NULL ORDER BY category").fetchall()]
    return [(z, n) for z, n in zones], sorted({*categories, "zone"})


def rules_of(table: pd.DataFrame) -> list[Rule]:
    return [Rule(*row) for row in table[RULE_COLUMNS.split(", ")].itertuples(index=False)]


def rule_deciding(cur: duckdb.DuckDBPyConnection, alert: dict) -> Rule:
    """The rule that decides events like ``alert`` now (its zone, meter category, kind and concern)."""
    return rule_for(rules_of(rule_table(cur)), alert.get("zone_id"), alert.get("category"), alert["kind"],
                    alert.get("concern"))
