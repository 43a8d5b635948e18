import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from scipy import integrate, stats

from jevons.engine.distributions import Distribution, lognormal_capped_mean

DIST = TypeAdapter(Distribution)
# A fine midpoint grid: averaging ppf over it is E[X] to high accuracy.
GRID = (np.arange(400_000) + 0.5) / 400_000

# spec, closed-form mean, closed-form standard deviation
CASES = [
    (5, 5.0, 0.0),
    ({"dist": "uniform", "low": 2, "high": 6}, 4.0, 4 / math.sqrt(12)),
    ({"dist": "normal", "mean": 10, "sd": 2}, 10.0, 2.0),
    (
        {"dist": "lognormal", "mu": 1.0, "sigma": 0.5},
        math.exp(1.125),
        math.sqrt((math.exp(0.25) - 1) * math.exp(2.25)),
    ),
    ({"dist": "beta", "mean": 0.3, "sd": 0.1}, 0.3, 0.1),
    ({"dist": "triangular", "low": 0, "mode": 1, "high": 5}, 2.0, math.sqrt((25 + 1 - 5) / 18)),
    ({"dist": "pert", "low": 0, "mode": 2, "high": 10}, (0 + 4 * 2 + 10) / 6, None),
    ({"dist": "gamma", "mean": 4, "sd": 2}, 4.0, 2.0),
    ({"dist": "poisson", "mean": 3.5}, 3.5, math.sqrt(3.5)),
    ({"dist": "negative_binomial", "mean": 6, "dispersion": 2}, 6.0, math.sqrt(6 + 36 / 2)),
    ({"dist": "empirical", "values": [1, 2, 6]}, 3.0, math.sqrt(14 / 3)),
]


@pytest.mark.parametrize(("spec", "mean", "sd"), CASES)
def test_sampled_moments_match_closed_forms(spec, mean, sd):
    d = DIST.validate_python(spec)
    x = d.ppf(GRID)
    assert x.mean() == pytest.approx(mean, rel=1e-3, abs=1e-9)
    assert d.mean() == pytest.approx(mean, rel=1e-9)
    if sd is not None:
        assert x.std() == pytest.approx(sd, rel=5e-3, abs=1e-9)
        assert d.sd() == pytest.approx(sd, rel=1e-9, abs=1e-12)


def test_lognormal_median_p95_parameterisation():
    d = DIST.validate_python({"dist": "lognormal", "median": 100, "p95": 400})
    assert float(d.ppf(np.array([0.5]))[0]) == pytest.approx(100)
    assert float(d.ppf(np.array([0.95]))[0]) == pytest.approx(400)


def test_truncated_normal_stays_inside():
    d = DIST.validate_python({"dist": "normal", "mean": 0.5, "sd": 0.3, "low": 0, "high": 1})
    x = d.ppf(GRID)
    assert x.min() >= 0 and x.max() <= 1
    assert d.support() == (0.0, 1.0)


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "uniform", "low": 3, "high": 1},
        {"dist": "normal", "mean": 0, "sd": -1},
        {"dist": "lognormal", "median": 10},
        {"dist": "lognormal", "median": 10, "p95": 5},
        {"dist": "lognormal", "median": 10, "p95": 20, "mu": 1, "sigma": 1},
        {"dist": "beta", "mean": 0.5, "sd": 0.6},
        {"dist": "beta", "mean": 1.5, "sd": 0.1},
        {"dist": "triangular", "low": 0, "mode": 6, "high": 5},
        {"dist": "pert", "low": 1, "mode": 1, "high": 1},
        {"dist": "gamma", "mean": -1, "sd": 1},
        {"dist": "poisson", "mean": 0},
        {"dist": "negative_binomial", "mean": 3, "dispersion": 0},
        {"dist": "empirical", "values": []},
        {"dist": "weibull", "shape": 2},
        {"dist": "uniform", "low": 0, "high": 1, "extra": 2},
    ],
)
def test_invalid_parameters_are_rejected(spec):
    with pytest.raises(ValidationError):
        DIST.validate_python(spec)


@pytest.mark.parametrize(
    ("mu", "sigma", "cap"), [(7.0, 1.0, 4000.0), (8.0, 0.3, 1e6), (6.0, 2.0, 100.0)]
)
def test_lognormal_mean_truncated_at_budget_closed_form(mu, sigma, cap):
    rv = stats.lognorm(sigma, scale=math.exp(mu))
    below, _ = integrate.quad(lambda x: x * rv.pdf(x), 0, cap, limit=500)
    numeric = below + cap * rv.sf(cap)
    assert lognormal_capped_mean(mu, sigma, cap) == pytest.approx(numeric, rel=1e-7)
    d = DIST.validate_python({"dist": "lognormal", "mu": mu, "sigma": sigma})
    sampled = np.minimum(d.ppf(GRID), cap).mean()
    assert d.clipped_mean(0.0, cap) == pytest.approx(sampled, rel=1e-3)


def test_lognormal_without_budget_is_its_mean():
    d = DIST.validate_python({"dist": "lognormal", "mu": 2.0, "sigma": 0.7})
    assert lognormal_capped_mean(2.0, 0.7, 1e300) == pytest.approx(d.mean())


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "negative_binomial", "mean": 12, "dispersion": 1.5},
        {"dist": "poisson", "mean": 4},
        {"dist": "empirical", "values": [1, 3, 3, 40]},
        3,
    ],
)
def test_clipped_count_moments_match_brute_force(spec):
    d = DIST.validate_python(spec)
    draws = np.clip(d.ppf(GRID), 1, 20)
    assert d.clipped_mean(1, 20) == pytest.approx(draws.mean(), rel=2e-3)
    assert d.clipped_falling_moment(1, 20) == pytest.approx((draws * (draws - 1)).mean(), rel=3e-3)


@settings(max_examples=40, deadline=None)
@given(
    mean=st.floats(min_value=0.02, max_value=0.98),
    spread=st.floats(min_value=0.05, max_value=0.95),
)
def test_beta_by_mean_and_sd_has_that_mean_and_sd(mean, spread):
    sd = spread * math.sqrt(mean * (1 - mean))
    d = DIST.validate_python({"dist": "beta", "mean": mean, "sd": sd})
    assert d.mean() == pytest.approx(mean, rel=1e-9)
    assert d.sd() == pytest.approx(sd, rel=1e-9)
    lo, hi = d.support()
    assert (lo, hi) == (0.0, 1.0)
