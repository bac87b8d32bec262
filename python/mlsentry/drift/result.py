"""What every univariate drift test returns, and the one conversion of its inputs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np

from ..errors import InvalidInputError, InvalidTypeError

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DISTANCES",
    "PSI_BANDS",
    "TestResult",
    "as_sample",
    "check_alpha",
    "check_threshold",
    "distance_drift",
    "psi_band",
]

#: Distances (tests without a p-value) and the value at or above which each means drift.
#: ``wasserstein`` and ``energy`` are compared on their normalised value (divided by the
#: reference's standard deviation, or its square root for energy), the others as they are.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "wasserstein": 0.1,
    "energy": 0.1,
    "psi": 0.1,
    "jensen_shannon": 0.1,
    "hellinger": 0.1,
    "kl": 0.1,
    "total_variation": 0.1,
}
DISTANCES = frozenset(DEFAULT_THRESHOLDS)

#: Distances whose threshold applies to the normalised value (their effect size).
NORMALISED = frozenset({"wasserstein", "energy"})

#: The usual reading of the population stability index: below 0.1 stable, 0.1 to 0.25 a
#: moderate shift, 0.25 and above a major shift.
PSI_BANDS: tuple[tuple[float, str], ...] = (
    (0.1, "stable"),
    (0.25, "moderate"),
    (float("inf"), "major"),
)


def psi_band(value: float) -> str:
    """``"stable"``, ``"moderate"`` or ``"major"`` for a PSI value."""
    return next((name for upper, name in PSI_BANDS if value < upper), PSI_BANDS[-1][1])


def distance_drift(
    test: str, statistic: Optional[float], effect_size: Optional[float], threshold: float
) -> tuple[Optional[float], bool]:
    """The value a distance's threshold applies to (the normalised distance for
    wasserstein and energy, else the distance) and whether it reaches the threshold."""
    value = effect_size if test in NORMALISED else statistic
    drift = value is not None and not math.isnan(value) and value >= threshold
    return value, bool(drift)


def check_alpha(alpha: Any) -> float:
    """``alpha`` as a float in (0, 1), or a clear error naming the argument."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise InvalidTypeError(f"alpha: expected a number in (0, 1), got {type(alpha).__name__}")
    if not 0.0 < float(alpha) < 1.0:
        raise InvalidInputError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    return float(alpha)


def check_threshold(test: str, threshold: Any, what: str = "threshold") -> float:
    """A distance threshold (``None``: the default of ``test``) as a non-negative float."""
    if threshold is None:
        return DEFAULT_THRESHOLDS[test]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise InvalidTypeError(
            f"{what}: expected a non-negative number, got {type(threshold).__name__}"
        )
    if not (math.isfinite(threshold) and threshold >= 0):
        raise InvalidInputError(f"{what}: expected a non-negative number, got {threshold!r}")
    return float(threshold)


@dataclass(frozen=True)
class TestResult:
    """The outcome of one two-sample test or distance (reference vs current).

    Attributes
    ----------
    test : str
        The test's name (``"ks"``, ``"psi"``, ...).
    statistic : float
        The statistic or distance.
    pvalue : float or None
        The p-value, for tests that have one.
    method : str
        How it was computed (``"exact"``, ``"asymptotic"``, ``"interpolated"``,
        ``"distance"``, ...).
    threshold : float
        ``alpha`` for tests with a p-value, else the distance above which it is drift.
    drift : bool
        ``pvalue < threshold`` for tests, ``statistic >= threshold`` for distances.
    effect_size : float or None
        A scale-free size of the difference, where the test defines one.
    n_reference, n_current : int
        Sample sizes used (after dropping NaN).
    details : dict
        Further numbers: NaN counts, the normalised distance, bins, ...
    """

    __test__ = False  # not a pytest test class, whatever its name

    test: str
    statistic: float
    pvalue: Optional[float]
    method: str
    threshold: float
    drift: bool
    effect_size: Optional[float] = None
    n_reference: int = 0
    n_current: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["details"] = dict(self.details)
        for k in ("statistic", "pvalue", "effect_size"):
            v = d[k]
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return d

    def __str__(self) -> str:
        p = "" if self.pvalue is None else f", p={self.pvalue:.4g}"
        verdict = "DRIFT" if self.drift else "no drift"
        return f"{self.test}: statistic={self.statistic:.6g}{p} ({self.method}) -> {verdict}"


def as_sample(x: Any, name: str) -> np.ndarray:
    """A 1-D float64 numpy array view (or copy) of a numeric sample.

    Accepts numpy arrays, lists, pandas/polars Series and pyarrow arrays of bool, int,
    uint or float. NaN (and None/NA in nullable types) stays as NaN: the tests drop and
    count it. Strings, objects and 2-D input raise with a message naming ``name``.
    """
    if type(x).__module__.split(".", 1)[0] == "pyarrow" and hasattr(x, "to_numpy"):
        # Nulls need a copy (they become NaN, or None in object arrays: handled below).
        x = x.to_numpy(zero_copy_only=False)
    elif hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        try:
            x = x.to_numpy(dtype=np.float64, na_value=np.nan)
        except TypeError:
            x = x.to_numpy()
    try:
        arr = np.asarray(x)
    except Exception as e:
        raise InvalidTypeError(f"{name}: cannot convert to a numeric array ({e})") from None
    if arr.ndim != 1:
        raise InvalidInputError(f"{name}: expected a 1-D sample, got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind == "f" and arr.dtype == np.float64:
        return arr
    if kind in "biuf":
        return arr.astype(np.float64)
    if kind == "O":
        try:
            return np.where(arr == None, np.nan, arr).astype(np.float64)  # noqa: E711
        except (TypeError, ValueError):
            pass
    raise InvalidTypeError(
        f"{name}: expected numbers (bool, int or float), got dtype {arr.dtype}; "
        "use the categorical tests (chi2, g_test, ...) for categories"
    )
