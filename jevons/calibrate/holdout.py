"""A held-out check: does the trace's first part predict its second?

The requests before ``split_s`` are the fitted part, those from it on the held-out
part. Two checks:

- each mean (input tokens per request, output tokens per call, requests per
  second): is the held-out part's estimate inside the fitted part's interval
  (bootstrap P5-P95, or mean +- 1.645 SE)? Even for a trace that never changes
  the held-out estimate carries its own sampling error, so with two halves of
  equal length it lands inside a 90% interval only about 75% of the time
  (|Z| sqrt(2) < 1.645). So the pass or fail of a mean rests on the two parts'
  joint sampling error: the difference of the two estimates within 2.576
  sqrt(SE_fitted^2 + SE_held^2) (a two-sided 99% check, so that three means
  rarely raise a false alarm together) is ``consistent``; ``inside`` is reported
  beside it.
- the 10-minute windows: what share of the held-out part's windows have a
  request count, an input token sum and an output token sum inside the P5-P95
  of the fitted part's windows? Near 0.9 for a trace that does not change and
  has many windows; less with few.

Only whole windows count (each part's last, partial window is left out): a
partial window's sums are short by construction. The check fails, and says
which part failed, when a mean is not consistent or a share of windows falls below
``min_window_share``. It cannot say more than the trace holds: one hour of chat
does not predict a different hour of agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from jevons.calibrate.bootstrap import (
    BLOCK_S,
    RESAMPLES,
    BlockMeans,
    BlockTotals,
    MeanEstimate,
    block_bootstrap,
)
from jevons.calibrate.trace import TraceChunk

Z90 = 1.6448536269514722  # the standard normal's 95th percentile: mean +- Z90 SE holds 90%
CONSISTENCY_Z = 2.5758293035489004  # its 99.5th percentile: a two-sided 99% check
# Below this share of held-out windows inside the fitted P5-P95 the check fails
# (0.9 is nominal; a share under half says the two parts differ).
MIN_WINDOW_SHARE = 0.5
IntervalKind = Literal["percentile", "normal"]


def split_time(start_s: float, end_s: float, fraction: float) -> float:
    """The time that leaves ``fraction`` of the span [start_s, end_s] to the fitted part."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout fraction must lie strictly between 0 and 1, got {fraction}")
    return start_s + fraction * (end_s - start_s)


@dataclass(frozen=True)
class MeanCheck:
    """One mean: the fitted part's interval against the held-out part's estimate."""

    name: str  # "input_tokens_per_request", "output_tokens_per_call", "requests_per_s"
    unit: str
    fitted_estimate: float
    fitted_low: float  # the interval's ends, in ``unit``
    fitted_high: float
    held_estimate: float
    held_se: float  # the held-out part's own bootstrap SE, in ``unit``
    inside: bool  # fitted_low <= held_estimate <= fitted_high
    # |held - fitted| <= 2.576 sqrt(SE_fitted^2 + SE_held^2): the parts differ by no
    # more than their joint sampling error allows (a two-sided 99% check)
    consistent: bool


@dataclass(frozen=True)
class WindowCheck:
    """One per-window sum: the held-out windows inside the fitted windows' P5-P95."""

    name: str  # "requests", "input_tokens", "output_tokens" (summed per window)
    unit: str  # "requests/window", "tokens/window"
    fitted_p5: float  # NumPy's default (linear) percentiles of the fitted part's windows
    fitted_p95: float
    held_windows: int
    inside: int  # held-out windows with fitted_p5 <= sum <= fitted_p95
    share_inside: float  # inside / held_windows


@dataclass(frozen=True)
class HoldoutReport:
    """Whether the fitted part predicts the held-out part; ``failures`` says where not."""

    split_s: float  # [s] on the trace's clock: fitted before, held out from it on
    fitted_requests: int
    held_requests: int
    interval: str  # how the fitted interval was made
    means: tuple[MeanCheck, ...]
    window_s: float  # [s]
    fitted_windows: int  # whole windows in the fitted part
    windows: tuple[WindowCheck, ...]  # empty when either part has too few whole windows
    min_window_share: float
    passed: bool
    failures: tuple[str, ...]  # one line per failed check
    notes: tuple[str, ...]


def _whole_window_sums(totals: BlockTotals) -> np.ndarray:
    """(windows, 3): request count, input and output token sums of each whole window."""
    whole = totals.exposure_s >= totals.block_s
    return np.stack([totals.requests, totals.input_tokens, totals.output_tokens], axis=1)[whole]


def _interval(mean: MeanEstimate, kind: IntervalKind) -> tuple[float, float]:
    if kind == "percentile":
        return mean.p5, mean.p95
    return mean.estimate - Z90 * mean.se, mean.estimate + Z90 * mean.se


