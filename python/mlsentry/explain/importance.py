"""Permutation importance: how much a model's score drops when one feature's values are
shuffled across rows.

The permuted rows of a feature (all repeats stacked) are built in Rust and scored by one
model call per feature; scores per repeat are vectorised numpy (a callable ``scoring`` is
called once per repeat).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional, Union

import numpy as np

from .. import _core
from .._args import check_int
from ..errors import InvalidInputError, InvalidTypeError, ModelError, require
from ..report import Report, fmt_number, html_table, name_part

__all__ = ["SCORINGS", "ImportanceReport", "permutation_importance"]

#: The scoring names :func:`permutation_importance` knows (scikit-learn's scorer names).
SCORINGS: tuple[str, ...] = ("accuracy", "neg_mean_squared_error")
#: Features drawn in the HTML bar chart, the most important first.
CHART_FEATURES = 30


class ImportanceReport(Report):
    """Permutation importances, named as scikit-learn names them.

    Attributes
    ----------
    feature_names : list of str
    importances : ndarray (d, n_repeats)
        Baseline score minus the score with the feature permuted, per repeat.
    importances_mean, importances_std : ndarray (d,)
        Over the repeats (``std`` with ``ddof=0``, as scikit-learn).
    intervals : ndarray (d, 2)
        Student t interval of the mean at ``confidence`` (NaN for one repeat).
    baseline_score : float
    scoring : str
    """

    schema = "mlsentry/permutation-importance/v1"
    title = "Permutation importance"

    def __init__(
        self,
        *,
        feature_names: Sequence[str],
        importances: np.ndarray,
        intervals: np.ndarray,
        baseline_score: float,
        scoring: str,
        confidence: float,
        n_rows: int,
        **meta: Any,
    ) -> None:
        super().__init__(**meta)
        self.feature_names = [str(f) for f in feature_names]
        self.importances = np.asarray(importances, dtype=np.float64)
        self.intervals = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
        self.baseline_score = float(baseline_score)
        self.scoring = scoring
        self.confidence = float(confidence)
        self.n_rows = int(n_rows)

    @property
    def importances_mean(self) -> np.ndarray:
        return np.mean(self.importances, axis=1)

    @property
    def importances_std(self) -> np.ndarray:
        return np.std(self.importances, axis=1)

    @property
    def n_repeats(self) -> int:
        return int(self.importances.shape[1])

    @property
    def ranked(self) -> list[str]:
        """Feature names, the most important first."""
        order = np.argsort(-self.importances_mean, kind="stable")
        return [self.feature_names[i] for i in order]

    @property
    def passed(self) -> Optional[bool]:
        return None

    def to_pandas(self) -> Any:
        """One row per feature, the most important first."""
        pd = require("pandas", "pandas", "ImportanceReport.to_pandas")
        df = pd.DataFrame(
            {
                "feature": self.feature_names,
                "importance_mean": self.importances_mean,
                "importance_std": self.importances_std,
                "low": self.intervals[:, 0],
                "high": self.intervals[:, 1],
            }
        )
        return df.sort_values("importance_mean", ascending=False, kind="stable").reset_index(
            drop=True
        )

    def summary(self) -> str:
        lines = [
            f"{self.title}: {self.verdict}: {len(self.feature_names)} features, "
            f"{self.n_repeats} repeats, {self.scoring} baseline {fmt_number(self.baseline_score)}"
        ]
        mean = self.importances_mean
        for name in self.ranked[:5]:
            j = self.feature_names.index(name)
            lines.append(
                f"  {name}: {fmt_number(float(mean[j]))} "
                f"[{fmt_number(float(self.intervals[j, 0]))}, "
                f"{fmt_number(float(self.intervals[j, 1]))}]"
            )
        return "\n".join(lines)

    def _payload(self) -> dict[str, Any]:
        def clean(a: np.ndarray) -> list[Any]:
            return [[None if math.isnan(v) else v for v in row] for row in a.tolist()]

        return {
            "scoring": self.scoring,
            "baseline_score": self.baseline_score,
            "confidence": self.confidence,
            "n_rows": self.n_rows,
            "n_repeats": self.n_repeats,
            "feature_names": self.feature_names,
            "importances_mean": self.importances_mean.tolist(),
            "importances_std": self.importances_std.tolist(),
            "importances": self.importances.tolist(),
            "intervals": clean(self.intervals),
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> ImportanceReport:
        iv = np.array(
            [[math.nan if v is None else v for v in row] for row in data["intervals"]],
            dtype=np.float64,
        )
        return cls(
            feature_names=data["feature_names"],
            importances=np.asarray(data["importances"], dtype=np.float64),
            intervals=iv,
            baseline_score=data["baseline_score"],
            scoring=data["scoring"],
            confidence=data["confidence"],
            n_rows=data["n_rows"],
            **meta,
        )

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``baseline_score`` and ``feature.<name>`` (mean importance) for the
        ``column_metrics`` most important features."""
        out = {f"{p}.baseline_score": self.baseline_score}
        mean = self.importances_mean
        for name in self.ranked[:column_metrics]:
            out[f"{p}.feature.{name_part(name)}"] = float(mean[self.feature_names.index(name)])
        return out

    def _html_body(self) -> str:
        mean = self.importances_mean
        rows = [
            [
                name,
                fmt_number(float(mean[j])),
                fmt_number(float(self.importances_std[j])),
                f"{fmt_number(float(self.intervals[j, 0]))}, "
                f"{fmt_number(float(self.intervals[j, 1]))}",
            ]
            for name in self.ranked
            for j in [self.feature_names.index(name)]
        ]
        return (
            f'<p class="lead">Drop in {html.escape(self.scoring)} (baseline '
            f"{html.escape(fmt_number(self.baseline_score))}) when a feature is shuffled, "
            f"{self.n_repeats} repeats over {self.n_rows} rows; intervals "
            f"{fmt_number(100 * self.confidence, 3)}% (Student t).</p>"
            + _bars_svg(self)
            + html_table(["feature", "mean", "std", "interval"], rows)
        )


