"""``summary = "auto"``: exact percentiles up to the limit, a sketch one trajectory above it."""

import numpy as np
import pytest

from jevons.engine.execution import run as run_module
from jevons.engine.execution.run import run_scenario, summary_mode
from jevons.engine.execution.settings import RunSettings
from jevons.engine.scenario.loading import scenario_from_dict


def test_the_documented_limit_is_one_million():
    # README and scenario docs: exact up to 1,000,000 trajectories
    assert summary_mode("auto", 1_000_000, sharded=False) == "exact"
    assert summary_mode("auto", 1_000_001, sharded=False) == "sketch"
    assert summary_mode("auto", 1, sharded=True) == "sketch"  # shards must merge


@pytest.mark.parametrize(("n", "expected"), [(50, "exact"), (51, "sketch")])
def test_auto_switches_to_the_sketch_one_above_the_limit(hand_dict, monkeypatch, n, expected):
    monkeypatch.setattr(run_module, "EXACT_LIMIT", 50)
    hand_dict["users"]["initial"] = {"dist": "lognormal", "median": 1000, "p95": 5000}
    hand_dict["simulation"]["quantiles"] = [0.1, 0.5, 0.9]
    scenario = scenario_from_dict(hand_dict)
    assert scenario.simulation.summary == "auto"
    ds = run_scenario(scenario, RunSettings(trajectories=n, keep_trajectories=True))
    assert ds.attrs["summary"] == expected
    assert ds.attrs["trajectories"] == n
    assert ("relative_accuracy" in ds.attrs) == (expected == "sketch")

    totals = ds.trajectory_total_tokens.values
    assert len(totals) == n
    # Exact: the linear-interpolation percentile of the kept totals, computed here by
    # sorting. Sketched: within the sketch's relative accuracy of it (at n = 51 every
    # level falls on a rank, so no interpolation blurs the comparison).
    ordered = np.sort(totals)
    for q in (0.1, 0.5, 0.9):
        h = (n - 1) * q
        lo = int(np.floor(h))
        hand = ordered[lo] + (h - lo) * (ordered[min(lo + 1, n - 1)] - ordered[lo])
        got = float(ds.total_tokens.sel(quantile=q))
        if expected == "exact":
            assert got == pytest.approx(hand, rel=1e-12)
        else:
            assert got == pytest.approx(hand, rel=ds.attrs["relative_accuracy"] * 1.001)
