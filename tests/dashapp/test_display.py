"""How durations read on the pages."""

from dashapp.display import elapsed_text


def test_durations_read_in_the_unit_people_use():
    assert [elapsed_text(s) for s in (-3, 40, 300, 5 * 3600, 3 * 86400)] == ["0 s", "40 s", "5 min", "5 h", "3 days"]
