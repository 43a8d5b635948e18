"""The tidy table of a result holds every number of its Dataset, labelled and with units.

Each variable is checked against xarray's own flattening of it (``to_series``), a
second implementation, joined on the dim labels read back from the file.
"""

import errno
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from jevons.engine.output.files import open_result, write_file
from jevons.errors import JevonsError
from jevons.report.tidy import export_result, table_format, tidy_table

runner = CliRunner()

SMALL = """
name = "small"

[horizon]
start = 2027-01-30
steps = 4

[simulation]
trajectories = 200
seed = 11
quantiles = [0.1, 0.5, 0.9]

[users]
initial = { dist = "lognormal", median = 20000, p95 = 40000 }
growth_per_month = { dist = "uniform", low = 0.0, high = 0.2 }

[usage]
sessions_per_user_per_day = 1
requests_per_session = { dist = "uniform", low = 1, high = 3 }
input_tokens_per_request = 300
output_tokens_per_call = 100

[cache]
hit_rate = { dist = "beta", mean = 0.3, sd = 0.1 }

[supply]
hardware = ["h200-hgx", "b200-hgx"]
"""

UNIFORM = '{ dist = "uniform", low = 1, high = 3 }'

FIXED_FLEET = """
[fleet]
policy = "fixed"
sizes = [1, 4]

[risk.thresholds]
total_cost = [100, 1000]
max_peak_gpus = 2
"""


def _invoke(*args: str) -> None:
    done = runner.invoke(app, [*args])
    assert done.exit_code == 0, done.output


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Path]:
    """An elastic run with sensitivity, kept trajectories and a threshold; a sweep of a
    fixed-fleet scenario over two keys (one labelled by text) with two thresholds."""
    folder = tmp_path_factory.mktemp("results")
    small = folder / "small.toml"
    small.write_text(SMALL)
    fleet = folder / "fleet.toml"
    fleet.write_text(SMALL + FIXED_FLEET)
    run, sweep = folder / "run.nc", folder / "sweep.nc"
    _invoke("run", str(small), "-o", str(run), "--backend", "numpy", "-q", "--sensitivity",
            "--threshold", "total_cost=500")  # fmt: skip
    _invoke("sweep", str(fleet), "-o", str(sweep), "--backend", "numpy", "-q",
            "--set", "users.initial=10000,30000",
            "--set", "usage.requests_per_session=2," + UNIFORM)  # fmt: skip
    return {"run": run, "sweep": sweep}


def _numeric(ds: xr.Dataset, trajectories: bool) -> list[str]:
    """What must be exported: every numeric variable and non-dim coordinate."""
    names = [*ds.data_vars, *(c for c in ds.coords if c not in ds.dims)]
    return [
        str(n)
        for n in names
        if np.issubdtype(ds[n].dtype, np.number)
        and (trajectories or "trajectory" not in ds[n].dims)
    ]


