import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from scipy import integrate, special, stats

from jevons.engine.scenario.capped_means import lognormal_capped_mean
from jevons.engine.scenario.distributions import Distribution
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.errors import ScenarioError

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


@pytest.mark.slow
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


@pytest.mark.slow
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


# --- E[min(X, cap)]: mean thinking tokens under a budget --------------------------------
#
# The references below share no code with the closed forms they check: continuous
# families integrate SciPy's quantile function, discrete ones sum a pmf table built
# from its ratio recurrence.

CONTINUOUS = [
    {"dist": "lognormal", "mu": 8.0, "sigma": 2.5},
    {"dist": "lognormal", "mu": 8.0, "sigma": 4.0},
    {"dist": "lognormal", "mu": 0.0, "sigma": 0.1},
    {"dist": "lognormal", "median": 2000, "p95": 9000},
    {"dist": "gamma", "mean": 5000, "sd": 10},
    {"dist": "gamma", "mean": 5000, "sd": 50_000},
    {"dist": "gamma", "mean": 1, "sd": 1},
    {"dist": "gamma", "mean": 300, "sd": 120},
    {"dist": "normal", "mean": 3000, "sd": 10},
    {"dist": "normal", "mean": 3000, "sd": 10, "low": 0},
    {"dist": "normal", "mean": 3000, "sd": 1000, "low": 0, "high": 3001},
    {"dist": "normal", "mean": -50, "sd": 10, "low": 0},
    {"dist": "normal", "mean": 0.5, "sd": 0.3, "low": 0, "high": 1},
    {"dist": "normal", "mean": 0, "sd": 1, "high": -5.9},
    {"dist": "beta", "mean": 0.3, "sd": 0.1},
    {"dist": "beta", "mean": 0.5, "sd": 0.499},
    {"dist": "beta", "mean": 0.01, "sd": 1e-5},
    {"dist": "pert", "low": 100, "mode": 200, "high": 10_000},
    {"dist": "pert", "low": 0, "mode": 0, "high": 1, "shape": 10},
    {"dist": "triangular", "low": 100, "mode": 200, "high": 10_000},
    {"dist": "triangular", "low": 0, "mode": 0, "high": 1},
    {"dist": "triangular", "low": 0, "mode": 1, "high": 1},
    {"dist": "uniform", "low": 100, "high": 10_000},
]
HUGE = [1e7, 1e8, 1e12]


def _score_quantile(rv, z: float) -> float:
    """F^-1(Phi(z)), from the upper tail for z > 0 so that no u rounds onto 1.

    SciPy's beta isf gives nan for a tail below ~1e-200: there the quantile is
    the support's end.
    """
    x = float(rv.ppf(special.ndtr(z))) if z < 0 else float(rv.isf(special.ndtr(-z)))
    if math.isnan(x):
        lo, hi = rv.support()
        x = float(hi if z > 0 else lo)
    return x


def _quantile_reference(d, cap: float | None) -> float:
    """E[min(X, cap)] = integral over u in (0, 1) of min(F^-1(u), cap) du, with u = Phi(z).

    Integrating in normal scores z tames the heavy upper tails; the integral is
    split at z* = Phi^-1(F(cap)): below it the integrand is F^-1(Phi(z)) phi(z),
    above it cap phi(z).
    """
    rv = d._frozen()  # SciPy's own distribution
    edge = 37.0  # Phi(-37) ~ 6e-300: nothing is left outside
    if cap is None:
        z_cap = edge
    else:
        f = float(rv.cdf(cap))
        z_cap = float(special.ndtri(f)) if f < 0.5 else -float(special.ndtri(rv.sf(cap)))
        z_cap = min(max(z_cap, -edge), edge)
    below = 0.0
    if z_cap > -edge:
        points = [p for p in (-8.0, -4.0, -2.0, 0.0, 2.0, 4.0, 8.0) if -edge < p < z_cap]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            below, _ = integrate.quad(
                lambda z: _score_quantile(rv, z) * stats.norm.pdf(z),
                -edge,
                z_cap,
                points=points or None,
                limit=1000,
                epsabs=0.0,
                epsrel=1e-13,
            )
    above = 0.0 if cap is None else cap * float(special.ndtr(-z_cap))
    return below + above


def _caps(d) -> list[float | None]:
    median = float(d._frozen().median())
    return [None, 0.0, 1e-6, median, 0.5 * median, 3.0 * median, *HUGE]


@pytest.mark.slow
@pytest.mark.parametrize("spec", CONTINUOUS, ids=lambda s: str(s))
def test_capped_mean_matches_integral_of_the_quantile_function(spec):
    d = DIST.validate_python(spec)
    for cap in _caps(d):
        expected = _quantile_reference(d, cap)
        got = d.capped_mean(cap)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-300), f"cap={cap}"


