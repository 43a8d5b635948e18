"""Shards: one slice of a run's trajectories per batch job, merged exactly afterwards.

Trajectory ``i`` draws the same numbers in any shard (the RNG contract), and
sketches add, so merging N shards gives the counts of one run over all
trajectories.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import xarray as xr

from jevons._version import __version__
from jevons.engine.execution.provenance import finish_dataset
from jevons.engine.execution.run import (
    ProgressCallback,
    check_finite,
    simulate_summary,
    summary_mode,
)
from jevons.engine.execution.settings import RunSettings
from jevons.engine.output.shard_files import (
    Shard,
    check_same_thresholds,
    check_shard,
    from_dataset,
    scenario_digest,
    to_dataset,
)
from jevons.engine.preparation.plan import build_plan
from jevons.engine.scenario.loading import parse_scenario_text
from jevons.engine.scenario.schema import Scenario
from jevons.engine.scenario.source import scenario_toml
from jevons.errors import JevonsError

log = logging.getLogger(__name__)

# Attributes every shard of one run must share.
_SAME = ("scenario_digest", "seed", "trajectories", "shard_count", "relative_accuracy")


def check_splittable(settings: RunSettings) -> None:
    """Refuse settings that need every trajectory in one process."""
    if settings.keep_trajectories:
        raise JevonsError(
            "keeping trajectories (--keep-trajectories) needs every trajectory in one"
            " process: not with shards or Dask workers"
        )


def run_shard(
    scenario: Scenario,
    shard: Shard,
    settings: RunSettings | None = None,
    *,
    scenario_text: str | None = None,
    progress: ProgressCallback | None = None,
) -> xr.Dataset:
    """Simulate one shard; the result holds its sketches, for :func:`merge_shards`.

    ``scenario_text`` is kept as in :func:`run_scenario` (a rendering without it);
    every shard of one run must be given the same.
    """
    started = time.perf_counter()
    settings = settings or RunSettings()
    check_splittable(settings)
    if scenario_text is None:
        scenario_text = scenario_toml(scenario)
    scenario = settings.applied_to(scenario)
    n, seed = settings.trajectories_for(scenario), settings.seed_for(scenario)
    mode = summary_mode(settings.summary_for(scenario), n, sharded=True)
    start, stop = shard.trajectory_range(n)
    log.info("%s: shard %d of %d, seed %s", scenario.name, shard.index + 1, shard.count, seed)
    result, _, backend_name = simulate_summary(
        scenario, build_plan(scenario), trajectory_range=(start, stop), seed=seed,
        backend=settings.backend, mode=mode, progress=progress, chunk=settings.chunk, total=n,
    )  # fmt: skip
    return to_dataset(
        result,
        {
            "title": f"jevons partial summary: {scenario.name}",
            "scenario": scenario_text,
            "scenario_digest": scenario_digest(scenario_text),
            "seed": np.uint64(seed),
            "trajectories": n,
            "shard_index": shard.index,
            "shard_count": shard.count,
            "trajectory_start": start,
            "trajectory_stop": stop,
            "backend": backend_name,
            "jevons_version": __version__,
            "wall_time_s": round(time.perf_counter() - started, 3),
        },
    )


def merge_shards(partials: Sequence[xr.Dataset], sources: Sequence[str]) -> xr.Dataset:
    """The finished dataset of a complete set of shards, given in any order.

    Shards are added in the order of their index, whatever the order given, so
    the result does not depend on it, bit for bit.
    """
    if not partials:
        raise JevonsError("no shards to merge")
    for ds, source in zip(partials, sources, strict=True):
        check_shard(ds, source)
        made_by = str(ds.attrs["jevons_version"])
        if made_by != __version__:
            raise JevonsError(
                f"{source}: written by jevons {made_by}, this is jevons {__version__};"
                " merge shards with the version that simulated them"
            )
    first = partials[0].attrs
    for ds, source in zip(partials, sources, strict=True):
        for name in _SAME:
            if str(ds.attrs.get(name)) != str(first.get(name)):
                raise JevonsError(
                    f"{source}: its {name} ({ds.attrs.get(name)}) differs from {sources[0]}'s"
                    f" ({first.get(name)}); shards must come from one scenario and run"
                )
    count, n = int(first["shard_count"]), int(first["trajectories"])
    seen: dict[int, str] = {}
    for ds, source in zip(partials, sources, strict=True):
        index = int(ds.attrs["shard_index"])
        if not 0 <= index < count:
            raise JevonsError(f"{source}: shard {index + 1} of {count} does not exist")
        span = (int(ds.attrs["trajectory_start"]), int(ds.attrs["trajectory_stop"]))
        if span != Shard(index, count).trajectory_range(n):
            raise JevonsError(
                f"{source}: trajectories {span[0]}..{span[1] - 1} are not those of shard"
                f" {index + 1} of {count}"
            )
        if index in seen:
            raise JevonsError(f"{source} and {seen[index]} are both shard {index + 1}")
        seen[index] = source
    missing = [i + 1 for i in range(count) if i not in seen]
    if missing:
        listed = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise JevonsError(f"shards missing: {listed} of {count}; merge needs all of them")
    # Every shard of one run sketches the same variables.
    everything = set().union(*(ds.data_vars for ds in partials))
    for ds, source in zip(partials, sources, strict=True):
        lacking = sorted(str(var) for var in everything - set(ds.data_vars))
        if lacking:
            raise JevonsError(
                f"{source}: not a jevons shard (variable '{lacking[0]}' missing; the other"
                " shards hold it)"
            )
    check_same_thresholds(partials, sources)  # ... and counts exceedances of the same
    order = sorted(range(len(partials)), key=lambda i: int(partials[i].attrs["shard_index"]))
    partials = [partials[i] for i in order]
    sources = [sources[i] for i in order]
    first = partials[0].attrs

    started = time.perf_counter()
    merged = from_dataset(partials[0], source=sources[0])
    for ds, source in zip(partials[1:], sources[1:], strict=True):
        merged.merge(from_dataset(ds, source=source))
    text = str(first["scenario"])
    scenario = parse_scenario_text(text, sources[0])
    backends = sorted({str(ds.attrs["backend"]) for ds in partials})
    n = int(first["trajectories"])
    result = finish_dataset(
        merged, build_plan(scenario), scenario, text, int(first["seed"]), n, ",".join(backends),
        "sketch",
    )  # fmt: skip
    check_finite(result)
    result.attrs["shards"] = count
    result.attrs["wall_time_s"] = round(
        sum(float(ds.attrs.get("wall_time_s", 0.0)) for ds in partials)
        + time.perf_counter()
        - started,
        3,
    )
    return result


def run_on_cluster(
    client,
    scenario: Scenario,
    settings: RunSettings | None = None,
    *,
    scenario_text: str | None = None,
) -> xr.Dataset:
    """One run split into a shard per Dask worker thread, merged as ``jevons merge`` does."""
    started = time.perf_counter()
    settings = settings or RunSettings()
    check_splittable(settings)
    if scenario_text is None:
        scenario_text = scenario_toml(scenario)
    parts = max(1, sum(client.nthreads().values()))
    log.info("%s: %d shards on %s", scenario.name, parts, client)
    futures = [
        client.submit(
            run_shard, scenario, Shard(i, parts), settings, scenario_text=scenario_text, pure=False
        )
        for i in range(parts)
    ]
    partials = client.gather(futures)
    result = merge_shards(partials, [f"worker task {i + 1}" for i in range(parts)])
    result.attrs["wall_time_s"] = round(time.perf_counter() - started, 3)
    return result
