"""The library API: ``jevons.run``, ``jevons.sweep``, ``jevons.load_scenario``,
``jevons.open_result`` and the provenance they keep."""

import ast
import inspect
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import jevons
from jevons.cli.main import app
from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.execution.shards import merge_shards, run_shard
from jevons.engine.output.files import open_result, write_dataset
from jevons.engine.output.shard_files import Shard
from jevons.engine.scenario.loading import load_scenario, parse_scenario_text
from jevons.engine.scenario.source import scenario_toml
from jevons.errors import JevonsError, ScenarioError
from tests.conftest import SCENARIOS

ROOT = Path(__file__).resolve().parents[1]

# Uncertain inputs, a weekday profile and a catalog profile: every number depends on the
# draws, and the hour weights exercise the normalisation a rendering must survive.
TEXT = """
name = "api"

[horizon]
start = 2027-01-04
steps = 4

[simulation]
trajectories = 40
seed = 11
quantiles = [0.1, 0.5, 0.9]

[users]
initial = { dist = "lognormal", median = 1000, p95 = 3000 }
growth_per_month = { dist = "normal", mean = 0.05, sd = 0.02, low = -0.5, high = 0.5 }

[usage]
sessions_per_user_per_day = 1.5
requests_per_session = 2
input_tokens_per_request = 300
output_tokens_per_call = 100

[variability]
weekday_weights = [1.3, 1.2, 1.1, 1.0, 0.9, 0.5, 0.3]

[supply]
hardware = "h200-hgx"
"""