def _label(values: pd.Series) -> pd.Series:
    """Dim labels as comparable keys, however the file typed them."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    return values.astype(object).astype(str)


def assert_table_holds(ds: xr.Dataset, table: pd.DataFrame, trajectories: bool = False) -> None:
    names = _numeric(ds, trajectories)
    assert sorted(set(table["variable"])) == sorted(names)
    dim_columns = [c for c in table.columns if c not in ("variable", "value", "units")]
    for name in names:
        da = ds[name]
        rows = table[table["variable"] == name]
        assert len(rows) == da.size, name
        for column in dim_columns:
            if column not in da.dims:
                assert rows[column].isna().all(), (name, column)
        expected = da.to_series().rename("expected").reset_index() if da.dims else None
        if expected is None:
            np.testing.assert_array_equal(rows["value"].to_numpy(), [float(da)])
        else:
            dims = [str(d) for d in da.dims]
            got = rows[[*dims, "value", "units"]].copy()
            for dim in dims:
                got[dim], expected[dim] = _label(got[dim]), _label(expected[dim])
            joined = got.merge(expected, on=dims, how="outer", validate="one_to_one")
            assert len(joined) == da.size, name  # every label matched once
            np.testing.assert_array_equal(
                joined["value"].to_numpy(), joined["expected"].to_numpy().astype(float), name
            )
        units = da.attrs.get("units", "")
        if "see output_units" in units:
            for output, group in rows.groupby("output"):
                assert set(group["units"]) == {str(ds.output_units.sel(output=output).values)}
        else:
            assert set(rows["units"].fillna("")) == {units}, name


@pytest.mark.slow
@pytest.mark.parametrize("which", ["run", "sweep"])
def test_csv_opens_with_pandas_and_holds_every_number(results, tmp_path, which):
    ds = open_result(results[which])
    target = tmp_path / "table.csv"
    export_result(ds, target)
    dates = [c for c in ("time", "period") if c in ds.dims]
    table = pd.read_csv(target, parse_dates=dates)
    assert table.columns[0] == "variable" and list(table.columns[-2:]) == ["value", "units"]
    assert_table_holds(ds, table)


@pytest.mark.slow
def test_the_dims_of_each_kind_become_columns_in_order(results):
    run, sweep = (tidy_table(open_result(results[k])) for k in ("run", "sweep"))
    assert list(run.columns) == [
        "variable", "time", "quantile", "hardware", "period", "threshold", "input", "output",
        "value", "units",
    ]  # fmt: skip
    assert list(sweep.columns) == [
        "variable", "time", "quantile", "hardware", "fleet_size", "users_initial",
        "usage_requests_per_session", "period", "total_cost_threshold", "max_peak_gpus_threshold",
        "value", "units",
    ]  # fmt: skip
    # a fleet size is a whole number, missing in elastic variables' rows
    assert str(sweep["fleet_size"].dtype) == "Int64"
    assert set(sweep["fleet_size"].dropna()) == {1, 4}
    # the text-labelled sweep axis keeps its labels
    assert set(sweep["usage_requests_per_session"].dropna()) == {
        "2",
        '{"dist": "uniform", "high": 3, "low": 1}',
    }
    users = run[run["variable"] == "users"]
    assert users["time"].is_monotonic_increasing is False  # time varies fastest, per quantile
    assert (users["time"].iloc[:4] == pd.date_range("2027-01-30", periods=4)).all()
    assert (users["quantile"].iloc[:4] == 0.1).all()


@pytest.mark.slow
def test_trajectories_are_exported_only_when_asked(results):
    ds = open_result(results["run"])
    assert "drawn_users_initial" in ds and "trajectory_total_cost" in ds
    without = tidy_table(ds)
    assert "trajectory" not in without.columns
    assert not without["variable"].str.startswith(("drawn_", "trajectory_")).any()
    everything = tidy_table(ds, trajectories=True)
    assert_table_holds(ds, everything, trajectories=True)
    drawn = everything[everything["variable"] == "drawn_users_initial"]
    assert sorted(drawn["trajectory"]) == list(range(200))


@pytest.mark.slow
def test_parquet_round_trip_keeps_types_values_and_provenance(results, tmp_path):
    ds = open_result(results["sweep"])
    target = tmp_path / "table.parquet"
    written = export_result(ds, target)
    back = pd.read_parquet(target)
    pd.testing.assert_frame_equal(back, written, check_dtype=False)
    assert pd.api.types.is_datetime64_any_dtype(back["time"])
    assert_table_holds(ds, back)
    import pyarrow.parquet as pq

    provenance = json.loads(pq.read_schema(target).metadata[b"jevons"])
    assert provenance["scenario"] == ds.attrs["scenario"]
    assert provenance["sweep_axes"] == "users.initial, usage.requests_per_session"


def test_units_by_label_follow_their_label_in_any_dim_order():
    ds = xr.Dataset(
        {"t": (("output", "input"), [[1.0, 2.0], [3.0, 4.0]], {"units": "x (see output_units)"})},
        coords={"output": ["cost", "gpus"], "input": ["a", "b"],
                "output_units": ("output", ["USD", "GPUs"])},
    )  # fmt: skip
    table = tidy_table(ds)
    assert table[["output", "input", "units"]].values.tolist() == [
        ["cost", "a", "USD"], ["cost", "b", "USD"], ["gpus", "a", "GPUs"], ["gpus", "b", "GPUs"],
    ]  # fmt: skip


def test_a_dataset_without_dims_or_units():
    ds = xr.Dataset({"a": ((), 2.5), "b": (("x",), [1, 2], {"units": "GPUs"})})
    table = tidy_table(ds)
    assert table.drop(columns="x").to_dict("list") == {
        "variable": ["a", "b", "b"],
        "value": [2.5, 1.0, 2.0],
        "units": ["", "GPUs", "GPUs"],
    }
    assert table["x"].isna().tolist() == [True, False, False]
    assert table["x"].iloc[1:].tolist() == [0, 1]


@pytest.mark.parametrize(
    ("path", "fmt", "chosen"),
    [(None, None, "csv"), ("a.parquet", None, "parquet"), ("a.CSV", None, "csv"),
     ("a.txt", "parquet", "parquet"), (None, "parquet", "parquet")],
)  # fmt: skip
def test_format_from_the_option_or_the_suffix(path, fmt, chosen):
    assert table_format(path, fmt) == chosen


@pytest.mark.parametrize(
    ("path", "fmt", "message"),
    [("a.xlsx", None, "unknown format '.xlsx'"), ("a.csv", "parquet", "names csv"),
     (None, "xlsx", "unknown format 'xlsx'")],
)  # fmt: skip
def test_format_mistakes_are_refused(path, fmt, message):
    with pytest.raises(JevonsError, match=message):
        table_format(path, fmt)


def test_a_failed_write_keeps_the_earlier_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("earlier\n")

    def full_disk(tmp: Path) -> None:
        tmp.write_text("part of the new")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(JevonsError, match="no space left on device"):
        write_file(full_disk, target)
    assert target.read_text() == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]
