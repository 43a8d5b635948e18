"""The GPU's exact row quantiles equal NumPy's (on Numba's simulator without a GPU).

NumPy's ``nanquantile`` (linear interpolation) is the oracle. The rows are the
cases a counting selection can get wrong: ties at the wanted ranks, zeros, mixed
signs, NaN, a single value, no value at all, and several hundred levels.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from jevons.kernels.cuda_quantiles import MAX_LEVELS, summarise_rows_on_device

LEVELS = np.array([0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0])


def expected(rows, levels):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        rows64 = np.asarray(rows, dtype=np.float64)
        return np.nanquantile(rows64, levels, axis=1).T, np.nanmean(rows64, axis=1)


def check(rows, levels=LEVELS):
    q, means = summarise_rows_on_device(np.ascontiguousarray(rows), levels)
    want_q, want_means = expected(rows, levels)
    np.testing.assert_allclose(q, want_q, rtol=1e-12, atol=1e-300, equal_nan=True)
    np.testing.assert_allclose(means, want_means, rtol=1e-12, atol=1e-300, equal_nan=True)


@pytest.mark.slow
def test_mixed_rows():
    rng = np.random.default_rng(6)
    rows = np.stack([
        rng.lognormal(3, 2, 48),
        np.where(rng.random(48) < 0.5, 0.0, rng.lognormal(0, 1, 48)),  # half zeros
        rng.normal(0, 1, 48),  # both signs
        np.full(48, 2.5),  # constant
        np.where(rng.random(48) < 0.3, np.nan, rng.lognormal(1, 1, 48)),  # NaNs
        -rng.lognormal(2, 3, 48),  # negatives only, 13 orders of magnitude
    ])  # fmt: skip
    check(rows)


@pytest.mark.slow
def test_ties_at_the_wanted_ranks():
    """Few distinct values, each repeated: every wanted rank sits inside a run of ties."""
    rng = np.random.default_rng(7)
    rows = np.stack([
        rng.choice([1.0, 2.0, 3.0], 64),
        rng.choice([-1.5, 0.0, 1.5], 64),
        rng.choice([1e-300, 1e300], 64),
        np.repeat([5.0, 5.0 + 2**-50], 32),  # neighbouring doubles
        rng.choice([-0.0, 0.0, 1.0], 64),
    ])  # fmt: skip
    check(rows)


@pytest.mark.slow
def test_zeros_nan_one_value_and_none():
    rows = np.full((5, 20), np.nan)
    rows[0] = 0.0  # all zeros
    rows[1, :19] = 0.0
    rows[1, 19] = 7.0  # zeros and one value
    rows[2, 3] = -4.0  # one value among NaNs
    rows[3, ::2] = np.arange(10.0)  # half NaN
    # rows[4]: no value at all, NaN quantiles and mean
    check(rows)


@pytest.mark.slow
def test_float32_rows():
    rng = np.random.default_rng(8)
    rows = rng.lognormal(5, 2, (3, 40)).astype(np.float32)
    rows[1, :10] = 0.0
    rows[2] = -rows[2]
    check(rows)


@pytest.mark.slow
def test_more_levels_than_one_launch_holds():
    rng = np.random.default_rng(9)
    rows = rng.normal(10, 3, (2, 30))
    levels = np.linspace(0, 1, 3 * MAX_LEVELS + 5)
    check(rows, levels)


def test_means_alone():
    rows = np.array([[0.0, 1.0, 1.0, 0.0, 1.0], [0.5, np.nan, 2.5, 3, 6]])
    q, means = summarise_rows_on_device(rows, np.empty(0))
    assert q.shape == (2, 0)
    np.testing.assert_allclose(means, [0.6, 3.0], rtol=1e-15)


LONG_ROW = """
import numpy as np
from jevons.kernels.cuda_quantiles import summarise_rows_on_device
q, means = summarise_rows_on_device(np.full((1, 100_000), 3.25), np.array([0.05, 0.5, 0.95]))
print(q[0].tolist(), float(means[0]))
"""


@pytest.mark.slow
def test_a_long_row_of_equal_values_is_linear():
    """100,000 equal values: counted as one key, never compared pairwise.

    Comparing pairwise within a bucket takes 10^10 steps here, counting a few passes
    of 10^5 (about 40 s on the simulator, which runs each GPU thread as Python). The
    time limit tells the two apart by orders of magnitude; it is not a speed claim.
    """
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM=os.environ.get("NUMBA_ENABLE_CUDASIM", "1"))
    done = subprocess.run(
        [sys.executable, "-c", LONG_ROW], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    q, mean = done.stdout.strip().rsplit("] ", 1)
    assert q == "[3.25, 3.25, 3.25"
    assert float(mean) == pytest.approx(3.25, rel=1e-12)
