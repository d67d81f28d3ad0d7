"""The steady-trickle rule's parts: what counts as usual, who it cannot speak for, and odds in words."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from detection.features import Window
from detection.rules_trickle import _chance, _SameHourHistory, steady_trickle, trickle_evidence
from tests.detection import series as s

DAY = pd.Timedelta(days=1)


def test_days_away_are_left_out_of_what_is_usual():
    days = 40
    volumes = np.zeros((days * 24, 1))
    volumes[:, 0] = 2.0
    for hour in (2, 3, 4):
        volumes[hour::24, 0] = 0.0              # at home: 02-05 are the quiet hours
    away = slice(20 * 24, 30 * 24)
    volumes[away, 0] = 0.0                      # ten days away: nothing at any hour
    quiet = _SameHourHistory(volumes, days=28).share(volumes < 1)
    noon_after = 35 * 24 + 12
    assert quiet[noon_after, 0] < 0.05          # noon is never quiet when someone is home
    assert quiet[35 * 24 + 3, 0] > 0.9


def test_a_meter_that_never_rests_gives_no_evidence():
    rng = np.random.default_rng(4)
    plant = rng.uniform(40.0, 60.0, size=(35 * 24, 1)).round()
    assert trickle_evidence(plant, days=28).evidence.max() == 0.0


def test_a_trickle_event_says_what_it_saw_and_what_is_usual():
    drip_from = s.START + 30 * DAY + pd.Timedelta(hours=22)
    use = s.household_hourly(seed=2, leak_l_h=3.0, leak_from=drip_from)
    found = steady_trickle(pd.DataFrame({"H": use}), Window(s.START + 28 * DAY, s.START + 35 * DAY), {"H": "Z1"})
    assert len(found) == 1
    event = found[0]
    assert event["zone_id"] == "Z1" and event["kind"] == "continuous_flow"
    assert "a steady flow of about 3 L/h" in event["explanation"] and "by chance about 1 in" in event["explanation"]
    hours = (event["end"] - event["start"]) / pd.Timedelta(hours=1)
    assert event["lost_volume_l"] == 3.0 * hours


def test_a_long_running_trickle_is_explained_by_the_weeks_before_it_began():
    """Weeks into a drip its own hours fill the meter's same-hour history; the explanation's
    shares must still be those of the meter before the drip, as the first hours that showed it saw them."""
    drip_from = s.START + 10 * DAY + pd.Timedelta(hours=22)
    use = s.household_hourly(days=60, seed=2, leak_l_h=3.0, leak_from=drip_from)
    late = Window(s.START + 58 * DAY, s.START + 60 * DAY)
    found = steady_trickle(pd.DataFrame({"H": use}), late, {"H": "Z1"})
    assert len(found) == 1 and drip_from - pd.Timedelta(hours=6) <= found[0]["start"] <= drip_from
    shares = re.search(r"read nothing (\d+)% of the time and 3-4 L (\d+)%", found[0]["explanation"])
    assert shares, found[0]["explanation"]
    assert int(shares[2]) <= 2 and int(shares[1]) >= 30
    assert "before it began" in found[0]["explanation"]


def test_chance_in_words():
    assert _chance(np.log(3.3e6)) == "about 1 in 3.3 million"
    assert _chance(np.log(2500.0)) == "about 1 in 2.5 thousand"
    assert _chance(80.0) == "less than 1 in a trillion"
