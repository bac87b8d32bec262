"""Multiple-testing corrections of the p-values of a drift report: :func:`adjust_pvalues`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError

#: Multiple-testing corrections accepted by :func:`compare`.
CORRECTIONS = ("none", "bonferroni", "holm", "bh", "by")


def adjust_pvalues(pvalues: Any, method: str = "bh") -> np.ndarray:
    """p-values adjusted for multiple testing (vectorised, in the input order).

    Parameters
    ----------
    pvalues : array_like of float
        The raw p-values of the family.
    method : {"none", "bonferroni", "holm", "bh", "by"}
        ``bonferroni``: ``min(1, m p)``; ``holm``: Holm's step-down,
        ``max_{j <= i} min(1, (m - j + 1) p_(j))``; ``bh``: Benjamini-Hochberg,
        ``min_{j >= i} min(1, m p_(j) / j)``; ``by``: Benjamini-Yekutieli, BH times
        ``sum_{i <= m} 1/i``. ``bh`` and ``by`` equal
        ``scipy.stats.false_discovery_control``.

    Returns
    -------
    numpy.ndarray
        The adjusted p-values; a hypothesis is rejected at level ``alpha`` when its
        adjusted p-value is below ``alpha``.

    Examples
    --------
    >>> from mlsentry.drift import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_pvalues([0.01, 0.04, 0.03], "bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in CORRECTIONS:
        raise InvalidInputError(
            f"correction: expected one of {', '.join(CORRECTIONS)}, got {method!r}"
        )
    p = np.asarray(pvalues, dtype=np.float64).reshape(-1)
    m = p.size
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate(ranked * (m - np.arange(m)))
    else:
        adj = ranked * m / np.arange(1, m + 1)
        if method == "by":
            adj = adj * np.sum(1.0 / np.arange(1, m + 1))
        adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out
