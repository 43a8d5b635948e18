"""Correlated inputs: a [correlations] table of Spearman rank correlations applied through a
Gaussian copula, checked against sample statistics, each input's own distribution, a copula
written out here term by term, and the matrix algebra of a table that cannot hold."""

import math
import re

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from jevons.cli.main import app
from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.preparation.input_draws import draw_inputs
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.errors import ScenarioError
from jevons.kernels.philox import parameter_word, seed_key
from jevons.kernels.variates import uniform_from_word
from tests.helpers import GOOD, assert_datasets_equal, earlier_output, refused, write

GROWTH, SHARE, HIT = "users.growth_per_month", "reasoning.share", "cache.hit_rate"
# Their distributions, in the scenario and as SciPy writes them.
GROWTH_MEDIAN, GROWTH_P95 = 0.05, 0.2
SHARE_MEAN, SHARE_SD = 0.3, 0.1
HIT_LOW, HIT_HIGH = 0.2, 0.7
N = 20_000
SPEARMAN_TOLERANCE = 0.02


def growth_distribution():
    sigma = math.log(GROWTH_P95 / GROWTH_MEDIAN) / stats.norm.ppf(0.95)
    return stats.lognorm(s=sigma, scale=GROWTH_MEDIAN)


def share_distribution():
    # beta by its moments: a + b = m (1 - m) / sd^2 - 1
    total = SHARE_MEAN * (1 - SHARE_MEAN) / SHARE_SD**2 - 1
    return stats.beta(SHARE_MEAN * total, (1 - SHARE_MEAN) * total)


def hit_distribution():
    return stats.uniform(HIT_LOW, HIT_HIGH - HIT_LOW)


DISTRIBUTIONS = {GROWTH: growth_distribution, SHARE: share_distribution, HIT: hit_distribution}


def uncertain(hand_dict, correlations=None):
    hand_dict["users"]["growth_per_month"] = {
        "dist": "lognormal", "median": GROWTH_MEDIAN, "p95": GROWTH_P95,
    }  # fmt: skip
    hand_dict["reasoning"]["share"] = {"dist": "beta", "mean": SHARE_MEAN, "sd": SHARE_SD}
    hand_dict["cache"]["hit_rate"] = {"dist": "uniform", "low": HIT_LOW, "high": HIT_HIGH}
    hand_dict["users"]["initial"] = {"dist": "lognormal", "median": 1000, "p95": 2000}
    hand_dict["supply"]["uncertainty"] = {"test-gpu": {"throughput_factor": {
        "dist": "uniform", "low": 0.8, "high": 1.2}}}  # fmt: skip
    if correlations is not None:
        hand_dict["correlations"] = correlations
    return hand_dict


def draws(hand_dict, correlations, n=N, seed=11):
    scenario = scenario_from_dict(uncertain(hand_dict, correlations))
    return draw_inputs(scenario, np.arange(n, dtype=np.uint64), seed_key(seed))


def spearman(a, b) -> float:
    return float(stats.spearmanr(a, b).statistic)


@pytest.mark.parametrize("target", [0.8, -0.5])
def test_a_pair_draws_its_rank_correlation(hand_dict, target):
    drawn = draws(hand_dict, {f"{GROWTH}|{SHARE}": target})
    assert abs(spearman(drawn[GROWTH], drawn[SHARE]) - target) < SPEARMAN_TOLERANCE
    # the third input stays independent of both
    assert abs(spearman(drawn[GROWTH], drawn[HIT])) < SPEARMAN_TOLERANCE


def test_three_inputs_draw_every_pairs_rank_correlation(hand_dict):
    table = {f"{GROWTH}|{SHARE}": 0.6, f"{HIT}|{GROWTH}": -0.4, f"{SHARE}|{HIT}": 0.3}
    drawn = draws(hand_dict, table)
    for key, target in table.items():
        a, b = key.split("|")
        assert abs(spearman(drawn[a], drawn[b]) - target) < SPEARMAN_TOLERANCE, key


