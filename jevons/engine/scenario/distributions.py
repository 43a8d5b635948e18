"""Distributions for uncertain scenario inputs.

Every distribution is sampled by its quantile function (``ppf``) from one
uniform, so a draw costs one Philox word whatever its family: the RNG contract
stays simple and every backend consumes the same words. A plain number in a
scenario is a ``fixed`` distribution.

Each class validates its parameters at load time and reports its ``support``,
so a field can require, say, a probability in [0, 1] or a non-negative count,
and its ``draw_range``, the smallest and largest values a draw can take, so a
field can bound its magnitude (at most 1e12 users, say).

Each family also gives ``capped_mean(cap)`` = E[min(X, cap)] in closed form
(incomplete gamma and beta functions, normal tails), exact to float64 special
function accuracy for any cap: the model's mean thinking tokens under a budget,
and the mean call count held to ``max_calls``. No numerical integration.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from abc import abstractmethod
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal, Self

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from scipy import special, stats
from scipy.stats.sampling import NumericalInversePolynomial

from jevons.engine.scenario.capped_means import (
    beta_capped_mean,
    exp_or_inf,
    lognormal_capped_mean,
    normal_mass,
    normal_stop_loss,
    phi,
    phi_diff,
)
from jevons.kernels.constants import UNIFORM_SCALE

Z95 = float(special.ndtri(0.95))
# Negative binomials with at least this dispersion and a bulk this short are summed.
_NB_TABLE_MIN_DISPERSION = 1e4
_NB_TABLE_MAX = 20_000
# The smallest and largest uniforms the generator produces (``jevons.kernels.variates``):
# every draw of a distribution lies between its quantiles at these two.
U_SMALLEST = 0.5 * UNIFORM_SCALE
U_LARGEST = 1.0 - 0.5 * UNIFORM_SCALE
# A gamma or beta narrower than this, relative to its mean, is a fixed value, and its
# shape parameters ((mean / sd)^2 and beyond) leave float64's range.
MIN_RELATIVE_SD = 1e-9


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """SciPy's and NumPy's overflow warnings stay out of the user's terminal: a result
    that overflowed is judged by its value (``draw_range`` reports it non-finite)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


