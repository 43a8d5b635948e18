"""Which uncertain input drives which output: rank correlation, first-order Sobol
indices from the given data, and tornado medians, from a run's kept trajectories.

The first-order Sobol index of input X for output Y is

.. math:: S = \\operatorname{Var}(E[Y \\mid X]) / \\operatorname{Var}(Y),

the share of the output's variance that X explains alone. From given data (the
trajectories a run made, not a designed sample) it is estimated by sorting the
trajectories on X into B bins of equal count and reading E[Y | X] as each bin's mean
(one-way analysis of variance), with the noise of the bin means taken out:

.. math:: \\hat S = \\frac{SS_B - (B - 1)\\, SS_W / (n - B)}{SS_T}

(:math:`SS_B`, :math:`SS_W`, :math:`SS_T`: between-bin, within-bin and total sums of
squares). Without the correction a bin mean's own sampling noise adds about
(B - 1)(1 - S)/n to S, which is 0.005 at 20,000 trajectories and 100 bins.

B = floor(sqrt(n)), at least 2 and at most 100: more bins follow E[Y | X] more
closely (a smooth effect loses about 1/B^2 of its variance inside the bins, 1e-4 at
100) while each bin mean gets noisier; past 100 bins the noise costs more than the
detail gains.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.sparse import csr_matrix
from scipy.stats import spearmanr

from jevons.errors import JevonsError

OUTPUTS = ("total_cost", "max_peak_gpus", "horizon_cost_per_mtok")
MAX_BINS = 100
BOOTSTRAP_RESAMPLES = 200
BOOTSTRAP_SEED = 20270101
CONFIDENCE = 0.95
TORNADO_SHARE = 0.10  # bottom and top decile
MIN_TRAJECTORIES = 20
VARIABLES = (
    "sensitivity_spearman",
    "sobol_first",
    "sobol_first_low",
    "sobol_first_high",
    "tornado_low",
    "tornado_high",
)


def bin_count(n: int) -> int:
    """Bins for ``n`` trajectories: floor(sqrt(n)), between 2 and :data:`MAX_BINS`."""
    return int(min(MAX_BINS, max(2, np.floor(np.sqrt(n)))))


def rank_bins(x: np.ndarray, bins: int) -> np.ndarray:
    """Each sample's bin, 0..bins-1, by its rank in ``x`` (ties in trajectory order),
    so that every bin holds n/bins samples to within one."""
    order = np.argsort(x, kind="stable")
    labels = np.empty(len(x), dtype=np.int64)
    labels[order] = np.arange(len(x)) * bins // len(x)
    return labels


def binned_first_order(labels: np.ndarray, y: np.ndarray, bins: int, weights=None) -> np.ndarray:
    """Noise-corrected first-order index of each row of ``labels`` for output ``y``.

    ``labels`` has shape (inputs, n): each input's bin of every sample. ``weights``
    (shape (n, r)) counts how often each sample is drawn in each of r resamples; without
    it the sample itself is analysed. Returns shape (inputs,), or (inputs, r) with
    ``weights`` (NaN where the output does not vary).
    """
    inputs, n = labels.shape
    single = weights is None
    w = np.ones((n, 1)) if single else np.asarray(weights, dtype=np.float64)
    y = y - y.mean()  # sums of squares from deviations: little cancellation
    # one sparse matrix sums every input's bins at once: row k * bins + b is input k's bin b
    rows = (labels + bins * np.arange(inputs)[:, None]).ravel()
    cols = np.tile(np.arange(n), inputs)
    member = csr_matrix((np.ones(inputs * n), (rows, cols)), shape=(inputs * bins, n))
    counts = (member @ w).reshape(inputs, bins, -1)
    sums = (member @ (w * y[:, None])).reshape(inputs, bins, -1)
    size = w.sum(axis=0)
    grand = (w * y[:, None]).sum(axis=0)
    total = (w * (y**2)[:, None]).sum(axis=0) - grand**2 / size
    filled = counts > 0
    between = np.where(filled, sums**2 / np.where(filled, counts, 1), 0.0).sum(axis=1)
    between -= grand**2 / size
    groups = filled.sum(axis=1)
    within_mean_square = (total - between) / (size - groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        index = (between - (groups - 1) * within_mean_square) / total
    index = np.where(total > 0, index, np.nan)
    return index[:, 0] if single else index


BOOTSTRAP_BATCH = 25  # resamples summed at once: n x 25 counts in memory


def sobol_first_order(
    x: np.ndarray,
    y: np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-order Sobol indices of the inputs ``x`` (shape (inputs, n)) for output ``y``
    (shape (n,)), with a bootstrap interval.

    Returns (estimate, low, high), one value per input. The interval spans the 2.5th to
    97.5th percentile of the estimate over ``resamples`` bootstrap resamples of the
    trajectories (drawn with replacement, the same resamples for every input; each
    trajectory keeps the bin it has in the whole sample), from a generator seeded with
    ``seed`` so that the same result gives the same bounds. The replicates are moved to
    centre on the estimate: a resample's "population" is the sample itself, bin noise
    included, so they centre on the uncorrected index, about (B - 1)(1 - S)/n too high,
    while their spread is the estimate's own.
    """
    n = len(y)
    bins = bin_count(n)
    labels = np.stack([rank_bins(row, bins) for row in x])
    estimate = binned_first_order(labels, y, bins)
    rng = np.random.default_rng(seed)
    replicates = []
    for start in range(0, resamples, BOOTSTRAP_BATCH):
        batch = min(BOOTSTRAP_BATCH, resamples - start)
        drawn = np.stack(
            [np.bincount(rng.integers(0, n, size=n), minlength=n) for _ in range(batch)]
        )
        replicates.append(binned_first_order(labels, y, bins, weights=drawn.T))
    spread = np.concatenate(replicates, axis=1)
    spread += (estimate - spread.mean(axis=1))[:, None]
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(spread, [tail, 100 - tail], axis=1)
    return estimate, low, high


def spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each row of ``x`` (shape (inputs, n)) with ``y``."""
    if len(x) == 1:
        return np.array([spearmanr(x[0], y).statistic])
    matrix = spearmanr(np.vstack([x, y]), axis=1).statistic
    return np.asarray(matrix)[-1, :-1]


def tornado(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The median of ``y`` over the samples whose input (each row of ``x``) is at or
    below its 10th percentile, and at or above its 90th (NumPy's linear percentiles)."""
    low_edge, high_edge = np.percentile(x, [TORNADO_SHARE * 100, 100 - TORNADO_SHARE * 100], axis=1)
    low = np.array([np.median(y[row <= edge]) for row, edge in zip(x, low_edge, strict=True)])
    high = np.array([np.median(y[row >= edge]) for row, edge in zip(x, high_edge, strict=True)])
    return low, high


def uncertain_inputs(ds: xr.Dataset) -> tuple[list[str], list[str], np.ndarray]:
    """The kept inputs as (key paths, units, values of shape (inputs, n)).

    An input with a ``hardware`` dim is one input per profile (its key path names the
    profile); a profile whose figure is fixed explains nothing and is left out.
    """
    paths, units, rows = [], [], []
    for name in sorted(str(v) for v in ds.data_vars if str(v).startswith("drawn_")):
        var = ds[name]
        if "hardware" in var.dims:
            for hw in var.hardware.values:
                values = var.sel(hardware=hw).transpose("trajectory").values
                if values.min() != values.max():
                    # the stored key path holds "<hardware>" where the profile's name goes
                    paths.append(var.attrs["key_path"].replace("<hardware>", str(hw)))
                    units.append(var.attrs.get("units", ""))
                    rows.append(values)
        else:
            paths.append(var.attrs["key_path"])
            units.append(var.attrs.get("units", ""))
            rows.append(var.transpose("trajectory").values)
    return paths, units, np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)


