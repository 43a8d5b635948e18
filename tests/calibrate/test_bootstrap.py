"""Block totals by hand, and the block bootstrap against closed-form standard errors."""

import json
import math

import numpy as np
import pytest

from jevons.calibrate.bootstrap import BlockMeans, block_bootstrap
from jevons.calibrate.trace import TraceChunk
from tests.conftest import TRACES

MOONCAKE = TRACES / "mooncake_conversation_trace.jsonl"


def chunk(time_s, input_tokens, output_tokens, failed=None):
    n = len(time_s)
    return TraceChunk(
        line=np.arange(n, dtype=np.int64) + 1,
        time_s=np.asarray(time_s, dtype=np.float64),
        input_tokens=np.asarray(input_tokens, dtype=np.int64),
        output_tokens=np.asarray(output_tokens, dtype=np.int64),
        failed=np.zeros(n, bool) if failed is None else np.asarray(failed, bool),
    )


def blocks_of(time_s, input_tokens, output_tokens, block_s=600.0, chunk_rows=997, **kw):
    means = BlockMeans(block_s, **kw)
    for start in range(0, len(time_s), chunk_rows):
        s = slice(start, start + chunk_rows)
        means.add(chunk(time_s[s], input_tokens[s], output_tokens[s]))
    return means


def test_block_totals_by_hand():
    # blocks of 10 s from t = 100: [100, 110), [110, 120) empty, [120, 130), and [130, 135]
    means = BlockMeans(10.0)
    means.add(chunk([100, 104, 109.5], [10, 20, 30], [1, 2, 3], failed=[False, True, False]))
    means.add(chunk([121, 135], [40, 50], [4, 5]))
    totals = means.finish()
    assert totals.start_s == 100 and totals.end_s == 135
    np.testing.assert_array_equal(totals.exposure_s, [10, 10, 10, 5])
    np.testing.assert_array_equal(totals.requests, [3, 0, 1, 1])
    np.testing.assert_array_equal(totals.ok_requests, [2, 0, 1, 1])
    np.testing.assert_array_equal(totals.input_tokens, [40, 0, 40, 50])
    np.testing.assert_array_equal(totals.output_tokens, [4, 0, 4, 5])
    np.testing.assert_array_equal(totals.input_tokens_sq, [1000, 0, 1600, 2500])
    # a last request exactly on a block boundary joins the block before it
    edge = BlockMeans(10.0)
    edge.add(chunk([0, 5, 20], [1, 1, 1], [1, 1, 1]))
    np.testing.assert_array_equal(edge.finish().requests, [2, 1])
    result = block_bootstrap(means, resamples=200, seed=1)
    assert result.input_tokens_per_request.estimate == pytest.approx(130 / 4)
    assert result.output_tokens_per_call.estimate == pytest.approx(13 / 4)
    assert result.requests_per_s.estimate == pytest.approx(5 / 35)


def test_bad_blocks_are_refused():
    with pytest.raises(ValueError, match="precedes"):
        BlockMeans(10.0, start_s=50.0).add(chunk([40], [1], [1]))
    single = BlockMeans(10.0)
    single.add(chunk([7], [1], [1]))
    with pytest.raises(ValueError, match="span no time"):
        single.finish()
    with pytest.raises(ValueError, match="no requests"):
        BlockMeans().finish()


def independent_trace(blocks=60, seed=11):
    """Blocks of 600 s with a varying number of independent requests each."""
    rng = np.random.default_rng(seed)
    per_block = rng.poisson(40, blocks)
    time_s = np.concatenate(
        [np.sort(600 * b + rng.uniform(0, 600, n)) for b, n in enumerate(per_block)]
    )
    n = len(time_s)
    return (
        time_s,
        rng.gamma(2.0, 500.0, n).astype(np.int64),
        rng.gamma(1.5, 100.0, n).astype(np.int64),
    )