@pytest.mark.parametrize("spec", CONTINUOUS, ids=lambda s: str(s))
def test_capped_mean_without_budget_or_with_a_huge_one_is_the_mean(spec):
    d = DIST.validate_python(spec)
    mean = float(d._frozen().mean())  # SciPy's moments
    assert d.capped_mean(None) == pytest.approx(mean, rel=1e-12)
    assert d.capped_mean(math.inf) == pytest.approx(mean, rel=1e-12)
    if d._frozen().sf(1e12) < 1e-30:  # not so for the heavy lognormals
        assert d.capped_mean(1e12) == pytest.approx(mean, rel=1e-12)
    assert d.capped_mean(0.0) == 0.0 or d.support()[0] < 0


@pytest.mark.parametrize(
    ("spec", "cap", "expected"),
    [
        # the independent recalculation's cases
        ({"dist": "lognormal", "mu": 8, "sigma": 2.5}, None, math.exp(8 + 2.5**2 / 2)),
        ({"dist": "lognormal", "mu": 8, "sigma": 4}, None, math.exp(8 + 16 / 2)),
        ({"dist": "gamma", "mean": 5000, "sd": 10}, 1e7, 5000.0),
        ({"dist": "normal", "mean": 3000, "sd": 10, "low": 0}, 1e8, 3000.0),
        ({"dist": "normal", "mean": 3000, "sd": 10}, 1e8, 3000.0),
        ({"dist": "beta", "mean": 0.3, "sd": 0.1}, 1e12, 0.3),
        # a cap below every draw is the cap
        ({"dist": "gamma", "mean": 5000, "sd": 10}, 1e-6, 1e-6),
        ({"dist": "lognormal", "mu": 8, "sigma": 0.5}, 1e-6, 1e-6),
        ({"dist": "normal", "mean": 3000, "sd": 10, "low": 0}, 1e-6, 1e-6),
        # exact piecewise polynomials
        ({"dist": "uniform", "low": 0, "high": 4}, 1.0, 1.0 - 1.0 / 8.0),
        ({"dist": "triangular", "low": 0, "mode": 0, "high": 3}, 3.0, 1.0),
        (5, 3.0, 3.0),
        (5, None, 5.0),
        ({"dist": "empirical", "values": [1, 3, 3, 40]}, 3.5, 10.5 / 4),
    ],
)
def test_capped_mean_exact_values(spec, cap, expected):
    d = DIST.validate_python(spec)
    assert d.capped_mean(cap) == pytest.approx(expected, rel=1e-12)


def test_lognormal_capped_mean_with_huge_mu_does_not_overflow():
    # exp(mu + sigma^2 / 2) alone overflows; the capped mean is the cap.
    assert lognormal_capped_mean(800.0, 1.0, 1e300) == pytest.approx(1e300, rel=1e-12)
    assert lognormal_capped_mean(710.0, 4.0, None) == math.inf
    assert lognormal_capped_mean(700.0, 4.0, None) == pytest.approx(math.exp(708.0), rel=1e-12)


def _pmf_table(spec) -> tuple[np.ndarray, np.ndarray]:
    """(k, P(X = k)) out to where the mass left is below 1e-25, from the ratio
    P(X = k) / P(X = k - 1) accumulated in logs and normalised."""
    mean = spec["mean"]
    if spec["dist"] == "poisson":
        rv = stats.poisson(mean)
    else:
        r = spec["dispersion"]
        rv = stats.nbinom(r, r / (r + mean))
    top = 64
    while rv.sf(top) > 1e-25:
        top *= 2
    k = np.arange(1, top + 1, dtype=np.float64)
    if spec["dist"] == "poisson":
        log_ratio = np.log(mean / k)
    else:
        log_ratio = np.log((k - 1 + r) / k) + math.log(mean / (r + mean))
    log_p = np.concatenate(([0.0], np.cumsum(log_ratio)))
    p = np.exp(log_p - log_p.max())
    return np.arange(top + 1, dtype=np.float64), p / math.fsum(p)


COUNTS = [
    {"dist": "poisson", "mean": 0.01},
    {"dist": "poisson", "mean": 3.5},
    {"dist": "poisson", "mean": 300},
    {"dist": "poisson", "mean": 20_000},
    {"dist": "negative_binomial", "mean": 6, "dispersion": 2},
    {"dist": "negative_binomial", "mean": 0.3, "dispersion": 0.01},
    {"dist": "negative_binomial", "mean": 1000, "dispersion": 0.5},
    {"dist": "negative_binomial", "mean": 5, "dispersion": 1e8},  # nearly Poisson
    {"dist": "negative_binomial", "mean": 50, "dispersion": 1e6},
]


