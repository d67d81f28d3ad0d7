"""Where consumption volumes come from for a caller's scope: the zone rollups, or the meter rollups.

Without a scope (an operator) the zone rollups answer zone and category
questions with a few hundred rows a day. A scoped caller may see only some
meters, so the same columns are summed from the meter rollups of those meters.
Both give rows of (zone_id, category, bucket, volume_l, estimated_l).
"""

from __future__ import annotations

from data.queries.scope import Scope, meter_filter
from data.units import NON_CUSTOMER_CATEGORIES as NON_CUSTOMER


def zone_volumes_sql(grain: str, scope: Scope) -> tuple[str, list]:
    """SQL of volumes per zone, category and ``grain`` ('hour' or 'day'), named ``bucket``."""
    if grain not in ("hour", "day"):
        raise ValueError(f"grain must be 'hour' or 'day', not {grain!r}")
    suffix = "hourly" if grain == "hour" else "daily"
    if scope is None:
        return (f"SELECT zone_id, category, {grain} AS bucket, volume_l, estimated_l FROM zone_{suffix}", [])
    where, params = meter_filter(scope, "r.meter_id")
    return (
        f"""SELECT coalesce(m.zone_id, '') AS zone_id, coalesce(m.category, '') AS category, r.{grain} AS bucket,
                   sum(r.volume_l) AS volume_l, sum(r.estimated_l) AS estimated_l
            FROM meter_{suffix} r JOIN meters m USING (meter_id) WHERE {where} GROUP BY ALL""",
        params,
    )
