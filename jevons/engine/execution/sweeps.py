"""Running a sweep: every point once, in one process or on Dask, in memory or
checkpointed to a folder beside the result.

Each finished point is written at once to its own file in the checkpoint
folder (atomically, named by a digest of the point's scenario and run
settings). A sweep that dies, even by SIGKILL, loses at most the points in
flight: ``resume`` reads the finished ones back and runs only the rest, and
the combined result equals an uninterrupted run's.

The folder also holds ``manifest.json``: what its points were made from (the
scenario, the sweep axes, trajectories, seed, summary mode, thresholds, jevons
version; not the backend or chunk size, which do not change the numbers).
``resume`` compares it with the sweep asked for and refuses, naming each setting
that changed, rather than quietly running every point again. Everything is checked (output, folder,
manifest, backend) before the folder is made.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xarray as xr

from jevons._version import __version__
from jevons.engine.execution.backends import BACKENDS, get_backend
from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.output.files import open_result, write_dataset
from jevons.engine.scenario.sweep_grid import SweepAxis, SweepPoint, combine_points, point_digest
from jevons.errors import JevonsError

log = logging.getLogger(__name__)

PointCallback = Callable[[int, int, bool], None]  # (points done, points in all, reused)

# Settings that fall back to the scenario's [simulation] value when not given.
SIMULATION_FIELDS = ("trajectories", "seed", "summary")


def digest_fields(settings: RunSettings) -> dict[str, Any]:
    """The settings that change a point's numbers; the backend and the chunk size are
    left out: every backend and chunk size gives the same numbers."""
    fields: dict[str, Any] = {name: getattr(settings, name) for name in SIMULATION_FIELDS}
    if settings.keep_trajectories:
        fields["keep_trajectories"] = True
    if settings.thresholds:
        fields["thresholds"] = {name: list(values) for name, values in settings.thresholds}
    return fields


def effective_fields(settings: RunSettings, point: SweepPoint) -> dict[str, Any]:
    """The digest fields ``point`` runs with: a setting's value, or else its scenario's."""
    simulation = point.scenario.simulation
    return {
        name: getattr(simulation, name) if value is None and name in SIMULATION_FIELDS else value
        for name, value in digest_fields(settings).items()
    }


def run_point(point: SweepPoint, settings: RunSettings, scenario_text: str) -> xr.Dataset:
    """One point, as a Dask task or in this process."""
    return run_scenario(point.scenario, settings, scenario_text=scenario_text)


def checkpoint_folder(output: Path) -> Path:
    return output.parent / f"{output.name}.points"


def _point_path(folder: Path, point: SweepPoint, settings: RunSettings) -> Path:
    return (
        folder
        / f"point-{point.index:05d}-{point_digest(point, effective_fields(settings, point))}.nc"
    )


MANIFEST = "manifest.json"


def sweep_manifest(
    data: dict[str, Any], axes: list[SweepAxis], points: list[SweepPoint], settings: RunSettings
) -> dict[str, Any]:
    """What a sweep's points are made from; ``data`` is the scenario table without ``[sweep]``.

    Trajectories, seed and summary are the values the points run with: an option's,
    or else the scenario's (a list where a sweep axis varies them).
    """
    table = json.dumps(data, sort_keys=True, default=str)
    effective = {}
    for name in digest_fields(settings):
        values: list[Any] = []  # in order of first use; a table of thresholds is not hashable
        for point in points:
            value = effective_fields(settings, point)[name]
            if value not in values:
                values.append(value)
        effective[name] = values[0] if len(values) == 1 else values
    return {
        "scenario": hashlib.sha256(table.encode()).hexdigest()[:16],
        "scenario table": json.loads(table),
        "sweep axes": [[axis.key, [repr(v) for v in axis.values]] for axis in axes],
        **effective,
        "jevons version": __version__,
    }


def _flat(table: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(table, dict):
        return {prefix: table}
    flat = {}
    for key, value in table.items():
        flat.update(_flat(value, f"{prefix}.{key}" if prefix else key))
    return flat


def _scenario_change(then: Any, now: dict[str, Any]) -> str:
    a, b = _flat(then), _flat(now)
    keys = [key for key in sorted(a.keys() | b.keys()) if a.get(key) != b.get(key)]
    if not keys:
        return "scenario (its text differs)"
    return "scenario (" + ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "") + ")"


def _describe(name: str, value: Any) -> str:
    if name == "sweep axes":
        try:
            return "; ".join(f"{key}={','.join(values)}" for key, values in value) or "none"
        except (TypeError, ValueError):
            pass  # a manifest edited by hand: shown as it is
    return str(value)


def check_checkpoints(folder: Path, resume: bool, manifest: dict[str, Any]) -> None:
    """Refuse, before any work, a folder this sweep cannot use; changes nothing on disk."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise JevonsError(
            f"checkpoint folder {folder} exists and is not a folder; move it, or write the"
            " sweep elsewhere with --output"
        )
    entries = list(folder.iterdir())
    if not entries:
        return
    if not resume:
        raise JevonsError(
            f"{folder} holds points of an earlier sweep: pass --resume to continue it,"
            " or remove the folder to start again"
        )
    try:
        stored = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(stored, dict):
            raise ValueError("not a table")
    except (OSError, ValueError) as exc:
        raise JevonsError(
            f"--resume: {folder / MANIFEST} cannot be read ({exc}), so its points cannot be"
            " matched to this sweep; remove the folder to start again"
        ) from None
    changed = [
        _scenario_change(stored.get("scenario table"), manifest["scenario table"])
        if name == "scenario"
        else f"{name} ({_describe(name, stored.get(name))} then, {_describe(name, value)} now)"
        for name, value in manifest.items()
        if name != "scenario table" and stored.get(name) != json.loads(json.dumps(value))
    ]
    if changed:
        raise JevonsError(
            f"--resume: the points in {folder} were made with other settings: "
            + "; ".join(changed)
            + ". Run with the earlier settings, or remove the folder to start again"
        )


