"""The command line as a user drives it: exit codes, messages, files."""


import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from tests.conftest import SCENARIOS
from tests.helpers import GOOD, write

runner = CliRunner()


def test_seed_table_reproduces_cost_per_token(tmp_path):
    out = tmp_path / "seed.nc"
    result = runner.invoke(app, ["run", str(SCENARIOS / "seed-table.toml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "$4.35" in result.output
    assert "$0.123" in result.output
    assert "35x" in result.output
    # every request has the benchmark's mean shape: 7,372.5 input and 921.5 output tokens
    output_share = 921.5 / (7372.5 + 921.5)
    with xr.open_dataset(out) as ds:
        every_token = ds.horizon_cost_per_mtok_all.sel(quantile=0.5)
        per_output = ds.horizon_cost_per_mtok.sel(quantile=0.5)
        for hardware, price, rate in (("h200-hgx", 1.41, 90), ("gb300-nvl72", 2.65, 6000)):
            expected = price / (rate * 3600) * 1e6
            assert float(every_token.sel(hardware=hardware)) == pytest.approx(expected, rel=1e-12)
            assert float(per_output.sel(hardware=hardware)) == pytest.approx(
                expected / output_share, rel=1e-12
            )


def test_run_writes_a_readable_dataset_with_provenance(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "out.nc"
    result = runner.invoke(app, ["run", str(scenario), "-o", str(out), "-n", "50", "--seed", "9"])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out) as ds:
        assert ds.attrs["trajectories"] == 50
        assert ds.attrs["seed"] == 9 and ds.attrs["seed"].dtype == np.uint64
        assert ds.attrs["backend"] in {"cpu", "cuda"}  # auto: a compiled backend
        assert "lognormal" in ds.attrs["scenario"]
        assert ds.peak_gpus.attrs["units"] == "GPUs"
        assert float(ds.peak_gpus.sel(quantile=0.95, hardware="h200-hgx").isel(time=0)) > 0
        assert set(ds.peak_gpus.dims) == {"quantile", "hardware", "time"}
    assert not list(tmp_path.glob(".*.tmp"))


def test_default_output_is_named_after_the_scenario(tmp_path, monkeypatch):
    scenario = write(tmp_path, GOOD)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(scenario), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "scenario.nc").exists()


BAD_INPUTS = {
    "missing key": (
        GOOD.replace("output_tokens_per_call = 100\n", ""),
        "usage.output_tokens_per_call",
    ),
    "unknown distribution": (
        GOOD.replace('dist = "lognormal", median = 1000, p95 = 2000', 'dist = "zipf", a = 2'),
        "users.initial: unknown distribution 'zipf'",
    ),
    "negative tokens": (
        GOOD.replace("input_tokens_per_request = 300", "input_tokens_per_request = -300"),
        "usage.input_tokens_per_request: must be non-negative",
    ),
    "probability above one": (
        GOOD + "\n[cache]\nhit_rate = 1.2\n",
        "cache.hit_rate: must be a probability",
    ),
    "probability spread outside [0, 1]": (
        GOOD + '\n[reasoning]\nshare = { dist = "normal", mean = 0.5, sd = 0.3 }\n',
        "reasoning.share",
    ),
    "impossible date": (GOOD.replace("2027-01-01", "2027-02-30"), "not valid TOML"),
    "date of the wrong type": (
        GOOD.replace("start = 2027-01-01", 'start = "next spring"'),
        "horizon.start",
    ),
    "malformed TOML": (GOOD.replace("[usage]", "[usage"), "not valid TOML"),
    "unknown hardware": (
        GOOD.replace('"h200-hgx"', '"h900"'),
        "supply.hardware: unknown hardware 'h900'",
    ),
    "unknown key": (GOOD.replace("[users]", "[users]\ninital = 3"), "users.inital: unknown key"),
    "nan": (GOOD.replace("[users]", "[users]\nvolatility = nan"), "users.volatility"),
    "infinity": (
        GOOD.replace("requests_per_session = 2", "requests_per_session = inf"),
        "usage.requests_per_session",
    ),
    "no hardware": (GOOD.replace('hardware = "h200-hgx"', "hardware = []"), "supply.hardware"),
    "interactivity beyond the frontier": (
        GOOD + "interactivity = 100\n",
        "supply.interactivity 100 is beyond hardware 'h200-hgx''s frontier, which reaches at"
        " most 20.37 tokens/s per user",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_one_clear_message(tmp_path, case):
    text, expected = BAD_INPUTS[case]
    scenario = write(tmp_path, text)
    out = tmp_path / "out.nc"
    for command in (["run", str(scenario), "-o", str(out)], ["validate", str(scenario)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert expected in result.output
        assert "Traceback" not in result.output
        assert "error:" in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [scenario]


def test_missing_scenario_file(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_unwritable_output_fails_before_simulating(tmp_path):
    scenario = write(tmp_path, GOOD)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(tmp_path / "missing" / "out.nc")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_unknown_backend_is_a_clear_error(tmp_path):
    scenario = write(tmp_path, GOOD)
    result = runner.invoke(
        app, ["run", str(scenario), "--backend", "tpu", "-o", str(tmp_path / "o.nc")]
    )
    assert result.exit_code == 2
    assert "unknown backend 'tpu'" in result.output
    assert not (tmp_path / "o.nc").exists()


def test_validate_reports_the_plan():
    result = runner.invoke(app, ["validate", str(SCENARIOS / "seed-table.toml")])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    # the rates each profile runs on: the headline points' reproducing rates
    prefill = 73_700 / 8  # DeepSeek's H800 prefill at H200's (equal) dense FP8 TFLOPS
    decode = 921.5 / ((7372.5 + 921.5) / 90 - 7372.5 / prefill)
    assert f"h200-hgx: {prefill:,.0f} / {decode:,.1f} (measured)" in result.output


def test_a_line_of_text_stays_whole_in_a_log(tmp_path):
    """Printed to a file or pipe (rich assumes 80 columns there), each line of text is
    one line of the log, however long: a grep for it, or for a path, finds it."""
    folder = tmp_path / ("a-folder-name-long-enough-that-the-line-passes-eighty-columns" * 2)
    folder.mkdir()
    scenario = folder / "seed-table.toml"
    scenario.write_text((SCENARIOS / "seed-table.toml").read_text())
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{scenario}: valid"
    assert "  hardware at headline points (prefill / output-only decode tokens/s per GPU):" in lines


def test_hardware_lists_the_catalog_and_shows_sources():
    result = runner.invoke(app, ["hardware"])
    assert result.exit_code == 0
    assert "h200-hgx" in result.output and "gb300-nvl72" in result.output
    one = runner.invoke(app, ["hardware", "h200-hgx"])
    assert one.exit_code == 0
    assert "source" in one.output and "1.41" in one.output
    missing = runner.invoke(app, ["hardware", "tpu-v9"])
    assert missing.exit_code == 2
    assert "unknown hardware 'tpu-v9'" in missing.output


def test_keep_trajectories_stores_inputs_and_totals_for_sensitivity(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "out.nc"
    result = runner.invoke(
        app, ["run", str(scenario), "-o", str(out), "-n", "400", "--keep-trajectories"]
    )
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out) as ds:
        assert ds.sizes["trajectory"] == 400
        assert ds.drawn_users_initial.attrs["key_path"] == "users.initial"
        assert "drawn_usage_sessions_per_user_per_day" not in ds  # fixed inputs explain nothing
        assert ds.trajectory_total_cost.dims == ("hardware", "trajectory")
        # the only uncertain input drives the totals: more users, more tokens
        assert float(np.corrcoef(ds.drawn_users_initial, ds.trajectory_total_tokens)[0, 1]) > 0.99
        # and the percentile summary agrees with the kept totals
        assert float(ds.total_tokens.sel(quantile=0.5)) == pytest.approx(
            float(ds.trajectory_total_tokens.median()), rel=1e-9
        )


def test_a_run_too_big_for_memory_is_refused_up_front(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "out.nc"
    result = runner.invoke(
        app, ["run", str(scenario), "-o", str(out), "-n", str(10**12), "--summary", "exact"]
    )
    assert result.exit_code == 2
    assert "GiB in one process" in result.output
    assert not out.exists()


def test_output_under_a_file_fails_before_simulating(tmp_path):
    scenario = write(tmp_path, GOOD)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(scenario / "out.nc")])
    assert result.exit_code == 2
    assert "not a folder" in result.output


def test_summary_uses_the_quantiles_the_scenario_asks_for(tmp_path):
    text = GOOD.replace("trajectories = 20", "trajectories = 20\nquantiles = [0.1, 0.9]")
    scenario = write(tmp_path, text)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(tmp_path / "o.nc")])
    assert result.exit_code == 0, result.output
    assert "P10/P90" in result.output
    assert "h200-hgx" in result.output


@pytest.mark.slow
def test_shards_then_merge_write_the_single_run_result_as_zarr(tmp_path):
    scenario = write(tmp_path, GOOD)
    shards = []
    for i in (1, 2):
        path = tmp_path / f"part{i}.nc"
        result = runner.invoke(app, ["run", str(scenario), "-n", "40", "--shard", f"{i}/2",
                                     "-o", str(path), "-q"])  # fmt: skip
        assert result.exit_code == 0, result.output
        shards.append(str(path))
    merged = tmp_path / "merged.zarr"
    result = runner.invoke(app, ["merge", *shards, "-o", str(merged)])
    assert result.exit_code == 0, result.output
    assert "merged 2 shards" in result.output
    single = tmp_path / "single.nc"
    result = runner.invoke(
        app, ["run", str(scenario), "-n", "40", "--summary", "sketch", "-o", str(single), "-q"]
    )
    assert result.exit_code == 0, result.output
    a = xr.open_zarr(merged).load()
    b = xr.open_dataset(single).load()
    for name in b.data_vars:
        np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-12, equal_nan=True)


@pytest.mark.slow
def test_merge_of_an_incomplete_set_fails_and_writes_nothing(tmp_path):
    scenario = write(tmp_path, GOOD)
    part = tmp_path / "part.nc"
    runner.invoke(app, ["run", str(scenario), "-n", "20", "--shard", "1/3", "-o", str(part), "-q"])
    out = tmp_path / "merged.nc"
    result = runner.invoke(app, ["merge", str(part), "-o", str(out)])
    assert result.exit_code == 2
    assert "shards missing: 2, 3 of 3" in result.output
    assert not out.exists()
    result = runner.invoke(app, ["merge", str(scenario), "-o", str(out)])
    assert result.exit_code == 2 and not out.exists()


def test_unknown_output_format_is_refused_before_simulating(tmp_path):
    scenario = write(tmp_path, GOOD)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    assert "use .nc (NetCDF) or .zarr (Zarr)" in result.output


@pytest.mark.slow
def test_rewriting_a_zarr_store_replaces_it_completely(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "out.zarr"
    first = ["run", str(scenario), "-o", str(out), "-n", "30", "--seed", "1", "-q"]
    result = runner.invoke(app, [*first, "--keep-trajectories"])
    assert result.exit_code == 0, result.output
    with xr.open_zarr(out) as ds:
        assert ds.attrs["seed"] == 1 and ds.sizes["trajectory"] == 30
        assert "drawn_users_initial" in ds

    result = runner.invoke(app, ["run", str(scenario), "-o", str(out), "-n", "20", "--seed", "2"])
    assert result.exit_code == 0, result.output
    fresh = tmp_path / "fresh.zarr"  # the same run, written where nothing was before
    result = runner.invoke(app, ["run", str(scenario), "-o", str(fresh), "-n", "20", "--seed", "2"])
    assert result.exit_code == 0, result.output

    with xr.open_zarr(out) as ds, xr.open_zarr(fresh) as expected:
        assert ds.attrs["seed"] == 2
        assert ds.attrs["trajectories"] == 20
        assert "trajectory" not in ds.dims
        assert not [name for name in ds.variables if "trajectory" in str(name)]
        assert set(ds.variables) == set(expected.variables)
        for name in expected.data_vars:
            np.testing.assert_array_equal(ds[name].values, expected[name].values, err_msg=name)
        arrays = set(ds.variables)
    # no array of the first run is left in the store's folder, listed or not
    on_disk = {p.name for p in out.iterdir() if p.is_dir()}
    assert on_disk == arrays
    assert on_disk == {p.name for p in fresh.iterdir() if p.is_dir()}
    # and nothing beside it: no temporary store, no renamed-aside old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.zarr", "out.zarr", "scenario.toml"]
