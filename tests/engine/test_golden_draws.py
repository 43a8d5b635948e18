"""Golden draws: the first five trajectories' value of one input, per distribution family.

The literals below were produced once, outside the package's draw path: the
uniforms u_i of trajectories 0..4 (seed 12345, key path ``cache.drift_per_month``)
from ``parameter_word`` + ``uniform_from_word`` (Philox is checked against the
Random123 vectors in tests/kernels/test_philox.py), put through SciPy's exact
quantile functions (``scipy.stats.<family>(...).ppf(u)``; for ``empirical``,
``rv_discrete`` with equal weights on the sorted values). They are stored, not
recomputed, so that any change to the numbers a seed draws is caught.
``cache.drift_per_month`` takes any real number, so every family fits it.
"""

import numpy as np
import pytest

from jevons.engine.preparation.input_draws import draw_inputs
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.kernels.philox import parameter_word, seed_key
from jevons.kernels.variates import uniform_from_word

SEED = 12345
PATH = "cache.drift_per_month"

# Philox words (first word of each trajectory's parameter block) and their uniforms.
WORDS = [0xC866A207, 0x7C89892A, 0xC89ED6B1, 0xF262E56C, 0x9B1B0387]
UNIFORMS = [
    0.7828161120414734,
    0.48647361993789673,
    0.7836737036705017,
    0.9468215107917786,
    0.6058809161186218,
]

# family: (scenario table, how the literal was made, the five draws)
GOLDEN = {
    "fixed": (
        0.02,
        "0.02",
        [0.02, 0.02, 0.02, 0.02, 0.02],
    ),
    "uniform": (
        {"dist": "uniform", "low": -0.1, "high": 0.2},
        "stats.uniform(loc=-0.1, scale=0.3)",
        [0.134844833612442, 0.04594208598136901, 0.1351021111011505, 0.18404645323753357,
         0.08176427483558654],
    ),
    "normal": (
        {"dist": "normal", "mean": 0.01, "sd": 0.03},
        "stats.norm(loc=0.01, scale=0.03)",
        [0.03345218024682828, 0.008982636832274063, 0.033539817826491354, 0.058443589354970925,
         0.01805797444944946],
    ),
    "truncated_normal": (
        {"dist": "normal", "mean": 0.01, "sd": 0.03, "low": -0.02, "high": 0.05},
        "stats.truncnorm(-1, 4/3, loc=0.01, scale=0.03)",
        [0.029846658623495982, 0.01177387799412009, 0.029906908300889427, 0.04363588474311091,
         0.018625908572189417],
    ),
    "lognormal": (
        {"dist": "lognormal", "median": 0.02, "p95": 0.08},
        "stats.lognorm(s=ln(4)/ndtri(0.95), scale=0.02)",
        [0.038651584208430026, 0.01943646438400292, 0.03874686368370035, 0.07799819513875739,
         0.025080973988989737],
    ),
    "beta": (
        {"dist": "beta", "mean": 0.3, "sd": 0.1},
        "stats.beta(0.3 k, 0.7 k), k = 0.21 / 0.01 - 1",
        [0.37743109957837634, 0.2897372489904395, 0.37775735956562, 0.47233563548571394,
         0.32136066832857957],
    ),
    "triangular": (
        {"dist": "triangular", "low": -0.05, "mode": 0.01, "high": 0.1},
        "stats.triang(0.06/0.15, loc=-0.05, scale=0.15)",
        [0.04585221622780754, 0.016737726845597142, 0.045959228350732934, 0.07320616480772135,
         0.027057504619058953],
    ),
    "pert": (
        {"dist": "pert", "low": -0.05, "mode": 0.01, "high": 0.1},
        "stats.beta(1 + 4*0.06/0.15, 1 + 4*0.09/0.15, loc=-0.05, scale=0.15)",
        [0.03862636684205187, 0.012752599598246303, 0.03871700838673399, 0.062409414530144314,
         0.022364505859729766],
    ),
    "gamma": (
        {"dist": "gamma", "mean": 0.04, "sd": 0.02},
        "stats.gamma(4, scale=0.01)",
        [0.053673947554344556, 0.03607958117427573, 0.053745373400774545, 0.07661003229176103,
         0.042069427755073864],
    ),
    "poisson": (
        {"dist": "poisson", "mean": 3.5},
        "stats.poisson(3.5)",
        [5.0, 3.0, 5.0, 7.0, 4.0],
    ),
    "negative_binomial": (
        {"dist": "negative_binomial", "mean": 6, "dispersion": 2},
        "stats.nbinom(2, 2/(2+6))",
        [9.0, 5.0, 9.0, 15.0, 6.0],
    ),
    "empirical": (
        {"dist": "empirical", "values": [-0.02, 0.0, 0.01, 0.03, 0.07]},
        "sorted values[rv_discrete(values=(range(5), [0.2]*5)).ppf(u)]",
        [0.03, 0.01, 0.03, 0.07, 0.03],
    ),
}  # fmt: skip


def draws(hand_dict, spec, n=5):
    hand_dict["cache"] = {"hit_rate": 0.5, "drift_per_month": spec}
    hand_dict["simulation"]["seed"] = SEED
    scenario = scenario_from_dict(hand_dict)
    inputs = draw_inputs(scenario, np.arange(n, dtype=np.uint64), seed_key(SEED))
    return inputs[PATH]


def test_the_uniforms_behind_the_golden_table():
    words = parameter_word(np.arange(5, dtype=np.uint64), PATH, seed_key(SEED))
    assert [int(w) for w in words] == WORDS
    assert uniform_from_word(words).tolist() == UNIFORMS  # exact: 23-bit uniforms
    # u = ((word >> 9) + 0.5) / 2**23, by hand
    assert UNIFORMS == [((w >> 9) + 0.5) / 2**23 for w in WORDS]


def test_the_table_covers_every_family():
    from jevons.engine.scenario.distributions import DISTRIBUTION_NAMES

    assert set(DISTRIBUTION_NAMES) <= set(GOLDEN)


@pytest.mark.parametrize("family", list(GOLDEN))
def test_draws_match_the_golden_table(hand_dict, family):
    spec, _, expected = GOLDEN[family]
    got = draws(hand_dict, spec)
    # PINV (beta, PERT, gamma) has a u-error below 1e-14; here the density is not
    # small, so x is within ~1e-13 relative. Exact ppfs agree to rounding.
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)
    if family in ("poisson", "negative_binomial", "empirical", "fixed"):
        assert got.tolist() == expected  # lattice values: exactly


def test_golden_draws_do_not_depend_on_how_many_trajectories_run(hand_dict):
    # trajectory i draws the same value in a run of 5 or of 1,000
    spec, _, expected = GOLDEN["lognormal"]
    np.testing.assert_allclose(draws(hand_dict, spec, n=1000)[:5], expected, rtol=1e-10)


def test_empirical_draws_do_not_depend_on_the_order_values_are_listed(hand_dict):
    _, _, expected = GOLDEN["empirical"]
    shuffled = {"dist": "empirical", "values": [0.07, -0.02, 0.03, 0.0, 0.01]}
    got = draws(hand_dict, shuffled)
    assert got.tolist() == expected
    u = np.array(UNIFORMS)
    assert np.all(np.diff(got[np.argsort(u)]) >= 0)  # a quantile function rises with u
