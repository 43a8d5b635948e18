"""Running a sweep: every point once, checkpointed, in one process or on Dask.

Each finished point is written at once to its own file in the checkpoint
folder (atomically, named by a digest of the point's scenario and run
settings). A sweep that dies, even by SIGKILL, loses at most the points in
flight: ``resume`` reads the finished ones back and runs only the rest, and
the combined result equals an uninterrupted run's.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

import jevons
from jevons.engine.execution.run import run_scenario
from jevons.engine.output.files import open_result, write_dataset
from jevons.engine.scenario.sweep_grid import SweepAxis, SweepPoint, combine_points, point_digest
from jevons.errors import JevonsError

PointCallback = Callable[[int, int, bool], None]  # (points done, points in all, reused)


@dataclass(frozen=True)
class RunSettings:
    trajectories: int | None
    seed: int | None
    backend: str
    summary: str | None

    def digest_fields(self) -> dict[str, Any]:
        # The backend is left out: every backend gives the same numbers.
        return {"trajectories": self.trajectories, "seed": self.seed, "summary": self.summary}


def run_point(point: SweepPoint, settings: RunSettings, scenario_text: str) -> xr.Dataset:
    """One point, as a Dask task or in this process."""
    return run_scenario(
        point.scenario,
        scenario_text=scenario_text,
        trajectories=settings.trajectories,
        seed=settings.seed,
        backend=settings.backend,
        summary=settings.summary,
    )


def checkpoint_folder(output: Path) -> Path:
    return output.parent / f"{output.name}.points"


def _point_path(folder: Path, point: SweepPoint, settings: RunSettings) -> Path:
    return folder / f"point-{point.index:05d}-{point_digest(point, settings.digest_fields())}.nc"


def prepare_checkpoints(folder: Path, resume: bool) -> None:
    if folder.exists() and not resume and any(folder.iterdir()):
        raise JevonsError(
            f"{folder} holds points of an earlier sweep: pass --resume to continue it,"
            " or remove the folder to start again"
        )
    folder.mkdir(exist_ok=True)


def run_sweep(
    axes: list[SweepAxis],
    points: list[SweepPoint],
    scenario_text: str,
    settings: RunSettings,
    output: Path,
    *,
    resume: bool = False,
    client: Any | None = None,
    on_point: PointCallback | None = None,
) -> xr.Dataset:
    """Run (or read back) every point, combine them, write ``output``; returns the result."""
    started = time.perf_counter()
    folder = checkpoint_folder(output)
    prepare_checkpoints(folder, resume)
    results: dict[int, xr.Dataset] = {}
    todo = []
    for point in points:
        path = _point_path(folder, point, settings)
        if resume and path.exists():
            results[point.index] = open_result(path)
            if on_point:
                on_point(len(results), len(points), True)
        else:
            todo.append(point)

    def finished(point: SweepPoint, ds: xr.Dataset) -> None:
        write_dataset(ds, _point_path(folder, point, settings))
        results[point.index] = ds
        if on_point:
            on_point(len(results), len(points), False)

    if client is None:
        for point in todo:
            finished(point, run_point(point, settings, scenario_text))
    else:
        from distributed import as_completed

        futures = {
            client.submit(run_point, point, settings, scenario_text, pure=False): point
            for point in todo
        }
        for future in as_completed(futures):
            finished(futures[future], future.result())

    combined = combine_points(axes, points, results)
    combined.attrs.update(
        title=f"jevons sweep: {points[0].scenario.name}",
        scenario=scenario_text,
        sweep_points=len(points),
        sweep_axes=", ".join(axis.key for axis in axes),
        jevons_version=jevons.__version__,
        wall_time_s=round(time.perf_counter() - started, 3),
    )
    write_dataset(combined, output)
    shutil.rmtree(folder, ignore_errors=True)  # the result now holds every point
    return combined