def test_each_correlated_input_keeps_its_own_distribution(hand_dict):
    table = {f"{GROWTH}|{SHARE}": 0.6, f"{HIT}|{GROWTH}": -0.4, f"{SHARE}|{HIT}": 0.3}
    drawn = draws(hand_dict, table)
    for path, distribution in DISTRIBUTIONS.items():
        values, dist = drawn[path], distribution()
        assert stats.kstest(values, dist.cdf).pvalue > 0.01, path
        standard_error = dist.std() / math.sqrt(N)
        assert abs(values.mean() - dist.mean()) < 4 * standard_error, path


def test_the_copula_by_hand(hand_dict):
    """Trajectory by trajectory: the first input of a pair keeps its own uniform (up to
    Phi(Phi^-1(u))), the second mixes both streams' normals at rho = 2 sin(pi rho_s / 6)."""
    rho_s, n, seed = 0.8, 500, 3
    scenario = scenario_from_dict(uncertain(hand_dict, {f"{SHARE}|{GROWTH}": rho_s}))
    trajectories = np.arange(n, dtype=np.uint64)
    drawn = draw_inputs(scenario, trajectories, seed_key(seed))
    u_growth, u_share = (
        uniform_from_word(parameter_word(trajectories, path, seed_key(seed)))
        for path in (GROWTH, SHARE)
    )
    rho = 2 * math.sin(math.pi * rho_s / 6)
    z_growth, z_share = stats.norm.ppf(u_growth), stats.norm.ppf(u_share)
    mixed = stats.norm.cdf(rho * z_growth + math.sqrt(1 - rho**2) * z_share)
    np.testing.assert_allclose(drawn[GROWTH], scenario.users.growth_per_month.ppf(u_growth),
                               rtol=1e-9)  # fmt: skip
    np.testing.assert_allclose(drawn[SHARE], scenario.reasoning.share.ppf(mixed), rtol=1e-9)


def test_inputs_outside_the_table_draw_as_without_it(hand_dict):
    plain = draws(hand_dict, None, n=2000)
    correlated = draws(uncertain(hand_dict), {f"{GROWTH}|{SHARE}": 0.8}, n=2000)
    for path, values in plain.values.items():
        if path not in (GROWTH, SHARE):
            np.testing.assert_array_equal(correlated[path], values, err_msg=path)
    for field, values in plain.hardware.items():
        np.testing.assert_array_equal(correlated.hardware[field], values, err_msg=field)
    assert not np.array_equal(correlated[SHARE], plain[SHARE])


def test_draws_do_not_depend_on_the_chunk(hand_dict):
    table = {f"{GROWTH}|{SHARE}": 0.6, f"{HIT}|supply.uncertainty.test-gpu.throughput_factor": -0.7}
    scenario = scenario_from_dict(uncertain(hand_dict, table))
    key = seed_key(5)
    whole = draw_inputs(scenario, np.arange(1000, dtype=np.uint64), key)
    chunks = [
        draw_inputs(scenario, np.arange(start, min(start + 137, 1000), dtype=np.uint64), key)
        for start in range(0, 1000, 137)
    ]
    for path, values in whole.values.items():
        np.testing.assert_array_equal(
            np.concatenate([chunk[path] for chunk in chunks]), values, err_msg=path
        )
    for field, values in whole.hardware.items():
        np.testing.assert_array_equal(
            np.concatenate([chunk.hardware[field] for chunk in chunks], axis=1), values, field
        )


@pytest.mark.parametrize("rho_s", [1.0, -1.0])
def test_a_perfect_rank_correlation_orders_both_inputs_alike(hand_dict, rho_s):
    drawn = draws(hand_dict, {f"{GROWTH}|{SHARE}": rho_s}, n=2000)
    assert spearman(drawn[GROWTH], drawn[SHARE]) == pytest.approx(rho_s, abs=1e-6)