class _Dist(BaseModel):
    # inf and nan are no one's figure for a scenario input; a missing key says "none".
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    discrete: ClassVar[bool] = False

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function, vectorised over ``u`` in (0, 1)."""
        inverse = _numerical_inverse(self)
        # errstate only: it is thread-local, and draws run on threads (warnings filters are not)
        with np.errstate(all="ignore"):
            if inverse is not None:
                generator, loc, scale = inverse
                return loc + scale * np.asarray(generator.ppf(u), dtype=np.float64)
            return np.asarray(self._frozen().ppf(u), dtype=np.float64)

    def draw_range(self) -> tuple[float, float]:
        """The smallest and largest values a draw can take: the quantiles at the smallest
        and largest uniforms the generator produces, 2^-24 and 1 - 2^-24.

        nan where float64 cannot compute them (parameters past its range); +-inf where
        a draw would overflow.
        """
        try:
            with _quiet():
                low, high = self.ppf(np.array([U_SMALLEST, U_LARGEST]))
        except (ArithmeticError, ValueError, RuntimeError):
            return math.nan, math.nan
        return float(low), float(high)

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

    def capped_mean(self, cap: float | None = None) -> float:
        """E[min(X, cap)], in the units of X: the mean of a draw held to a ceiling.

        ``cap`` None (or +inf) is no ceiling, and the answer is E[X]. A cap at or
        below the support's lower end caps every draw (the answer is ``cap``); one
        at or above its upper end caps none (E[X]). Caps inside the support go to
        the family's closed form, ``_capped_mean_inside``.
        """
        if cap is None or cap == math.inf:
            return self.mean()
        if math.isnan(cap):
            raise ValueError("a cap must be a number, got nan")
        lo, hi = self.support()
        if cap <= lo:
            return float(cap)
        if cap >= hi:
            return self.mean()
        with _quiet():
            return float(self._capped_mean_inside(float(cap)))

    @abstractmethod
    def _capped_mean_inside(self, cap: float) -> float:
        """E[min(X, cap)] for ``cap`` strictly inside the support: each family's closed form."""

    def clipped_mean(self, low: float = -math.inf, high: float = math.inf) -> float:
        """E[clip(X, low, high)]: the mean of a draw held to a floor and a ceiling.

        For low <= high, clip(X, low, high) = low + min(X, high) - min(X, low)
        (check X < low, low <= X <= high and X > high in turn), so::

            E[clip(X, low, high)] = low + E[min(X, high)] - E[min(X, low)],

        and a floor at or below the support leaves E[min(X, high)] alone.
        """
        if not low <= high:
            raise ValueError(f"clipping needs low <= high, got {low}, {high}")
        lo_s, hi_s = self.support()
        if low <= lo_s:
            return self.capped_mean(high)
        if low >= hi_s:
            return float(low)
        return float(low + self.capped_mean(high) - self.capped_mean(low))

    def _clipped_pmf_values(self, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
        """Values and probabilities of clip(X, low, high) for a discrete X with finite bounds."""
        rv = self._frozen()
        # Past the 1 - 1e-15 quantile the mass is negligible: never build a longer table.
        # (Only looked up when it lies below ``high``: SciPy's search for a far quantile
        # of a heavy tail, a negative binomial with dispersion 1e-3 say, takes minutes.)
        if rv.sf(high) <= 1e-15:
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
        with _quiet():
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


# Parameters are in the units of the input the distribution stands for.
UNITS = "[units of the input]"


class Fixed(_Dist):
    """One value (a plain number means the same)."""

    dist: Literal["fixed"] = Field(
        default="fixed", description='Distribution family: "fixed" (a plain number means the same)'
    )
    value: float = Field(description=f"The value {UNITS}")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.value, dtype=np.float64)

    def mean(self) -> float:
        return self.value

    def sd(self) -> float:
        return 0.0

    def support(self) -> tuple[float, float]:
        return self.value, self.value

    def draw_range(self) -> tuple[float, float]:
        return self.value, self.value

    def _capped_mean_inside(self, cap: float) -> float:
        # A point mass has no inside: capped_mean settles every cap before this.
        return min(self.value, cap)

    def _clipped_pmf_values(self, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
        return np.array([min(max(self.value, low), high)]), np.array([1.0])


class Uniform(_Dist):
    dist: Literal["uniform"] = Field(description='Distribution family: "uniform"')
    low: float = Field(description=f"Lower end {UNITS}")
    high: float = Field(description=f"Upper end {UNITS}")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.low < self.high:
            raise ValueError(f"uniform needs low < high, got low={self.low}, high={self.high}")
        return self

    def _frozen(self) -> Any:
        return stats.uniform(loc=self.low, scale=self.high - self.low)

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def _capped_mean_inside(self, cap: float) -> float:
        """E[min(X, c)] for X uniform on [a, h], a < c < h, w = h - a::

            c - (c - a)^2 / (2 w)          = c - E[(c - X)+]   (c below the middle)
            (a + h) / 2 - (h - c)^2 / (2 w) = E[X] - E[(X - c)+] (c above it)

        Each form subtracts the smaller piece, so neither cancels.
        """
        a, h = self.low, self.high
        w = h - a
        if cap <= self.mean():
            return cap - (cap - a) ** 2 / (2.0 * w)
        return self.mean() - (h - cap) ** 2 / (2.0 * w)


class Normal(_Dist):
    """Normal, optionally truncated to [low, high]."""

    dist: Literal["normal"] = Field(description='Distribution family: "normal"')
    mean_: float = Field(alias="mean", description=f"Mean, before truncation {UNITS}")
    sd_: float = Field(
        alias="sd", gt=0, description=f"Standard deviation, before truncation {UNITS}"
    )
    low: float = Field(
        default=-math.inf, description=f"Lower truncation bound; none: unbounded {UNITS}"
    )
    high: float = Field(
        default=math.inf, description=f"Upper truncation bound; none: unbounded {UNITS}"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.low < self.high:
            raise ValueError(f"normal truncation needs low < high, got {self.low}, {self.high}")
        a, b = (self.low - self.mean_) / self.sd_, (self.high - self.mean_) / self.sd_
        if special.ndtr(b) - special.ndtr(a) < 1e-9:
            raise ValueError("normal truncation [low, high] holds almost no probability")
        return self

    def _frozen(self) -> Any:
        a, b = self._bounds()
        return stats.truncnorm(a, b, loc=self.mean_, scale=self.sd_)

    def _bounds(self) -> tuple[float, float]:
        """The truncation bounds in standard units, (low - mean) / sd and (high - mean) / sd."""
        return (self.low - self.mean_) / self.sd_, (self.high - self.mean_) / self.sd_

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def mean(self) -> float:
        """E[X] = mean + sd (phi(alpha) - phi(beta)) / Z, Z = Phi(beta) - Phi(alpha),
        alpha and beta the standardised bounds (phi(+-inf) = 0)."""
        alpha, beta = self._bounds()
        z = normal_mass(alpha, beta)
        return self.mean_ + self.sd_ * phi_diff(alpha, beta) / z

    def _capped_mean_inside(self, cap: float) -> float:
        """E[min(X, c)] for X ~ N(mean, sd^2) truncated to [low, high], low < c < high.

        With Y = (X - mean) / sd on [alpha, beta], t = (c - mean) / sd,
        Z = Phi(beta) - Phi(alpha) and Phi(u, v) = Phi(v) - Phi(u)::

            E[(t - Y)+] = [t Phi(alpha, t) + phi(t) - phi(alpha)] / Z
            E[(Y - t)+] = [phi(t) - phi(beta) - t Phi(t, beta)] / Z

            E[min(X, c)] = c - sd E[(t - Y)+]     if P(Y < t) <= 1/2
                         = E[X] - sd E[(Y - t)+]  otherwise,

        so that the piece subtracted is the small one: a cap far below the bulk gives
        c itself to the last digit, one far above gives E[X]. Normal masses come
        from the tail where both ends lie (``normal_mass``); a cap just past a
        finite bound takes the bracket from a series (``normal_stop_loss``), as
        the closed form cancels there. By the symmetry phi(-y) = phi(y),
        E[(Y - t)+] Z is ``normal_stop_loss(-beta, beta - t)``.
        """
        alpha, beta = self._bounds()
        t = (cap - self.mean_) / self.sd_
        z = normal_mass(alpha, beta)
        if normal_mass(alpha, t) <= 0.5 * z:
            if math.isfinite(alpha):
                short = normal_stop_loss(alpha, t - alpha)
            else:
                short = max(t * normal_mass(alpha, t) + phi(t), 0.0)
            return cap - self.sd_ * short / z
        if math.isfinite(beta):
            over = normal_stop_loss(-beta, beta - t)
        else:
            over = max(phi(t) - t * normal_mass(t, beta), 0.0)
        return self.mean() - self.sd_ * over / z


class LogNormal(_Dist):
    """Lognormal given by ``median`` and ``p95``, or by ``mu`` and ``sigma`` of log X."""

    dist: Literal["lognormal"] = Field(description='Distribution family: "lognormal"')
    median: float | None = Field(
        default=None, gt=0, description=f"Median, with p95 (or give mu and sigma) {UNITS}"
    )
    p95: float | None = Field(default=None, gt=0, description=f"95th percentile {UNITS}")
    mu: float | None = Field(
        default=None, description="Mean of log X, with sigma [log of the units of the input]"
    )
    sigma: float | None = Field(default=None, gt=0, description="Standard deviation of log X [1]")

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

    def support(self) -> tuple[float, float]:
        return 0.0, math.inf

    def mean(self) -> float:
        """E[X] = exp(mu + sigma^2 / 2) (inf past float64's range)."""
        mu, sigma = self.log_params
        return exp_or_inf(mu + 0.5 * sigma * sigma)

    def _capped_mean_inside(self, cap: float) -> float:
        return lognormal_capped_mean(*self.log_params, cap=cap)


class Beta(_Dist):
    """Beta on [0, 1] given by its mean and standard deviation."""

    dist: Literal["beta"] = Field(description='Distribution family: "beta" (on 0..1)')
    mean_: float = Field(alias="mean", gt=0, lt=1, description=f"Mean, inside 0..1 {UNITS}")
    sd_: float = Field(alias="sd", gt=0, description=f"Standard deviation {UNITS}")

    @model_validator(mode="after")
    def _check(self) -> Self:
        limit = math.sqrt(self.mean_ * (1 - self.mean_))
        if not self.sd_ < limit:
            raise ValueError(f"beta with mean {self.mean_} needs sd < {limit:.4g}, got {self.sd_}")
        floor = MIN_RELATIVE_SD * min(self.mean_, 1 - self.mean_)
        if self.sd_ < floor:
            raise ValueError(
                f"beta with mean {self.mean_} needs sd >= {floor:.4g} ({MIN_RELATIVE_SD:g} x the"
                f" nearer of mean and 1 - mean; a narrower one is a fixed value), got {self.sd_:g}"
            )
        if not self.sd_**2 >= np.finfo(np.float64).tiny:
            raise ValueError(f"beta sd {self.sd_:g} is too small for float64 (sd^2 underflows)")
        return self

    def _shapes(self) -> tuple[float, float]:
        m, v = self.mean_, self.sd_**2
        k = m * (1 - m) / v - 1
        return m * k, (1 - m) * k

    def _frozen(self) -> Any:
        return stats.beta(*self._shapes())

    def _standard_density(self) -> tuple[Any, float, float]:
        return _BetaDensity(*self._shapes()), 0.0, 1.0

    def mean(self) -> float:
        return self.mean_

    def support(self) -> tuple[float, float]:
        return 0.0, 1.0

    def _capped_mean_inside(self, cap: float) -> float:
        """E[min(X, c)] by the incomplete beta function (``beta_capped_mean``)."""
        return beta_capped_mean(*self._shapes(), low=0.0, width=1.0, cap=cap)


class Triangular(_Dist):
    dist: Literal["triangular"] = Field(description='Distribution family: "triangular"')
    low: float = Field(description=f"Lower end {UNITS}")
    mode: float = Field(description=f"Most likely value {UNITS}")
    high: float = Field(description=f"Upper end {UNITS}")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("triangular needs low <= mode <= high and low < high")
        return self

    def _frozen(self) -> Any:
        width = self.high - self.low
        return stats.triang((self.mode - self.low) / width, loc=self.low, scale=width)

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def _capped_mean_inside(self, cap: float) -> float:
        """E[min(X, c)] for X triangular on [a, h] with mode m, a < c < h, w = h - a.

        The CDF is F(x) = (x - a)^2 / (w (m - a)) up to m and
        1 - (h - x)^2 / (w (h - m)) beyond it, and E[min(X, c)] = c - integral of
        F from a to c::

            c - (c - a)^3 / (3 w (m - a))                          for c <= m
            m - (m - a)^2 / (3 w) + (c - m) S / (3 w (h - m))       for c > m,
            S = (h - m)^2 + (h - m)(h - c) + (h - c)^2,

        the second from (h - m)^3 - (h - c)^3 = (c - m) S, so that a cap just
        above a mode at a does not cancel. At c = h it is (a + m + h) / 3.
        """
        a, m, h = self.low, self.mode, self.high
        w = h - a
        if cap <= m:
            return cap - (cap - a) ** 3 / (3.0 * w * (m - a))
        s = (h - m) ** 2 + (h - m) * (h - cap) + (h - cap) ** 2
        return m - (m - a) ** 2 / (3.0 * w) + (cap - m) * s / (3.0 * w * (h - m))


class Pert(_Dist):
    """PERT: a beta on [low, high] with its mode at ``mode``; ``shape`` 4 is the classic."""

    dist: Literal["pert"] = Field(description='Distribution family: "pert"')
    low: float = Field(description=f"Lower end {UNITS}")
    mode: float = Field(description=f"Most likely value {UNITS}")
    high: float = Field(description=f"Upper end {UNITS}")
    shape: float = Field(
        default=4.0, gt=0, description="Weight of the mode; 4 is the classic PERT [1]"
    )

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

    def mean(self) -> float:
        a, b = self._shapes()
        return self.low + (self.high - self.low) * a / (a + b)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def _capped_mean_inside(self, cap: float) -> float:
        """E[min(X, c)] by the incomplete beta function (``beta_capped_mean``)."""
        return beta_capped_mean(*self._shapes(), low=self.low, width=self.high - self.low, cap=cap)


class Gamma(_Dist):
    dist: Literal["gamma"] = Field(description='Distribution family: "gamma"')
    mean_: float = Field(alias="mean", gt=0, description=f"Mean {UNITS}")
    sd_: float = Field(alias="sd", gt=0, description=f"Standard deviation {UNITS}")

    @model_validator(mode="after")
    def _check(self) -> Self:
        # shape (mean / sd)^2 between 1e-6 and 1e18: float64 holds it, and its draws
        ratio = self.sd_ / self.mean_
        if not MIN_RELATIVE_SD <= ratio <= 1e3:
            raise ValueError(
                f"gamma needs sd between {MIN_RELATIVE_SD:g} and 1000 x its mean (shape"
                f" (mean / sd)^2 from 1e-6 to 1e18), got mean {self.mean_:g}, sd {self.sd_:g}"
            )
        return self

    def _frozen(self) -> Any:
        shape = (self.mean_ / self.sd_) ** 2
        return stats.gamma(shape, scale=self.mean_ / shape)

    def _standard_density(self) -> tuple[Any, float, float]:
        shape = (self.mean_ / self.sd_) ** 2
        return _GammaDensity(shape), 0.0, self.mean_ / shape

    def mean(self) -> float:
        return self.mean_

    def support(self) -> tuple[float, float]:
        return 0.0, math.inf

    def _capped_mean_inside(self, cap: float) -> float:
        """E[min(X, c)] for X ~ Gamma(shape k, scale theta), k = (mean/sd)^2,
        theta = sd^2 / mean, in the units of X::

            k theta P(k + 1, c / theta) + c Q(k, c / theta),

        P and Q the regularised lower and upper incomplete gamma functions. The
        first term is E[X; X < c] (x times the Gamma(k) density is k theta times
        the Gamma(k + 1) density), the second c P(X > c); both non-negative.
        """
        k = (self.mean_ / self.sd_) ** 2
        x = cap * self.mean_ / self.sd_ / self.sd_
        return float(self.mean_ * special.gammainc(k + 1.0, x) + cap * special.gammaincc(k, x))


# Counts beyond every documented range; past it SciPy's quantile search slows to minutes
MAX_COUNT_MEAN = 1e12


class Poisson(_Dist):
    dist: Literal["poisson"] = Field(description='Distribution family: "poisson" (a count)')
    mean_: float = Field(alias="mean", gt=0, le=MAX_COUNT_MEAN, description=f"Mean {UNITS}")
    discrete: ClassVar[bool] = True

    def _frozen(self) -> Any:
        return stats.poisson(self.mean_)

    def mean(self) -> float:
        return self.mean_

    def support(self) -> tuple[float, float]:
        return 0.0, math.inf

    def _capped_mean_inside(self, cap: float) -> float:
        """E[min(X, c)] for X ~ Poisson(lam), c > 0 real, n = floor(c).

        X <= n means X <= c and X >= n + 1 means X > c, so
        E[min(X, c)] = E[X; X <= n] + c P(X >= n + 1); and k P(X = k) =
        lam P(X = k - 1) gives E[X; X <= n] = lam P(X <= n - 1). In incomplete
        gamma functions (P(X <= j) = Q(j + 1, lam))::

            lam Q(n, lam) + c P(n + 1, lam)        (n >= 1)
            c (1 - exp(-lam))                       (n = 0)
        """
        lam = self.mean_
        n = math.floor(cap)
        if n == 0:
            return -cap * math.expm1(-lam)
        return float(lam * special.gammaincc(n, lam) + cap * special.gammainc(n + 1.0, lam))


class NegativeBinomial(_Dist):
    """Negative binomial by mean and dispersion r: variance = mean + mean^2 / r."""

    dist: Literal["negative_binomial"] = Field(
        description='Distribution family: "negative_binomial" (an overdispersed count)'
    )
    mean_: float = Field(alias="mean", gt=0, le=MAX_COUNT_MEAN, description=f"Mean {UNITS}")
    # below 1e-3 (sd over 30 x the mean) SciPy's quantile search slows to seconds, and
    # above 1e12 it is a Poisson
    dispersion: float = Field(
        ge=1e-3,
        le=1e12,
        description=f"r in variance = mean + mean^2 / r; large r: nearly Poisson {UNITS}",
    )
    discrete: ClassVar[bool] = True

    def _frozen(self) -> Any:
        r = self.dispersion
        return stats.nbinom(r, r / (r + self.mean_))

    def mean(self) -> float:
        return self.mean_

    def support(self) -> tuple[float, float]:
        return 0.0, math.inf

    def _capped_mean_inside(self, cap: float) -> float:
        """E[min(X, c)] for X ~ NB(r, p), p = r / (r + mean), c > 0 real, n = floor(c).

        As for the Poisson, E[min(X, c)] = E[X; X <= n] + c P(X >= n + 1). Here
        k P_r(X = k) = mean P_{r+1}(X = k - 1) (the NB with r + 1 and the same p),
        and P_r(X <= j) = I_p(r, j + 1), I the regularised incomplete beta::

            mean I_p(r + 1, n) + c (1 - I_p(r, n + 1))     (n >= 1)
            c (1 - p^r)                                     (n = 0)

        I_p(a, b) is taken as 1 - I_{1-p}(b, a) when p > 1/2, so that p near 1
        (a nearly Poisson NB) keeps its precision through 1 - p = mean / (r + mean).

        SciPy's incomplete beta loses up to ~1e-9 for a large r (1e5 to 1e9) with a
        small mean; there (r >= 1e4 and a short bulk) the pmf table is summed
        instead (``_capped_mean_by_table``).
        """
        r, mu = self.dispersion, self.mean_
        n = math.floor(cap)
        if n == 0:
            return -cap * math.expm1(-r * math.log1p(mu / r))
        if r >= _NB_TABLE_MIN_DISPERSION:
            top = self._table_top()
            if top <= _NB_TABLE_MAX:
                return self._capped_mean_by_table(cap, top)
        p, q = r / (r + mu), mu / (r + mu)

        def below(a: float, b: float) -> float:  # I_p(a, b)
            return special.betainc(a, b, p) if p <= 0.5 else special.betaincc(b, a, q)

        def above(a: float, b: float) -> float:  # 1 - I_p(a, b)
            return special.betaincc(a, b, p) if p <= 0.5 else special.betainc(b, a, q)

        return float(mu * below(r + 1.0, n) + cap * above(r, n + 1.0))

    def _table_top(self) -> int:
        """A count past which the mass is below 1e-17: mean + 40 sd + 40 (for r >= 1e4,
        whose tails are near-Poisson)."""
        mu, r = self.mean_, self.dispersion
        return math.ceil(mu + 40.0 * math.sqrt(mu + mu * mu / r) + 40.0)

    def _capped_mean_by_table(self, cap: float, top: int) -> float:
        """E[min(X, c)] = sum_k min(k, c) P(X = k) over k = 0..top.

        The weights come from the ratio P(X = k) / P(X = k - 1) =
        (k - 1 + r) q / k = (mean / k) (1 + (k - 1 - mean) / (r + mean)), summed
        in logs and normalised, so neither P(X = 0) underflowing nor the rounding
        of p matters; the part above c is summed on its own (no 1 - cdf).
        """
        mu, r = self.mean_, self.dispersion
        k = np.arange(1, top + 1, dtype=np.float64)
        log_ratio = np.log(mu / k) + np.log1p((k - 1.0 - mu) / (r + mu))
        log_w = np.concatenate(([0.0], np.cumsum(log_ratio)))
        w = np.exp(log_w - log_w.max())
        n = min(math.floor(cap), top)
        counts = np.arange(top + 1, dtype=np.float64)
        below = float(np.sum(counts[: n + 1] * w[: n + 1]))
        above = float(np.sum(w[n + 1 :]))
        return (below + cap * above) / float(np.sum(w))


class Empirical(_Dist):
    """Equal weight on each listed value (e.g. figures read off past data)."""

    dist: Literal["empirical"] = Field(description='Distribution family: "empirical"')
    values: list[float] = Field(
        min_length=1, description=f"Values drawn with equal weight, in any order {UNITS}"
    )

    def ppf(self, u: np.ndarray) -> np.ndarray:
        # sorted: a quantile function, whatever order the values are listed in
        v = np.sort(np.asarray(self.values, dtype=np.float64))
        index = np.minimum((np.asarray(u) * len(v)).astype(np.int64), len(v) - 1)
        return v[index]

    def mean(self) -> float:
        return float(np.mean(self.values))

    def sd(self) -> float:
        return float(np.std(self.values))

    def support(self) -> tuple[float, float]:
        return float(min(self.values)), float(max(self.values))

    def _capped_mean_inside(self, cap: float) -> float:
        """E[min(X, c)]: the average of min(value, c) over the listed values."""
        return math.fsum(min(v, cap) for v in self.values) / len(self.values)

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
