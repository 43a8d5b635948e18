"""Per-trajectory inputs: each uncertain scenario value drawn once per trajectory.

Trajectory ``i`` draws parameter ``p`` from Philox block
``(i, PARAMETER_STEP, crc32(p))`` (see ``jevons.kernels.philox``), so its
inputs are the same in a run of ten trajectories or ten million, in any chunk.
A hardware profile's uncertain figures are parameters too, keyed
``supply.uncertainty.<profile>.<field>``.

Inputs paired in the scenario's ``[correlations]`` table still take their uniforms
from those same streams; a Gaussian copula (``jevons.engine.preparation.copula``)
mixes each trajectory's uniforms of the paired inputs before their quantile
functions. Inputs the table does not name draw exactly as without it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from jevons.engine.preparation.copula import copula_factor, correlate_uniforms
from jevons.engine.scenario.distributions import U_LARGEST, U_SMALLEST, Fixed
from jevons.engine.scenario.schema import Scenario
from jevons.kernels.contract import (
    HARDWARE_FIELDS,
    PARAMETER_PATHS,
    TrajectoryInputs,
    hardware_path,
    surge_path,
)
from jevons.kernels.layers import market_cap
from jevons.kernels.philox import parameter_word
from jevons.kernels.variates import uniform_from_word


def _lookup(scenario: Scenario, path: str):
    section, key = path.split(".")
    return getattr(getattr(scenario, section), key)


PARALLEL_CHUNK = 50_000


def _uniforms(path: str, trajectories: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    return uniform_from_word(parameter_word(trajectories, path, key))


def _correlated_uniforms(
    scenario: Scenario, trajectories: np.ndarray, key: tuple[int, int]
) -> dict[str, np.ndarray]:
    """The copula's uniforms of each input the [correlations] table names."""
    paths, pairs = scenario.correlated_pairs()
    if not paths:
        return {}
    own = np.stack([_uniforms(path, trajectories, key) for path in paths])
    mixed = correlate_uniforms(own, copula_factor(paths, pairs), U_SMALLEST, U_LARGEST)
    return dict(zip(paths, mixed, strict=True))


def _draw(
    dist,
    path: str,
    trajectories: np.ndarray,
    key: tuple[int, int],
    correlated: dict[str, np.ndarray],
) -> np.ndarray:
    if isinstance(dist, Fixed):
        return np.full(len(trajectories), dist.value)
    u = correlated[path] if path in correlated else _uniforms(path, trajectories, key)
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
    scenario: Scenario, trajectories: np.ndarray, key: tuple[int, int]
) -> TrajectoryInputs:
    """Every per-trajectory input of ``scenario`` for ``trajectories``, ready for the model:
    ``users.saturation`` is the cap in force (never below the initial users; +inf for
    none)."""
    correlated = _correlated_uniforms(scenario, trajectories, key)
    values = {}
    for path in PARAMETER_PATHS:
        dist = _lookup(scenario, path)
        values[path] = (
            np.full(len(trajectories), np.inf)
            if dist is None
            else _draw(dist, path, trajectories, key, correlated)
        )
    # The cap in force: a market is never smaller than the users already in it.
    values["users.saturation"] = market_cap(values["users.initial"], values["users.saturation"])
    surges = scenario.variability.surges
    multipliers = np.empty((len(surges), len(trajectories)))
    for k, surge in enumerate(surges):
        multipliers[k] = _draw(
            surge.multiplier, surge_path(surge.name), trajectories, key, correlated
        )
    supply = scenario.supply
    hardware = {
        field: np.empty((len(supply.hardware), len(trajectories))) for field in HARDWARE_FIELDS
    }
    for h, profile in enumerate(supply.hardware):
        uncertain = supply.uncertainty_of(profile)
        for field in HARDWARE_FIELDS:
            path = hardware_path(profile.key, field)
            hardware[field][h] = _draw(
                getattr(uncertain, field), path, trajectories, key, correlated
            )
        if profile.kind == "estimated":
            _apply_drawn_efficiencies(scenario, profile, {f: v[h] for f, v in hardware.items()})
    return TrajectoryInputs(values=values, surge_multipliers=multipliers, hardware=hardware)