def test_a_singular_matrix_of_three_inputs_still_draws(hand_dict):
    """Three inputs at rank correlation 1 pairwise: a matrix of rank one, which Cholesky
    cannot factor; each draw stays inside its distribution and the ranks agree."""
    table = {f"{GROWTH}|{SHARE}": 1.0, f"{SHARE}|{HIT}": 1.0, f"{GROWTH}|{HIT}": 1.0}
    drawn = draws(hand_dict, table, n=2000)
    for a, b in ((GROWTH, SHARE), (SHARE, HIT), (GROWTH, HIT)):
        assert spearman(drawn[a], drawn[b]) == pytest.approx(1.0, abs=1e-6)
    assert HIT_LOW <= drawn[HIT].min() and drawn[HIT].max() <= HIT_HIGH
    assert 0 < drawn[SHARE].min() and drawn[SHARE].max() < 1


def test_backends_agree_on_a_correlated_run(hand_dict):
    scenario = scenario_from_dict(uncertain(hand_dict, {f"{GROWTH}|{SHARE}": 0.8}))
    numpy = run_scenario(
        scenario, RunSettings(trajectories=40, backend="numpy", keep_trajectories=True)
    )
    cpu = run_scenario(
        scenario, RunSettings(trajectories=40, backend="cpu", keep_trajectories=True)
    )
    assert_datasets_equal(numpy, cpu, rtol=1e-9)
    drawn = draw_inputs(scenario, np.arange(40, dtype=np.uint64), seed_key(7))
    np.testing.assert_array_equal(cpu.drawn_reasoning_share.values, drawn[SHARE])


@pytest.mark.slow
def test_a_sketched_correlated_run_does_not_depend_on_the_chunk(hand_dict):
    scenario = scenario_from_dict(uncertain(hand_dict, {f"{GROWTH}|{SHARE}": -0.5}))
    a = run_scenario(
        scenario, RunSettings(trajectories=60, backend="cpu", summary="sketch", chunk=60)
    )
    b = run_scenario(
        scenario, RunSettings(trajectories=60, backend="cpu", summary="sketch", chunk=7)
    )
    assert_datasets_equal(a, b, rtol=1e-12)  # means summed in another order


