"""``evaluate``: inputs normalised here (labels to 0/1, sensitive columns to codes and
their intersection), metrics and bootstrap in Rust (``_core.fairness_groups``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import numpy as np

from .. import _core
from .._args import check_int
from .._tables import table_columns
from ..errors import InvalidInputError, InvalidTypeError, ModelError
from .report import (
    DISPARITIES,
    GROUP_METRICS,
    SCORE_METRICS,
    Disparity,
    FairnessReport,
    Grouping,
    GroupRow,
)

#: The bars of ``evaluate`` when ``thresholds`` is None: the four-fifths rule.
DEFAULT_THRESHOLDS: dict[str, float] = {"demographic_parity_ratio": 0.8}
#: Disparities where larger is fairer (a bar is a floor); the others are ceilings.
HIGHER_IS_FAIRER = frozenset({"demographic_parity_ratio"})


def _column(values: Any, name: str) -> np.ndarray:
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    if values is None or isinstance(values, (str, bytes)):
        raise InvalidTypeError(f"{name}: expected one value per row, got {type(values).__name__}")
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidInputError(f"{name}: expected one value per row (1-D), got shape {arr.shape}")
    if arr.size == 0:
        raise InvalidInputError(f"{name}: no rows")
    return arr


def binary_labels(values: Any, name: str) -> np.ndarray:
    """0/1 labels (bool, integers or integral floats) as uint8."""
    arr = _column(values, name)
    if arr.dtype.kind == "b":
        return arr.astype(np.uint8)
    if arr.dtype.kind not in "iuf":
        raise InvalidTypeError(f"{name}: expected binary labels 0/1, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"{name}: NaN or infinite values")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        raise InvalidInputError(
            f"{name}: expected binary labels 0/1 (1 is the positive class), found {arr[bad][0]!r}"
        )
    return arr.astype(np.uint8)


def _scores(values: Any, n: int) -> np.ndarray:
    arr = _column(values, "y_score")
    if arr.dtype.kind not in "iufb":
        raise InvalidTypeError(f"y_score: expected numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.size != n:
        raise InvalidInputError(f"y_score has {arr.size} values but y_true has {n}")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError("y_score: NaN or infinite values")
    return arr


def _sorted_codes(codes: np.ndarray, found: Any, name: str) -> tuple[np.ndarray, list[Any]]:
    """Codes renumbered so that the distinct values are in sorted order."""
    if (codes < 0).any():
        raise InvalidInputError(f"sensitive[{name!r}]: missing values; fill them first")
    values = [v.item() if hasattr(v, "item") else v for v in np.asarray(found)]
    try:
        order = sorted(range(len(values)), key=lambda i: values[i])
    except TypeError:  # values of several kinds: by their text
        order = sorted(range(len(values)), key=lambda i: str(values[i]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], [values[i] for i in order]


def _codes(values: Any, name: str) -> tuple[np.ndarray, list[Any]]:
    """Sorted distinct values (fairlearn orders groups so) and each row's code."""
    if _is_arrow(values):
        values = values.to_numpy(zero_copy_only=False)
    is_pandas = type(values).__module__.split(".")[0] == "pandas"
    if is_pandas and getattr(values, "ndim", 1) == 1 and hasattr(values, "factorize"):
        import pandas as pd

        # Hash-based as the column is stored (an Arrow string column stays one): O(n).
        codes, found = pd.factorize(values, use_na_sentinel=True)
        return _sorted_codes(np.asarray(codes), found, name)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidInputError(f"sensitive[{name!r}]: expected a 1-D column")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise InvalidInputError(f"sensitive[{name!r}]: missing values (NaN); fill them first")
    try:
        import pandas as pd
    except ImportError:  # numpy only: sort-based
        if arr.dtype.kind == "O" and any(v is None for v in set(arr.tolist())):
            raise InvalidInputError(
                f"sensitive[{name!r}]: missing values; fill them first"
            ) from None
        try:
            uniques, inverse = np.unique(arr, return_inverse=True)
        except TypeError:
            uniques, inverse = np.unique(arr.astype(str), return_inverse=True)
        return inverse.astype(np.int64), [u.item() if hasattr(u, "item") else u for u in uniques]
    codes, found = pd.factorize(arr, use_na_sentinel=True)
    return _sorted_codes(codes, found, name)


def _is_arrow(values: Any) -> bool:
    return type(values).__module__.split(".")[0] == "pyarrow"


