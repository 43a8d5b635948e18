"""Sampling designs: Latin hypercube strata, scrambled Sobol' points as SciPy makes them,
draws that do not depend on chunks or shards, and the variance they save, against hand
arithmetic."""

import numpy as np
import pytest
from scipy import stats
from scipy.stats import qmc
from typer.testing import CliRunner

from jevons.cli.main import app
from jevons.engine.output.shard_files import Shard
from jevons.engine.preparation.input_draws import draw_inputs
from jevons.engine.preparation.sampling import SamplingNote, design_uniforms, stratum_permutation
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.errors import JevonsError, ScenarioError
from jevons.kernels.philox import parameter_word, seed_key
from jevons.kernels.variates import uniform_from_word
from tests.helpers import GOOD, write

SHARE, DRIFT, HIT = "reasoning.share", "cache.drift_per_month", "cache.hit_rate"
THROUGHPUT = "test-gpu throughput_factor"  # held in TrajectoryInputs.hardware, profile 0
N = 1000
SEED = 21


def sampled(hand_dict, sampling, trajectories=None, correlations=None):
    """The hand scenario with three inputs drawn from uniforms whose values are easy to
    invert: share and drift uniform on [0, 1] (the value is u), throughput 0.5 + u."""
    hand_dict["simulation"].update(sampling=sampling, trajectories=trajectories or N)
    hand_dict["reasoning"]["share"] = {"dist": "uniform", "low": 0.0, "high": 1.0}
    hand_dict["cache"]["drift_per_month"] = {"dist": "uniform", "low": 0.0, "high": 1.0}
    hand_dict["supply"]["uncertainty"] = {
        "test-gpu": {"throughput_factor": {"dist": "uniform", "low": 0.5, "high": 1.5}}
    }
    if correlations:
        hand_dict["correlations"] = correlations
    return scenario_from_dict(hand_dict)


def values(drawn):
    return {
        SHARE: drawn[SHARE],
        DRIFT: drawn[DRIFT],
        THROUGHPUT: drawn.hardware["throughput_factor"][0],
    }


def draw(scenario, first, stop, seed=SEED, total=None):
    return values(draw_inputs(scenario, np.arange(first, stop, dtype=np.uint64),
                              seed_key(seed), total))  # fmt: skip


@pytest.mark.parametrize("n", [1, 2, 3, 1000, 4097])
def test_the_stratum_permutation_is_a_permutation(n):
    strata = stratum_permutation(np.arange(n, dtype=np.uint64), n, SHARE, seed_key(3))
    assert sorted(strata.tolist()) == list(range(n))


def test_latin_hypercube_puts_one_trajectory_in_each_stratum(hand_dict):
    drawn = draw(sampled(hand_dict, "lhs"), 0, N)
    for u in (drawn[SHARE], drawn[DRIFT]):
        assert ((u > 0) & (u < 1)).all()
        assert sorted(np.floor(u * N).astype(int).tolist()) == list(range(N))
    # within its stratum, a trajectory's place is its own Philox uniform: u n - floor(u n)
    own = uniform_from_word(parameter_word(np.arange(N, dtype=np.uint64), SHARE, seed_key(SEED)))
    np.testing.assert_allclose(drawn[SHARE] * N % 1.0, own, atol=1e-9)
    # and the inputs take unrelated permutations
    assert abs(stats.spearmanr(drawn[SHARE], drawn[DRIFT]).statistic) < 0.1


def test_plain_monte_carlo_is_each_input_s_own_stream(hand_dict):
    drawn = draw(sampled(hand_dict, "mc"), 0, 50)
    for path in (SHARE, DRIFT):
        own = uniform_from_word(
            parameter_word(np.arange(50, dtype=np.uint64), path, seed_key(SEED))
        )
        np.testing.assert_array_equal(drawn[path], own)


@pytest.mark.filterwarnings("ignore::jevons.engine.preparation.sampling.SamplingNote")
@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_chunks_and_shards_draw_what_one_run_draws(hand_dict, sampling):
    scenario = sampled(hand_dict, sampling)
    whole = draw(scenario, 0, N)
    ranges = {
        "chunks of 137": [(a, min(a + 137, N)) for a in range(0, N, 137)],
        "two shards": [Shard(i, 2).trajectory_range(N) for i in range(2)],
    }
    for split in ranges.values():
        parts = [draw(scenario, a, b) for a, b in split]
        for path, value in whole.items():
            np.testing.assert_array_equal(np.concatenate([p[path] for p in parts]), value)


