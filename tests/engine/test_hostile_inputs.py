"""Hostile inputs: every value is refused at load, naming its key, or runs to finite,
positive results. Nothing in between: no traceback, no silent nan or 0."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from jevons.cli.main import app
from jevons.engine.execution import memory
from jevons.engine.execution.run import NonFiniteResultError, check_finite, run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.preparation.plan import build_plan
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.engine.summaries.sketch import SketchSpec
from jevons.errors import JevonsError, ScenarioError
from tests.conftest import HAND_SCENARIO
from tests.helpers import GOOD, toml_document

runner = CliRunner()

# The hand scenario with every optional input given, so that each can be mutated.
BASE = copy.deepcopy(HAND_SCENARIO)
BASE["users"].update({"volatility": 0.1, "saturation": 5000})
BASE["agents"]["max_calls"] = 20
BASE["cache"]["drift_per_month"] = 0.01
BASE["variability"].update(
    {
        "step_noise": 0.05,
        "weekday_weights": [1, 1, 1, 1, 1, 0.5, 0.5],
        "surges": [
            {"name": "launch", "start": "2027-01-05", "end": "2027-01-05", "multiplier": 2.0}
        ],
    }
)
BASE["fleet"] = {"policy": "fixed", "sizes": [1, 10]}

FINITE_STEP = ("requests", "output_tokens", "gpu_hours", "peak_gpus", "cost")
DEMAND = ("prefill_tokens_mean", "output_tokens_mean", "thinking_tokens_mean")


def _numeric_paths(node, path=()):
    """Key paths (tuples of keys and list indices) of every number in a scenario table."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        is_number = isinstance(node, int | float) and not isinstance(node, bool)
        return [path] if is_number else []
    return [p for key, value in items for p in _numeric_paths(value, (*path, key))]


# Inputs of the model; horizon and simulation sizes are left alone (a 2**40-trajectory run
# is valid, and slow).
MUTABLE = [p for p in _numeric_paths(BASE) if p[0] not in ("horizon", "simulation")]


def _dotted(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + part
    return text


def _set(data, path, value):
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


HOSTILE_NUMBERS = [
    0, -1, -1e-300, 1e-300, 1e308, -1e308, math.inf, -math.inf, math.nan,
    2**63, 10**30, 1e12, 1e9, 0.5,
]  # fmt: skip
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.sampled_from(["x", [1.0], {"value": 1}, True]),
    st.builds(
        lambda mu, sigma: {"dist": "lognormal", "mu": mu, "sigma": sigma},
        st.sampled_from([1e10, -1e10, 700.0, 0.0, 5.0]),
        st.sampled_from([1e-300, 1.0, 50.0, 1e308]),
    ),
    st.builds(
        lambda family, mean, sd: {"dist": family, "mean": mean, "sd": sd},
        st.sampled_from(["gamma", "beta", "normal"]),
        st.sampled_from([0.5, 1e-300, 1e12, 1e308]),
        st.sampled_from([1e-300, 0.1, 1e300]),
    ),
    st.builds(lambda mean: {"dist": "poisson", "mean": mean}, st.sampled_from([1e300, 1e15, 3.0])),
    st.builds(
        lambda mean, dispersion: {
            "dist": "negative_binomial",
            "mean": mean,
            "dispersion": dispersion,
        },
        st.sampled_from([1e300, 1e12, 8.0]),
        st.sampled_from([1e-300, 1e-3, 2.0, 1e300]),
    ),
    st.builds(
        lambda mean, sd, low, high: {
            "dist": "normal",
            "mean": mean,
            "sd": sd,
            "low": low,
            "high": high,
        },
        st.sampled_from([0.5, 1e308, -1e308]),
        st.sampled_from([1e-300, 1.0, 1e308]),
        st.sampled_from([0.0, -1e308, 1e-300]),
        st.sampled_from([1.0, 1e308, 1e13]),
    ),
    st.builds(
        lambda low, mode, high: {"dist": "pert", "low": low, "mode": mode, "high": high},
        st.sampled_from([0.0, -1e308, 1e-300]),
        st.sampled_from([1e-300, 1.0]),
        st.sampled_from([1.0, 2.0, 1e308]),
    ),
    st.builds(
        lambda low, high: {"dist": "uniform", "low": low, "high": high},
        st.sampled_from([-1e308, 0.0, 1.0]),
        st.sampled_from([2.0, 1e13, 1e308]),
    ),
)


