"""The fan chart's bands from whatever quantile levels a result holds."""

from jevons.report.levels import fan_levels, nearest_level, percent


def test_the_default_levels_give_p5_p95_p25_p75_and_the_median_as_asked():
    levels = fan_levels([0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
    assert levels.bands == ((0.05, 0.95), (0.25, 0.75))
    assert levels.median == 0.5
    assert levels.notes == ()


def test_missing_levels_are_replaced_by_the_nearest_and_said():
    # P5 -> P10 (0.05 away; P50 is 0.45 away), P25 -> P10 (0.15 vs 0.25): both bands are
    # P10-P90, drawn once
    levels = fan_levels([0.9, 0.5, 0.1])
    assert levels.bands == ((0.1, 0.9),)
    assert levels.median == 0.5
    assert levels.notes == (
        "P5-P95 drawn as P10-P90 (the nearest levels in the result)",
        "P25-P75 drawn as P10-P90 (the nearest levels in the result)",
    )


def test_without_a_median_the_nearest_level_draws_the_line():
    levels = fan_levels([0.05, 0.4, 0.95])
    assert levels.median == 0.4
    assert levels.notes[0] == "line P40 (no P50 in the result)"
    # P25 -> P40 (0.15 away, P5 is 0.2), P75 -> P95 (0.2, P40 is 0.35)
    assert levels.bands == ((0.05, 0.95), (0.4, 0.95))


def test_a_single_level_draws_a_line_and_no_band():
    levels = fan_levels([0.5])
    assert levels.bands == ()
    assert levels.median == 0.5


def test_of_two_levels_as_near_the_one_farther_from_the_median_is_taken():
    # 0.15 and 0.35 are both 0.1 from 0.25: a band a little wide, never a little narrow
    assert nearest_level([0.15, 0.35], 0.25) == 0.15
    assert nearest_level([0.65, 0.85], 0.75) == 0.85


def test_percent_names():
    assert [percent(q) for q in (0.05, 0.5, 0.999, 0.01)] == ["P5", "P50", "P99.9", "P1"]