def test_sobol_draws_scipy_s_scrambled_points_in_draw_order(hand_dict):
    drawn = draw(sampled(hand_dict, "sobol", trajectories=1024), 0, 1024)
    # written here as SciPy's documentation uses it: three uncertain inputs, seeded with
    # the scenario's seed, 32-bit points
    points = qmc.Sobol(3, scramble=True, bits=32, rng=np.random.default_rng(SEED)).random(1024)
    np.testing.assert_array_equal(drawn[SHARE], points[:, 0])
    np.testing.assert_array_equal(drawn[DRIFT], points[:, 1])
    np.testing.assert_allclose(drawn[THROUGHPUT], 0.5 + points[:, 2], rtol=0, atol=1e-15)
    # a power of 2 stratifies each input exactly, as a Latin hypercube does
    assert sorted(np.floor(drawn[SHARE] * 1024).astype(int).tolist()) == list(range(1024))


def test_sobol_notes_a_count_that_is_not_a_power_of_2(hand_dict):
    with pytest.warns(SamplingNote, match=r"power of 2.*1,000 is not \(nearest: 512 or 1,024\)"):
        draw(sampled(hand_dict, "sobol"), 0, 10)


def test_sobol_refuses_more_points_than_its_32_bits_hold():
    with pytest.raises(JevonsError, match=r"simulation\.sampling"):
        design_uniforms("sobol", [SHARE], np.arange(4, dtype=np.uint64), (1, 0), 2**32 + 1)


def test_an_unknown_design_is_refused_at_its_key(hand_dict):
    hand_dict["simulation"]["sampling"] = "halton"
    with pytest.raises(ScenarioError, match=r"simulation\.sampling"):
        scenario_from_dict(hand_dict)


# f = share * drift + throughput, three independent uniforms x, y on [0, 1], z on [0.5, 1.5]:
# E f = 1/4 + 1 and Var f = (E x^2 E y^2 - 1/16) + 1/12 = 1/9 - 1/16 + 1/12 = 19/144.
EXPECTED_F = 1.25
MC_VARIANCE_OF_MEAN = 19 / 144 / 256
# Of it, the interaction (x - 1/2)(y - 1/2) holds 1/144: all a Latin hypercube leaves at
# first order, since it takes out the additive part.
SEEDS, SAMPLE = 50, 256


def _variance_of_the_mean(hand_dict, sampling):
    scenario = sampled(hand_dict, sampling, trajectories=SAMPLE)
    means = []
    for seed in range(SEEDS):
        drawn = draw(scenario, 0, SAMPLE, seed=seed)
        means.append(np.mean(drawn[SHARE] * drawn[DRIFT] + drawn[THROUGHPUT]))
    return np.mean(means), np.var(means, ddof=1)


@pytest.mark.slow
def test_designs_estimate_a_mean_with_less_variance(hand_dict):
    variance = {}
    for sampling in ("mc", "lhs", "sobol"):
        mean, variance[sampling] = _variance_of_the_mean(hand_dict, sampling)
        # unbiased: within 4 standard errors of the mean of 50 estimates (mc's, the widest)
        assert abs(mean - EXPECTED_F) < 4 * np.sqrt(MC_VARIANCE_OF_MEAN / SEEDS)
    # 49 degrees of freedom: the sample variance lies within [0.55, 1.55] of its
    # expectation with probability above 0.999
    assert 0.55 * MC_VARIANCE_OF_MEAN < variance["mc"] < 1.55 * MC_VARIANCE_OF_MEAN
    # a Latin hypercube leaves the interaction, 1/19 of the variance
    assert variance["lhs"] < 0.15 * MC_VARIANCE_OF_MEAN
    assert variance["sobol"] < 0.05 * MC_VARIANCE_OF_MEAN


@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_designs_keep_the_copula_s_rank_correlation(hand_dict, sampling):
    scenario = sampled(
        hand_dict, sampling, trajectories=16_384, correlations={f"{SHARE}|{DRIFT}": 0.8}
    )
    drawn = draw(scenario, 0, 16_384)
    assert abs(stats.spearmanr(drawn[SHARE], drawn[DRIFT]).statistic - 0.8) < 0.02
    assert abs(stats.spearmanr(drawn[SHARE], drawn[THROUGHPUT]).statistic) < 0.02


def test_the_cli_prints_the_note_in_one_line(tmp_path):
    text = GOOD.replace("trajectories = 20", 'trajectories = 20\nsampling = "sobol"')
    out = tmp_path / "out.nc"
    result = CliRunner().invoke(app, ["run", str(write(tmp_path, text)), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "power of 2" in line]
    assert notes == [
        'warning: simulation.sampling = "sobol" balances best at a power of 2 trajectories;'
        " 20 is not (nearest: 16 or 32)"
    ]
    assert out.exists()
