"""The library API: every run the command line makes is one of these calls.

``run`` simulates a scenario (in this process, or split over Dask workers),
``run_shard`` one slice of a run for ``jevons merge``, ``sweep`` a grid of
scenario variants (in memory, or checkpointed beside a result file). A scenario
is given as a path, TOML text, a table (dict) or a :class:`Scenario`; the
result's ``attrs["scenario"]`` always holds its TOML text.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from jevons.analytics.sensitivity import add_sensitivity
from jevons.engine.execution.distributed import dask_client
from jevons.engine.execution.precision import (
    DEFAULT_MAX_TRAJECTORIES,
    PrecisionTarget,
    RoundCallback,
    precision_target,
    run_to_precision,
)
from jevons.engine.execution.run import ProgressCallback, run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.execution.shards import check_splittable, run_on_cluster
from jevons.engine.execution.shards import run_shard as simulate_shard
from jevons.engine.execution.sweeps import (
    PointCallback,
    check_backend,
    check_checkpoints,
    checkpoint_folder,
    run_sweep,
    sweep_manifest,
)
from jevons.engine.output.shard_files import Shard
from jevons.engine.scenario.schema import Scenario
from jevons.engine.scenario.source import ScenarioLike, ScenarioSource, read_source
from jevons.engine.scenario.sweep_grid import (
    SweepAxis,
    expand_grid,
    merge_axes,
    split_sweep_table,
)
from jevons.errors import JevonsError

log = logging.getLogger(__name__)

Thresholds = Mapping[str, float | Sequence[float]]


def load_scenario(source: ScenarioLike) -> Scenario:
    """The validated scenario of a path, TOML text or table (a Scenario is returned as
    it is). Raises :class:`~jevons.errors.ScenarioError` naming every problem's key."""
    return read_source(source).scenario


def run(
    source: ScenarioLike,
    *,
    trajectories: int | None = None,
    seed: int | None = None,
    backend: str = "auto",
    summary: str | None = None,
    chunk: int | None = None,
    keep_trajectories: bool = False,
    thresholds: Thresholds | None = None,
    sensitivity: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    precision: float | None = None,
    precision_of: str = "total_cost",
    max_trajectories: int = DEFAULT_MAX_TRAJECTORIES,
) -> xr.Dataset:
    """Simulate a scenario and return its dataset of percentiles, with provenance.

    ``source`` is a scenario file's path, TOML text, a table or a :class:`Scenario`.
    ``trajectories``, ``seed`` and ``summary`` (auto, exact, sketch) override the
    scenario's ``[simulation]``; ``backend`` is auto, cuda, cupy, cpu or numpy; ``chunk``
    fixes the trajectories per chunk of a sketched run; ``keep_trajectories`` keeps
    each trajectory's drawn inputs and horizon totals; ``thresholds`` (total_cost
    [USD], max_peak_gpus [GPUs] -> value or values) add exceedance probabilities;
    ``sensitivity`` keeps the trajectories and adds which input drives cost and
    capacity. ``workers`` (a local Dask cluster of that many workers) or ``scheduler``
    (an address) split the trajectories over Dask. ``progress(done, total)`` is
    called as steps finish. ``precision`` (a relative half-width in (0, 1), 0.01 for
    ±1%) adds trajectories until the 95% confidence interval of the P95 of
    ``precision_of`` is that narrow, or ``max_trajectories`` are reached; the result's
    ``precision_*`` attributes say what was reached. Raises
    :class:`~jevons.errors.JevonsError` on bad input.
    """
    _check_callback("progress", progress, "progress(done, total)")
    target = precision_target(precision, precision_of, max_trajectories)
    settings = RunSettings(
        trajectories=trajectories, seed=seed, backend=backend, summary=summary, chunk=chunk,
        keep_trajectories=keep_trajectories, thresholds=thresholds or (),
    )  # fmt: skip
    return run_source(
        read_source(source), settings, sensitivity=sensitivity, workers=workers,
        scheduler=scheduler, progress=progress, precision=target,
    )  # fmt: skip


def _check_callback(name: str, value: object, call: str) -> None:
    """A callback is a function or None: anything else would fail deep inside the work."""
    if value is not None and not callable(value):
        raise JevonsError(
            f"{name}: a function called as {call}, or None; got {type(value).__name__} {value!r}"
        )