@pytest.mark.parametrize("spec", COUNTS, ids=lambda s: str(s))
def test_count_capped_mean_matches_the_pmf_sum(spec):
    d = DIST.validate_python(spec)
    k, p = _pmf_table(spec)
    median = float(d._frozen().median())
    for cap in [None, 0.0, 1e-6, 0.5, 1.0, 2.5, median, median + 0.3, 3 * median + 1, *HUGE]:
        clipped = k if cap is None else np.minimum(k, cap)
        expected = math.fsum(clipped * p)
        assert d.capped_mean(cap) == pytest.approx(expected, rel=1e-12, abs=1e-300), f"cap={cap}"
    assert d.capped_mean(None) == spec["mean"]


def test_poisson_with_a_huge_mean_is_exact():
    d = DIST.validate_python({"dist": "poisson", "mean": 1e6})
    # the bulk, +-60 sd, holds all the mass; normalised SciPy pmf over it
    k = np.arange(1e6 - 60_000, 1e6 + 60_000 + 1)
    p = stats.poisson(1e6).pmf(k)
    p /= math.fsum(p)
    for cap in [999_000.0, 1e6, 1e6 + 0.5, 1_001_500.0]:
        assert d.capped_mean(cap) == pytest.approx(math.fsum(np.minimum(k, cap) * p), rel=1e-12), (
            f"cap={cap}"
        )
    assert d.capped_mean(None) == 1e6
    assert d.capped_mean(1e12) == 1e6
    assert d.clipped_mean(1, 1000) == 1000.0


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "negative_binomial", "mean": 15, "dispersion": 1.5},
        {"dist": "negative_binomial", "mean": 5, "dispersion": 1e8},
        {"dist": "poisson", "mean": 0.4},
    ],
)
def test_clipped_count_mean_is_exact(spec):
    d = DIST.validate_python(spec)
    k, p = _pmf_table(spec)
    for high in (1, 3, 20, 1000):
        expected = math.fsum(np.clip(k, 1, high) * p)
        assert d.clipped_mean(1, high) == pytest.approx(expected, rel=1e-12)


def test_clipped_mean_of_a_continuous_draw():
    d = DIST.validate_python({"dist": "gamma", "mean": 4, "sd": 2})
    rv = d._frozen()
    inside, _ = integrate.quad(lambda x: x * rv.pdf(x), 2, 6, epsabs=0, epsrel=1e-13)
    expected = 2 * rv.cdf(2) + inside + 6 * rv.sf(6)
    assert d.clipped_mean(2, 6) == pytest.approx(expected, rel=1e-12)


# --- through the scenario schema ---------------------------------------------------------


@pytest.mark.parametrize(
    ("thinking", "budget", "expected"),
    [
        ({"dist": "lognormal", "mu": 8, "sigma": 2.5}, None, math.exp(11.125)),  # 67,846
        ({"dist": "gamma", "mean": 5000, "sd": 10}, 1e7, 5000.0),
        ({"dist": "normal", "mean": 3000, "sd": 10, "low": 0}, 1e8, 3000.0),
        ({"dist": "lognormal", "mu": 8, "sigma": 2.5}, 0, 0.0),
        ({"dist": "uniform", "low": 0, "high": 4000}, 2000, 1500.0),
        ({"dist": "poisson", "mean": 3}, 1e12, 3.0),
        (1000, 600, 600.0),
    ],
)
def test_thinking_per_reasoning_call(hand_dict, thinking, budget, expected):
    hand_dict["reasoning"]["thinking_tokens"] = thinking
    if budget is None:
        del hand_dict["reasoning"]["budget"]
    else:
        hand_dict["reasoning"]["budget"] = budget
    scenario = scenario_from_dict(hand_dict)
    assert scenario.reasoning.thinking_per_reasoning_call() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("calls", [0, 0.5])
def test_fixed_calls_per_request_below_one_is_refused(hand_dict, calls):
    hand_dict["agents"]["calls_per_request"] = calls
    with pytest.raises(ScenarioError) as excinfo:
        scenario_from_dict(hand_dict)
    assert excinfo.value.problems == [
        (
            "agents.calls_per_request",
            f"must be at least 1 (a request makes at least one call), got {calls:g}",
        )
    ]


def test_count_distribution_with_mass_at_zero_is_held_to_one_call(hand_dict):
    hand_dict["agents"]["calls_per_request"] = {"dist": "poisson", "mean": 0.4}
    mean_calls, _ = scenario_from_dict(hand_dict).agents.calls_moments()
    # E[max(C, 1)] = P(C = 0) + E[C]
    assert mean_calls == pytest.approx(math.exp(-0.4) + 0.4, rel=1e-12)
