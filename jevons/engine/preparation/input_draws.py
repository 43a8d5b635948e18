"""Per-trajectory inputs: each uncertain scenario value drawn once per trajectory.

Trajectory ``i`` draws parameter ``p`` from Philox block
``(i, PARAMETER_STEP, crc32(p))`` (see ``jevons.kernels.philox``), so its
inputs are the same in a run of ten trajectories or ten million, in any chunk.
``simulation.sampling`` may spread those uniforms over a Latin hypercube or take
scrambled Sobol' points instead (``jevons.engine.preparation.sampling``); each is
still a function of the trajectory's index and the run's size alone.
A hardware profile's uncertain figures are parameters too, keyed
``supply.uncertainty.<profile>.<field>``.

Inputs paired in the scenario's ``[correlations]`` table still take their uniforms
from those same streams (or designs); a Gaussian copula (``jevons.engine.preparation.copula``)
mixes each trajectory's uniforms of the paired inputs before their quantile
functions. Inputs the table does not name draw exactly as without it.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from jevons.engine.preparation.copula import copula_factor, correlate_uniforms
from jevons.engine.preparation.sampling import SamplingNote, design_uniforms, sobol_note
from jevons.engine.scenario.distributions import U_LARGEST, U_SMALLEST, Fixed
from jevons.engine.scenario.schema import Scenario, per_trajectory_inputs
from jevons.kernels.contract import (
    HARDWARE_FIELDS,
    PARAMETER_PATHS,
    TrajectoryInputs,
    hardware_path,
    surge_path,
)
from jevons.kernels.layers import market_cap


def _lookup(scenario: Scenario, path: str):
    section, key = path.split(".")
    return getattr(getattr(scenario, section), key)


PARALLEL_CHUNK = 50_000
MEDIAN_UNIFORM = 0.5


def _design_uniforms(
    scenario: Scenario, trajectories: np.ndarray, key: tuple[int, int], total: int
) -> dict[str, np.ndarray]:
    """The uniform of each uncertain input under the scenario's sampling design, mixed by
    the copula for the inputs the [correlations] table names."""
    uncertain = [
        path
        for path, dist in per_trajectory_inputs(dict(scenario)).items()
        if not (dist is None or isinstance(dist, Fixed))
    ]
    sampling = scenario.simulation.sampling
    if sampling == "sobol" and (note := sobol_note(total)) is not None:
        warnings.warn(note, SamplingNote, stacklevel=3)
    uniforms = design_uniforms(sampling, uncertain, trajectories, key, total)
    paths, pairs = scenario.correlated_pairs()
    if paths:
        own = np.stack([uniforms[path] for path in paths])
        mixed = correlate_uniforms(own, copula_factor(paths, pairs), U_SMALLEST, U_LARGEST)
        uniforms.update(zip(paths, mixed, strict=True))
    return uniforms


def _draw(dist, path: str, count: int, uniforms: dict[str, np.ndarray]):
    if isinstance(dist, Fixed):
        return np.full(count, dist.value)
    u = uniforms[path]
    first = dist.ppf(u[:1])  # sets up any numerical inverse once, before the threads
    if len(u) <= PARALLEL_CHUNK:
        return np.concatenate([first, dist.ppf(u[1:])])
    # Quantile functions such as beta's are slow scalar code that releases the GIL:
    # spread long arrays over the cores.
    chunks = np.array_split(u, -(-len(u) // PARALLEL_CHUNK))
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        return np.concatenate(list(pool.map(dist.ppf, chunks)))


def _apply_drawn_efficiencies(scenario: Scenario, profile, drawn: dict[str, np.ndarray]) -> None:
    """Fold a roofline estimate's drawn efficiencies into its rate factors, in place:
    prefill is proportional to its efficiency, decode is the roofline at the draws."""
    nominal_decode, nominal_prefill = profile.efficiencies()
    decode, prefill = drawn["decode_efficiency"], drawn["prefill_efficiency"]
    if (decode == nominal_decode).all() and (prefill == nominal_prefill).all():
        return  # fixed at the defaults: the nominal rates already hold them
    interactivity = scenario.supply.interactivity
    context = scenario.decode_context_tokens()
    rates = profile.efficiency_decode_rate(decode, prefill, interactivity, context)
    nominal = profile.efficiency_decode_rate(
        nominal_decode, nominal_prefill, interactivity, context
    )
    drawn["throughput_factor"] *= rates / nominal
    drawn["prefill_factor"] *= prefill / nominal_prefill


def draw_inputs(
    scenario: Scenario,
    trajectories: np.ndarray,
    key: tuple[int, int],
    total: int | None = None,
) -> TrajectoryInputs:
    """Every per-trajectory input of ``scenario`` for ``trajectories`` (global indices of a
    run of ``total``; default ``simulation.trajectories``), ready for the model:
    ``users.saturation`` is the cap in force (never below the initial users; +inf for
    none)."""
    total = scenario.simulation.trajectories if total is None else total
    uniforms = _design_uniforms(scenario, trajectories, key, total)
    return _inputs_at(scenario, len(trajectories), uniforms)


def median_inputs(scenario: Scenario) -> TrajectoryInputs:
    """One trajectory whose every uncertain input sits at its median, the quantile at 0.5:
    where a draw's uniform is 0.5. Drawn by the same path as :func:`draw_inputs`, so the
    caps and folded efficiencies are the model's own. A copula leaves the uniform 0.5 of
    every input where it is (the normal score 0 mixes to 0)."""
    uniforms = {path: np.array([MEDIAN_UNIFORM]) for path in per_trajectory_inputs(dict(scenario))}
    return _inputs_at(scenario, 1, uniforms)


def _inputs_at(scenario: Scenario, count: int, uniforms: dict[str, np.ndarray]) -> TrajectoryInputs:
    """The inputs of ``count`` trajectories at their uniforms (by key path)."""
    values = {}
    for path in PARAMETER_PATHS:
        dist = _lookup(scenario, path)
        values[path] = (
            np.full(count, np.inf) if dist is None else _draw(dist, path, count, uniforms)
        )
    # The cap in force: a market is never smaller than the users already in it.
    values["users.saturation"] = market_cap(values["users.initial"], values["users.saturation"])
    surges = scenario.variability.surges
    multipliers = np.empty((len(surges), count))
    for k, surge in enumerate(surges):
        multipliers[k] = _draw(surge.multiplier, surge_path(surge.name), count, uniforms)
    supply = scenario.supply
    hardware = {field: np.empty((len(supply.hardware), count)) for field in HARDWARE_FIELDS}
    for h, profile in enumerate(supply.hardware):
        uncertain = supply.uncertainty_of(profile)
        for field in HARDWARE_FIELDS:
            path = hardware_path(profile.key, field)
            hardware[field][h] = _draw(getattr(uncertain, field), path, count, uniforms)
        if profile.kind == "estimated":
            _apply_drawn_efficiencies(scenario, profile, {f: v[h] for f, v in hardware.items()})
    return TrajectoryInputs(values=values, surge_multipliers=multipliers, hardware=hardware)
