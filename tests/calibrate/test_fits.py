"""Token histograms and family fits, checked against SciPy and NumPy on the expanded data."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from jevons.calibrate.fits import TokenHistogram, fit_families
from jevons.calibrate.trace import TraceChunk
from jevons.engine.scenario.distributions import Gamma, LogNormal
from tests.conftest import TRACES

MOONCAKE = TRACES / "mooncake_conversation_trace.jsonl"
SCIPY_FAMILIES = {"lognormal": stats.lognorm, "gamma": stats.gamma, "weibull": stats.weibull_min}


def chunk(input_tokens, output_tokens, failed=None):
    n = len(input_tokens)
    return TraceChunk(
        line=np.arange(n, dtype=np.int64) + 2,
        time_s=np.arange(n, dtype=np.float64),
        input_tokens=np.asarray(input_tokens, dtype=np.int64),
        output_tokens=np.asarray(output_tokens, dtype=np.int64),
        failed=np.zeros(n, bool) if failed is None else np.asarray(failed, bool),
    )


def histogram_of(tokens, column="input_tokens", chunk_rows=300, dense_cap=1 << 20):
    hist = TokenHistogram(column, dense_cap=dense_cap)
    for start in range(0, len(tokens), chunk_rows):
        part = tokens[start : start + chunk_rows]
        hist.add(chunk(part, part))
    return hist


def integer_sample(family, n=3000, seed=1):
    rng = np.random.default_rng(seed)
    draws = {
        "lognormal": lambda: rng.lognormal(6.0, 0.8, n),
        "gamma": lambda: rng.gamma(2.5, 200.0, n),
        "weibull": lambda: 400.0 * rng.weibull(1.7, n),
    }[family]()
    return np.maximum(np.rint(draws), 1).astype(np.int64)


def test_histogram_is_exact_across_chunks_and_the_dense_cap():
    rng = np.random.default_rng(3)
    tokens = rng.integers(0, 5000, 2000)
    failed = rng.random(2000) < 0.1
    hist = TokenHistogram("output_tokens", dense_cap=1000)  # most values go to the dict
    for start in range(0, 2000, 170):
        s = slice(start, start + 170)
        hist.add(chunk(np.zeros(len(tokens[s])), tokens[s], failed[s]))
    counts = hist.finish()
    values, expected = np.unique(tokens[~failed], return_counts=True)
    np.testing.assert_array_equal(counts.values, values)
    np.testing.assert_array_equal(counts.counts, expected)
    assert counts.failed == int(failed.sum())
    assert counts.requests == int((~failed).sum())
    assert counts.zeros == int(np.sum(tokens[~failed] == 0))


def test_negative_token_counts_are_refused():
    with pytest.raises(ValueError, match="negative"):
        TokenHistogram("input_tokens").add(chunk([5, -1], [1, 1]))


@pytest.mark.parametrize("family", ["lognormal", "gamma", "weibull"])
def test_weighted_fit_equals_scipy_fit_on_expanded_data(family):
    tokens = integer_sample(family)
    assert len(np.unique(tokens)) < len(tokens)  # ties: the weights matter
    report = fit_families(histogram_of(tokens))
    fit = report.fit(family)
    scipy_dist = SCIPY_FAMILIES[family]
    shape, _, scale = scipy_dist.fit(tokens.astype(float), floc=0)
    ours = (
        (fit.parameters["sigma"], math.exp(fit.parameters["mu"]))
        if family == "lognormal"
        else (
            fit.parameters["shape"],
            fit.parameters["scale"],
        )
    )
    np.testing.assert_allclose(ours, (shape, scale), rtol=2e-4)
    # ln L and AIC by hand on the expanded data; ours is a maximum, never below SciPy's
    hand_loglik = float(np.sum(scipy_dist.logpdf(tokens, ours[0], scale=ours[1])))
    scipy_loglik = float(np.sum(scipy_dist.logpdf(tokens, shape, scale=scale)))
    assert fit.log_likelihood == pytest.approx(hand_loglik, rel=1e-12)
    assert fit.aic == pytest.approx(2 * 2 - 2 * hand_loglik, rel=1e-12)
    assert fit.log_likelihood >= scipy_loglik - 1e-7
    # and a local maximum: a step of 1e-4 either way in either parameter lowers it
    for i in range(2):
        for step in (1 - 1e-4, 1 + 1e-4):
            moved = list(ours)
            moved[i] *= step
            assert np.sum(scipy_dist.logpdf(tokens, moved[0], scale=moved[1])) < hand_loglik
    # KS distance equals SciPy's on the expanded data
    ks = stats.kstest(tokens, scipy_dist(ours[0], scale=ours[1]).cdf).statistic
    assert fit.ks_distance == pytest.approx(ks, abs=1e-12)


@pytest.mark.parametrize("family", ["lognormal", "gamma"])
def test_the_generating_family_wins_and_maps_to_a_valid_scenario_table(family):
    report = fit_families(histogram_of(integer_sample(family, n=6000)))
    assert report.best_family == family == report.scenario_family
    fit = report.fit(family)
    if family == "lognormal":
        table = LogNormal(**report.scenario_table)
        np.testing.assert_allclose(
            table.log_params, (fit.parameters["mu"], fit.parameters["sigma"]), rtol=1e-12
        )
    else:
        table = Gamma(**report.scenario_table)
        shape, scale = fit.parameters["shape"], fit.parameters["scale"]
        assert table.mean() == pytest.approx(shape * scale, rel=1e-12)
        assert table.sd() == pytest.approx(math.sqrt(shape) * scale, rel=1e-9)


def test_weibull_wins_but_the_scenario_falls_back_to_a_supported_family():
    report = fit_families(histogram_of(integer_sample("weibull", n=6000)))
    assert report.best_family == "weibull"
    assert report.fit("weibull").scenario_table is None
    fallback = min(
        (report.fit("lognormal"), report.fit("gamma")),
        key=lambda f: f.aic,
    )
    assert report.scenario_family == fallback.family
    assert report.scenario_table == fallback.scenario_table
    assert any("no weibull table" in note for note in report.notes)
    assert report.fit("empirical").aic is None and report.fit("empirical").ks_distance == 0


def test_statistics_include_zeros_but_fits_leave_them_out():
    positive = integer_sample("gamma", n=2000, seed=5)
    tokens = np.concatenate([positive, np.zeros(150, dtype=np.int64)])
    np.random.default_rng(0).shuffle(tokens)
    report = fit_families(histogram_of(tokens))
    assert (report.requests, report.zeros, report.positive) == (2150, 150, 2000)
    assert report.mean == pytest.approx(np.mean(tokens), rel=1e-12)
    assert report.sd == pytest.approx(np.std(tokens), rel=1e-12)
    assert report.median == np.percentile(tokens, 50)
    assert report.p95 == pytest.approx(np.percentile(tokens, 95), rel=1e-12)
    positive_only = fit_families(histogram_of(positive))
    for family in ("lognormal", "gamma", "weibull"):
        assert report.fit(family).parameters == pytest.approx(
            positive_only.fit(family).parameters, rel=1e-12
        )
    empirical = report.fit("empirical")
    assert empirical.median == np.percentile(positive, 50)
    assert any("150 requests with zero" in note for note in report.notes)


def test_failed_requests_enter_nothing():
    tokens = integer_sample("gamma", n=1000, seed=2)
    failed = np.zeros(1000, bool)
    failed[::10] = True
    hist = TokenHistogram("output_tokens")
    hist.add(chunk(tokens, np.where(failed, 0, tokens), failed))
    report = fit_families(hist)
    assert report.failed == 100 and report.zeros == 0
    assert report.mean == pytest.approx(np.mean(tokens[~failed]), rel=1e-12)


def test_a_single_distinct_value_leaves_the_empirical_distribution():
    report = fit_families(histogram_of(np.array([0, 7, 7, 7])))
    assert [f.family for f in report.fits] == ["empirical"]
    assert report.scenario_family == "empirical" and report.best_family == "empirical"
    assert report.mean == pytest.approx(21 / 4)  # the zero counts in the mean
    assert set(report.scenario_table["values"]) == {7.0}
    assert any("no family can be fitted" in note for note in report.notes)


def test_mooncake_conversation_figures():
    rows = [json.loads(line) for line in MOONCAKE.read_text().splitlines() if line.strip()]
    inputs = np.array([r["input_length"] for r in rows])
    outputs = np.array([r["output_length"] for r in rows])
    input_fit = fit_families(histogram_of(inputs, chunk_rows=5000))
    output_fit = fit_families(histogram_of(outputs, "output_tokens", chunk_rows=5000))
    # the trace's published figures: 12,031 requests, mean input 12,035 (median 6,909), output 343
    assert input_fit.requests == output_fit.requests == 12_031
    assert round(input_fit.mean) == 12_035 and input_fit.median == 6_909
    assert round(output_fit.mean) == 343
    for report in (input_fit, output_fit):
        assert report.scenario_family in ("lognormal", "gamma")
        assert all(0 < f.ks_distance < 1 for f in report.fits if f.aic is not None)
