"""A Gaussian copula: rank correlations between per-trajectory inputs.

The scenario's ``[correlations]`` table gives Spearman rank correlations
``rho_s`` between pairs of inputs. For normal variables Spearman's and
Pearson's correlations are tied by ``rho_s = (6 / pi) arcsin(rho / 2)``
(Kruskal 1958), so the copula runs on the normal scale,
``rho = 2 sin(pi rho_s / 6)``, and its matrix must be positive semi-definite
there. Each input keeps its own uniform from its own Philox stream; the
uniforms of the correlated inputs become standard normals ``z = Phi^-1(u)``,
are mixed by the matrix's factor ``L`` (``x = L z``), and go back to uniforms
``u' = Phi(x)`` for each input's own quantile function. Trajectory ``i``'s
values are a function of its own uniforms alone, so of ``(seed, i)``.

The matrix algebra it shares with the scenario's check lives in
:mod:`jevons.engine.scenario.correlation_matrix`.

References
----------
.. [1] W. H. Kruskal, "Ordinal measures of association", JASA 53 (1958) 814-861.
.. [2] N. J. Higham, "Computing the nearest correlation matrix: a problem from
   finance", IMA J. Numer. Anal. 22 (2002) 329-343.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import ndtr, ndtri

from jevons.engine.scenario.correlation_matrix import Pairs, correlation_matrix


@lru_cache(maxsize=64)
def copula_factor(paths: tuple[str, ...], pairs: Pairs) -> np.ndarray:
    """``L`` with ``L L^T`` the normal-scale matrix of ``paths``; factored once per table.

    Cholesky where the matrix is positive definite; for a singular one (a rank
    correlation of +-1, say) the eigen-decomposition, clipped at 0 and with each row scaled
    back to unit length so that every mixed normal keeps variance 1.
    """
    matrix = correlation_matrix(paths, pairs)
    try:
        factor = np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(matrix)
        factor = vectors * np.sqrt(np.maximum(values, 0.0))
        factor /= np.linalg.norm(factor, axis=1, keepdims=True)
    factor.setflags(write=False)  # shared by every call through the cache
    return factor


def correlate_uniforms(
    uniforms: np.ndarray, factor: np.ndarray, smallest: float, largest: float
) -> np.ndarray:
    """Uniforms (inputs, trajectories) mixed by the copula: each column on its own.

    The result is held to [``smallest``, ``largest``], the range of the generator's own
    uniforms, so no input draws beyond the quantiles its scenario checks were made at.
    """
    normals = ndtri(uniforms)
    mixed = np.empty_like(normals)
    for j, row in enumerate(factor):
        # Term by term, not a matrix product: BLAS may sum a column differently at another
        # chunk length, and a trajectory's draws must not depend on its chunk.
        total = row[0] * normals[0]
        for weight, normal in zip(row[1:], normals[1:], strict=True):
            total = total + weight * normal
        mixed[j] = total
    return np.clip(ndtr(mixed), smallest, largest)
