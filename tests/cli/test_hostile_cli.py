"""Hostile input at the command line: each is refused with one line, exit code 2,
no traceback, and nothing written (an earlier result at the output path is kept)."""

import os
from pathlib import Path

import pytest
import xarray as xr
from typer.testing import CliRunner

import jevons
from jevons.cli.main import app
from jevons.engine.scenario.schema import Simulation
from tests.helpers import EARLIER, GOOD, earlier_output, refused, write

runner = CliRunner()


def bound(name: str, which: str):
    """A bound of a ``[simulation]`` key, from the schema."""
    metadata = Simulation.model_fields[name].metadata
    return next(getattr(m, which) for m in metadata if getattr(m, which, None) is not None)


TOP = bound("trajectories", "le")

SHARDS = 5


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("shards")
    scenario = write(folder, GOOD)
    paths = []
    for i in range(1, SHARDS + 1):
        path = folder / f"part{i}.nc"
        result = runner.invoke(app, ["run", str(scenario), "-n", "300", "--shard",
                                     f"{i}/{SHARDS}", "-o", str(path), "-q"])  # fmt: skip
        assert result.exit_code == 0, result.output
        paths.append(path)
    return paths


def altered(shards: list[Path], folder: Path, change) -> list[str]:
    """The shards, with the first one rewritten by ``change(dataset)``."""
    with xr.open_dataset(shards[0]) as ds:
        ds = change(ds.load())
    first = folder / "first.nc"
    ds.to_netcdf(first)
    return [str(first), *map(str, shards[1:])]


def test_merge_refuses_a_plain_run_result(tmp_path):
    scenario = write(tmp_path, GOOD)
    plain = tmp_path / "plain.nc"
    assert runner.invoke(app, ["run", str(scenario), "-o", str(plain), "-q"]).exit_code == 0
    out = earlier_output(tmp_path)
    result = runner.invoke(app, ["merge", str(plain), "-o", str(out)])
    refused(result, str(plain), "not a jevons shard")
    assert out.read_bytes() == EARLIER


def _without_attribute(ds):
    del ds.attrs["shard_index"]
    return ds


def _without_variable(ds):
    return ds.drop_vars("step__users__value_sum")


def _without_sketch(ds):
    return ds.drop_vars([name for name in ds.data_vars if "__total_cost__" in str(name)])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "missing"),
    [
        (_without_attribute, "shard_index"),
        (_without_variable, "step__users__value_sum"),
        (_without_sketch, "horizon__total_cost__"),
    ],
)
def test_merge_refuses_a_shard_missing_what_a_shard_holds(tmp_path, shards, change, missing):
    paths = altered(shards, tmp_path, change)
    out = earlier_output(tmp_path)
    refused(
        runner.invoke(app, ["merge", *paths, "-o", str(out)]),
        paths[0],
        "not a jevons shard",
        missing,
    )
    assert out.read_bytes() == EARLIER


@pytest.mark.slow
def test_merge_refuses_a_shard_of_another_version(tmp_path, shards):
    def older(ds):
        ds.attrs["jevons_version"] = "0.0.1"
        return ds

    paths = altered(shards, tmp_path, older)
    out = earlier_output(tmp_path)
    refused(
        runner.invoke(app, ["merge", *paths, "-o", str(out)]),
        paths[0], "0.0.1", jevons.__version__,
    )  # fmt: skip
    assert out.read_bytes() == EARLIER


def test_merge_calls_a_file_of_another_kind_not_a_shard(tmp_path, shards):
    text = tmp_path / "a2.txt"
    text.write_text("hello")
    out = earlier_output(tmp_path)
    result = runner.invoke(app, ["merge", str(shards[0]), str(text), "-o", str(out)])
    line = refused(result, str(text), "not a jevons shard file")
    assert "output" not in line
    assert out.read_bytes() == EARLIER


@pytest.mark.parametrize(
    ("command", "name"),
    [("export", "table.csv"), ("report", "page.html"), ("sensitivity", "analysed.nc")],
)
def test_a_shard_is_not_a_result_to_export_report_or_analyse(tmp_path, shards, command, name):
    """A shard holds sketches, not percentiles: each command that reads a result names
    it as the second of five shards and points at merge, and writes nothing."""
    out = tmp_path / name
    result = runner.invoke(app, [command, str(shards[1]), "-o", str(out)])
    refused(result, str(shards[1]), f"a shard of a run (2 of {SHARDS})", "jevons merge")
    assert list(tmp_path.iterdir()) == []


def test_merge_never_overwrites_one_of_its_shards(tmp_path, shards):
    copies = []
    for path in shards:
        copies.append(tmp_path / path.name)
        copies[-1].write_bytes(path.read_bytes())
    before = copies[0].read_bytes()
    result = runner.invoke(app, ["merge", *map(str, copies), "-o", str(copies[0])])
    refused(result, str(copies[0]), "input")
    assert copies[0].read_bytes() == before


