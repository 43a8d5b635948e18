"""Daily and hourly results of the shipped scenarios are those of jevons 0.1.0.

0.2.0 rebuilt the calendar (surges per hour group, for steps of any length)
and the layers; for daily and hourly steps the numbers must not move.
``tests/data/results-0.1.0.json`` was recorded with 0.1.0 (commit 9fd179b) on
the NumPy reference: 200 trajectories, every few steps of ten per-step
variables and the horizon totals whose definitions did not change. Weekly
steps with surges, fixed fleets and tail means did change (README, "Definitions
changed in 0.2.0"), so they are not here.

0.3.0 converts benchmark points into rates (README, "Definitions changed in
0.3.0"), so the scenarios run here on 0.1.0's catalog rates, typed in as
profiles of rates: the supply arithmetic itself must not move.
"""

import datetime as dt
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.scenario.loading import scenario_from_dict
from tests.conftest import SCENARIOS

# 0.1.0's catalog: prefill and decode tokens/s per GPU, $/GPU-hour, kW per GPU.
CATALOG_0_1 = {
    "h200-hgx": (9212.0, 90.0, 1.41, 1.73),
    "gb300-nvl72": (69827.0, 6000.0, 2.65, 2.1),
    "b200-hgx": (41896.0, 583.0, 1.95, 2.17),
    "gb200-nvl72": (46551.0, 1922.0, 2.21, 2.1),
}

RECORDED = json.loads((Path(__file__).parent.parent / "data" / "results-0.1.0.json").read_text())


def scenario(case: str):
    with open(SCENARIOS / f"{case.split(':')[0]}.toml", "rb") as f:
        data = tomllib.load(f)
    if case.endswith(":hourly"):
        start = data["horizon"]["start"]
        data["horizon"]["step"], data["horizon"]["steps"] = "1h", 24 * 28
        data["variability"]["surges"] = [
            {
                "name": "launch",
                "start": start.isoformat() if isinstance(start, dt.date) else start,
                "end": "2027-01-12",
                "multiplier": {"dist": "uniform", "low": 1.5, "high": 3.0},
            }
        ]
    data["supply"].pop("interactivity", None)
    data["supply"]["hardware"] = [
        dict(zip(
            ("key", "prefill_tokens_per_s", "decode_tokens_per_s", "cost_per_gpu_hour", "power_kw"),
            (key, *CATALOG_0_1[key]),
            strict=True,
        ))
        for key in data["supply"]["hardware"]
    ]  # fmt: skip
    return scenario_from_dict(data)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(RECORDED["cases"]))
def test_daily_and_hourly_results_are_unchanged(case):
    recorded = RECORDED["cases"][case]
    ds = run_scenario(
        scenario(case), RunSettings(trajectories=RECORDED["trajectories"], backend="numpy")
    )
    every = recorded["every"]
    for name, values in recorded.items():
        if name == "every":
            continue
        array = ds[name]
        if "quantile" in array.dims:
            array = array.sel(quantile=RECORDED["quantiles"])
        got = array.values[..., ::every] if "time" in array.dims else array.values
        np.testing.assert_allclose(got, np.array(values), rtol=1e-12, atol=0, err_msg=name)