def _outputs_are_finite_and_positive(ds) -> None:
    for name in FINITE_STEP:
        for variable in (name, f"{name}_mean"):
            values = ds[variable].values
            assert np.isfinite(values).all(), variable
            assert (values >= 0).all(), variable
    demand = sum(ds[name].values for name in DEMAND)  # per step
    for name in ("gpu_hours_mean", "peak_gpus_mean", "cost_mean"):
        values = ds[name].values  # (hardware, time)
        assert (values[..., demand > 0] > 0).all(), name
    assert (ds.total_cost.values > 0).all() == bool((demand > 0).any())


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(MUTABLE), value=HOSTILE)
def test_a_hostile_value_is_refused_by_key_or_runs_to_finite_positive_results(path, value):
    data = copy.deepcopy(BASE)
    _set(data, path, value)
    key = _dotted(path)
    try:
        scenario = scenario_from_dict(data)
    except ScenarioError as exc:
        assert exc.problems
        named = [p for p, msg in exc.problems if (p and key.startswith(p)) or key in f"{p}: {msg}"]
        assert named, (key, exc.problems)
        return
    ds = run_scenario(scenario, RunSettings(trajectories=3, backend="numpy", summary="exact"))
    _outputs_are_finite_and_positive(ds)


def test_the_base_scenario_runs():
    ds = run_scenario(
        scenario_from_dict(copy.deepcopy(BASE)), RunSettings(trajectories=3, backend="numpy")
    )
    _outputs_are_finite_and_positive(ds)
    assert (ds.requests_mean.values > 0).all()


# The largest value each documented range allows, and one beyond it.
TOPS = [
    (("users", "initial"), 1e12),
    (("users", "saturation"), 1e12),
    (("users", "growth_per_month"), 10.0),
    (("users", "volatility"), 5.0),
    (("usage", "sessions_per_user_per_day"), 1e4),
    (("usage", "requests_per_session"), 1e4),
    (("usage", "input_tokens_per_request"), 1e8),
    (("usage", "output_tokens_per_call"), 1e8),
    (("agents", "context_growth_per_call"), 1e8),
    (("agents", "max_calls"), 1_000_000),
    (("reasoning", "thinking_tokens"), 1e8),
    (("variability", "step_noise"), 5.0),
    (("variability", "surges", 0, "multiplier"), 1e3),
    (("variability", "burst_factor"), 1e3),
    (("supply", "hardware", 0, "cost_per_gpu_hour"), 1e4),
    (("supply", "hardware", 0, "decode_tokens_per_s"), 1e9),
    (("supply", "hardware", 0, "prefill_tokens_per_s"), 1e9),
    (("supply", "hardware", 0, "power_kw"), 1e3),
    (("supply", "energy_price_per_kwh"), 1e3),
    (("fleet", "sizes", 1), 1_000_000_000),
]


@pytest.mark.parametrize(("path", "top"), TOPS, ids=[_dotted(p) for p, _ in TOPS])
def test_the_top_of_each_range_runs_and_beyond_it_is_refused(path, top):
    data = copy.deepcopy(BASE)
    if path == ("users", "initial"):
        data["users"]["saturation"] = top
    if path == ("reasoning", "thinking_tokens"):
        del data["reasoning"]["budget"]
    _set(data, path, top)
    ds = run_scenario(scenario_from_dict(data), RunSettings(trajectories=3, backend="numpy"))
    _outputs_are_finite_and_positive(ds)

    beyond = int(top * 10) if isinstance(top, int) else top * 10
    _set(data, path, beyond)
    with pytest.raises(ScenarioError) as excinfo:
        scenario_from_dict(data)
    assert any(_dotted(path).startswith(p) for p, _ in excinfo.value.problems if p)


