"""Sampling designs: the uniforms behind each trajectory's per-trajectory inputs.

``simulation.sampling`` picks how trajectory ``i`` of a run of ``n`` gets the
uniform ``u`` of each uncertain input (its quantile function does the rest):

``mc``
    Plain Monte Carlo: ``u = v_i``, the input's own Philox uniform, from block
    ``(i, PARAMETER_STEP, crc32(path))`` (``jevons.kernels.philox``).
``lhs``
    Latin hypercube [1]_: ``u = (pi(i) + v_i) / n``, where ``pi`` is a keyed
    permutation of ``[0, n)``, one per input. Each input has exactly one
    trajectory in each stratum ``[k/n, (k+1)/n)``. ``pi`` is counter-based: a
    Feistel network over Philox words keyed by ``(seed, crc32(path))``,
    cycle-walked onto ``[0, n)`` [2]_, so ``pi(i)`` is a function of
    ``(seed, n, i, path)`` alone and any chunk, shard or worker computes the same.
``sobol``
    Scrambled Sobol' points [3]_ (``scipy.stats.qmc.Sobol``, linear matrix
    scramble and digital shift, seeded with the scenario's seed), one dimension
    per uncertain input in draw order; trajectory ``i`` takes point ``i`` of the
    sequence, whatever chunk it runs in. The balance properties hold for ``n`` a
    power of 2; other counts get a note (:class:`SamplingNote`).

Under every design each trajectory's uniforms are, one at a time, uniform on
(0, 1), so the Gaussian copula of ``[correlations]`` applies to them unchanged:
the joint distribution of one trajectory's inputs is the one the table asks for.
What a design adds is balance across trajectories: the mean over a run of a
smooth function of the inputs converges faster than under plain Monte Carlo.

References
----------
.. [1] M. D. McKay, R. J. Beckman and W. J. Conover, "A comparison of three methods for
   selecting values of input variables in the analysis of output from a computer code",
   Technometrics 21 (1979) 239-245.
.. [2] J. Black and P. Rogaway, "Ciphers with arbitrary finite domains", CT-RSA 2002,
   LNCS 2271, 114-130 (cycle walking over a Feistel network).
.. [3] A. B. Owen, "Scrambling Sobol' and Niederreiter-Xing points", J. Complexity 14
   (1998) 466-489.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.stats import qmc

from jevons.engine.scenario.distributions import U_LARGEST, U_SMALLEST
from jevons.errors import JevonsError, JevonsWarning
from jevons.kernels.philox import parameter_stream, parameter_word, philox4x32
from jevons.kernels.variates import uniform_from_word

SAMPLING_DESIGNS = ("mc", "lhs", "sobol")

# The permutation's Philox blocks: counter (half-word, round, PERMUTATION_STEP, stream).
# PARAMETER_STEP is 0xFFFFFFFF and real steps count up from 0, so this step index meets
# neither the parameter draws nor the per-step draws.
PERMUTATION_STEP = 0xFFFFFFFE
# Four rounds of a pseudo-random function make a pseudo-random permutation (Luby-Rackoff).
FEISTEL_ROUNDS = 4
# scipy's Sobol fast_forward takes 32-bit direction numbers only: at most 2^32 points.
SOBOL_BITS = 32


class SamplingNote(JevonsWarning):
    """A sampling design used where it loses part of its advantage."""


def sobol_note(total: int) -> str | None:
    """The note for a Sobol' run of ``total`` trajectories, if it needs one."""
    if total & (total - 1) == 0:
        return None
    lower, upper = 1 << (total.bit_length() - 1), 1 << total.bit_length()
    return (
        f'simulation.sampling = "sobol" balances best at a power of 2 trajectories;'
        f" {total:,} is not (nearest: {lower:,} or {upper:,})"
    )


