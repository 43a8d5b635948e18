"""Means of a trace with their sampling uncertainty, from a bootstrap over time blocks.

A scenario input such as ``usage.input_tokens_per_request`` is drawn once per
trajectory: it stands for what we do not know about the mean. A trace measures
the mean with sampling error, but neighbouring requests are correlated (one
conversation's turns, a burst of one client's jobs), so resampling single
requests understates that error. We cut the trace into blocks of time (600 s by
default, counted from the trace's first request), keep per block the request
count and token sums, and resample whole blocks.

The bootstrap is the simple non-overlapping block bootstrap (Carlstein 1986): B
blocks drawn with replacement from the trace's B blocks, each resample's mean
the ratio of its sums. Each mean's standard error is the standard deviation of
the resampled means; P5 and P95 are their 5th and 95th percentiles.

A trace only measures its own window: the SE says how well the trace pins down
its own mean, not how the mean will move in the months a plan covers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jevons.calibrate.trace import TraceChunk

BLOCK_S = 600.0  # [s] default block length
RESAMPLES = 2000
# Below this many blocks a bootstrap SE is rough (it also runs low, by about sqrt((B-1)/B)).
FEW_BLOCKS = 20
# Resamples per batch are chosen so that a batch's weight matrix has about this many cells.
_BATCH_CELLS = 4_000_000
METHOD = "non-overlapping block bootstrap (whole time blocks resampled with replacement)"


@dataclass(frozen=True)
class BlockTotals:
    """Per time block of ``block_s`` seconds from ``start_s``: arrivals and token sums.

    Block i covers [start_s + i block_s, start_s + (i + 1) block_s), cut at ``end_s``;
    ``exposure_s`` is how long of it the trace covers (block_s for all but the last).
    Blocks with no requests inside the trace's span are kept, with zero counts.
    """

    block_s: float  # [s]
    start_s: float  # [s] the first block's start, on the trace's clock
    end_s: float  # [s] the end of the last block's exposure
    exposure_s: np.ndarray  # float64 [s] per block
    requests: np.ndarray  # int64 [requests] per block, failed ones included (they arrive)
    ok_requests: np.ndarray  # int64 [requests] per block that did not fail
    input_tokens: np.ndarray  # int64 [tokens] summed over requests that did not fail
    output_tokens: np.ndarray  # int64 [tokens] summed over requests that did not fail
    input_tokens_sq: np.ndarray  # float64 [tokens^2] sums of squares, for the iid SE
    output_tokens_sq: np.ndarray  # float64 [tokens^2]

    @property
    def n_blocks(self) -> int:
        return len(self.exposure_s)


class BlockMeans:
    """Accumulates per-block request counts and token sums chunk by chunk.

    ``start_s`` None: blocks count from the first request added. Requests must not
    come before ``start_s`` (readers deliver them sorted by time).
    """

    def __init__(self, block_s: float = BLOCK_S, start_s: float | None = None):
        if not block_s > 0:
            raise ValueError(f"block length must be positive, got {block_s} s")
        self.block_s = float(block_s)
        self.start_s = start_s
        self._last_s = -math.inf
        self._int_sums = np.zeros((4, 0), dtype=np.int64)  # requests, ok, input, output
        self._squares = np.zeros((2, 0), dtype=np.float64)

    @property
    def empty(self) -> bool:
        """No request added yet."""
        return self._last_s == -math.inf

    def add(self, chunk: TraceChunk) -> None:
        time_s = np.asarray(chunk.time_s, dtype=np.float64)
        if time_s.size == 0:
            return
        if self.start_s is None:
            self.start_s = float(time_s.min())
        if time_s.min() < self.start_s:
            raise ValueError(
                f"a request at {time_s.min()} s precedes the blocks' start {self.start_s} s"
            )
        self._last_s = max(self._last_s, float(time_s.max()))
        block = ((time_s - self.start_s) // self.block_s).astype(np.int64)
        size = max(int(block.max()) + 1, self._int_sums.shape[1])
        ok = ~np.asarray(chunk.failed, dtype=bool)
        inputs = np.where(ok, np.asarray(chunk.input_tokens, dtype=np.int64), 0)
        outputs = np.where(ok, np.asarray(chunk.output_tokens, dtype=np.int64), 0)
        int_sums = np.zeros((4, size), dtype=np.int64)
        int_sums[:, : self._int_sums.shape[1]] = self._int_sums
        squares = np.zeros((2, size), dtype=np.float64)
        squares[:, : self._squares.shape[1]] = self._squares
        # float64 bincounts of integers are exact below 2^53 tokens per block and chunk
        for row, weights in enumerate((None, ok, inputs, outputs)):
            int_sums[row] += np.bincount(block, weights, minlength=size).astype(np.int64)
        for row, tokens in enumerate((inputs, outputs)):
            squares[row] += np.bincount(block, tokens.astype(np.float64) ** 2, minlength=size)
        self._int_sums, self._squares = int_sums, squares

    def finish(self, end_s: float | None = None) -> BlockTotals:
        """``end_s``: where the observed time ends (default: the last request)."""
        if self.start_s is None:
            raise ValueError("no requests: nothing to estimate")
        end = self._last_s if end_s is None else float(end_s)
        if end < self._last_s:
            raise ValueError(f"end {end} s precedes the last request at {self._last_s} s")
        n_blocks = max(math.ceil((end - self.start_s) / self.block_s), 1)
        int_sums = np.zeros((4, n_blocks), dtype=np.int64)
        squares = np.zeros((2, n_blocks), dtype=np.float64)
        kept = min(n_blocks, self._int_sums.shape[1])
        int_sums[:, :kept] = self._int_sums[:, :kept]
        squares[:, :kept] = self._squares[:, :kept]
        # a request exactly at the end opens a block of no length: it joins the last block
        int_sums[:, -1] += self._int_sums[:, kept:].sum(axis=1)
        squares[:, -1] += self._squares[:, kept:].sum(axis=1)
        block_start = self.start_s + self.block_s * np.arange(n_blocks)
        exposure = np.minimum(self.block_s, end - block_start)
        if exposure.sum() <= 0:
            raise ValueError("the requests span no time: a rate needs at least two instants")
        return BlockTotals(
            block_s=self.block_s,
            start_s=self.start_s,
            end_s=end,
            exposure_s=exposure,
            requests=int_sums[0],
            ok_requests=int_sums[1],
            input_tokens=int_sums[2],
            output_tokens=int_sums[3],
            input_tokens_sq=squares[0],
            output_tokens_sq=squares[1],
        )


@dataclass(frozen=True)
class MeanEstimate:
    """One mean of the trace with its block-bootstrap uncertainty, in ``unit``."""

    name: str  # "input_tokens_per_request", "output_tokens_per_call", "requests_per_s"
    unit: str  # "tokens/request", "tokens/call", "requests/s"
    estimate: float  # ratio of sums over all blocks
    se: float  # standard deviation of the bootstrap means
    p5: float  # 5th percentile of the bootstrap means
    p95: float  # 95th percentile of the bootstrap means
    # The SE were requests independent (token means: sd / sqrt(n); the rate: Poisson
    # sqrt(N) / T). A block SE well above it says neighbouring requests are correlated.
    iid_se: float


@dataclass(frozen=True)
class BootstrapMeans:
    """The trace's means, each with its bootstrap standard error and P5-P95."""

    input_tokens_per_request: MeanEstimate
    output_tokens_per_call: MeanEstimate
    requests_per_s: MeanEstimate
    n_blocks: int
    block_s: float  # [s]
    resamples: int
    seed: int
    method: str
    notes: tuple[str, ...]

    @property
    def means(self) -> tuple[MeanEstimate, ...]:
        return (self.input_tokens_per_request, self.output_tokens_per_call, self.requests_per_s)


