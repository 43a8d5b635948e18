"""Per-request token counts: an exact histogram, and fits of candidate families to it.

Token counts are integers, so a histogram (value -> how many requests) holds the
data exactly in memory bounded by the number of distinct values, not by the rows.
Every statistic and fit below is computed from the histogram with the counts as
weights, and equals the same computation on the expanded list of requests.

Families: lognormal, gamma and Weibull (all with location 0), fitted by maximum
likelihood on the positive counts; and the empirical distribution. The family is
chosen by the lowest AIC = 2 k - 2 ln L (k = 2 parameters for each); the
Kolmogorov-Smirnov distance of each fit to the data is shown beside it. The
empirical distribution has no AIC: it has as many parameters as distinct values,
and its KS distance is zero by construction.

Zeros (a request with no output, say) are counted and left out of the fits, as
all three families live on x > 0. Failed requests are counted apart and enter
nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize, special, stats

from jevons.calibrate.trace import TraceChunk
from jevons.engine.scenario.distributions import Z95

TokenColumn = Literal["input_tokens", "output_tokens"]
PARAMETRIC_FAMILIES = ("lognormal", "gamma", "weibull")
# Families the scenario schema (jevons.engine.scenario.distributions) can express.
SCENARIO_FAMILIES = ("lognormal", "gamma")
# Counts below this go to a dense array (8 bytes per value up to the largest seen);
# rarer larger ones to a dict, so one huge value cannot allocate a huge array.
DENSE_CAP = 1 << 20
# The empirical family's scenario table lists the positive counts' quantiles at
# (i + 0.5) / EMPIRICAL_POINTS: equal weight on each, as the ``empirical`` table means.
EMPIRICAL_POINTS = 100


@dataclass(frozen=True)
class TokenCounts:
    """The exact histogram of one token column over the requests that did not fail.

    ``values`` are the distinct token counts, ascending; ``counts`` how many
    requests had each. ``failed`` requests are not in the histogram.
    """

    column: str  # "input_tokens" or "output_tokens"
    values: np.ndarray  # int64 [tokens], distinct, ascending
    counts: np.ndarray  # int64 [requests]
    failed: int  # [requests] left out: logged as failed

    @property
    def requests(self) -> int:
        """Requests in the histogram (failed ones excluded)."""
        return int(self.counts.sum())

    @property
    def zeros(self) -> int:
        """Requests with zero tokens in this column (in the statistics, not the fits)."""
        return int(self.counts[0]) if len(self.values) and self.values[0] == 0 else 0


class TokenHistogram:
    """Accumulates one token column chunk by chunk into an exact histogram.

    ``add(chunk)`` per chunk, then ``finish()`` -> :class:`TokenCounts`. Memory is
    one int64 per value up to the largest count below ``dense_cap`` seen, plus a
    dict entry per distinct larger value.
    """

    def __init__(self, column: TokenColumn, dense_cap: int = DENSE_CAP):
        if column not in ("input_tokens", "output_tokens"):
            raise ValueError(f"column must be input_tokens or output_tokens, got {column!r}")
        self.column = column
        self.dense_cap = dense_cap
        self._dense = np.zeros(0, dtype=np.int64)
        self._sparse: dict[int, int] = {}
        self._failed = 0

    def add(self, chunk: TraceChunk) -> None:
        failed = np.asarray(chunk.failed, dtype=bool)
        self._failed += int(failed.sum())
        self.add_values(np.asarray(getattr(chunk, self.column))[~failed])

    def add_values(self, tokens: np.ndarray) -> None:
        """Adds token counts of requests that did not fail."""
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.size == 0:
            return
        if tokens.min() < 0:
            raise ValueError(f"{self.column}: negative token count {int(tokens.min())}")
        small = tokens[tokens < self.dense_cap]
        if small.size:
            counted = np.bincount(small)
            if len(counted) > len(self._dense):
                counted[: len(self._dense)] += self._dense
                self._dense = counted
            else:
                self._dense[: len(counted)] += counted
        large = tokens[tokens >= self.dense_cap]
        if large.size:
            for value, count in zip(*np.unique(large, return_counts=True), strict=True):
                self._sparse[int(value)] = self._sparse.get(int(value), 0) + int(count)

    def finish(self) -> TokenCounts:
        dense_values = np.flatnonzero(self._dense).astype(np.int64)
        sparse_values = np.array(sorted(self._sparse), dtype=np.int64)
        return TokenCounts(
            column=self.column,
            values=np.concatenate([dense_values, sparse_values]),
            counts=np.concatenate(
                [
                    self._dense[dense_values],
                    np.array([self._sparse[v] for v in sparse_values.tolist()], dtype=np.int64),
                ]
            ),
            failed=self._failed,
        )


@dataclass(frozen=True)
class FamilyFit:
    """One candidate family fitted to the positive token counts.

    ``parameters`` in each family's own terms: lognormal ``mu`` and ``sigma`` of
    ln(tokens); gamma ``shape`` and ``scale`` [tokens]; Weibull ``shape`` and
    ``scale`` [tokens]; empirical none. ``scenario_table`` is the same fit in the
    scenario schema's vocabulary (``{"dist": "lognormal", "median": ..., "p95": ...}``,
    ``{"dist": "gamma", "mean": ..., "sd": ...}``, ``{"dist": "empirical", "values":
    [...]}``), or None where the schema has no such family (Weibull).
    """

    family: str  # "lognormal", "gamma", "weibull" or "empirical"
    parameters: dict[str, float]
    log_likelihood: float | None  # ln L on the positive counts; None for empirical
    aic: float | None  # 2 k - 2 ln L, k = 2; None for empirical (no finite k)
    ks_distance: float  # sup_x |F_fit(x) - F_data(x)| on the positive counts; 0 for empirical
    mean: float  # [tokens] the fitted family's mean
    median: float  # [tokens]
    p95: float  # [tokens]
    scenario_table: dict[str, Any] | None


@dataclass(frozen=True)
class FitReport:
    """Per-request shape of one token column, and the family chosen for it.

    ``mean``, ``sd``, ``median`` and ``p95`` are over all requests that did not fail,
    zeros included (NumPy's default linear quantiles). The fits are on the
    ``positive`` requests only. ``best_family`` has the lowest AIC of the three
    parametric families; ``scenario_family`` is the best one the scenario schema
    supports (the same unless Weibull won), and ``scenario_table`` its table.
    """

    column: str  # "input_tokens" or "output_tokens"
    requests: int  # [requests] in the statistics: all that did not fail
    failed: int  # [requests] logged as failed, left out of everything
    zeros: int  # [requests] with zero tokens: in the statistics, not the fits
    positive: int  # [requests] the fits use
    mean: float  # [tokens]
    sd: float  # [tokens] population standard deviation
    median: float  # [tokens]
    p95: float  # [tokens]
    fits: tuple[FamilyFit, ...]  # lognormal, gamma, weibull, empirical
    criterion: str  # "AIC"
    best_family: str
    scenario_family: str
    scenario_table: dict[str, Any]
    notes: tuple[str, ...]  # what the reader of the table should know

    def fit(self, family: str) -> FamilyFit:
        return next(f for f in self.fits if f.family == family)


def weighted_quantile(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """The q-quantile of the expanded data, NumPy's default (linear) definition.

    With n values sorted, position h = (n - 1) q between order statistics
    x[floor h] and x[floor h + 1] (0-based), interpolated linearly.
    """
    n = int(counts.sum())
    h = (n - 1) * q
    below = math.floor(h)
    cumulative = np.cumsum(counts)
    # the order statistic x[i] is the first value whose cumulative count exceeds i
    lo = values[np.searchsorted(cumulative, below, side="right")]
    hi = values[np.searchsorted(cumulative, min(below + 1, n - 1), side="right")]
    return float(lo + (h - below) * (hi - lo))


def ks_distance(values: np.ndarray, counts: np.ndarray, cdf: Any) -> float:
    """sup over all real x of |F(x) - F_n(x)|, F continuous, F_n the data's step CDF.

    Between jumps F_n is flat and F monotone, so the supremum is reached at a jump
    value v_i, from above (F_n(v_i) - F(v_i)) or from below (F(v_i) - F_n(v_i-)).
    Equal to ``scipy.stats.kstest`` on the expanded data.
    """
    n = counts.sum()
    after = np.cumsum(counts) / n
    before = np.concatenate([[0.0], after[:-1]])
    model = cdf(values.astype(np.float64))
    return float(max(np.max(after - model), np.max(model - before)))


def _fit_lognormal(x: np.ndarray, w: np.ndarray) -> tuple[dict[str, float], Any]:
    """Closed form: mu and sigma^2 are the weighted mean and variance (divisor n) of ln x."""
    n = w.sum()
    y = np.log(x)
    mu = float(np.sum(w * y) / n)
    sigma = math.sqrt(float(np.sum(w * (y - mu) ** 2) / n))
    return {"mu": mu, "sigma": sigma}, stats.lognorm(s=sigma, scale=math.exp(mu))


def _fit_gamma(x: np.ndarray, w: np.ndarray) -> tuple[dict[str, float], Any]:
    """The score equations give scale = mean / k and ln k - digamma(k) = s with
    s = ln(mean x) - mean(ln x) > 0; the left side falls from +inf to 0, one root."""
    n = w.sum()
    s = math.log(float(np.sum(w * x) / n)) - float(np.sum(w * np.log(x)) / n)
    # Minka's starting point, within a few percent of the root; widen until it brackets.
    k0 = (3.0 - s + math.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
    lo, hi = k0 / 2.0, k0 * 2.0

    def score(k: float) -> float:
        return math.log(k) - float(special.digamma(k)) - s

    while score(lo) < 0:
        lo /= 2.0
    while score(hi) > 0:
        hi *= 2.0
    shape = optimize.brentq(score, lo, hi, xtol=1e-14, rtol=1e-14)
    scale = float(np.sum(w * x) / n) / shape
    return {"shape": shape, "scale": scale}, stats.gamma(shape, scale=scale)


def _fit_weibull(x: np.ndarray, w: np.ndarray) -> tuple[dict[str, float], Any]:
    """The score equations give scale^c = mean(x^c) and
    mean(x^c ln x) / mean(x^c) - 1 / c - mean(ln x) = 0, increasing in c, one root.
    Powers are taken of x / max(x), which leaves both ratios unchanged."""
    n = w.sum()
    y = np.log(x)
    y_max = float(y.max())
    mean_y = float(np.sum(w * y) / n)

    def score(c: float) -> float:
        p = w * np.exp(c * (y - y_max))
        return float(np.sum(p * y) / np.sum(p)) - 1.0 / c - mean_y

    lo, hi = 0.5, 2.0
    while score(lo) > 0:
        lo /= 2.0
    while score(hi) < 0:
        hi *= 2.0
    shape = optimize.brentq(score, lo, hi, xtol=1e-14, rtol=1e-14)
    log_scale = y_max + math.log(float(np.sum(w * np.exp(shape * (y - y_max))) / n)) / shape
    scale = math.exp(log_scale)
    return {"shape": shape, "scale": scale}, stats.weibull_min(shape, scale=scale)


_FITTERS = {"lognormal": _fit_lognormal, "gamma": _fit_gamma, "weibull": _fit_weibull}


def _scenario_table(family: str, parameters: dict[str, float]) -> dict[str, Any] | None:
    if family == "lognormal":
        # the lognormal table reads median = e^mu and p95 = e^(mu + Z95 sigma)
        mu, sigma = parameters["mu"], parameters["sigma"]
        return {"dist": "lognormal", "median": math.exp(mu), "p95": math.exp(mu + Z95 * sigma)}
    if family == "gamma":
        shape, scale = parameters["shape"], parameters["scale"]
        return {"dist": "gamma", "mean": shape * scale, "sd": math.sqrt(shape) * scale}
    return None


def fit_families(data: TokenCounts | TokenHistogram) -> FitReport:
    """Fits lognormal, gamma and Weibull by weighted maximum likelihood to the positive
    token counts, adds the empirical distribution, and chooses by the lowest AIC."""
    counts_all = data.finish() if isinstance(data, TokenHistogram) else data
    values, counts = counts_all.values, counts_all.counts
    if counts_all.requests == 0:
        raise ValueError(f"{counts_all.column}: no requests to fit")
    positive = values > 0
    x, w = values[positive].astype(np.float64), counts[positive].astype(np.float64)
    # A family needs two distinct positive counts; with fewer, only the data's own values.
    parametric = len(x) >= 2
    if not len(x):
        x, w = values.astype(np.float64), counts.astype(np.float64)
    n_all = float(counts.sum())
    mean = float(np.sum(counts * values.astype(np.float64)) / n_all)
    sd = math.sqrt(float(np.sum(counts * (values - mean) ** 2) / n_all))

    fits = []
    for family, fitter in _FITTERS.items() if parametric else ():
        parameters, frozen = fitter(x, w)
        log_likelihood = float(np.sum(w * frozen.logpdf(x)))
        fits.append(
            FamilyFit(
                family=family,
                parameters=parameters,
                log_likelihood=log_likelihood,
                aic=2.0 * len(parameters) - 2.0 * log_likelihood,
                ks_distance=ks_distance(values[positive], counts[positive], frozen.cdf),
                mean=float(frozen.mean()),
                median=float(frozen.median()),
                p95=float(frozen.ppf(0.95)),
                scenario_table=_scenario_table(family, parameters),
            )
        )
    points = (np.arange(EMPIRICAL_POINTS) + 0.5) / EMPIRICAL_POINTS
    fits.append(
        FamilyFit(
            family="empirical",
            parameters={},
            log_likelihood=None,
            aic=None,
            ks_distance=0.0,
            mean=float(np.sum(w * x) / w.sum()),
            median=weighted_quantile(x, w, 0.5),
            p95=weighted_quantile(x, w, 0.95),
            scenario_table={
                "dist": "empirical",
                "values": [weighted_quantile(x, w, float(q)) for q in points],
            },
        )
    )

    best = min(fits[:-1] or fits, key=lambda f: f.aic if f.aic is not None else math.inf)
    supported = min(
        (f for f in fits if f.family in SCENARIO_FAMILIES),
        key=lambda f: f.aic if f.aic is not None else math.inf,
        default=fits[-1],  # no family fitted: the empirical distribution
    )
    notes = [
        "family chosen by the lowest AIC = 2k - 2 ln L (k = 2) among lognormal, gamma,"
        " Weibull; the empirical distribution has no AIC (one parameter per distinct value)",
        "KS distance: sup |F_fit - F_data| over the positive counts",
    ]
    if not parametric:
        notes.append(
            f"{len(x)} distinct {counts_all.column} value(s): no family can be fitted, so the"
            " empirical distribution stands"
        )
    if counts_all.zeros:
        notes.append(
            f"{counts_all.zeros} requests with zero {counts_all.column} are in the mean and"
            " quantiles but not the fits (the families live on x > 0)"
        )
    if counts_all.failed:
        notes.append(f"{counts_all.failed} failed requests left out of everything")
    if best.family != supported.family:
        notes.append(
            f"{best.family} fits best, but scenarios have no {best.family} table: the"
            f" scenario uses {supported.family}, the best family they support"
        )
    assert supported.scenario_table is not None
    return FitReport(
        column=counts_all.column,
        requests=counts_all.requests,
        failed=counts_all.failed,
        zeros=counts_all.zeros,
        positive=int(w.sum()),
        mean=mean,
        sd=sd,
        median=weighted_quantile(values, counts, 0.5),
        p95=weighted_quantile(values, counts, 0.95),
        fits=tuple(fits),
        criterion="AIC",
        best_family=best.family,
        scenario_family=supported.family,
        scenario_table=supported.scenario_table,
        notes=tuple(notes),
    )