def run_source(
    source: ScenarioSource,
    settings: RunSettings,
    *,
    sensitivity: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    precision: PrecisionTarget | None = None,
    on_round: RoundCallback | None = None,
) -> xr.Dataset:
    """:func:`run` with the scenario read and the settings made (the command line's call)."""
    scenario = source.to_run()
    on_dask = workers is not None or scheduler is not None
    if precision is not None:
        if on_dask or sensitivity:
            raise JevonsError(
                "--precision grows one run in this process: not with --workers, --scheduler"
                " or --sensitivity (run those with -n set to the count it reports)"
            )
        return run_to_precision(
            scenario, precision, settings, scenario_text=source.text, progress=progress,
            on_round=on_round,
        )  # fmt: skip
    if sensitivity:
        if on_dask:
            raise JevonsError("sensitivity needs every trajectory in one process (no Dask workers)")
        settings = dataclasses.replace(settings, keep_trajectories=True)
    if on_dask:
        check_splittable(settings)  # before a cluster starts
        with dask_client(workers, scheduler, settings.backend) as client:
            return run_on_cluster(client, scenario, settings, scenario_text=source.text)
    ds = run_scenario(scenario, settings, scenario_text=source.text, progress=progress)
    if sensitivity:
        ds = add_sensitivity(ds)
    return ds


def run_shard(
    source: ScenarioLike | ScenarioSource,
    shard: str | Shard,
    settings: RunSettings | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> xr.Dataset:
    """Simulate shard ``"I/N"`` (or a :class:`Shard`) of a run: its sketches, to write
    and merge with the other shards (``jevons merge``)."""
    if not isinstance(source, ScenarioSource):
        source = read_source(source)
    part = Shard.parse(shard) if isinstance(shard, str) else shard
    return simulate_shard(
        source.to_run(), part, settings, scenario_text=source.text, progress=progress
    )


def sweep(
    source: ScenarioLike,
    axes: Mapping[str, Any] | None = None,
    *,
    trajectories: int | None = None,
    seed: int | None = None,
    backend: str = "auto",
    summary: str | None = None,
    chunk: int | None = None,
    thresholds: Thresholds | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    on_point: PointCallback | None = None,
) -> xr.Dataset:
    """Run a scenario at every point of a grid, in memory; one dimension per swept key.

    ``axes`` maps scenario keys to their values (``{"users.initial": [1e5, 1e6]}``),
    added to the scenario's own ``[sweep]`` table (and replacing its entry for the
    same key); values are as in a scenario file (numbers, strings, distribution
    tables). The other arguments are :func:`run`'s; ``on_point(done, total,
    reused)`` is called as points finish. Nothing is written and nothing is
    checkpointed: ``jevons sweep`` is the way to a sweep that resumes.
    """
    _check_callback("on_point", on_point, "on_point(done, total, reused)")
    settings = RunSettings(
        trajectories=trajectories, seed=seed, backend=backend, summary=summary, chunk=chunk,
        thresholds=thresholds or (),
    )  # fmt: skip
    return sweep_source(
        read_source(source, sweep=True), sweep_axes(axes or {}), settings, workers=workers,
        scheduler=scheduler, on_point=on_point,
    )  # fmt: skip


def sweep_axes(axes: Mapping[str, Any]) -> list[SweepAxis]:
    """Axes from ``{key: values}``; a single value (not a list) is an axis of one."""
    if not isinstance(axes, Mapping):
        raise JevonsError(f"sweep axes: a table of key = [values], got {type(axes).__name__}")
    listed = []
    for key, values in axes.items():
        values = list(values) if isinstance(values, list | tuple) else [values]
        if not values:
            raise JevonsError(f"sweep axis {key}: give at least one value")
        listed.append(SweepAxis(str(key), tuple(values)))
    return listed


def sweep_source(
    source: ScenarioSource,
    axes: list[SweepAxis],
    settings: RunSettings,
    *,
    output: Path | None = None,
    resume: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    on_point: PointCallback | None = None,
) -> xr.Dataset:
    """:func:`sweep` with the scenario read and the settings made; with an ``output``,
    checkpointed beside it (``resume`` keeps an interrupted sweep's finished points)
    and written to it. Everything is checked before a Dask cluster starts."""
    table, file_axes = split_sweep_table(source.table)
    merged = merge_axes(file_axes, axes)
    grid, points = expand_grid(table, merged, source.label)
    manifest = None
    if output is not None:
        manifest = sweep_manifest(table, merged, points, settings)
        check_checkpoints(checkpoint_folder(output), resume, manifest)
    check_backend(settings.backend, local=scheduler is None)
    with dask_client(workers, scheduler, settings.backend) as client:
        return run_sweep(grid, points, source.text, settings, output, manifest=manifest,
                         resume=resume, client=client, on_point=on_point)  # fmt: skip
