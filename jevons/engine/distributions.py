"""Distributions for uncertain scenario inputs.

Every distribution is sampled by its quantile function (``ppf``) from one
uniform, so a draw costs one Philox word whatever its family: the RNG contract
stays simple and every backend consumes the same words. A plain number in a
scenario is a ``fixed`` distribution.

Each class validates its parameters at load time and reports its ``support``,
so a field can require, say, a probability in [0, 1] or a non-negative count.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Annotated, Any, ClassVar, Literal, Self

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from scipy import integrate, special, stats
from scipy.stats.sampling import NumericalInversePolynomial

Z95 = float(special.ndtri(0.95))


class _Dist(BaseModel):
    # inf and nan are no one's figure for a scenario input; a missing key says "none".
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    discrete: ClassVar[bool] = False

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function, vectorised over ``u`` in (0, 1)."""
        inverse = _numerical_inverse(self)
        if inverse is not None:
            generator, loc, scale = inverse
            return loc + scale * np.asarray(generator.ppf(u), dtype=np.float64)
        return np.asarray(self._frozen().ppf(u), dtype=np.float64)

    def _standard_density(self) -> tuple[Any, float, float] | None:
        """(unnormalised density on its standard domain, loc, scale) for families whose
        SciPy ppf is slow special-function code; None for the rest."""
        return None

    def mean(self) -> float:
        return float(self._frozen().mean())

    def sd(self) -> float:
        return float(self._frozen().std())

    def support(self) -> tuple[float, float]:
        lo, hi = self._frozen().support()
        return float(lo), float(hi)

    def _frozen(self) -> Any:
        # Only families without a SciPy counterpart (fixed, empirical) lack this, and they
        # override every method that would call it.
        raise TypeError(f"{type(self).__name__} has no SciPy distribution")

    def clipped_mean(self, low: float = -math.inf, high: float = math.inf) -> float:
        """E[clip(X, low, high)]: the mean of a draw held to a floor and a ceiling."""
        if self.discrete:
            values, probabilities = self._clipped_pmf_values(low, high)
            return float(np.sum(values * probabilities))
        rv = self._frozen()
        lo_s, hi_s = self.support()
        lo, hi = max(low, lo_s), min(high, hi_s)
        if lo >= hi:
            return float(min(max(lo_s, low), high))
        # E[clip(X, a, b)] = a + integral_a^b P(X > x) dx, for a finite floor a.
        floor = lo if math.isfinite(lo) else float(rv.ppf(1e-15))
        if not math.isfinite(hi):
            return float(rv.expect(lambda x: np.clip(x, low, high)))
        area, _ = integrate.quad(rv.sf, floor, hi, limit=200)
        return float(floor + area)

    def _clipped_pmf_values(self, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
        """Values and probabilities of clip(X, low, high) for a discrete X with finite bounds."""
        rv = self._frozen()
        # Past the 1 - 1e-15 quantile the mass is negligible: never build a longer table.
        high = min(high, float(rv.ppf(1.0 - 1e-15)) + 1.0)
        lo, hi = math.ceil(low), math.floor(high)
        k = np.arange(lo, hi + 1, dtype=np.float64)
        p = rv.pmf(k)
        p[0] = rv.cdf(lo)  # mass at or below the floor collapses onto it
        p[-1] = rv.sf(hi - 1)  # mass at or above the ceiling collapses onto it
        if lo == hi:
            p = np.array([1.0])
        return k, p

    def clipped_falling_moment(self, low: float, high: float) -> float:
        """E[Y (Y - 1)] for Y = clip(X, low, high), X discrete: pairs of calls in one request."""
        k, p = self._clipped_pmf_values(low, high)
        return float(np.sum(k * (k - 1.0) * p))


class _BetaDensity:
    def __init__(self, a: float, b: float):
        self.a, self.b = a, b

    def pdf(self, x: float) -> float:
        return x ** (self.a - 1.0) * (1.0 - x) ** (self.b - 1.0)

    def support(self) -> tuple[float, float]:
        return 0.0, 1.0


class _GammaDensity:
    def __init__(self, shape: float):
        self.shape = shape

    def pdf(self, x: float) -> float:
        return x ** (self.shape - 1.0) * math.exp(-x)

    def support(self) -> tuple[float, float]:
        return 0.0, math.inf


@functools.lru_cache(maxsize=64)
def _numerical_inverse(dist: _Dist) -> tuple[Any, float, float] | None:
    """SciPy's PINV (UNU.RAN) for ``dist``'s standard form: u-error below 1e-14.

    SciPy's exact beta and gamma ppf cost about 2 s per million draws; this
    costs 10 ms to set up and 10 ms per million. None for families whose ppf is
    fast already, or where PINV cannot be built (a density unbounded at an
    edge), and then the exact ppf is used.
    """
    standard = dist._standard_density()
    if standard is None:
        return None
    density, loc, scale = standard
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            generator = NumericalInversePolynomial(
                density, domain=density.support(), u_resolution=1e-14
            )
    except Exception:
        return None
    return generator, loc, scale


class Fixed(_Dist):
    dist: Literal["fixed"] = "fixed"
    value: float

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.value, dtype=np.float64)

    def mean(self) -> float:
        return self.value

    def sd(self) -> float:
        return 0.0

    def support(self) -> tuple[float, float]:
        return self.value, self.value

    def clipped_mean(self, low: float = -math.inf, high: float = math.inf) -> float:
        return float(min(max(self.value, low), high))

    def _clipped_pmf_values(self, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
        return np.array([min(max(self.value, low), high)]), np.array([1.0])


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.low < self.high:
            raise ValueError(f"uniform needs low < high, got low={self.low}, high={self.high}")
        return self

    def _frozen(self) -> Any:
        return stats.uniform(loc=self.low, scale=self.high - self.low)


class Normal(_Dist):
    """Normal, optionally truncated to [low, high]."""

    dist: Literal["normal"]
    mean_: float = Field(alias="mean")
    sd_: float = Field(alias="sd", gt=0)
    low: float = -math.inf
    high: float = math.inf

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.low < self.high:
            raise ValueError(f"normal truncation needs low < high, got {self.low}, {self.high}")
        a, b = (self.low - self.mean_) / self.sd_, (self.high - self.mean_) / self.sd_
        if special.ndtr(b) - special.ndtr(a) < 1e-9:
            raise ValueError("normal truncation [low, high] holds almost no probability")
        return self

    def _frozen(self) -> Any:
        a, b = (self.low - self.mean_) / self.sd_, (self.high - self.mean_) / self.sd_
        return stats.truncnorm(a, b, loc=self.mean_, scale=self.sd_)


class LogNormal(_Dist):
    """Lognormal given by ``median`` and ``p95``, or by ``mu`` and ``sigma`` of log X."""

    dist: Literal["lognormal"]
    median: float | None = Field(default=None, gt=0)
    p95: float | None = Field(default=None, gt=0)
    mu: float | None = None
    sigma: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        by_quantiles = self.median is not None or self.p95 is not None
        by_moments = self.mu is not None or self.sigma is not None
        if by_quantiles == by_moments:
            raise ValueError("lognormal takes either median and p95, or mu and sigma")
        if by_quantiles:
            if self.median is None or self.p95 is None:
                raise ValueError("lognormal needs both median and p95")
            if not self.p95 > self.median:
                raise ValueError(f"lognormal needs p95 > median, got {self.p95} <= {self.median}")
        elif self.mu is None or self.sigma is None:
            raise ValueError("lognormal needs both mu and sigma")
        return self

    @property
    def log_params(self) -> tuple[float, float]:
        """(mu, sigma) of log X."""
        if self.mu is not None and self.sigma is not None:
            return self.mu, self.sigma
        assert self.median is not None and self.p95 is not None
        return math.log(self.median), math.log(self.p95 / self.median) / Z95

    def _frozen(self) -> Any:
        mu, sigma = self.log_params
        return stats.lognorm(s=sigma, scale=math.exp(mu))

    def clipped_mean(self, low: float = -math.inf, high: float = math.inf) -> float:
        if low > 0 or not math.isfinite(high):
            return super().clipped_mean(low, high)
        return lognormal_capped_mean(*self.log_params, cap=high)


def lognormal_capped_mean(mu: float, sigma: float, cap: float) -> float:
    """E[min(X, cap)] for log X ~ N(mu, sigma^2), in closed form::

        exp(mu + sigma^2 / 2) Phi((ln cap - mu - sigma^2) / sigma)
            + cap (1 - Phi((ln cap - mu) / sigma))

    The first term is the mean of the draws below the budget, the second the
    budget times the chance a call would have thought longer.
    """
    if cap <= 0:
        return 0.0
    z = (math.log(cap) - mu) / sigma
    return float(math.exp(mu + sigma**2 / 2) * special.ndtr(z - sigma) + cap * special.ndtr(-z))


class Beta(_Dist):
    """Beta on [0, 1] given by its mean and standard deviation."""

    dist: Literal["beta"]
    mean_: float = Field(alias="mean", gt=0, lt=1)
    sd_: float = Field(alias="sd", gt=0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        limit = math.sqrt(self.mean_ * (1 - self.mean_))
        if not self.sd_ < limit:
            raise ValueError(f"beta with mean {self.mean_} needs sd < {limit:.4g}, got {self.sd_}")
        return self

    def _shapes(self) -> tuple[float, float]:
        m, v = self.mean_, self.sd_**2
        k = m * (1 - m) / v - 1
        return m * k, (1 - m) * k

    def _frozen(self) -> Any:
        return stats.beta(*self._shapes())

    def _standard_density(self) -> tuple[Any, float, float]:
        return _BetaDensity(*self._shapes()), 0.0, 1.0


class Triangular(_Dist):
    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("triangular needs low <= mode <= high and low < high")
        return self

    def _frozen(self) -> Any:
        width = self.high - self.low
        return stats.triang((self.mode - self.low) / width, loc=self.low, scale=width)


class Pert(_Dist):
    """PERT: a beta on [low, high] with its mode at ``mode``; ``shape`` 4 is the classic."""

    dist: Literal["pert"]
    low: float
    mode: float
    high: float
    shape: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("pert needs low <= mode <= high and low < high")
        return self

    def _shapes(self) -> tuple[float, float]:
        width = self.high - self.low
        a = 1 + self.shape * (self.mode - self.low) / width
        b = 1 + self.shape * (self.high - self.mode) / width
        return a, b

    def _frozen(self) -> Any:
        return stats.beta(*self._shapes(), loc=self.low, scale=self.high - self.low)

    def _standard_density(self) -> tuple[Any, float, float]:
        return _BetaDensity(*self._shapes()), self.low, self.high - self.low


class Gamma(_Dist):
    dist: Literal["gamma"]
    mean_: float = Field(alias="mean", gt=0)
    sd_: float = Field(alias="sd", gt=0)

    def _frozen(self) -> Any:
        shape = (self.mean_ / self.sd_) ** 2
        return stats.gamma(shape, scale=self.mean_ / shape)

    def _standard_density(self) -> tuple[Any, float, float]:
        shape = (self.mean_ / self.sd_) ** 2
        return _GammaDensity(shape), 0.0, self.mean_ / shape


class Poisson(_Dist):
    dist: Literal["poisson"]
    mean_: float = Field(alias="mean", gt=0)
    discrete: ClassVar[bool] = True

    def _frozen(self) -> Any:
        return stats.poisson(self.mean_)


class NegativeBinomial(_Dist):
    """Negative binomial by mean and dispersion r: variance = mean + mean^2 / r."""

    dist: Literal["negative_binomial"]
    mean_: float = Field(alias="mean", gt=0)
    dispersion: float = Field(gt=0)
    discrete: ClassVar[bool] = True

    def _frozen(self) -> Any:
        r = self.dispersion
        return stats.nbinom(r, r / (r + self.mean_))


class Empirical(_Dist):
    """Equal weight on each listed value (e.g. figures read off past data)."""

    dist: Literal["empirical"]
    values: list[float] = Field(min_length=1)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        v = np.asarray(self.values, dtype=np.float64)
        index = np.minimum((np.asarray(u) * len(v)).astype(np.int64), len(v) - 1)
        return v[index]

    def mean(self) -> float:
        return float(np.mean(self.values))

    def sd(self) -> float:
        return float(np.std(self.values))

    def support(self) -> tuple[float, float]:
        return float(min(self.values)), float(max(self.values))

    def clipped_mean(self, low: float = -math.inf, high: float = math.inf) -> float:
        return float(np.mean(np.clip(self.values, low, high)))

    def _clipped_pmf_values(self, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
        v = np.clip(np.asarray(self.values, dtype=np.float64), low, high)
        return v, np.full(len(v), 1.0 / len(v))


def _number_to_fixed(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {"dist": "fixed", "value": value}
    return value


Distribution = Annotated[
    Fixed
    | Uniform
    | Normal
    | LogNormal
    | Beta
    | Triangular
    | Pert
    | Gamma
    | Poisson
    | NegativeBinomial
    | Empirical,
    Field(discriminator="dist"),
    BeforeValidator(_number_to_fixed),
]

DISTRIBUTION_NAMES = (
    "fixed",
    "uniform",
    "normal",
    "lognormal",
    "beta",
    "triangular",
    "pert",
    "gamma",
    "poisson",
    "negative_binomial",
    "empirical",
)