def _feistel(x: np.ndarray, half_bits: int, stream: int, key: tuple[int, int]) -> np.ndarray:
    """A keyed bijection on [0, 4**half_bits): a balanced Feistel network, Philox rounds."""
    mask = (1 << half_bits) - 1
    left, right = (x >> half_bits) & mask, x & mask
    for r in range(FEISTEL_ROUNDS):
        word = philox4x32((right, r, PERMUTATION_STEP, stream), key)[0]
        left, right = right, left ^ (word.astype(np.uint64) & mask)
    return (left << half_bits) | right


def stratum_permutation(
    trajectories: np.ndarray, total: int, path: str, key: tuple[int, int]
) -> np.ndarray:
    """``pi(i)`` for each trajectory ``i`` of ``[0, total)``: a permutation of ``[0, total)``
    keyed by the seed and ``path``. Cycle walking: a value the Feistel network sends past
    ``total`` is sent through it again until it lands inside (the domain is under 4 times
    ``total``, so a few passes at most on average)."""
    half_bits = max(1, -(-max(total - 1, 1).bit_length() // 2))
    stream = parameter_stream(path)
    values = _feistel(trajectories.astype(np.uint64), half_bits, stream, key)
    outside = values >= total
    while outside.any():
        values[outside] = _feistel(values[outside], half_bits, stream, key)
        outside = values >= total
    return values


def _own_uniforms(path: str, trajectories: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    return uniform_from_word(parameter_word(trajectories, path, key))


def _sobol_points(
    dimensions: int, trajectories: np.ndarray, total: int, key: tuple[int, int]
) -> np.ndarray:
    """Points ``trajectories`` (consecutive) of the scrambled Sobol' sequence, (count, d)."""
    if total > 1 << SOBOL_BITS:
        raise JevonsError(
            f'simulation.sampling = "sobol" draws at most 2^{SOBOL_BITS} = {1 << SOBOL_BITS:,}'
            f' trajectories, not {total:,}; use simulation.sampling = "lhs" or fewer'
        )
    first = int(trajectories[0])
    if not np.array_equal(trajectories, np.arange(first, first + len(trajectories))):
        raise ValueError("Sobol' points are drawn for a consecutive range of trajectories")
    seed = key[0] | key[1] << 32
    engine = qmc.Sobol(dimensions, scramble=True, bits=SOBOL_BITS, rng=np.random.default_rng(seed))
    if first:  # scipy refuses to skip 0 points
        engine.fast_forward(first)
    with warnings.catch_warnings():
        # The run's own count is what matters for balance: sobol_note speaks of it, once.
        warnings.simplefilter("ignore", UserWarning)
        return engine.random(len(trajectories))


def design_uniforms(
    sampling: str,
    paths: Sequence[str],
    trajectories: np.ndarray,
    key: tuple[int, int],
    total: int,
) -> dict[str, np.ndarray]:
    """The uniform of each uncertain input ``paths`` (in draw order) for ``trajectories``
    of a run of ``total``, under the design ``sampling``; within
    [``U_SMALLEST``, ``U_LARGEST``], the range of the generator's own uniforms."""
    if sampling == "mc":
        return {path: _own_uniforms(path, trajectories, key) for path in paths}
    if len(trajectories) and int(trajectories.max()) >= total:
        raise ValueError(f"trajectory {int(trajectories.max())} is outside a run of {total}")
    if sampling == "lhs":
        drawn = {}
        for path in paths:
            strata = stratum_permutation(trajectories, total, path, key).astype(np.float64)
            drawn[path] = (strata + _own_uniforms(path, trajectories, key)) / total
    elif sampling == "sobol":
        if not paths or not len(trajectories):
            return {path: np.empty(0) for path in paths}
        points = _sobol_points(len(paths), trajectories, total, key)
        drawn = {path: points[:, j] for j, path in enumerate(paths)}
    else:
        raise ValueError(f"unknown sampling design {sampling!r}")
    return {path: np.clip(u, U_SMALLEST, U_LARGEST) for path, u in drawn.items()}
