"""The held-out check on hand-made traces: one that does not change, one that shifts."""

import json

import numpy as np
import pytest

from jevons.calibrate.bootstrap import BlockMeans, block_bootstrap
from jevons.calibrate.holdout import HoldoutSplit, split_time
from jevons.calibrate.trace import TraceChunk
from tests.conftest import TRACES

MOONCAKE = TRACES / "mooncake_conversation_trace.jsonl"


def chunk(time_s, input_tokens, output_tokens):
    n = len(time_s)
    return TraceChunk(
        line=np.arange(n, dtype=np.int64) + 1,
        time_s=np.asarray(time_s, dtype=np.float64),
        input_tokens=np.asarray(input_tokens, dtype=np.int64),
        output_tokens=np.asarray(output_tokens, dtype=np.int64),
        failed=np.zeros(n, bool),
    )


def check(time_s, inputs, outputs, split_s, chunk_rows=1000, **finish):
    """The held-out check, the trace's time ending at its last whole 600 s window."""
    finish.setdefault("end_s", 600.0 * np.ceil(time_s[-1] / 600.0))
    split = HoldoutSplit(split_s, start_s=0.0)
    for start in range(0, len(time_s), chunk_rows):
        s = slice(start, start + chunk_rows)
        split.add(chunk(time_s[s], inputs[s], outputs[s]))
    return split.finish(**finish)


def poisson_trace(rng, start_s, end_s, rate_per_s, input_scale):
    n = rng.poisson(rate_per_s * (end_s - start_s))
    time_s = np.sort(rng.uniform(start_s, end_s, n))
    return time_s, rng.gamma(2.0, input_scale, n).astype(np.int64), rng.gamma(1.5, 200, n)


def test_a_stationary_trace_passes():
    rng = np.random.default_rng(21)
    time_s, inputs, outputs = poisson_trace(rng, 0.0, 36_000.0, 2.0, 3000.0)
    report = check(time_s, inputs, outputs.astype(np.int64), split_time(0.0, 36_000.0, 0.5))
    assert report.split_s == 18_000
    assert report.fitted_requests + report.held_requests == len(time_s)
    assert report.fitted_requests == int(np.sum(time_s < 18_000))
    assert report.fitted_windows == 30 and all(w.held_windows == 30 for w in report.windows)
    assert all(m.consistent for m in report.means)
    assert all(w.share_inside >= 0.7 for w in report.windows)
    assert report.passed and report.failures == ()
    held = time_s >= 18_000
    by_name = {m.name: m for m in report.means}
    assert by_name["input_tokens_per_request"].held_estimate == pytest.approx(
        np.mean(inputs[held]), rel=1e-12
    )


def test_a_level_shift_fails_and_says_where():
    rng = np.random.default_rng(22)
    first = poisson_trace(rng, 0.0, 18_000.0, 2.0, 3000.0)
    # the second half: agents, not chat: twice the requests, three times the input
    second = poisson_trace(rng, 18_000.0, 36_000.0, 4.0, 9000.0)
    time_s, inputs, outputs = (np.concatenate([a, b]) for a, b in zip(first, second, strict=True))
    report = check(time_s, inputs, outputs.astype(np.int64), 18_000.0)
    by_name = {m.name: m for m in report.means}
    for name in ("input_tokens_per_request", "requests_per_s"):
        assert not by_name[name].inside and not by_name[name].consistent
    assert by_name["output_tokens_per_call"].consistent  # unchanged
    assert by_name["requests_per_s"].held_estimate == pytest.approx(2 * 2.0, rel=0.05)
    windows = {w.name: w for w in report.windows}
    assert windows["requests"].share_inside == 0 and windows["input_tokens"].share_inside == 0
    assert not report.passed
    assert any(f.startswith("input_tokens_per_request") for f in report.failures)
    assert any(f.startswith("requests per 600 s window: 0 of 30") for f in report.failures)


def test_window_percentiles_and_share_by_hand():
    # fitted windows hold 10, 20, 30, 40, 50 requests; held-out ones 15, 45, 60, 5
    counts = [10, 20, 30, 40, 50, 15, 45, 60, 5]
    time_s = np.concatenate(
        [600 * w + np.linspace(1, 599, n) for w, n in enumerate(counts)] + [[5400.0]]
    )
    ones = np.ones(len(time_s), dtype=np.int64)
    report = check(time_s, ones, ones, split_s=3000.0, min_window_share=0.6)
    requests = report.windows[0]
    # NumPy's linear percentiles of 10..50: positions 0.2 and 3.8 -> 12 and 48
    assert (requests.fitted_p5, requests.fitted_p95) == pytest.approx((12.0, 48.0))
    # held out: 15 and 45 inside, 60 and 5 outside; the closing request at 5400 s opens
    # no window of its own
    assert (requests.inside, requests.held_windows, requests.share_inside) == (2, 4, 0.5)
    assert not report.passed and any("2 of 4" in f for f in report.failures)


def test_normal_interval_is_the_estimate_plus_minus_1645_se():
    rng = np.random.default_rng(23)
    time_s, inputs, outputs = poisson_trace(rng, 0.0, 12_000.0, 1.0, 1000.0)
    outputs = outputs.astype(np.int64)
    report = check(time_s, inputs, outputs, 6000.0, seed=7, interval="normal")
    fitted = BlockMeans(600.0, start_s=0.0)
    early = time_s < 6000
    fitted.add(chunk(time_s[early], inputs[early], outputs[early]))
    direct = block_bootstrap(fitted.finish(end_s=6000.0), seed=7)
    for m, d in zip(report.means, direct.means, strict=True):
        assert m.fitted_estimate == d.estimate
        assert m.fitted_low == pytest.approx(d.estimate - 1.6448536 * d.se, rel=1e-9)
        assert m.fitted_high == pytest.approx(d.estimate + 1.6448536 * d.se, rel=1e-9)
    assert report.interval == "mean +- 1.645 bootstrap SE"


def test_bad_splits_are_refused():
    with pytest.raises(ValueError, match="strictly between"):
        split_time(0.0, 10.0, 1.0)
    split = HoldoutSplit(100.0)
    split.add(chunk([1.0, 2.0], [1, 1], [1, 1]))
    with pytest.raises(ValueError, match="no requests"):
        split.finish()


def test_mooncake_halves():
    rows = [json.loads(line) for line in MOONCAKE.read_text().splitlines() if line.strip()]
    time_s = np.array([r["timestamp"] for r in rows]) / 1000.0
    inputs = np.array([r["input_length"] for r in rows])
    outputs = np.array([r["output_length"] for r in rows])
    split_s = split_time(time_s[0], time_s[-1], 0.5)
    report = check(time_s, inputs, outputs, split_s, 4000, end_s=time_s[-1])
    assert report.fitted_requests + report.held_requests == 12_031
    # 1,768.5 s on each side: two whole 600 s windows each
    assert report.fitted_windows == 2 and all(w.held_windows == 2 for w in report.windows)
    assert report.passed == (report.failures == ())
    assert any(note.startswith("fitted part: only 3 blocks") for note in report.notes)