def test_independent_blocks_match_the_ratio_estimators_closed_form_se():
    time_s, inputs, outputs = independent_trace()
    totals = blocks_of(time_s, inputs, outputs, start_s=0.0).finish(end_s=60 * 600.0)
    result = block_bootstrap(totals, resamples=4000, seed=3)
    # Linearised: r* - r = sum_b (W_b - 1) d_b / sum_b n_b with d_b = y_b - r n_b, and
    # for multinomial(B, 1/B) block weights Var(sum W_b d_b) = sum d_b^2 (as sum d_b = 0)
    block = (time_s // 600).astype(int)
    count = np.bincount(block, minlength=60).astype(float)
    for tokens, estimate in (
        (inputs, result.input_tokens_per_request),
        (outputs, result.output_tokens_per_call),
    ):
        y = np.bincount(block, weights=tokens, minlength=60)
        r = y.sum() / count.sum()
        assert estimate.estimate == pytest.approx(np.mean(tokens), rel=1e-12)
        hand_se = math.sqrt(np.sum((y - r * count) ** 2)) / count.sum()
        assert estimate.se == pytest.approx(hand_se, rel=0.08)
        assert estimate.p5 < r < estimate.p95
        # P5 and P95 sit about 1.645 SE either side
        assert (estimate.p95 - estimate.p5) / (2 * hand_se) == pytest.approx(1.645, rel=0.1)
        # independent requests: the block SE is near the per-request one
        assert estimate.se == pytest.approx(np.std(tokens) / math.sqrt(len(tokens)), rel=0.2)
    rate = result.requests_per_s
    assert rate.estimate == pytest.approx(len(time_s) / 36_000)
    # equal 600 s blocks: the rate is the mean of the block rates; its SE sd / sqrt(B)
    block_rates = count / 600
    assert rate.se == pytest.approx(np.std(block_rates) / math.sqrt(60), rel=0.08)


def test_correlated_neighbours_make_the_block_se_exceed_the_per_request_se():
    # each 600 s block is one long conversation: its requests share a level
    rng = np.random.default_rng(5)
    blocks, per_block = 40, 50
    level = rng.lognormal(8.0, 0.8, blocks)
    time_s = np.concatenate([600 * b + np.linspace(0, 590, per_block) for b in range(blocks)])
    inputs = np.rint(np.repeat(level, per_block) * rng.uniform(0.95, 1.05, blocks * per_block))
    outputs = np.full(blocks * per_block, 100)
    result = block_bootstrap(blocks_of(time_s, inputs, outputs), resamples=2000, seed=9)
    naive_se = np.std(inputs) / math.sqrt(len(inputs))
    assert result.input_tokens_per_request.iid_se == pytest.approx(naive_se, rel=1e-9)
    assert result.input_tokens_per_request.se > 4 * naive_se
    # and matches the mean of block means' SE (equal blocks): sd of block means / sqrt(B)
    block_means = inputs.reshape(blocks, per_block).mean(axis=1)
    hand = np.std(block_means) / math.sqrt(blocks)
    assert result.input_tokens_per_request.se == pytest.approx(hand, rel=0.08)
    assert result.output_tokens_per_call.se == 0


def test_same_seed_same_numbers_and_chunking_does_not_matter():
    time_s, inputs, outputs = independent_trace(blocks=30)
    one = block_bootstrap(blocks_of(time_s, inputs, outputs, chunk_rows=50), seed=4)
    two = block_bootstrap(blocks_of(time_s, inputs, outputs, chunk_rows=10_000), seed=4)
    other = block_bootstrap(blocks_of(time_s, inputs, outputs), seed=5)
    assert one == two
    assert other.input_tokens_per_request.se != one.input_tokens_per_request.se
    assert not any(note.startswith("only") for note in one.notes)  # 30 blocks
    few = block_bootstrap(blocks_of(time_s[:200], inputs[:200], outputs[:200]), seed=4)
    assert any(note.startswith(f"only {few.n_blocks} blocks") for note in few.notes)


def test_mooncake_means():
    rows = [json.loads(line) for line in MOONCAKE.read_text().splitlines() if line.strip()]
    time_s = np.array([r["timestamp"] for r in rows]) / 1000.0
    inputs = np.array([r["input_length"] for r in rows])
    outputs = np.array([r["output_length"] for r in rows])
    result = block_bootstrap(blocks_of(time_s, inputs, outputs, chunk_rows=4000), seed=0)
    assert result.n_blocks == 6  # one hour (3,537 s) in 600 s blocks
    assert round(result.input_tokens_per_request.estimate) == 12_035
    assert round(result.output_tokens_per_call.estimate) == 343
    assert result.requests_per_s.estimate == pytest.approx(12_031 / (time_s[-1] - time_s[0]))
    for mean in result.means:
        assert mean.p5 < mean.estimate < mean.p95 and mean.se > 0