def _iid_token_se(total: float, squares: float, n: float) -> float:
    if n < 2:
        return math.nan
    mean = total / n
    variance = max(squares / n - mean * mean, 0.0)
    return math.sqrt(variance / n)


def block_bootstrap(
    blocks: BlockTotals | BlockMeans, resamples: int = RESAMPLES, seed: int = 0
) -> BootstrapMeans:
    """Estimates each mean as a ratio of sums over all blocks, and its SE and P5-P95 by
    resampling whole blocks with replacement (``resamples`` times, NumPy's PCG64
    generator seeded with ``seed``: the same seed gives the same numbers)."""
    totals = blocks.finish() if isinstance(blocks, BlockMeans) else blocks
    if resamples < 2:
        raise ValueError(f"resamples must be at least 2, got {resamples}")
    ok = totals.ok_requests.astype(np.float64)
    if ok.sum() == 0:
        raise ValueError("every request failed: no token means to estimate")
    numerators = np.stack([totals.input_tokens, totals.output_tokens, totals.requests]).astype(
        np.float64
    )
    denominators = np.stack([ok, ok, totals.exposure_s])

    b = totals.n_blocks
    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_CELLS // b)
    draws = []
    for first in range(0, resamples, batch):
        rows = min(batch, resamples - first)
        picks = rng.integers(0, b, size=(rows, b))
        # how often each resample drew each block
        cells = (picks + b * np.arange(rows)[:, None]).ravel()
        weights = np.bincount(cells, minlength=rows * b).reshape(rows, b).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            draws.append((weights @ numerators.T) / (weights @ denominators.T))
    resampled = np.concatenate(draws)  # (resamples, 3)
    degenerate = int(np.sum(~np.isfinite(resampled).all(axis=1)))

    n_ok, n_all, span = ok.sum(), float(totals.requests.sum()), float(totals.exposure_s.sum())
    iid = (
        _iid_token_se(float(totals.input_tokens.sum()), float(totals.input_tokens_sq.sum()), n_ok),
        _iid_token_se(
            float(totals.output_tokens.sum()), float(totals.output_tokens_sq.sum()), n_ok
        ),
        math.sqrt(n_all) / span,
    )
    names = (
        ("input_tokens_per_request", "tokens/request"),
        ("output_tokens_per_call", "tokens/call"),
        ("requests_per_s", "requests/s"),
    )
    estimates = []
    for i, (name, unit) in enumerate(names):
        column = resampled[:, i]
        column = column[np.isfinite(column)]
        p5, p95 = np.percentile(column, [5, 95])
        estimates.append(
            MeanEstimate(
                name=name,
                unit=unit,
                estimate=float(numerators[i].sum() / denominators[i].sum()),
                se=float(np.std(column, ddof=1)),
                p5=float(p5),
                p95=float(p95),
                iid_se=iid[i],
            )
        )

    notes = [
        f"{METHOD}; {b} blocks of {totals.block_s:g} s, {resamples} resamples, seed {seed}",
        "a trace measures only its own window: widen the spread for the future",
    ]
    if b < FEW_BLOCKS:
        notes.append(
            f"only {b} blocks: the SE is rough, and runs low by about"
            f" {1 - math.sqrt((b - 1) / b):.0%}"
        )
    if degenerate:
        notes.append(f"{degenerate} resamples drew only blocks with no requests and were dropped")
    return BootstrapMeans(
        input_tokens_per_request=estimates[0],
        output_tokens_per_call=estimates[1],
        requests_per_s=estimates[2],
        n_blocks=b,
        block_s=totals.block_s,
        resamples=resamples,
        seed=seed,
        method=METHOD,
        notes=tuple(notes),
    )