def sensitive_columns(sensitive: Any, n: int) -> list[tuple[str, np.ndarray, list[Any]]]:
    """``(name, codes, values)`` of each sensitive column."""
    if sensitive is None:
        raise InvalidInputError("sensitive: give the sensitive column(s), one value per row")
    if isinstance(sensitive, (str, bytes)):
        raise InvalidTypeError("sensitive: expected columns of values, got a string")
    if isinstance(sensitive, np.ndarray) and sensitive.ndim == 1:
        pairs = [("sensitive", sensitive)]
    elif (
        type(sensitive).__module__.split(".")[0] == "pandas" and getattr(sensitive, "ndim", 0) == 1
    ):
        name = getattr(sensitive, "name", None)
        pairs = [("sensitive" if name is None else str(name), sensitive)]
    elif isinstance(sensitive, (list, tuple)) and not (
        sensitive and isinstance(sensitive[0], (list, tuple, np.ndarray))
    ):
        pairs = [("sensitive", np.asarray(sensitive))]
    else:
        pairs = table_columns(sensitive, "sensitive")
    if not pairs:
        raise InvalidInputError("sensitive: no columns")
    out = []
    for name, col in pairs:
        codes, values = _codes(col, name)
        if codes.size != n:
            raise InvalidInputError(
                f"sensitive[{name!r}] has {codes.size} values but y_true has {n}"
            )
        out.append((name, codes, values))
    return out


def _intersection(
    columns: list[tuple[str, np.ndarray, list[Any]]],
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's intersection group (lexicographic order of the columns' codes, so as
    fairlearn sorts a MultiIndex) and each intersection group's code per column."""
    sizes = [len(v) for _, _, v in columns]
    if float(np.prod([float(s) for s in sizes])) >= 2.0**62:
        raise InvalidInputError("sensitive: too many combinations of values")
    key = np.zeros(columns[0][1].size, dtype=np.int64)
    for (_, codes, _), size in zip(columns, sizes):
        key = key * size + codes
    total = int(np.prod([float(s) for s in sizes]))
    if total <= 4 * key.size + 1024:
        # Few combinations: present keys by counting, no sort.
        present = np.flatnonzero(np.bincount(key, minlength=total))
        lookup = np.zeros(total, dtype=np.int64)
        lookup[present] = np.arange(present.size)
        ukeys, igroup = present.astype(np.int64), lookup[key]
    else:
        ukeys, igroup = np.unique(key, return_inverse=True)
    per_column = np.empty((ukeys.size, len(columns)), dtype=np.int64)
    rest = ukeys.copy()
    for j in range(len(columns) - 1, -1, -1):
        per_column[:, j] = rest % sizes[j]
        rest //= sizes[j]
    return igroup.astype(np.uint32), per_column


def _predict(model: Any, X: Any, n: int) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Labels 0/1 (and the positive class's score when the model gives scores)."""
    if X is None:
        raise InvalidInputError("X: give the rows to predict with model=")
    classes = getattr(model, "classes_", None)
    if hasattr(model, "predict_proba"):
        fn, kind = model.predict_proba, "predict_proba"
    elif callable(model):
        fn, kind = model, "callable"
    elif hasattr(model, "predict"):
        fn, kind = model.predict, "predict"
    else:
        raise InvalidTypeError(
            "model: expected a callable X -> scores, or an object with predict_proba or "
            f"predict, got {type(model).__name__}"
        )
    try:
        out = np.asarray(fn(X))
    except Exception as e:
        raise ModelError(f"the model ({kind}) raised {type(e).__name__}: {e}") from e
    if out.ndim == 2 and out.shape == (n, 2) and out.dtype.kind in "iuf":
        out = out.astype(np.float64)
        if not np.all(np.isfinite(out)):
            raise ModelError("the model returned NaN or infinite scores")
        idx = np.argmax(out, axis=1)
        labels = np.asarray(classes)[idx] if classes is not None else idx
        return binary_labels(labels, "model predictions"), np.ascontiguousarray(out[:, 1])
    if out.ndim == 1 and out.shape[0] == n:
        return binary_labels(out, "model predictions"), None
    raise ModelError(
        f"the model ({kind}) returned shape {out.shape} for {n} rows; expected (n, 2) "
        "scores of a binary classifier or n labels 0/1"
    )


def _thresholds(thresholds: Optional[Mapping[str, Any]]) -> dict[str, float]:
    if thresholds is None:
        return dict(DEFAULT_THRESHOLDS)
    if not isinstance(thresholds, Mapping):
        raise InvalidTypeError(
            f"thresholds: expected a dict of disparity name to bar, got {type(thresholds).__name__}"
        )
    out = {}
    for name, bar in thresholds.items():
        if name not in DISPARITIES:
            raise InvalidInputError(
                f"thresholds: unknown disparity {name!r}; expected one of {', '.join(DISPARITIES)}"
            )
        if isinstance(bar, bool) or not isinstance(bar, (int, float, np.number)):
            raise InvalidTypeError(f"thresholds[{name!r}]: expected a number")
        if not np.isfinite(bar) or bar < 0:
            raise InvalidInputError(f"thresholds[{name!r}]: expected a finite number >= 0")
        out[str(name)] = float(bar)
    return out


def _confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.number)):
        raise InvalidTypeError("confidence: expected a number in (0, 1)")
    if not 0.0 < float(confidence) < 1.0:
        raise InvalidInputError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    return float(confidence)


