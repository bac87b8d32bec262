"""The ROC of a membership score, reported as the research reports it: the true-positive
rate at a low false-positive rate with an exact (Clopper-Pearson) interval, the AUC, and the
attacker's advantage; and the empirical differential-privacy bound a measured attack proves.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, Optional

import numpy as np

from .. import _core
from ..errors import InvalidInputError, InvalidTypeError

__all__ = ["MembershipROC", "clopper_pearson", "epsilon_lower_bound", "roc"]

#: Most points of a curve kept in a report's JSON; a longer curve keeps, for each of this
#: many log-spaced FPR values, the point :meth:`MembershipROC.tpr_at` chooses there.
CURVE_POINTS = 4000


def check_rate(value: Any, name: str, *, open_low: bool = False) -> float:
    """``value`` as a float in [0, 1] (``(0, 1]`` with ``open_low``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name}: expected a number in [0, 1], got {type(value).__name__}")
    v = float(value)
    if not (0.0 < v <= 1.0 if open_low else 0.0 <= v <= 1.0):
        low = "(0" if open_low else "[0"
        raise InvalidInputError(f"{name}: expected a number in {low}, 1], got {value!r}")
    return v


def check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise InvalidTypeError(
            f"confidence: expected a number in (0, 1), got {type(confidence).__name__}"
        )
    if not 0.0 < float(confidence) < 1.0:
        raise InvalidInputError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    return float(confidence)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact two-sided binomial interval of ``k`` successes in ``n`` trials, as
    ``scipy.stats.binomtest(k, n).proportion_ci(confidence, method="exact")``.

    Examples
    --------
    >>> from mlsentry.privacy import clopper_pearson
    >>> [round(v, 4) for v in clopper_pearson(7, 20)]
    [0.1539, 0.5922]
    """
    return _core.privacy_clopper_pearson(int(k), int(n), check_confidence(confidence))


class MembershipROC:
    """The ROC curve of a membership attack (higher score = called a member).

    One point per distinct score: ``tp[i]`` members and ``fp[i]`` non-members score at
    least ``thresholds[i]``. The first point is (0, 0) at threshold ``+inf``.

    Attributes
    ----------
    tp, fp : ndarray of int64
    thresholds : ndarray of float64 or None
        None for a curve read back from a report (JSON keeps the counts only).
    n_members, n_nonmembers : int
    auc : float
        Area under the curve, ties counted half (the Mann-Whitney probability that a member
        scores above a non-member).
    """

    def __init__(
        self,
        tp: np.ndarray,
        fp: np.ndarray,
        n_members: int,
        n_nonmembers: int,
        auc: float,
        thresholds: Optional[np.ndarray] = None,
    ) -> None:
        self.tp = np.asarray(tp, dtype=np.int64)
        self.fp = np.asarray(fp, dtype=np.int64)
        self.n_members = int(n_members)
        self.n_nonmembers = int(n_nonmembers)
        self.auc = float(auc)
        self.thresholds = thresholds

    @property
    def tpr(self) -> np.ndarray:
        return self.tp / self.n_members

    @property
    def fpr(self) -> np.ndarray:
        return self.fp / self.n_nonmembers

    def _index(self, fpr: Any) -> int:
        a = check_rate(fpr, "fpr")
        # fp is non-decreasing: the last point with FPR <= a has the largest TPR.
        return max(int(np.searchsorted(self.fpr, a, side="right")) - 1, 0)

    def tpr_at(self, fpr: float) -> float:
        """The largest TPR over the thresholds whose FPR is at most ``fpr`` (no
        interpolation: a threshold an attacker can use)."""
        return float(self.tpr[self._index(fpr)])

    def threshold_at(self, fpr: float) -> Optional[float]:
        """The score threshold of :meth:`tpr_at` (None when read back from JSON)."""
        if self.thresholds is None:
            return None
        return float(self.thresholds[self._index(fpr)])

    def tpr_interval(self, fpr: float, confidence: float = 0.95) -> tuple[float, float]:
        """Clopper-Pearson interval of :meth:`tpr_at` (the threshold taken as fixed: the
        interval covers the members' sampling, not the choice of threshold)."""
        tp = int(self.tp[self._index(fpr)])
        return clopper_pearson(tp, self.n_members, confidence)

    @property
    def advantage(self) -> float:
        """The attacker's membership advantage: ``max(TPR - FPR)`` over thresholds."""
        return float(np.max(self.tpr - self.fpr))

    def epsilon(self, fpr: float, delta: float = 1e-5, confidence: float = 0.95) -> float:
        """:func:`epsilon_lower_bound` at the point of :meth:`tpr_at`."""
        i = self._index(fpr)
        return _epsilon_counts(
            int(self.tp[i]), int(self.fp[i]), self.n_members, self.n_nonmembers, delta, confidence
        )

    def to_dict(self) -> dict[str, Any]:
        tp, fp = self.tp, self.fp
        if tp.size > CURVE_POINTS:
            grid = np.r_[0.0, np.geomspace(1.0 / self.n_nonmembers, 1.0, CURVE_POINTS - 1)]
            keep = np.unique(np.searchsorted(self.fpr, grid, side="right") - 1)
            tp, fp = tp[keep], fp[keep]
        return {
            "auc": self.auc,
            "n_members": self.n_members,
            "n_nonmembers": self.n_nonmembers,
            "tp": tp.tolist(),
            "fp": fp.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MembershipROC:
        return cls(
            np.asarray(data["tp"], dtype=np.int64),
            np.asarray(data["fp"], dtype=np.int64),
            int(data["n_members"]),
            int(data["n_nonmembers"]),
            float(data["auc"]),
        )

    def __repr__(self) -> str:
        return (
            f"<MembershipROC auc={self.auc:.4f} tpr@0.1%={self.tpr_at(0.001):.4f} "
            f"tpr@1%={self.tpr_at(0.01):.4f} n={self.n_members}+{self.n_nonmembers}>"
        )


def _as_vector(values: Any, name: str) -> np.ndarray:
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidInputError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    return arr


def roc(scores: Any, is_member: Any) -> MembershipROC:
    """The ROC of membership ``scores`` (higher = more likely a member) against the truth.

    Parameters
    ----------
    scores : array (n,)
        Finite numbers or ``+-inf``; NaN is refused.
    is_member : array (n,) of bool
        Both members and non-members must occur.

    Returns
    -------
    MembershipROC

    Examples
    --------
    >>> import mlsentry as ms
    >>> r = ms.privacy.roc([0.9, 0.8, 0.3, 0.1], [True, False, True, False])
    >>> r.auc, r.tpr_at(0.0), r.tpr_at(0.5)
    (0.75, 0.5, 1.0)
    """
    s = _as_vector(scores, "scores")
    if s.dtype.kind not in "biuf":
        raise InvalidTypeError(f"scores: expected numbers, got dtype {s.dtype}")
    m = _as_vector(is_member, "is_member")
    if m.dtype != np.bool_:
        if m.dtype.kind in "iu" and np.isin(m, (0, 1)).all():
            m = m.astype(bool)
        else:
            raise InvalidTypeError(f"is_member: expected booleans, got dtype {m.dtype}")
    if s.size != m.size:
        raise InvalidInputError(f"scores has {s.size} values but is_member has {m.size}")
    out = _core.privacy_roc(
        np.ascontiguousarray(s, dtype=np.float64), np.ascontiguousarray(m, dtype=bool)
    )
    return MembershipROC(
        out["tp"], out["fp"], out["n_members"], out["n_nonmembers"], out["auc"], out["thresholds"]
    )


def _epsilon_counts(
    tp: int, fp: int, n_members: int, n_nonmembers: int, delta: float, confidence: float
) -> float:
    return _core.privacy_epsilon_lower_bound(tp, fp, n_members, n_nonmembers, delta, confidence)


def _count(rate: float, n: int, name: str) -> int:
    k = rate * n
    if abs(k - round(k)) > 1e-6 * max(1.0, n):
        raise InvalidInputError(
            f"{name}: {rate!r} of {n} records is not a whole number of records ({k})"
        )
    return round(k)


def epsilon_lower_bound(
    tpr: float,
    fpr: float,
    n_members: int,
    n_nonmembers: int,
    delta: float = 1e-5,
    confidence: float = 0.95,
) -> float:
    """The empirical epsilon a measured attack proves (Jagielski et al. 2020).

    ``eps >= max(log((1 - delta - FPR+) / FNR+), log((1 - delta - FNR+) / FPR+))``, where
    ``FPR+`` and ``FNR+`` are one-sided Clopper-Pearson upper bounds of the attack's false
    positive and false negative rates, each at level ``(1 + confidence) / 2``; 0 when the
    bound is not positive. A model trained with (eps, delta)-differential privacy cannot
    have an attack proving more than its eps, so a larger value refutes the claim (with the
    stated confidence).

    Parameters
    ----------
    tpr, fpr : float
        The attack's rates at one threshold: ``tpr * n_members`` and ``fpr * n_nonmembers``
        must be whole counts.
    n_members, n_nonmembers : int
    delta : float
    confidence : float

    Examples
    --------
    >>> import mlsentry as ms
    >>> round(ms.privacy.epsilon_lower_bound(0.5, 0.01, 1000, 1000), 3)
    3.242
    >>> ms.privacy.epsilon_lower_bound(0.5, 0.5, 1000, 1000)
    0.0
    """
    from .._args import check_int

    n1 = check_int(n_members, "n_members", 1)
    n0 = check_int(n_nonmembers, "n_nonmembers", 1)
    t = check_rate(tpr, "tpr")
    f = check_rate(fpr, "fpr")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 <= delta < 1:
        raise InvalidInputError(f"delta: expected a number in [0, 1), got {delta!r}")
    conf = check_confidence(confidence)
    eps = _epsilon_counts(_count(t, n1, "tpr"), _count(f, n0, "fpr"), n1, n0, float(delta), conf)
    return float(eps)