def test_every_input_at_its_extremes_at_once_stays_finite_and_positive():
    """The ranges keep every output finite together, not only one at a time: all at the
    top (weekly steps, so the calendar peak and the step's volume are both large)."""
    data = copy.deepcopy(BASE)
    data["horizon"] = {"start": "2027-01-04", "step": "7D", "steps": 2}
    data["users"] = {"initial": 1e12, "growth_per_month": 10, "volatility": 5, "saturation": 1e12}
    data["usage"] = dict.fromkeys(data["usage"], 1e4) | {
        "input_tokens_per_request": 1e8,
        "output_tokens_per_call": 1e8,
    }
    data["reasoning"] = {"share": 1.0, "thinking_tokens": 1e8}
    data["agents"] = {"calls_per_request": 1_000_000, "max_calls": 1_000_000,
                      "context_growth_per_call": 1e8}  # fmt: skip
    data["variability"]["hour_weights"] = [1e308] + [0.0] * 23
    data["variability"]["step_noise"] = 5.0
    data["variability"]["surges"][0]["multiplier"] = 1e3
    data["supply"]["hardware"][0].update(
        cost_per_gpu_hour=1e4, decode_tokens_per_s=1e-3, prefill_tokens_per_s=1e-3, power_kw=1e3
    )
    data["supply"]["target_utilization"] = 0.01
    data["supply"]["energy_price_per_kwh"] = 1e3
    ds = run_scenario(scenario_from_dict(data), RunSettings(trajectories=3, backend="numpy"))
    _outputs_are_finite_and_positive(ds)


@pytest.mark.parametrize("size", [1.0, 1e-300, 1e308])
def test_equal_weights_of_any_size_are_all_ones(hand_dict, size):
    hand_dict["variability"]["hour_weights"] = [size] * 24
    hand_dict["variability"]["weekday_weights"] = [size] * 7
    variability = scenario_from_dict(hand_dict).variability
    assert variability.hour_weights == [1.0] * 24
    assert variability.weekday_weights == [1.0] * 7


def test_huge_weights_keep_their_ratios(hand_dict):
    hand_dict["variability"]["hour_weights"] = [1e308] * 12 + [0.5e308] * 12
    weights = scenario_from_dict(hand_dict).variability.hour_weights
    assert weights == pytest.approx([4 / 3] * 12 + [2 / 3] * 12, rel=1e-15)


def test_a_cap_below_the_initial_users_is_refused(hand_dict):
    hand_dict["users"]["saturation"] = 500  # initial: 1000
    with pytest.raises(ScenarioError) as excinfo:
        scenario_from_dict(hand_dict)
    [(path, message)] = excinfo.value.problems
    assert path == "users.saturation"
    assert "users.initial" in message


def test_users_growing_past_the_range_without_a_cap_are_refused(hand_dict):
    hand_dict["horizon"] = {"start": "2027-01-04", "step": "7D", "steps": 2000}
    hand_dict["users"]["growth_per_month"] = 1.0  # doubling for 460 months
    with pytest.raises(ScenarioError) as excinfo:
        scenario_from_dict(hand_dict)
    assert "users.growth_per_month" in str(excinfo.value)
    assert "users.saturation" in str(excinfo.value)
    hand_dict["users"]["saturation"] = 1e6  # a cap bounds them: accepted
    scenario_from_dict(hand_dict)


def test_non_finite_outputs_are_an_internal_error(hand_scenario):
    ds = run_scenario(hand_scenario, RunSettings(trajectories=3, backend="numpy"))
    check_finite(ds)  # a good run passes
    ds["cost_per_mtok"][...] = np.nan  # NaN by design without output tokens: not checked
    check_finite(ds)
    ds["gpu_hours"][0, 0, -1] = np.inf
    with pytest.raises(NonFiniteResultError) as excinfo:
        check_finite(ds)
    assert isinstance(excinfo.value, JevonsError)
    message = str(excinfo.value)
    assert message.startswith("internal error: gpu_hours came out non-finite")
    assert "\n" not in message