def _resamples(resamples: Any, n: int) -> np.ndarray:
    arr = np.asarray(resamples)
    if arr.dtype.kind not in "iu":
        raise InvalidTypeError(f"resamples: expected integer row indices, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise InvalidInputError(
            f"resamples: expected a 2-D array (resamples x rows), got shape {arr.shape}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise InvalidInputError(f"resamples: row indices must be in 0..{n - 1}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def evaluate(
    y_true: Any,
    y_pred: Any = None,
    sensitive: Any = None,
    y_score: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    thresholds: Optional[Mapping[str, float]] = None,
    confidence: float = 0.95,
    min_group_size: int = 30,
    *,
    model: Any = None,
    X: Any = None,
    resamples: Any = None,
    fingerprint: bool = True,
) -> FairnessReport:
    """Group metrics of a binary classifier, its disparities and their bootstrap intervals.

    The metrics and disparities are fairlearn 0.15's: ``by_group`` holds what
    ``MetricFrame(metrics={selection_rate, accuracy_score, true_positive_rate,
    false_positive_rate, precision_score}, ...).by_group`` gives for each grouping (each
    sensitive column alone and, with several, their intersection), and ``disparities`` the
    values of ``demographic_parity_difference``, ``demographic_parity_ratio``,
    ``equalized_odds_difference`` (``agg="worst_case"``; ``_mean`` is ``agg="mean"``) and
    ``equal_opportunity_difference`` with ``sensitive_features`` all the sensitive columns
    (``disparities_by`` has them per grouping).

    Intervals are percentile bootstrap intervals at ``confidence`` (numpy's linear
    quantiles of the resampled values, NaN ignored, as ``MetricFrame(n_boot=...,
    ci_quantiles=...)``). Every metric depends on a row only through its group and its
    (label, prediction) cell, so a resample is drawn as multinomial cell counts, which have
    the law of a row resample's counts: 1,000 resamples of any number of rows take
    milliseconds. ``resamples`` instead gives the resamples as row indices (to reproduce
    another tool's, e.g. fairlearn's ``data.sample(frac=1, replace=True)``, exactly).

    Parameters
    ----------
    y_true, y_pred : sequence of 0/1 (or bool)
        Labels and predicted labels; 1 is the positive class (the one selected).
    sensitive : array, Series, DataFrame or dict of columns
        One or several sensitive columns (any values; missing values are refused).
    y_score : sequence of float, optional
        Scores of the positive class: adds ``auc`` (scikit-learn's ``roc_auc_score``),
        ``brier`` (``brier_score_loss``) and ``mean_score`` per group (point values).
    n_boot : int
        Resamples for the intervals; 0 for none.
    seed : int
    thresholds : dict, optional
        Disparity name to bar: ``demographic_parity_ratio`` passes at or above its bar,
        the others at or below. None (default): the four-fifths rule,
        ``{"demographic_parity_ratio": 0.8}``; ``{}`` gives no verdict.
    confidence : float
    min_group_size : int
        Groups with fewer rows are flagged (``small``): their metrics are noisy.
    model, X : optional
        Predict ``y_pred`` (and ``y_score``, from ``predict_proba``) from ``X``.
    resamples : int array (B, m), optional
        Row indices of each resample, instead of drawing ``n_boot``.
    fingerprint : bool
        Record the inputs' fingerprints.

    Returns
    -------
    FairnessReport

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], size=2000)
    >>> y = rng.integers(0, 2, 2000)
    >>> pred = (rng.random(2000) < np.where(group == "a", 0.5, 0.3)).astype(int)
    >>> rep = ms.fairness.evaluate(y, pred, group, n_boot=200)
    >>> rep.four_fifths, rep.passed
    (True, False)
    >>> round(rep.disparities["demographic_parity_ratio"].value, 2)
    0.61
    """
    yt = binary_labels(y_true, "y_true")
    n = yt.size
    if model is not None:
        if y_pred is not None:
            raise InvalidInputError("give y_pred or model= and X=, not both")
        yp, model_score = _predict(model, X, n)
        if y_score is None:
            y_score = model_score
    else:
        if y_pred is None:
            raise InvalidInputError("y_pred: give the predictions, or model= and X=")
        yp = binary_labels(y_pred, "y_pred")
    if yp.size != n:
        raise InvalidInputError(f"y_pred has {yp.size} values but y_true has {n}")
    score = None if y_score is None else _scores(y_score, n)
    n_boot = check_int(n_boot, "n_boot", 0)
    seed = check_int(seed, "seed", 0, 2**63 - 1)
    min_group_size = check_int(min_group_size, "min_group_size", 0)
    conf = _confidence(confidence)
    bars = _thresholds(thresholds)
    given = None if resamples is None else _resamples(resamples, n)
    if given is not None:
        n_boot = given.shape[0]

    columns = sensitive_columns(sensitive, n)
    igroup, per_column = _intersection(columns)
    n_igroups = per_column.shape[0]
    groupings: list[tuple[str, np.ndarray, int, list[tuple[Any, ...]]]] = []
    if len(columns) > 1:
        for j, (name, _, values) in enumerate(columns):
            groupings.append((name, per_column[:, j].copy(), len(values), [(v,) for v in values]))
    names = [c[0] for c in columns]
    labels = [tuple(columns[j][2][c] for j, c in enumerate(row)) for row in per_column.tolist()]
    groupings.append((" & ".join(names), np.arange(n_igroups, dtype=np.int64), n_igroups, labels))

    cells = igroup * np.uint32(4) + yt.astype(np.uint32) * np.uint32(2) + yp
    half = (1.0 - conf) / 2.0
    out = _core.fairness_groups(
        np.ascontiguousarray(cells, dtype=np.uint32),
        n_igroups,
        [g[1] for g in groupings],
        [g[2] for g in groupings],
        n_boot,
        seed,
        (half, 1.0 - half),
        given,
    )
    result = []
    for (gname, gmap, k, glabels), res in zip(groupings, out):
        scores = None
        if score is not None:
            row_group = np.ascontiguousarray(gmap[igroup], dtype=np.uint32)
            scores = _core.fairness_scores(score, yt, row_group, k)
        rows = []
        for g in range(k):
            count = int(res["counts"][g])
            if count == 0:
                continue
            values = {m: float(res["metrics"][g, i]) for i, m in enumerate(GROUP_METRICS)}
            if scores is not None:
                values.update({m: float(scores[g, i]) for i, m in enumerate(SCORE_METRICS)})
            intervals = {}
            if "metrics_low" in res:
                intervals = {
                    m: (float(res["metrics_low"][g, i]), float(res["metrics_high"][g, i]))
                    for i, m in enumerate(GROUP_METRICS)
                }
            rows.append(
                GroupRow(
                    group=glabels[g],
                    count=count,
                    small=count < min_group_size,
                    values=values,
                    intervals=intervals,
                )
            )
        disp = {}
        for i, name in enumerate(DISPARITIES):
            interval = None
            if "disparities_low" in res:
                interval = (float(res["disparities_low"][i]), float(res["disparities_high"][i]))
            disp[name] = Disparity(
                name=name,
                value=float(res["disparities"][i]),
                interval=interval,
                bar=bars.get(name),
                higher_is_fairer=name in HIGHER_IS_FAIRER,
            )
        columns_of = names if gname == " & ".join(names) else [gname]
        result.append(Grouping(name=gname, columns=columns_of, rows=rows, disparities=disp))

    inputs = {}
    if fingerprint:
        from ..integrity import fingerprint as _fingerprint

        inputs = {
            "y_true": _fingerprint(yt),
            "y_pred": _fingerprint(yp),
            "sensitive": _fingerprint(np.ascontiguousarray(per_column[igroup])),
        }
        if score is not None:
            inputs["y_score"] = _fingerprint(score)
    report = FairnessReport(
        groupings=result,
        thresholds=bars,
        confidence=conf,
        n_boot=n_boot,
        min_group_size=min_group_size,
        n_rows=n,
        config={
            "n_boot": n_boot,
            "confidence": conf,
            "thresholds": bars,
            "min_group_size": min_group_size,
            "resamples": "given" if given is not None else "drawn",
            "sensitive": names,
            "y_score": score is not None,
            "model": None if model is None else type(model).__name__,
        },
        inputs=inputs,
        seed=seed,
    )
    from ..integrity import record_check

    record_check("fairness", report.passed, inputs, n_groups=len(result[-1].rows))
    return report