def _bars_svg(r: ImportanceReport, width: int = 560) -> str:
    names = r.ranked[:CHART_FEATURES]
    if not names:
        return ""
    idx = [r.feature_names.index(n) for n in names]
    mean = r.importances_mean[idx]
    iv = r.intervals[idx]
    ends = np.concatenate([mean, iv[np.isfinite(iv)], [0.0]])
    lo, hi = float(ends.min()), float(ends.max())
    span = hi - lo or 1.0
    label_w, bar_w, h = 170, width - 190, 18

    def x(v: float) -> float:
        return label_w + (v - lo) / span * bar_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h * len(names) + 8}"'
        ' role="img" aria-label="permutation importance">'
    ]
    for i, name in enumerate(names):
        y = 4 + i * h
        a, b = sorted((x(0.0), x(float(mean[i]))))
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" font-size="11">'
            f"{html.escape(name[:26])}</text>"
            f'<rect x="{a:.1f}" y="{y + 2}" width="{b - a:.1f}" height="{h - 6}" fill="#0969da"/>'
        )
        if np.all(np.isfinite(iv[i])):
            parts.append(
                f'<line x1="{x(float(iv[i, 0])):.1f}" x2="{x(float(iv[i, 1])):.1f}" '
                f'y1="{y + h / 2 - 1:.1f}" y2="{y + h / 2 - 1:.1f}" stroke="#1b1f24"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


class _Rows:
    """``X`` as the model takes it, and its permuted copies for one feature (all repeats
    stacked): a numeric array is permuted in Rust; a DataFrame (any column types) by
    pandas indexing, so it reaches the model as a DataFrame with its own dtypes."""

    def __init__(self, X: Any) -> None:
        self.frame = None
        if type(X).__module__.split(".")[0] == "pandas" and getattr(X, "ndim", 0) == 2:
            self.frame = X
            self.n, self.d = X.shape
            self.names = [str(c) for c in X.columns]
            numeric = X.select_dtypes(include="number")
            self.flat = np.ascontiguousarray(numeric.to_numpy(dtype=np.float64))
        else:
            try:
                arr = np.asarray(X)
            except Exception as e:
                raise InvalidTypeError(f"X: cannot convert to an array ({e})") from None
            if arr.dtype.kind not in "biuf":
                raise InvalidTypeError(f"X: expected numbers, got dtype {arr.dtype}")
            if arr.ndim != 2:
                raise InvalidInputError(
                    f"X: expected a 2-D array (rows x features), got shape {arr.shape}"
                )
            self.flat = np.ascontiguousarray(arr, dtype=np.float64)
            self.n, self.d = arr.shape
            self.names = [str(j) for j in range(self.d)]
            self.dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
        if self.n == 0 or self.d == 0:
            raise InvalidInputError(f"X: no rows or no features (shape {(self.n, self.d)})")
        if not np.all(np.isfinite(self.flat)):
            raise InvalidInputError("X: NaN or infinite values")

    def whole(self) -> Any:
        return self.frame if self.frame is not None else self.flat.astype(self.dtype, copy=False)

    def permuted(self, j: int, perms: np.ndarray) -> Any:
        if self.frame is None:
            return _core.importance_rows(self.flat, j, perms).astype(self.dtype, copy=False)
        repeats = perms.shape[0]
        big = self.frame.iloc[np.tile(np.arange(self.n), repeats)].reset_index(drop=True)
        column = self.frame.iloc[perms.ravel(), j].reset_index(drop=True)
        big[self.frame.columns[j]] = column
        return big


def _predictor(model: Any, scoring: Any) -> Callable[[Any], np.ndarray]:
    """What scoring reads: labels for "accuracy", values for regression, the model's own
    output for a callable scoring."""
    if scoring == "accuracy" and hasattr(model, "predict"):
        return lambda X: np.asarray(model.predict(X))
    if hasattr(model, "predict"):
        return lambda X: np.asarray(model.predict(X))
    if callable(model):
        return lambda X: np.asarray(model(X))
    raise InvalidTypeError(
        f"model: expected an object with predict or a callable X -> predictions, got "
        f"{type(model).__name__}"
    )


def _per_repeat_scores(
    pred: np.ndarray, y: np.ndarray, scoring: Any, repeats: int, classes: Any
) -> np.ndarray:
    n = y.shape[0]
    if pred.shape[0] != repeats * n:
        raise ModelError(f"the model returned {pred.shape[0]} predictions for {repeats * n} rows")
    if callable(scoring):
        blocks = pred.reshape(repeats, n, *pred.shape[1:])
        return np.array([float(scoring(y, blocks[r])) for r in range(repeats)])
    if scoring == "accuracy":
        if pred.ndim == 2:
            idx = np.argmax(pred, axis=1)
            pred = np.asarray(classes)[idx] if classes is not None else idx
        return np.mean(pred.reshape(repeats, n) == y, axis=1)
    if pred.ndim != 1:
        raise ModelError(
            f"neg_mean_squared_error needs one prediction per row, got shape {pred.shape}"
        )
    err = pred.reshape(repeats, n).astype(np.float64) - y.astype(np.float64)
    return -np.mean(err * err, axis=1)


def permutation_importance(
    model: Any,
    X: Any,
    y: Any,
    scoring: Union[str, Callable[[Any, Any], float]] = "accuracy",
    n_repeats: int = 5,
    seed: int = 0,
    *,
    confidence: float = 0.95,
    permutations: Any = None,
    fingerprint: bool = True,
) -> ImportanceReport:
    """Permutation importance of each feature, as scikit-learn defines it.

    ``importances[j, r]`` is the baseline score minus the score on ``X`` with column ``j``
    permuted by the ``r``-th permutation (the same permutations for every feature, as in
    ``sklearn.inspection.permutation_importance``). All repeats of a feature go to the
    model in one call of ``n_repeats * n`` rows.

    Parameters
    ----------
    model : object with ``predict``, or a callable ``X -> predictions``
        For ``"accuracy"`` predictions may also be scores ``(n, k)`` (argmax, mapped
        through ``classes_`` when the model has it).
    X : array (n, d) or DataFrame
        A DataFrame reaches the model as a DataFrame (numbers as float64; other columns
        keep their values, permuted as codes).
    y : array (n,)
    scoring : "accuracy", "neg_mean_squared_error" or callable ``(y_true, y_pred) -> float``
        Greater is better (as a scikit-learn scorer).
    n_repeats : int
    seed : int
    confidence : float
        For the Student t interval of each mean importance.
    permutations : int array (n_repeats, n), optional
        Row permutations to use instead of drawing them (each a permutation of 0..n-1).

    Returns
    -------
    ImportanceReport

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> model = lambda X: np.asarray(X) @ np.array([2.0, 0.0, 1.0])
    >>> rep = ms.explain.permutation_importance(model, X, model(X),
    ...                                         scoring="neg_mean_squared_error")
    >>> rep.ranked
    ['0', '2', '1']
    """
    if isinstance(scoring, str):
        if scoring not in SCORINGS:
            raise InvalidInputError(
                f"scoring: expected one of {', '.join(SCORINGS)} or a callable, got {scoring!r}"
            )
    elif not callable(scoring):
        raise InvalidTypeError("scoring: expected a name or a callable (y_true, y_pred) -> float")
    n_repeats = check_int(n_repeats, "n_repeats", 1)
    seed = check_int(seed, "seed", 0, 2**63 - 1)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise InvalidTypeError("confidence: expected a number in (0, 1)")
    if not 0.0 < confidence < 1.0:
        raise InvalidInputError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    data = _Rows(X)
    n, d = data.n, data.d
    y_arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if y_arr.ndim != 1 or y_arr.shape[0] != n:
        raise InvalidInputError(
            f"y: expected {n} values (one per row of X), got shape {y_arr.shape}"
        )
    if scoring == "neg_mean_squared_error" and (
        y_arr.dtype.kind not in "biuf" or not np.all(np.isfinite(y_arr.astype(np.float64)))
    ):
        raise InvalidInputError("y: neg_mean_squared_error needs finite numbers")
    if permutations is not None:
        given = np.asarray(permutations)
        if given.dtype.kind not in "iu" or given.ndim != 2:
            raise InvalidInputError(
                "permutations: expected an integer array (n_repeats, n) of row permutations"
            )
        n_repeats = given.shape[0]
        if n_repeats == 0:
            raise InvalidInputError("permutations: no repeats")
        perms = _core.importance_permutations(
            n, n_repeats, seed, np.ascontiguousarray(given, dtype=np.int64)
        )
    else:
        perms = _core.importance_permutations(n, n_repeats, seed)

    predict = _predictor(model, scoring)
    classes = getattr(model, "classes_", None)

    def call(x: Any) -> np.ndarray:
        try:
            return predict(x)
        except Exception as e:
            raise ModelError(f"the model raised {type(e).__name__} on {len(x)} rows: {e}") from e

    baseline = float(_per_repeat_scores(call(data.whole()), y_arr, scoring, 1, classes)[0])
    importances = np.empty((d, n_repeats), dtype=np.float64)
    for j in range(d):
        scores = _per_repeat_scores(
            call(data.permuted(j, perms)), y_arr, scoring, n_repeats, classes
        )
        importances[j] = baseline - scores
    intervals = _core.importance_interval(importances, float(confidence))
    names = data.names
    inputs = {}
    if fingerprint:
        from ..integrity import fingerprint as _fingerprint

        inputs = {"X": _fingerprint(data.whole())}
        if y_arr.dtype.kind in "biuf":
            inputs["y"] = _fingerprint(np.ascontiguousarray(y_arr))
    return ImportanceReport(
        feature_names=names,
        importances=importances,
        intervals=intervals,
        baseline_score=baseline,
        scoring=scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "callable"),
        confidence=float(confidence),
        n_rows=n,
        config={
            "scoring": scoring if isinstance(scoring, str) else "callable",
            "n_repeats": n_repeats,
            "confidence": float(confidence),
            "permutations": "given" if permutations is not None else "drawn",
        },
        inputs=inputs,
        seed=seed,
    )
