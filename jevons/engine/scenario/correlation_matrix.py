"""Rank correlation tables and their normal-scale matrices: the algebra of the copula
that the scenario's ``[correlations]`` check needs before anything runs.

For normal variables Spearman's and Pearson's correlations are tied by
``rho_s = (6 / pi) arcsin(rho / 2)`` (Kruskal 1958 [1]); a table is valid when
its normal-scale matrix is positive semi-definite, and an invalid one gets the
nearest valid table as a suggestion (Higham 2002 [2]). The copula itself, which
mixes the draws, is :mod:`jevons.engine.preparation.copula`.

References
----------
.. [1] W. H. Kruskal, "Ordinal measures of association", JASA 53 (1958) 814-861.
.. [2] N. J. Higham, "Computing the nearest correlation matrix: a problem from
   finance", IMA J. Numer. Anal. 22 (2002) 329-343.
"""

from __future__ import annotations

import numpy as np

PAIR_SEPARATOR = "|"
# Eigenvalues above this count as non-negative: rounding error of an exactly singular matrix.
PSD_TOLERANCE = 1e-10
# A suggested matrix keeps its smallest eigenvalue at least this far from zero, so that the
# suggestion still holds once its values are rounded to 3 decimals for the user.
SUGGESTION_MARGINS = (1e-3, 1e-2, 5e-2)


def normal_correlation(spearman: np.ndarray | float) -> np.ndarray:
    """Pearson correlation on the normal scale with Spearman rank correlation ``spearman``."""
    return 2.0 * np.sin(np.pi * np.asarray(spearman, dtype=np.float64) / 6.0)


def spearman_correlation(normal: np.ndarray | float) -> np.ndarray:
    """Spearman rank correlation of two normals of Pearson correlation ``normal``."""
    return 6.0 / np.pi * np.arcsin(np.asarray(normal, dtype=np.float64) / 2.0)


Pairs = tuple[tuple[str, str, float], ...]  # (path a, path b, Spearman rank correlation)


def correlation_matrix(paths: tuple[str, ...], pairs: Pairs) -> np.ndarray:
    """The normal-scale correlation matrix of ``paths`` (unlisted pairs: 0)."""
    index = {path: k for k, path in enumerate(paths)}
    matrix = np.eye(len(paths))
    for a, b, spearman in pairs:
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = normal_correlation(spearman)
    return matrix


def smallest_eigenvalue(matrix: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(matrix)[0])


def nearest_correlation(
    matrix: np.ndarray, free: np.ndarray, min_eigenvalue: float = 0.0, iterations: int = 10_000
) -> np.ndarray:
    """The correlation matrix nearest ``matrix`` in the Frobenius norm whose eigenvalues are
    at least ``min_eigenvalue`` and whose entries outside ``free`` (a boolean mask) equal
    ``matrix``'s: Higham's alternating projections with Dykstra's correction [2].

    Held entries are the unit diagonal and the pairs the table does not name (0), so the
    answer is a table the user can write: only the given pairs move.
    """
    held = ~free
    target = matrix.copy()
    correction = np.zeros_like(matrix)
    projected = matrix.copy()
    for _ in range(iterations):
        shifted = projected - correction
        values, vectors = np.linalg.eigh(shifted)
        definite = (vectors * np.maximum(values, min_eigenvalue)) @ vectors.T
        correction = definite - shifted
        projected = np.where(held, target, definite)
        if np.linalg.norm(projected - definite) <= 1e-12 * max(1.0, np.linalg.norm(projected)):
            break
    return (projected + projected.T) / 2.0


def suggest_spearman(paths: tuple[str, ...], pairs: Pairs) -> Pairs:
    """The nearest valid table to ``pairs``: the same pairs, their Spearman values rounded to
    3 decimals, whose normal-scale matrix is positive semi-definite (checked after rounding)."""
    matrix = correlation_matrix(paths, pairs)
    index = {path: k for k, path in enumerate(paths)}
    free = np.zeros(matrix.shape, dtype=bool)
    for a, b, _ in pairs:
        free[index[a], index[b]] = free[index[b], index[a]] = True
    for margin in SUGGESTION_MARGINS:
        nearest = nearest_correlation(matrix, free, margin)
        suggested = tuple(
            (a, b, round(float(spearman_correlation(nearest[index[a], index[b]])), 3))
            for a, b, _ in pairs
        )
        if smallest_eigenvalue(correlation_matrix(paths, suggested)) >= 0.0:
            return suggested
    # The identity satisfies every constraint: no pair correlated is always valid.
    return tuple((a, b, 0.0) for a, b, _ in pairs)