def test_sketches_too_large_for_memory_are_refused_before_any_work(hand_scenario, monkeypatch):
    plan = build_plan(hand_scenario)
    fine, finer = SketchSpec(0.005), SketchSpec(1e-4)
    assert memory.sketch_bytes(plan, finer) > 16 * memory.sketch_bytes(plan, fine)
    machine = 2 * memory.sketch_bytes(plan, fine)
    monkeypatch.setattr(memory, "physical_memory_bytes", lambda: machine)
    memory.check_sketch_memory(plan, fine)
    with pytest.raises(JevonsError, match="relative_accuracy"):
        memory.check_sketch_memory(plan, finer)


# --- through the command line: exit 2, one line naming the key, no file ---------------------

# GOOD: a small valid scenario file, shared with the CLI tests

CASES = {
    "huge users": ('initial = { dist = "lognormal", median = 1000, p95 = 2000 }',
                   "initial = 1e308", "users.initial"),
    "huge output": ("output_tokens_per_call = 100", "output_tokens_per_call = 1e308",
                    "usage.output_tokens_per_call"),
    "inf in a base table": ('hardware = "h200-hgx"',
                            'hardware = [{ base = "h200-hgx", cost_per_gpu_hour = inf }]',
                            "cost_per_gpu_hour"),
    "inf inline": ('hardware = "h200-hgx"',
                   'hardware = [{ key = "g", cost_per_gpu_hour = 1, decode_tokens_per_s = inf,'
                   " prefill_tokens_per_s = 1, power_kw = 1 }]",
                   "supply.hardware[0].decode_tokens_per_s"),
    "nan cost": ('hardware = "h200-hgx"',
                 'hardware = [{ base = "h200-hgx", cost_per_gpu_hour = nan }]', "finite"),
    "a list as base": ('hardware = "h200-hgx"', 'hardware = [{ base = ["h200-hgx"] }]',
                       "base"),
    "fine sketch": ("trajectories = 20", "trajectories = 20\nrelative_accuracy = 1e-9",
                    "simulation.relative_accuracy"),
    "float fleet": ('hardware = "h200-hgx"',
                    'hardware = "h200-hgx"\n[fleet]\npolicy = "fixed"\nsizes = [1e30]',
                    "fleet.sizes[0]"),
    "int fleet": ('hardware = "h200-hgx"',
                  'hardware = "h200-hgx"\n[fleet]\npolicy = "fixed"\nsizes = [10000000000000]',
                  "fleet.sizes[0]"),
    "lognormal mu": ('initial = { dist = "lognormal", median = 1000, p95 = 2000 }',
                     'initial = { dist = "lognormal", mu = 1e10, sigma = 1 }', "users.initial"),
    "gamma sd": ("sessions_per_user_per_day = 1",
                 'sessions_per_user_per_day = { dist = "gamma", mean = 1, sd = 1e-300 }',
                 "usage.sessions_per_user_per_day"),
    "beta sd": ("trajectories = 20",
                'trajectories = 20\n[cache]\nhit_rate = { dist = "beta", mean = 0.5, sd = 1e-300 }',
                "cache.hit_rate"),
    "saturation below users": ('initial = { dist = "lognormal", median = 1000, p95 = 2000 }',
                               "initial = 1000\nsaturation = 10", "users.saturation"),
    "huge surge": ("trajectories = 20",
                   'trajectories = 20\n[[variability.surges]]\nname = "s"\nstart = 2027-01-01\n'
                   "end = 2027-01-02\nmultiplier = 1e308",
                   "variability.surges[0].multiplier"),
}  # fmt: skip


