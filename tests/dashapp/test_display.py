"""How durations and zones read on the pages."""

from dashapp.display import count_of, elapsed_text, zone_label


def test_durations_read_in_the_unit_people_use():
    assert [elapsed_text(s) for s in (-3, 40, 300, 5 * 3600, 3 * 86400)] == ["0 s", "40 s", "5 min", "5 h", "3 days"]


def test_a_zone_reads_as_name_and_id_or_its_id_alone_when_it_has_no_other_name():
    assert [zone_label("Colle", "Z1"), zone_label("DMA_A", "DMA_A"), zone_label(None, "north")] == \
        ["Colle (Z1)", "DMA_A", "north"]


def test_a_count_reads_with_its_noun():
    assert count_of(1, "meter") == "1 meter"
    assert count_of(0, "alert") == "0 alerts"
    assert count_of(1204, "event") == "1,204 events"