def check_backend(name: str, local: bool) -> None:
    """An unknown backend is refused; one this machine lacks too, when points run here."""
    if local:
        get_backend(name)
    elif name != "auto" and name not in BACKENDS:
        get_backend(name)  # raises with the list of backends


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    path = folder / MANIFEST
    tmp = folder / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _has_points(folder: Path) -> bool:
    return any(folder.glob("point-*.nc"))


def run_sweep(
    axes: list[SweepAxis],
    points: list[SweepPoint],
    scenario_text: str,
    settings: RunSettings,
    output: Path | None = None,
    *,
    manifest: dict[str, Any] | None = None,
    resume: bool = False,
    client: Any | None = None,
    on_point: PointCallback | None = None,
) -> xr.Dataset:
    """Run (or read back) every point and combine them; returns the result.

    With an ``output``, each finished point is checkpointed, the result is written
    to ``output`` and the checkpoints removed; ``manifest`` comes from
    :func:`sweep_manifest`, and a sweep that fails before its first point is kept
    leaves no folder behind. Without one, the sweep runs in memory and writes nothing.
    """
    if output is None:
        check_backend(settings.backend, local=client is None)
        return _run_points(axes, points, scenario_text, settings, None, resume=False,
                           client=client, on_point=on_point)  # fmt: skip
    if manifest is None:
        raise ValueError("a sweep written to a file needs its manifest (sweep_manifest)")
    folder = checkpoint_folder(output)
    check_checkpoints(folder, resume, manifest)
    check_backend(settings.backend, local=client is None)
    existed = folder.exists()
    folder.mkdir(exist_ok=True)
    try:
        _write_manifest(folder, manifest)
        combined = _run_points(axes, points, scenario_text, settings, folder,
                               resume=resume, client=client, on_point=on_point)  # fmt: skip
    except BaseException:
        if not existed and not _has_points(folder):
            shutil.rmtree(folder, ignore_errors=True)
        raise
    write_dataset(combined, output)
    shutil.rmtree(folder, ignore_errors=True)  # the result now holds every point
    return combined


def _run_points(
    axes: list[SweepAxis],
    points: list[SweepPoint],
    scenario_text: str,
    settings: RunSettings,
    folder: Path | None,
    *,
    resume: bool,
    client: Any | None,
    on_point: PointCallback | None,
) -> xr.Dataset:
    started = time.perf_counter()
    results: dict[int, xr.Dataset] = {}
    todo = []
    for point in points:
        path = None if folder is None else _point_path(folder, point, settings)
        if resume and path is not None and path.exists():
            results[point.index] = open_result(path)
            if on_point:
                on_point(len(results), len(points), True)
        else:
            todo.append(point)
    log.info("sweep: %d points, %d to run", len(points), len(todo))

    def finished(point: SweepPoint, ds: xr.Dataset) -> None:
        if folder is not None:
            write_dataset(ds, _point_path(folder, point, settings))
        results[point.index] = ds
        where = ", ".join(f"{key}={value!r}" for key, value in point.values.items())
        log.info("sweep: %d of %d points done (%s)", len(results), len(points), where)
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
        jevons_version=__version__,
        wall_time_s=round(time.perf_counter() - started, 3),
    )
    return combined
