"""Sketched runs: chunk after chunk, shard after shard, the same numbers."""

import numpy as np
import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.execution.shards import merge_shards, run_shard
from jevons.engine.output.shard_files import Shard
from jevons.engine.scenario.loading import load_scenario
from jevons.engine.summaries.sketch import RowSketches
from jevons.errors import JevonsError
from tests.conftest import SCENARIOS

N = 1200


@pytest.fixture(scope="module")
def fleet_scenario():
    # fixed fleets: every lead dim (fleet_size x hardware) and every kind of variable
    return load_scenario(SCENARIOS / "enterprise-rag.toml")


@pytest.fixture(scope="module")
def sketched(fleet_scenario):
    return run_scenario(
        fleet_scenario, RunSettings(trajectories=N, backend="cpu", summary="sketch", chunk=N)
    )


def assert_same(a, b, rtol=1e-12):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_allclose(
            a[name].values, b[name].values, rtol=rtol, equal_nan=True, err_msg=name
        )


@pytest.mark.slow
def test_sketch_is_within_its_bound_of_the_exact_percentiles(fleet_scenario, sketched):
    exact = run_scenario(
        fleet_scenario, RunSettings(trajectories=N, backend="cpu", summary="exact")
    )
    bound = fleet_scenario.simulation.relative_accuracy
    assert sketched.attrs["summary"] == "sketch" and exact.attrs["summary"] == "exact"
    for name in exact.data_vars:
        if "_ci_" in name:  # widened by the sketch's bound, so they hold the exact ones
            a, b = exact[name].values, sketched[name].values
            wider = b <= a if name.endswith("_ci_low") else b >= a
            assert np.all(wider | np.isnan(a)), name
            np.testing.assert_allclose(b, a, rtol=2.1 * bound, equal_nan=True, err_msg=name)
            continue
        a, b = exact[name].values, sketched[name].values
        if name.endswith("_mean") or "quantile" not in exact[name].dims:
            np.testing.assert_allclose(b, a, rtol=1e-9, equal_nan=True, err_msg=name)
        else:
            # quantiles and tail means: within the stated relative error
            np.testing.assert_allclose(b, a, rtol=bound * (1 + 1e-9), equal_nan=True, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", [1, 97, 500])
def test_chunk_size_does_not_change_the_result(fleet_scenario, sketched, chunk):
    n = 300 if chunk == 1 else N  # one trajectory per chunk is slow; a shorter run shows it
    whole = (
        sketched
        if n == N
        else run_scenario(
            fleet_scenario, RunSettings(trajectories=n, backend="cpu", summary="sketch", chunk=n)
        )
    )
    settings = RunSettings(trajectories=n, backend="cpu", summary="sketch", chunk=chunk)
    chunked = run_scenario(fleet_scenario, settings)
    assert_same(whole, chunked)


@pytest.mark.slow
def test_numpy_and_cpu_sketches_agree(fleet_scenario, sketched):
    ref = run_scenario(
        fleet_scenario, RunSettings(trajectories=N, backend="numpy", summary="sketch", chunk=N)
    )
    # The backends agree to float rounding per trajectory; a value that close to a
    # bucket edge could change bucket, so quantiles agree within the bound.
    assert_same(ref, sketched, rtol=fleet_scenario.simulation.relative_accuracy)


@pytest.mark.slow
def test_shards_merge_into_the_single_run(fleet_scenario, sketched):
    text = (SCENARIOS / "enterprise-rag.toml").read_text()
    parts = [
        run_shard(
            fleet_scenario,
            Shard(i, 3),
            RunSettings(trajectories=N, backend="cpu"),
            scenario_text=text,
        )
        for i in (2, 0, 1)
    ]
    assert [p.attrs["trajectory_start"] for p in parts] == [800, 0, 400]
    merged = merge_shards(parts, ["c", "a", "b"])
    assert merged.attrs["shards"] == 3
    assert_same(merged, sketched)


@pytest.mark.slow
def test_merge_refuses_incomplete_or_foreign_shards(fleet_scenario):
    text = (SCENARIOS / "enterprise-rag.toml").read_text()
    first = run_shard(
        fleet_scenario, Shard(0, 2), RunSettings(trajectories=50, backend="cpu"), scenario_text=text
    )
    with pytest.raises(JevonsError, match="missing: 2 of 2"):
        merge_shards([first], ["a"])
    with pytest.raises(JevonsError, match="both shard 1"):
        merge_shards([first, first], ["a", "b"])
    other = run_shard(
        fleet_scenario,
        Shard(1, 2),
        RunSettings(trajectories=50, seed=9, backend="cpu"),
        scenario_text=text,
    )
    with pytest.raises(JevonsError, match="seed"):
        merge_shards([first, other], ["a", "b"])


def test_shard_ranges_cover_every_trajectory_once():
    for n in (1, 7, 1000):
        for count in (1, 3, 8):
            ranges = [Shard(i, count).trajectory_range(n) for i in range(count)]
            covered = np.concatenate([np.arange(a, b) for a, b in ranges])
            np.testing.assert_array_equal(covered, np.arange(n))
    assert Shard.parse("3/16") == Shard(2, 16)
    for bad in ("0/4", "5/4", "x", "1/2/3"):
        with pytest.raises(JevonsError):
            Shard.parse(bad)


def test_exact_summaries_refuse_shards(fleet_scenario):
    with pytest.raises(JevonsError, match="exact percentiles need every trajectory"):
        run_shard(
            fleet_scenario,
            Shard(0, 2),
            RunSettings(trajectories=10, summary="exact"),
            scenario_text="",
        )


def test_adding_row_slices_equals_adding_all_rows():
    rng = np.random.default_rng(3)
    values = rng.lognormal(3, 1.5, size=(12, 400))
    whole, sliced = RowSketches(12), RowSketches(12)
    whole.add(values, compiled=True)
    for start in range(0, 12, 5):
        sliced.add(values[start : start + 5], rows=slice(start, start + 5), compiled=True)
    qs = np.linspace(0, 1, 11)
    np.testing.assert_array_equal(whole.quantiles(qs), sliced.quantiles(qs))
    np.testing.assert_array_equal(whole.value_count, sliced.value_count)


@pytest.mark.slow
def test_a_gpu_out_of_memory_halves_the_chunk_and_counts_nothing_twice(
    fleet_scenario, sketched, monkeypatch
):
    """A chunk that fails for memory is retried at half the size, from scratch."""
    from jevons.engine.execution import backends, run

    cpu = backends.get_backend("cpu")
    sizes = []

    def simulate(plan, inputs, trajectories, key, on_window):
        sizes.append(len(trajectories))
        totals = cpu.load()(plan, inputs, trajectories, key, on_window)
        if len(trajectories) > 300:
            # after its windows were summarised: they must not survive the retry
            raise RuntimeError("[CUDA_ERROR_OUT_OF_MEMORY] Call to cuMemAlloc results in error")
        return totals

    fake_gpu = backends.Backend("cuda", "test", lambda: True, lambda: simulate, cpu.reducer)
    monkeypatch.setattr(run, "get_backend", lambda name: fake_gpu)
    ds = run.run_scenario(fleet_scenario, RunSettings(trajectories=N, summary="sketch", chunk=N))
    assert sizes[:3] == [N, N // 2, N // 4] and max(sizes[3:]) <= 300
    assert sum(s for s in sizes if s <= 300) == N
    assert_same(ds, sketched)
