"""Philox4x32-10 counter-based random numbers, vectorised with NumPy.

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
"""

from __future__ import annotations

import zlib

import numpy as np

PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = np.uint32(0x9E3779B9)  # golden ratio
PHILOX_W1 = np.uint32(0xBB67AE85)  # sqrt(3) - 1
ROUNDS = 10

STEP_STREAM = 0
PARAMETER_STEP = 0xFFFFFFFF  # never a real step index, so parameter and step draws never meet
_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


def _mulhilo(a: np.ndarray, m: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    # Products of two 32-bit words need 64 bits; NumPy would wrap a uint32 product.
    product = a.astype(np.uint64) * m
    return (product >> _SHIFT32).astype(np.uint32), (product & _LOW32).astype(np.uint32)


def philox4x32(
    counter: tuple[np.ndarray | int, np.ndarray | int, np.ndarray | int, np.ndarray | int],
    key: tuple[int, int],
    rounds: int = ROUNDS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Philox4x32 with ``rounds`` rounds; counter words broadcast against each other.

    Returns the four output words as uint32 arrays.
    """
    c0, c1, c2, c3 = np.broadcast_arrays(*(np.asarray(c, dtype=np.uint32) for c in counter))
    c0, c1, c2, c3 = c0.copy(), c1.copy(), c2.copy(), c3.copy()
    k0 = np.uint32(key[0])
    k1 = np.uint32(key[1])
    with np.errstate(over="ignore"):
        for r in range(rounds):
            if r > 0:
                k0 = np.uint32(k0 + PHILOX_W0)
                k1 = np.uint32(k1 + PHILOX_W1)
            hi0, lo0 = _mulhilo(c0, PHILOX_M0)
            hi1, lo1 = _mulhilo(c2, PHILOX_M1)
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


def trajectory_words(trajectories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Low and high 32-bit words of 64-bit trajectory indices."""
    t = np.asarray(trajectories, dtype=np.uint64)
    return (t & _LOW32).astype(np.uint32), (t >> _SHIFT32).astype(np.uint32)


def step_block(trajectories: np.ndarray, step: int, key: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """The four words of the per-step block of each trajectory at ``step``."""
    lo, hi = trajectory_words(trajectories)
    return philox4x32((lo, hi, step, STEP_STREAM), key)


def parameter_word(trajectories: np.ndarray, key_path: str, key: tuple[int, int]) -> np.ndarray:
    """The first word of the parameter block of ``key_path`` for each trajectory."""
    lo, hi = trajectory_words(trajectories)
    return philox4x32((lo, hi, PARAMETER_STEP, parameter_stream(key_path)), key)[0]