@pytest.mark.parametrize(("old", "new", "key"), CASES.values(), ids=CASES.keys())
def test_hostile_input_is_one_line_naming_its_key_with_exit_2(tmp_path: Path, old, new, key):
    assert old in GOOD
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(GOOD.replace(old, new, 1))
    out = tmp_path / "out.nc"
    result = runner.invoke(app, ["run", str(scenario), "-o", str(out), "--backend", "numpy"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error:") and key in lines[0], result.output
    assert "Traceback" not in result.output
    assert "Warning" not in result.output
    assert sorted(tmp_path.iterdir()) == [scenario]


def test_a_valid_run_never_prints_zero_gpus_or_dollars(tmp_path: Path):
    """Positive demand shows positive GPUs and dollars, however the weights are scaled
    (equal hour weights of 1e308 once summed to inf and zeroed every hour)."""
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        GOOD.replace('initial = { dist = "lognormal", median = 1000, p95 = 2000 }', "initial = 1")
        + "\n[variability]\nhour_weights = ["
        + ", ".join(["1e308"] * 24)
        + "]\n"
    )
    result = runner.invoke(
        app, ["run", str(scenario), "-o", str(tmp_path / "o.nc"), "--backend", "numpy"]
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("h200-hgx"))
    figures = [f.strip().strip("$") for cell in row.split("│")[1:] for f in cell.split(" / ")]
    assert len(figures) == 8, row
    for figure in figures:
        assert figure not in ("0", "0.0", "nan", "n/a") and float(figure.rstrip("kMBT")) > 0, row


def test_heavy_tailed_call_counts_get_their_moments_without_hanging(hand_dict):
    """A far quantile of a heavy negative binomial once took SciPy minutes to find."""
    import signal

    from scipy import stats

    hand_dict["agents"]["calls_per_request"] = {
        "dist": "negative_binomial", "mean": 1e6, "dispersion": 1e-3,
    }  # fmt: skip
    hand_dict["agents"]["max_calls"] = 1000
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("calls_moments hung (over 30 s)"))
    signal.alarm(30)
    try:
        mean, pairs = scenario_from_dict(hand_dict).agents.calls_moments()
    finally:
        signal.alarm(0)
    # by brute force: C held to 1..1000, the pmf summed term by term
    r = 1e-3
    rv = stats.nbinom(r, r / (r + 1e6))
    k = np.arange(1, 1000, dtype=float)
    p = rv.pmf(k)
    p[0] += rv.pmf(0)  # a draw of 0 counts as one call
    top = rv.sf(999)  # every draw of 1000 or more is held to 1000
    assert mean == pytest.approx(float(np.sum(k * p) + 1000 * top), rel=1e-9)
    assert pairs == pytest.approx(float(np.sum(k * (k - 1) * p) + 1000 * 999 * top), rel=1e-9)


def test_a_positive_input_whose_draws_reach_zero_is_refused(hand_dict):
    hand_dict["users"]["initial"] = {"dist": "gamma", "mean": 1000, "sd": 1e6}  # shape 1e-6
    with pytest.raises(ScenarioError) as excinfo:
        scenario_from_dict(hand_dict)
    [(path, message)] = excinfo.value.problems
    assert path == "users.initial" and "draws down to 0" in message


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(MUTABLE), value=HOSTILE)
def test_the_cli_refuses_a_hostile_file_in_one_line_or_replaces_the_result(path, value):
    """Through the command line: exit 2 with one line naming the key and the earlier result
    untouched, or exit 0 with a new result whose main outputs are finite and positive."""
    import tempfile

    import xarray as xr

    data = copy.deepcopy(BASE)
    _set(data, path, value)
    with tempfile.TemporaryDirectory() as folder:
        scenario, out = Path(folder) / "hostile.toml", Path(folder) / "out.nc"
        scenario.write_text(toml_document(data))
        out.write_bytes(b"an earlier result")
        result = runner.invoke(
            app, ["run", str(scenario), "-o", str(out), "-n", "3", "--backend", "numpy", "-q"]
        )
        assert "Traceback" not in result.output
        if result.exit_code == 2:
            lines = result.output.strip().splitlines()
            # one line per problem (a table with two bad parameters has two), each naming
            # the key that holds it
            assert lines and all(line.startswith("error:") for line in lines), result.output
            assert all(_dotted(path).split("[")[0] in line for line in lines), result.output
            assert out.read_bytes() == b"an earlier result"
        else:
            assert result.exit_code == 0, result.output
            with xr.open_dataset(out) as ds:
                _outputs_are_finite_and_positive(ds.load())
        assert sorted(p.name for p in Path(folder).iterdir()) == ["hostile.toml", "out.nc"]