class HoldoutSplit:
    """Accumulates the two parts of a trace split at ``split_s``, chunk by chunk.

    Windows of ``window_s`` count from ``start_s`` in the fitted part (the trace's
    first time; None: its first request) and from ``split_s`` in the held-out part.
    """

    def __init__(self, split_s: float, start_s: float | None = None, window_s: float = BLOCK_S):
        self.split_s = float(split_s)
        self.window_s = float(window_s)
        self.fitted = BlockMeans(window_s, start_s=start_s)
        self.held = BlockMeans(window_s, start_s=self.split_s)

    def add(self, chunk: TraceChunk) -> None:
        before = np.asarray(chunk.time_s) < self.split_s
        self.fitted.add(chunk.select(before))
        self.held.add(chunk.select(~before))

    def finish(
        self,
        resamples: int = RESAMPLES,
        seed: int = 0,
        interval: IntervalKind = "percentile",
        min_window_share: float = MIN_WINDOW_SHARE,
        end_s: float | None = None,
    ) -> HoldoutReport:
        """``end_s``: where the held-out part's time ends (default: its last request)."""
        if interval not in ("percentile", "normal"):
            raise ValueError(f"interval must be percentile or normal, got {interval!r}")
        if self.fitted.empty or self.held.empty:
            raise ValueError(f"the split at {self.split_s} s leaves one part with no requests")
        fitted_totals = self.fitted.finish(end_s=self.split_s)
        held_totals = self.held.finish(end_s=end_s)
        fitted = block_bootstrap(fitted_totals, resamples=resamples, seed=seed)
        held = block_bootstrap(held_totals, resamples=resamples, seed=seed)

        failures: list[str] = []
        notes = [
            f"{part} part: {note}"
            for part, result in (("fitted", fitted), ("held-out", held))
            for note in result.notes
            if note.startswith("only")
        ]
        means = []
        for fitted_mean, held_mean in zip(fitted.means, held.means, strict=True):
            low, high = _interval(fitted_mean, interval)
            inside = bool(low <= held_mean.estimate <= high)
            joint_se = float(np.hypot(fitted_mean.se, held_mean.se))
            difference = abs(held_mean.estimate - fitted_mean.estimate)
            consistent = bool(difference <= CONSISTENCY_Z * joint_se)
            means.append(
                MeanCheck(
                    name=fitted_mean.name,
                    unit=fitted_mean.unit,
                    fitted_estimate=fitted_mean.estimate,
                    fitted_low=low,
                    fitted_high=high,
                    held_estimate=held_mean.estimate,
                    held_se=held_mean.se,
                    inside=inside,
                    consistent=consistent,
                )
            )
            where = (
                f"{fitted_mean.name}: held-out {held_mean.estimate:.4g} {fitted_mean.unit}"
                f" {'inside' if inside else 'outside'} the fitted [{low:.4g}, {high:.4g}]"
            )
            if not consistent:
                failures.append(
                    f"{where}, {difference:.4g} from the fitted mean, more than 2.576 joint SE"
                    f" ({CONSISTENCY_Z * joint_se:.4g})"
                )
            elif not inside:
                notes.append(f"{where}, but within the two parts' joint sampling error")

        fitted_windows = _whole_window_sums(fitted_totals)
        held_windows = _whole_window_sums(held_totals)
        windows = []
        if len(fitted_windows) < 2 or len(held_windows) < 1:
            notes.append(
                f"too few whole {self.window_s:g} s windows to compare (fitted"
                f" {len(fitted_windows)}, held out {len(held_windows)}): window check skipped"
            )
        else:
            p5, p95 = np.percentile(fitted_windows.astype(np.float64), [5, 95], axis=0)
            names = (
                ("requests", "requests/window"),
                ("input_tokens", "tokens/window"),
                ("output_tokens", "tokens/window"),
            )
            for i, (name, unit) in enumerate(names):
                inside = int(np.sum((held_windows[:, i] >= p5[i]) & (held_windows[:, i] <= p95[i])))
                share = inside / len(held_windows)
                windows.append(
                    WindowCheck(
                        name=name,
                        unit=unit,
                        fitted_p5=float(p5[i]),
                        fitted_p95=float(p95[i]),
                        held_windows=len(held_windows),
                        inside=inside,
                        share_inside=share,
                    )
                )
                if share < min_window_share:
                    failures.append(
                        f"{name} per {self.window_s:g} s window: {inside} of"
                        f" {len(held_windows)} held-out windows inside the fitted P5-P95"
                        f" [{p5[i]:.4g}, {p95[i]:.4g}], under {min_window_share:.0%}"
                    )
        if failures:
            notes.append("the fitted part does not predict the held-out part: see failures")
        return HoldoutReport(
            split_s=self.split_s,
            fitted_requests=int(fitted_totals.requests.sum()),
            held_requests=int(held_totals.requests.sum()),
            interval=(
                "bootstrap P5-P95" if interval == "percentile" else "mean +- 1.645 bootstrap SE"
            ),
            means=tuple(means),
            window_s=self.window_s,
            fitted_windows=len(fitted_windows),
            windows=tuple(windows),
            min_window_share=min_window_share,
            passed=not failures,
            failures=tuple(failures),
            notes=tuple(notes),
        )