@pytest.mark.slow
def test_merge_does_not_depend_on_the_order_of_the_shards(tmp_path, shards):
    results = []
    for name, order in (("forward.nc", shards), ("backward.nc", shards[::-1])):
        out = tmp_path / name
        result = runner.invoke(app, ["merge", *map(str, order), "-o", str(out), "-q"])
        assert result.exit_code == 0, result.output
        results.append(xr.open_dataset(out).load())
    forward, backward = results
    assert set(forward.data_vars) == set(backward.data_vars)
    for name in forward.data_vars:
        a, b = forward[name].values, backward[name].values
        assert a.tobytes() == b.tobytes(), name  # bit for bit, NaN included


@pytest.mark.parametrize(
    ("option", "value", "key"),
    [
        ("-n", str(TOP + 1), "trajectories"),
        ("-n", "1e20", "trajectories"),
        ("-n", "0", "trajectories"),
        ("--seed", str(bound("seed", "lt")), "seed"),
        ("--seed", "-1", "seed"),
    ],
)
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_count_and_seed_options_keep_the_scenario_keys_bounds(
    tmp_path, monkeypatch, command, option, value, key
):
    def never(*args, **kwargs):
        raise AssertionError("the simulation must not start")

    monkeypatch.setattr("jevons.api.run_scenario", never)
    monkeypatch.setattr("jevons.api.run_sweep", never)
    scenario = write(tmp_path, GOOD)
    out = earlier_output(tmp_path)
    result = runner.invoke(app, [command, str(scenario), option, value, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"simulation.{key}" in result.output
    assert out.read_bytes() == EARLIER


def test_options_accept_what_the_scenario_key_accepts(tmp_path, monkeypatch):
    seen = {}

    def record(scenario, settings, **kwargs):
        seen.update(trajectories=settings.trajectories, seed=settings.seed)
        raise SystemExit(0)

    monkeypatch.setattr("jevons.api.run_scenario", record)
    scenario = write(tmp_path, GOOD)
    top = TOP
    result = runner.invoke(app, ["run", str(scenario), "-n", str(top), "--seed", str(2**64 - 1)])
    assert result.exit_code == 0, result.output
    assert seen["trajectories"] == top and seen["seed"] == 2**64 - 1
    result = runner.invoke(app, ["run", str(scenario), "-n", "1e3"])
    assert seen["trajectories"] == 1000


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    pytest.importorskip("distributed")
    scenario = write(tmp_path, GOOD)
    out = earlier_output(tmp_path)
    result = runner.invoke(
        app, ["run", str(scenario), "--scheduler", "not-an-address", "-o", str(out)]
    )
    refused(result, "cannot reach scheduler", "not-an-address")
    assert out.read_bytes() == EARLIER


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_scenario_is_never_replaced_by_its_own_result(tmp_path, monkeypatch, command):
    scenario = tmp_path / "x.nc"
    scenario.write_text(GOOD)
    (tmp_path / "link.nc").symlink_to(scenario)
    monkeypatch.chdir(tmp_path)
    default = [[]] if command == "run" else []
    for output in [*default, ["-o", "./x.nc"], ["-o", str(tmp_path / "link.nc")]]:
        result = runner.invoke(app, [command, "x.nc", "-q", *output])
        refused(result, "x.nc", "input")
        assert scenario.read_text() == GOOD


def test_a_device_or_a_huge_file_is_not_read_as_a_scenario(tmp_path):
    out = earlier_output(tmp_path)
    for source in ["/dev/null", str(tmp_path)]:
        refused(runner.invoke(app, ["run", source, "-o", str(out)]), source)
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as file:
        file.truncate(20_000_000)  # sparse: nothing to write, nothing to read
    refused(runner.invoke(app, ["run", str(huge), "-o", str(out)]), str(huge), "larger than")
    assert out.read_bytes() == EARLIER


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_not_opened(tmp_path):
    pipe = tmp_path / "pipe.toml"
    os.mkfifo(pipe)  # opening it would wait for a writer forever
    refused(runner.invoke(app, ["validate", str(pipe)]), str(pipe), "not a regular file")


def test_an_unknown_fleet_policy_lists_the_allowed_ones(tmp_path):
    scenario = write(tmp_path, GOOD + '\n[fleet]\npolicy = "bogus"\n')
    line = refused(runner.invoke(app, ["validate", str(scenario)]), str(scenario))
    assert line.endswith("fleet.policy: must be one of elastic, fixed, got 'bogus'")
    assert "distribution" not in line


def test_a_byte_order_mark_is_accepted(tmp_path):
    scenario = tmp_path / "bom.toml"
    scenario.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
