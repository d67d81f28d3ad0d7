"""A zone's supply points: the flow meters whose signed sum is the water the zone takes in.

An ``inlet`` meter brings water into its zone from outside the network's zones (a source,
a treatment works, a trunk main). An ``outlet`` meter takes water out of its zone: on to the
zone its ``to_zone_id`` names (a boundary meter between two districts, registered once), or
out of the network (a bulk export). A zone's net inflow is its inlets, plus the outlets that
feed it, less its own outlets. Over the city the boundary meters cancel, and what is left is
what the sources put in less what leaves the network. Every view of a zone's or the city's
inflow reads it through these relations, so that a district fed through another is counted once.
"""

from __future__ import annotations

from data.queries.scope import Scope, meter_filter

#: (meter_id, zone_id, sign, category): each supply point of each zone; a boundary meter appears twice, an
#: outlet back into its own zone not at all.
SUPPLY_POINTS = """(
    SELECT meter_id, zone_id, 1.0 AS sign, category FROM meters
    WHERE category = 'inlet' AND zone_id IS NOT NULL
    UNION ALL
    SELECT meter_id, zone_id, -1.0 AS sign, category FROM meters
    WHERE category = 'outlet' AND zone_id IS NOT NULL AND to_zone_id IS DISTINCT FROM zone_id
    UNION ALL
    SELECT meter_id, to_zone_id AS zone_id, 1.0 AS sign, category FROM meters
    WHERE category = 'outlet' AND to_zone_id IS NOT NULL AND to_zone_id IS DISTINCT FROM zone_id
)"""

#: (meter_id, sign): the meters whose signed sum is the city's inflow. A boundary meter between two of the
#: city's zones is not one of them; an outlet to no zone of the city's is water leaving the network.
CITY_SUPPLY_POINTS = """(
    SELECT meter_id, 1.0 AS sign FROM meters WHERE category = 'inlet'
    UNION ALL
    SELECT meter_id, -1.0 AS sign FROM meters
    WHERE category = 'outlet' AND (to_zone_id IS NULL OR to_zone_id NOT IN (SELECT zone_id FROM zones))
)"""


def supply_volumes_sql(grain: str, scope: Scope, city: bool = False) -> tuple[str, list]:
    """SQL of each zone's net supply volume per ``grain`` ('hour' or 'day', named ``bucket``), from the meter
    rollups of its supply points: zone_id, bucket, volume_l. Days are each meter's local days, as the zone
    rollups' are. With ``city`` the city's, in one row per bucket whose zone_id is NULL."""
    if grain not in ("hour", "day"):
        raise ValueError(f"grain must be 'hour' or 'day', not {grain!r}")
    suffix = "hourly" if grain == "hour" else "daily"
    where, params = meter_filter(scope, "r.meter_id")
    points, zone = (CITY_SUPPLY_POINTS, "NULL::VARCHAR") if city else (SUPPLY_POINTS, "p.zone_id")
    return (
        f"""SELECT {zone} AS zone_id, r.{grain} AS bucket, sum(p.sign * r.volume_l) AS volume_l
            FROM meter_{suffix} r JOIN {points} p USING (meter_id) WHERE {where} GROUP BY ALL""",
        params,
    )