def assert_same_numbers(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        assert a[name].values.tobytes() == b[name].values.tobytes(), name  # NaN included
    for name in a.coords:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


@pytest.fixture
def scenario_file(tmp_path) -> Path:
    path = tmp_path / "api.toml"
    path.write_text(TEXT)
    return path


def test_every_kind_of_source_gives_the_same_numbers(scenario_file):
    from_path = jevons.run(scenario_file, backend="numpy")
    from_str_path = jevons.run(str(scenario_file), backend="numpy")
    from_text = jevons.run(TEXT, backend="numpy")
    from_table = jevons.run(tomllib.loads(TEXT), backend="numpy")
    from_scenario = jevons.run(jevons.load_scenario(scenario_file), backend="numpy")
    for other in (from_str_path, from_text, from_table, from_scenario):
        assert_same_numbers(from_path, other)
    # the provenance: the text itself, or a rendering that reads back to the same
    assert from_path.attrs["scenario"] == TEXT
    assert from_text.attrs["scenario"] == TEXT
    assert tomllib.loads(from_table.attrs["scenario"]) == tomllib.loads(TEXT)
    given = jevons.load_scenario(scenario_file)
    assert jevons.load_scenario(from_scenario.attrs["scenario"]) == given


def test_overrides_are_those_of_the_command_line(scenario_file, tmp_path):
    out = tmp_path / "cli.nc"
    args = ["run", str(scenario_file), "-o", str(out), "-n", "30", "--seed", "5", "-q"]
    result = CliRunner().invoke(app, [*args, "--backend", "numpy", "--summary", "sketch"])
    assert result.exit_code == 0, result.output
    ds = jevons.run(scenario_file, trajectories=30, seed=5, backend="numpy", summary="sketch")
    assert_same_numbers(ds, open_result(out))
    assert ds.attrs["trajectories"] == 30 and ds.attrs["seed"] == 5
    assert ds.attrs["summary"] == "sketch"


def test_thresholds_given_to_run_equal_those_in_the_scenario(scenario_file):
    in_file = TEXT + "\n[risk.thresholds]\ntotal_cost = [1e3, 1e5]\nmax_peak_gpus = 2\n"
    a = jevons.run(in_file, backend="numpy")
    b = jevons.run(
        scenario_file, backend="numpy", thresholds={"total_cost": [1e5, 1e3], "max_peak_gpus": 2}
    )
    assert_same_numbers(a, b)
    assert list(b.total_cost_threshold.values) == [1e3, 1e5]


@pytest.mark.slow
def test_a_run_in_a_fresh_process_keeps_the_files_text(scenario_file):
    script = (
        "import sys, jevons\n"
        "ds = jevons.run(sys.argv[1], trajectories=20, backend='numpy')\n"
        "sys.stdout.write(ds.attrs['scenario'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(scenario_file)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == scenario_file.read_text()


def test_the_engine_keeps_a_rendering_when_given_no_text(scenario_file):
    scenario = load_scenario(scenario_file)
    ds = run_scenario(scenario, RunSettings(trajectories=10, backend="numpy"))
    assert ds.attrs["scenario"] != ""
    assert parse_scenario_text(ds.attrs["scenario"]) == scenario


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_a_rendered_scenario_reads_back_to_the_same_scenario(path):
    scenario = load_scenario(path)
    text = scenario_toml(scenario)
    back = parse_scenario_text(text)
    assert back == scenario
    # the normalised weights themselves, bit for bit (normalising twice moves last bits)
    for name in ("hour_weights", "weekday_weights"):
        got, want = getattr(back.variability, name), getattr(scenario.variability, name)
        assert np.asarray(got).tobytes() == np.asarray(want).tobytes(), name


@pytest.mark.slow
def test_a_sweep_in_memory_equals_the_command_lines(scenario_file, tmp_path):
    out = tmp_path / "sweep.nc"
    args = ["sweep", str(scenario_file), "--set", "users.initial=100,1000", "-n", "20"]
    result = CliRunner().invoke(app, [*args, "--backend", "numpy", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    written = open_result(out)
    seen = []
    ds = jevons.sweep(
        scenario_file, {"users.initial": [100, 1000]}, trajectories=20, backend="numpy",
        on_point=lambda done, total, reused: seen.append((done, total, reused)),
    )  # fmt: skip
    assert ds.sizes["users_initial"] == 2 and list(ds.users_initial.values) == [100, 1000]
    assert_same_numbers(written, ds)
    assert ds.attrs["scenario"] == TEXT and ds.attrs["sweep_points"] == 2
    assert seen == [(1, 2, False), (2, 2, False)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api.toml", "sweep.nc"]
    # the grid scales users as given: 10x the users, 10x at every quantile
    np.testing.assert_allclose(
        ds.users.sel(users_initial=1000).values, 10 * ds.users.sel(users_initial=100).values
    )


def test_a_sweep_takes_the_scenarios_own_sweep_table(scenario_file):
    with_table = TEXT + '\n[sweep]\n"usage.requests_per_session" = [2, 4]\n'
    ds = jevons.sweep(with_table, {"users.initial": 500}, trajectories=10, backend="numpy")
    assert ds.sizes["usage_requests_per_session"] == 2 and "users_initial" not in ds.dims
    assert ds.attrs["scenario"] == with_table


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_numeric_attributes_are_numbers_after_a_round_trip(tmp_path, scenario_file, suffix):
    largest = 2**64 - 1  # simulation.seed's bound: past int64, so stored as uint64
    ds = jevons.run(scenario_file, trajectories=12, seed=largest, backend="numpy")
    back = open_result(write_dataset(ds, tmp_path / f"run{suffix}"))
    for attrs in (ds.attrs, back.attrs):
        assert int(attrs["seed"]) == largest and isinstance(attrs["seed"], np.integer | int)
        assert attrs["trajectories"] == 12 and attrs["steps"] == 4
        for name in ("trajectories", "steps"):
            assert isinstance(attrs[name], np.integer | int) and not isinstance(attrs[name], bool)
        for name in ("wall_time_s", "target_utilization", "calls_per_request"):
            assert isinstance(attrs[name], np.floating | float), name
    if suffix == ".nc":
        assert back.attrs["seed"].dtype == np.uint64


@pytest.mark.slow
def test_shards_and_their_merge_keep_numeric_attributes(tmp_path, scenario_file):
    scenario = load_scenario(scenario_file)
    settings = RunSettings(trajectories=30, seed=2**63 + 5, backend="numpy")
    paths = []
    for i in range(2):
        part = run_shard(scenario, Shard(i, 2), settings, scenario_text=TEXT)
        paths.append(write_dataset(part, tmp_path / f"shard-{i}.nc"))
    partials = [open_result(path) for path in paths]
    assert all(
        p.attrs["seed"] == 2**63 + 5 and p.attrs["seed"].dtype == np.uint64 for p in partials
    )
    merged = merge_shards(partials, [str(p) for p in paths])
    back = open_result(write_dataset(merged, tmp_path / "merged.nc"))
    assert back.attrs["seed"] == 2**63 + 5 and back.attrs["trajectories"] == 30
    assert back.attrs["shards"] == 2 and back.attrs["scenario"] == TEXT


def test_a_missing_file_is_one_line_naming_it(tmp_path):
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioError) as raised:
        jevons.run(missing)
    assert str(raised.value) == f"{missing}: no such file"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[horizon]\nstart = \n", "<scenario>: not valid TOML"),
        (TEXT.replace("steps = 4", "steps = 0"), "<scenario>: horizon.steps:"),
        (TEXT + "\n[usage.bogus]\n", "<scenario>: usage.bogus: unknown key"),
    ],
    ids=["toml", "bound", "unknown-key"],
)
def test_bad_text_is_a_scenario_error_naming_the_key(source, message):
    with pytest.raises(ScenarioError) as raised:
        jevons.run(source)
    assert str(raised.value).startswith(message)
    assert len(str(raised.value).splitlines()) == 1


def test_a_bad_table_or_object_is_refused():
    table = tomllib.loads(TEXT)
    table["users"]["initial"] = -5
    with pytest.raises(ScenarioError, match=r"users\.initial"):
        jevons.run(table)
    with pytest.raises(JevonsError, match="a path, TOML text, a table"):
        jevons.run(42)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"trajectories": 0}, "simulation.trajectories"),
        ({"trajectories": True}, "simulation.trajectories"),
        ({"seed": -1}, "simulation.seed"),
        ({"seed": 2**64}, "simulation.seed"),
        ({"summary": "median"}, "summary: one of auto, exact, sketch"),
        ({"chunk": 0}, "chunk: a whole number"),
        ({"thresholds": {"gpus": 3}}, "thresholds.gpus: exceedance probabilities"),
        ({"thresholds": {"total_cost": [1, -2]}}, r"thresholds.total_cost\[1\]: must be at least"),
        ({"progress": 5}, r"progress: a function called as progress\(done, total\), or None"),
    ],
)
def test_bad_settings_are_refused_before_any_work(scenario_file, overrides, message):
    with pytest.raises(JevonsError, match=message):
        jevons.run(scenario_file, **overrides)


