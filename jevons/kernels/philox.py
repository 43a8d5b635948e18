"""Philox4x32-10 counter-based random numbers, vectorised over any array namespace.

Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3",
SC'11 (the Random123 library). A block of four 32-bit words is a pure function
of a 128-bit counter and a 64-bit key, so any trajectory's numbers can be made
on any device, in any chunk, in any order.

jevons' stream contract (see DESIGN.md):

* key  = (seed low word, seed high word)
* counter = (trajectory low word, trajectory high word, step, stream)

Per-step draws use ``step = t`` and ``stream = STEP_STREAM``. Per-trajectory
parameter draws use ``step = PARAMETER_STEP`` and a stream id derived from the
parameter's key path, so adding a parameter never shifts another one's numbers.

The arithmetic is the array API standard's (NumPy, CuPy, ...): uint32 words,
uint64 products, shifts and masks, all exact. Constants are Python ints, which
the standard lets mix with an array of any integer type they fit.
"""

from __future__ import annotations

import zlib

from jevons.kernels.array_api import Array, device, namespace
from jevons.kernels.constants import (
    PARAMETER_STEP,
    PHILOX_M0,
    PHILOX_M1,
    PHILOX_ROUNDS,
    PHILOX_W0,
    PHILOX_W1,
    STEP_STREAM,
)

_LOW32 = 0xFFFFFFFF


def _mulhilo(xp, a: Array, m: int) -> tuple[Array, Array]:
    # Products of two 32-bit words need 64 bits; a uint32 product would wrap.
    product = xp.astype(a, xp.uint64) * m
    return xp.astype(product >> 32, xp.uint32), xp.astype(product & _LOW32, xp.uint32)


def philox4x32(
    counter: tuple[Array | int, Array | int, Array | int, Array | int],
    key: tuple[int, int],
    rounds: int = PHILOX_ROUNDS,
) -> tuple[Array, Array, Array, Array]:
    """Philox4x32 with ``rounds`` rounds; counter words broadcast against each other.

    Returns the four output words as uint32 arrays of the counter's namespace
    (NumPy's when every counter word is a Python int).
    """
    xp = namespace(*counter)
    home = device(*counter)
    c0, c1, c2, c3 = xp.broadcast_arrays(
        *(xp.asarray(c, dtype=xp.uint32, device=home) for c in counter)
    )
    k0, k1 = key
    for r in range(rounds):
        if r > 0:
            k0 = (k0 + PHILOX_W0) & _LOW32
            k1 = (k1 + PHILOX_W1) & _LOW32
        hi0, lo0 = _mulhilo(xp, c0, PHILOX_M0)
        hi1, lo1 = _mulhilo(xp, c2, PHILOX_M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def seed_key(seed: int) -> tuple[int, int]:
    """Split a 64-bit seed into Philox's two key words."""
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return seed & 0xFFFFFFFF, seed >> 32


def parameter_stream(key_path: str) -> int:
    """Stable stream id of a per-trajectory parameter, from its scenario key path."""
    return zlib.crc32(key_path.encode("utf-8"))


def trajectory_words(trajectories: Array) -> tuple[Array, Array]:
    """Low and high 32-bit words of 64-bit trajectory indices."""
    xp = namespace(trajectories)
    t = xp.astype(trajectories, xp.uint64, copy=False)
    return xp.astype(t & _LOW32, xp.uint32), xp.astype(t >> 32, xp.uint32)


def step_block(trajectories: Array, step: int, key: tuple[int, int]) -> tuple[Array, ...]:
    """The four words of the per-step block of each trajectory at ``step``."""
    lo, hi = trajectory_words(trajectories)
    return philox4x32((lo, hi, step, STEP_STREAM), key)


def parameter_word(trajectories: Array, key_path: str, key: tuple[int, int]) -> Array:
    """The first word of the parameter block of ``key_path`` for each trajectory."""
    lo, hi = trajectory_words(trajectories)
    return philox4x32((lo, hi, PARAMETER_STEP, parameter_stream(key_path)), key)[0]