def sensitivity(ds: xr.Dataset) -> xr.Dataset:
    """The sensitivity variables of a result made with ``--keep-trajectories``.

    Dims (``input``, ``output``, ``hardware``); ``input`` is labelled by scenario key.
    An output that is not finite in some trajectories (no output tokens, so no cost
    per token) is analysed over the trajectories where it is.
    """
    if "trajectory" not in ds.dims or f"trajectory_{OUTPUTS[0]}" not in ds:
        raise JevonsError(
            "the result has no kept trajectories; run it with --keep-trajectories"
            " (or jevons run --sensitivity)"
        )
    if ds.sizes["trajectory"] < MIN_TRAJECTORIES:
        raise JevonsError(
            f"sensitivity needs at least {MIN_TRAJECTORIES} trajectories;"
            f" the result keeps {ds.sizes['trajectory']}"
        )
    paths, input_units, x = uncertain_inputs(ds)
    if not paths:
        raise JevonsError("the result has no uncertain inputs: every input is fixed")
    hardware = [str(h) for h in ds.hardware.values]
    shape = (len(paths), len(OUTPUTS), len(hardware))
    results = {name: np.full(shape, np.nan) for name in VARIABLES}
    output_units = []
    for j, output in enumerate(OUTPUTS):
        var = ds[f"trajectory_{output}"]
        output_units.append(var.attrs.get("units", ""))
        for h, hw in enumerate(hardware):
            y = var.sel(hardware=hw).transpose("trajectory").values.astype(np.float64)
            finite = np.isfinite(y)
            if finite.sum() < MIN_TRAJECTORIES:
                continue
            xs, y = x[:, finite], y[finite]
            if y.min() == y.max():
                continue  # nothing to explain
            estimate, low, high = sobol_first_order(xs, y)
            bottom, top = tornado(xs, y)
            for name, values in (
                ("sensitivity_spearman", spearman(xs, y)),
                ("sobol_first", estimate),
                ("sobol_first_low", low),
                ("sobol_first_high", high),
                ("tornado_low", bottom),
                ("tornado_high", top),
            ):
                results[name][:, j, h] = values
    n = ds.sizes["trajectory"]
    sobol_attrs = {
        "units": "1",
        "bins": bin_count(n),
        "method": "equal-count bins on the ranked input, noise-corrected (see docs)",
    }
    bound_attrs = {
        "units": "1",
        "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
        "bootstrap_seed": BOOTSTRAP_SEED,
    }
    tornado_units = "units of each output (see output_units)"
    attrs = {
        "sensitivity_spearman": {
            "units": "1",
            "long_name": "Spearman rank correlation of the output with the input",
        },
        "sobol_first": {
            **sobol_attrs,
            "long_name": "first-order Sobol index: share of the output's variance the"
            " input explains alone",
        },
        "sobol_first_low": {
            **bound_attrs,
            "long_name": "first-order Sobol index, 2.5th bootstrap percentile",
        },
        "sobol_first_high": {
            **bound_attrs,
            "long_name": "first-order Sobol index, 97.5th bootstrap percentile",
        },
        "tornado_low": {
            "units": tornado_units,
            "long_name": "median output over trajectories with the input in its bottom decile",
        },
        "tornado_high": {
            "units": tornado_units,
            "long_name": "median output over trajectories with the input in its top decile",
        },
    }
    dims = ("input", "output", "hardware")
    out = xr.Dataset(
        {name: (dims, results[name], attrs[name]) for name in VARIABLES},
        coords={
            "input": paths,
            "output": list(OUTPUTS),
            "hardware": hardware,
            "input_units": ("input", input_units, {"long_name": "units of each input"}),
            "output_units": ("output", output_units, {"long_name": "units of each output"}),
        },
    )
    out["input"].attrs["long_name"] = "uncertain input, by scenario key"
    out["output"].attrs["long_name"] = "horizon output, per trajectory"
    return out


def add_sensitivity(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with its sensitivity variables (any earlier ones replaced)."""
    analysis = sensitivity(ds)
    earlier = [name for name in (*VARIABLES, "input_units", "output_units") if name in ds]
    kept = ds.drop_vars(earlier).drop_dims(["input", "output"], errors="ignore")
    return xr.merge([kept, analysis], combine_attrs="override")