PAIR = f"{GROWTH}|{SHARE}"


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ({PAIR: 1.2}, PAIR, ["[-1, 1]", "1.2"]),
        ({PAIR: -1.5}, PAIR, ["[-1, 1]", "-1.5"]),
        ({PAIR: math.nan}, PAIR, ["[-1, 1]", "nan"]),
        ({PAIR: "high"}, PAIR, ["a number"]),
        ({f"{GROWTH}|{GROWTH}": 0.5}, f"{GROWTH}|{GROWTH}", ["itself"]),
        ({GROWTH: 0.5}, GROWTH, ["two input paths joined by '|'"]),
        ({PAIR: 0.5, f"{SHARE}|{GROWTH}": 0.2}, f"{SHARE}|{GROWTH}", ["same pair", PAIR]),
        ({PAIR: 0.5, f" {GROWTH} | {SHARE}": 0.2}, f" {GROWTH} | {SHARE}", ["same pair"]),
        ({f"{GROWTH}|users.growth": 0.5}, f"{GROWTH}|users.growth", ["users.growth", "no per"]),
        ({f"{GROWTH}|usage.requests_per_session": 0.5}, f"{GROWTH}|usage.requests_per_session",
         ["usage.requests_per_session", "fixed"]),
        ({f"{GROWTH}|users.saturation": 0.5}, f"{GROWTH}|users.saturation", ["fixed"]),
        ({f"{GROWTH}|supply.uncertainty.test-gpu.power_kw": 0.5},
         f"{GROWTH}|supply.uncertainty.test-gpu.power_kw", ["fixed"]),
        ({f"{GROWTH}|supply.uncertainty.other-gpu.power_kw": 0.5},
         f"{GROWTH}|supply.uncertainty.other-gpu.power_kw", ["no per-trajectory input"]),
    ],
)  # fmt: skip
def test_a_bad_pair_is_refused_naming_it(hand_dict, table, key, words):
    with pytest.raises(ScenarioError) as excinfo:
        scenario_from_dict(uncertain(hand_dict, table))
    assert [path for path, _ in excinfo.value.problems] == [f'correlations."{key}"']
    message = str(excinfo.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_a_dotted_unquoted_key_asks_for_quotes(hand_dict):
    table = {"users": {"growth_per_month|reasoning": {"share": 0.5}}}
    with pytest.raises(ScenarioError, match="quote the whole pair key"):
        scenario_from_dict(uncertain(hand_dict, table))


def normal_scale_matrix(table: dict[str, float]) -> np.ndarray:
    paths = sorted({path for key in table for path in key.split("|")})  # any order will do
    matrix = np.eye(len(paths))
    for key, rho_s in table.items():
        a, b = (paths.index(path) for path in key.split("|"))
        matrix[a, b] = matrix[b, a] = 2 * math.sin(math.pi * rho_s / 6)
    return matrix


def test_a_table_that_cannot_hold_suggests_the_nearest_that_can(hand_dict):
    # growth moves with both, which move against each other: impossible at these strengths
    # (one key in the other order: the suggestion spells each key as the table does)
    table = {f"{GROWTH}|{SHARE}": 0.9, f"{GROWTH}|{HIT}": 0.9, f"{HIT}|{SHARE}": -0.9}
    assert np.linalg.eigvalsh(normal_scale_matrix(table))[0] < 0
    with pytest.raises(ScenarioError) as excinfo:
        scenario_from_dict(uncertain(hand_dict, table))
    message = str(excinfo.value)
    assert "\n" not in message
    assert [path for path, _ in excinfo.value.problems] == ["correlations"]
    suggested = dict(re.findall(r'"([^"]+)" = (-?[0-9.]+)', message.split("nearest")[1]))
    assert set(suggested) == set(table)
    suggestion = {key: float(value) for key, value in suggested.items()}
    assert all(len(value.split(".")[1]) == 3 for value in suggested.values())
    assert np.linalg.eigvalsh(normal_scale_matrix(suggestion))[0] >= -1e-10
    # nearer to the table than the simplest valid one (every pair at 0), and accepted
    assert sum((suggestion[k] - v) ** 2 for k, v in table.items()) < sum(
        v**2 for v in table.values()
    )
    scenario_from_dict(uncertain(hand_dict, suggestion))


def test_a_pairs_partner_left_out_of_the_table_stays_uncorrelated(hand_dict):
    """Only the pairs given move in a suggestion: one not given stays at 0, the table the
    user can write."""
    table = {f"{GROWTH}|{SHARE}": 0.95, f"{GROWTH}|{HIT}": 0.95}  # SHARE|HIT implied near 0.8
    assert np.linalg.eigvalsh(normal_scale_matrix(table))[0] < 0
    with pytest.raises(ScenarioError) as excinfo:
        scenario_from_dict(uncertain(hand_dict, table))
    suggested = re.findall(r'"([^"]+)" = (-?[0-9.]+)', str(excinfo.value).split("nearest")[1])
    suggestion = {key: float(value) for key, value in suggested}
    assert set(suggestion) == set(table)
    scenario_from_dict(uncertain(hand_dict, suggestion))


def test_the_command_line_refuses_a_bad_pair_and_writes_nothing(tmp_path):
    text = GOOD + f'\n[correlations]\n"users.initial|{GROWTH}" = 0.5\n'
    scenario = write(tmp_path, text)
    out = earlier_output(tmp_path)
    result = CliRunner().invoke(app, ["run", str(scenario), "-o", str(out)])
    refused(result, f'correlations."users.initial|{GROWTH}"', GROWTH, "fixed")
    assert out.read_bytes() == b"an earlier result"