def test_a_sweeps_on_point_must_be_a_function(scenario_file):
    with pytest.raises(JevonsError, match="on_point: a function"):
        jevons.sweep(scenario_file, {"simulation.trajectories": [5, 6]}, on_point="yes")


def test_the_package_lists_its_api():
    assert {"run", "sweep", "load_scenario", "open_result", "RunSettings", "Scenario"} <= set(
        jevons.__all__
    )
    for name in jevons.__all__:
        assert getattr(jevons, name) is not None
    assert jevons.open_result is open_result and jevons.RunSettings is RunSettings


@pytest.mark.slow
def test_the_readmes_python_example_runs_in_a_fresh_process():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```python\n", readme.index("## Python")) + len("```python\n")
    example = readme[start : readme.index("```", start)]
    assert example.startswith("import jevons\nds = jevons.run(")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=ROOT, capture_output=True, text=True, env=env,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["hardware", "b200-hgx", "gb200-nvl72"]
    p50, p95 = (list(map(float, line.split()[1:])) for line in lines[2:4])
    assert all(0 < low < high for low, high in zip(p50, p95, strict=True))


def test_the_readmes_signature_of_run_is_the_functions():
    """The Python table of README.md lists every parameter of jevons.run, with its
    default, in the function's own order."""
    readme = (ROOT / "README.md").read_text()
    row = re.search(r"^\| `jevons\.run\((.*?)\)` \|", readme, re.MULTILINE)
    assert row is not None
    first, *rest = (part.strip().split("=") for part in row[1].split(","))
    listed = [(name, ast.literal_eval(default)) for name, default in rest]
    parameters = list(inspect.signature(jevons.run).parameters.values())
    assert first == ["scenario"]  # the function names it source: any of four forms
    assert listed == [(p.name, p.default) for p in parameters[1:]]
