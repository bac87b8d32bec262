"""Label issues by confident learning: which rows' given labels are probably wrong.

The work (thresholds, confident joint, pruning, scores) runs in Rust without the GIL; the
k x k calibration rounding runs here with numpy (Rust calls back for it), so that its ties
fall exactly as in cleanlab on the same machine: cleanlab orders rounding remainders with
numpy's default argsort, which is not stable, and equal remainders are common there.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

import numpy as np

from .. import _core
from ..errors import InvalidInputError, InvalidTypeError, require
from ..report import Report, count_of, fmt_number, fmt_share, html_table

__all__ = [
    "LABEL_FILTERS",
    "LABEL_RANKINGS",
    "ClassCounts",
    "LabelIssuesReport",
    "cross_val_pred_probs",
    "label_issues",
]

#: The filters (cleanlab's ``filter_by``) :func:`label_issues` offers.
LABEL_FILTERS: tuple[str, ...] = tuple(_core.LABEL_FILTERS)
#: The label-quality scores (cleanlab's ``rank.get_label_quality_scores`` methods).
LABEL_RANKINGS: tuple[str, ...] = tuple(_core.LABEL_RANKINGS)
#: How far a row of ``pred_probs`` may sum from 1.
ROW_SUM_TOLERANCE: float = float(_core.LABEL_ROW_SUM_TOLERANCE)
#: Rows of the worst-rows table kept in a report (JSON and HTML).
WORST_ROWS = 20
#: Largest number of classes whose noise matrix the HTML shows in full.
MATRIX_CLASSES = 30


@dataclass(frozen=True)
class ClassCounts:
    """Rows of one class: ``given`` that label, ``flagged`` among those, and
    ``estimated_true`` (the calibrated confident joint's column: rows estimated to truly
    belong to the class)."""

    label: int
    given: int
    flagged: int
    estimated_true: int


def _labels_array(labels: Any) -> np.ndarray:
    if hasattr(labels, "to_numpy") and not isinstance(labels, np.ndarray):
        labels = labels.to_numpy()
    if isinstance(labels, (str, bytes)) or labels is None:
        raise InvalidTypeError(
            f"labels: expected a sequence of class indices, got {type(labels).__name__}"
        )
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise InvalidInputError(f"labels: expected one label per row (1-D), got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if (
        arr.dtype.kind == "f"
        and arr.size
        and np.all(np.isfinite(arr))
        and np.all(np.mod(arr, 1) == 0)
    ):
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and arr.size == 0:
        return arr.astype(np.int64)
    raise InvalidTypeError(
        f"labels: expected integer class indices 0..k-1, got dtype {arr.dtype} "
        "(map class names to indices first, e.g. with np.unique(..., return_inverse=True))"
    )


def _probs_array(pred_probs: Any) -> np.ndarray:
    if hasattr(pred_probs, "to_numpy") and not isinstance(pred_probs, np.ndarray):
        pred_probs = pred_probs.to_numpy()
    arr = np.asarray(pred_probs)
    if arr.dtype.kind not in "fiu":
        raise InvalidTypeError(f"pred_probs: expected numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InvalidInputError(
            f"pred_probs: expected a 2-D array (rows x classes), got shape {arr.shape}"
        )
    if arr.dtype not in (np.float64, np.float32):
        arr = arr.astype(np.float64)
    return arr


def _round_keeping_total(row: np.ndarray) -> np.ndarray:
    """Rounds a row half to even, then moves the rounding error onto the entries with the
    largest (or smallest) remainders, as cleanlab's ``round_preserving_sum``: numpy's own
    default argsort orders them, so equal remainders are chosen as cleanlab chooses them."""
    ints = row.round()
    target = np.sum(row).round()
    total = np.sum(ints).round()
    while abs(total - target) > 1e-6:
        gap = np.round(target - total)
        step = -1 if gap < 0 else 1
        n_changes = min(int(abs(gap)), row.size)
        order = np.argsort(row - ints)
        ints[order[::-step][:n_changes]] += step
        total = np.sum(ints).round()
    return ints


def _round_rows_keeping_totals(rows: np.ndarray) -> np.ndarray:
    """``_round_keeping_total`` of every row of a C-contiguous matrix at once: numpy sums
    and argsorts each row of a 2-D array along its last axis with the same 1-D routine as
    one row alone, so the result is that of the row-by-row loop, without a Python step
    per row (many classes leave most rows with tied remainders)."""
    ints = rows.round()
    target = np.sum(rows, axis=1).round()
    total = np.sum(ints, axis=1).round()
    cols = np.arange(rows.shape[1])
    off = np.flatnonzero(np.abs(total - target) > 1e-6)
    while off.size:
        gap = np.round(target[off] - total[off])
        step = np.where(gap < 0, -1.0, 1.0)
        n_changes = np.minimum(np.abs(gap), rows.shape[1])
        order = np.argsort(rows[off] - ints[off], axis=1)
        # Upward steps take the largest remainders (the order reversed), downward steps
        # the smallest; the first n_changes of each row.
        order = np.where((step > 0)[:, None], order[:, ::-1], order)
        pick = cols[None, :] < n_changes[:, None]
        which = np.broadcast_to(off[:, None], order.shape)[pick]
        ints[which, order[pick]] += np.broadcast_to(step[:, None], order.shape)[pick]
        total[off] = np.sum(ints[off], axis=1).round()
        off = off[np.abs(total[off] - target[off]) > 1e-6]
    return ints


def _calibrate(raw: np.ndarray, given: np.ndarray) -> np.ndarray:
    """cleanlab's ``calibrate_confident_joint``: rows to the given-label counts, the total
    to the number of rows, rows rounded keeping their totals (k x k, a loop over classes).
    cleanlab's joint is the transpose of scikit-learn's confusion matrix, so Fortran-ordered;
    numpy sums in memory order, so the layout is kept for the same total to the last bit.
    The rounding runs in Rust (all rows in parallel); only rows where equal remainders
    straddle the cut, which numpy's unstable argsort may order either way, are rounded
    again here by numpy's own routine (all of them in one 2-D argsort)."""
    raw = np.asfortranarray(raw)
    scaled = (raw.T / np.clip(raw.sum(axis=1), a_min=1e-100, a_max=None) * given).T
    scaled = scaled / np.clip(np.sum(scaled), a_min=1e-100, a_max=None) * int(given.sum())
    scaled = np.ascontiguousarray(scaled)
    out, unsure = _core.round_row_totals(scaled)
    if unsure.size:
        out[unsure] = _round_rows_keeping_totals(scaled[unsure])
    return out


class LabelIssuesReport(Report):
    """The rows whose given label is probably wrong, by confident learning.

    Attributes
    ----------
    mask : ndarray of bool
        One flag per row.
    ranked : ndarray of int64
        The flagged rows, worst first (lowest ``scores``).
    scores : ndarray of float64
        The label-quality score of every row for ``rank_by`` (low = worse).
    joint : ndarray (k, k)
        The calibrated confident joint over its total: ``joint[i, j]`` estimates
        P(given label i, true label j) (cleanlab's ``estimate_joint``).
    noise_matrix : ndarray (k, k)
        P(given label i | true label j); every column sums to 1.
    confident_joint : ndarray (k, k) of int64
        The calibrated confident joint (counts).
    thresholds : ndarray
        Per-class confidence thresholds (mean self-confidence of the rows given it).
    per_class : list of ClassCounts
    share : float
        The share of rows flagged.
    max_share : float or None
        The bar: the report passes when ``share <= max_share``; None gives no verdict.
    """

    schema = "mlsentry/label_issues/v1"
    title = "Label issues"

    def __init__(
        self,
        *,
        mask: np.ndarray,
        ranked: np.ndarray,
        scores: np.ndarray,
        joint: np.ndarray,
        noise_matrix: np.ndarray,
        confident_joint: np.ndarray,
        thresholds: np.ndarray,
        per_class: Sequence[ClassCounts],
        method: str,
        rank_by: str,
        max_share: Optional[float],
        worst: Sequence[Mapping[str, Any]],
        **meta: Any,
    ) -> None:
        super().__init__(**meta)
        self.mask = mask
        self.ranked = ranked
        self.scores = scores
        self.joint = joint
        self.noise_matrix = noise_matrix
        self.confident_joint = confident_joint
        self.thresholds = thresholds
        self.per_class = list(per_class)
        self.method = method
        self.rank_by = rank_by
        self.max_share = max_share
        self.worst = [dict(w) for w in worst]

    @property
    def n_rows(self) -> int:
        return int(self.mask.size)

    @property
    def n_classes(self) -> int:
        return int(self.joint.shape[0])

    @property
    def n_issues(self) -> int:
        return int(self.ranked.size)

    @property
    def share(self) -> float:
        return self.n_issues / self.n_rows if self.n_rows else 0.0

    @property
    def estimated_noise(self) -> float:
        """The estimated share of wrong labels: 1 - trace(joint)."""
        return float(1.0 - np.trace(self.joint))

    @property
    def passed(self) -> Optional[bool]:
        if self.max_share is None:
            return None
        return self.share <= self.max_share

    def to_pandas(self) -> Any:
        """The flagged rows, worst first: row, given label, score."""
        pd = require("pandas", "pandas", "LabelIssuesReport.to_pandas")
        return pd.DataFrame({"row": self.ranked, "score": self.scores[self.ranked]})

    def _headline(self) -> str:
        bar = "" if self.max_share is None else f" (bar {fmt_share(self.max_share)})"
        return (
            f"{count_of(self.n_issues, 'row')} of {self.n_rows} flagged "
            f"({fmt_share(self.share)}){bar}; estimated label noise "
            f"{fmt_share(self.estimated_noise)} [{self.method}, ranked by {self.rank_by}]"
        )

    def summary(self) -> str:
        lines = [f"{self.title}: {self.verdict}: {self._headline()}"]
        for w in self.worst[:5]:
            lines.append(
                f"  row {w['row']}: given {w['given']}, predicted {w['predicted']}, "
                f"score {fmt_number(w['score'])}"
            )
        return "\n".join(lines)

    def _payload(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rank_by": self.rank_by,
            "max_share": self.max_share,
            "n_rows": self.n_rows,
            "n_classes": self.n_classes,
            "n_issues": self.n_issues,
            "share": self.share,
            "estimated_noise": self.estimated_noise,
            "per_class": [asdict(c) for c in self.per_class],
            "worst": self.worst,
            "thresholds": self.thresholds.tolist(),
            "confident_joint": self.confident_joint.tolist(),
            "joint": self.joint.tolist(),
            "noise_matrix": self.noise_matrix.tolist(),
            "ranked": self.ranked.tolist(),
            "scores": self.scores.tolist(),
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> LabelIssuesReport:
        n = int(data["n_rows"])
        ranked = np.asarray(data["ranked"], dtype=np.int64)
        mask = np.zeros(n, dtype=bool)
        mask[ranked] = True
        return cls(
            mask=mask,
            ranked=ranked,
            scores=np.asarray(data["scores"], dtype=np.float64),
            joint=np.asarray(data["joint"], dtype=np.float64),
            noise_matrix=np.asarray(data["noise_matrix"], dtype=np.float64),
            confident_joint=np.asarray(data["confident_joint"], dtype=np.int64),
            thresholds=np.asarray(data["thresholds"], dtype=np.float64),
            per_class=[ClassCounts(**c) for c in data["per_class"]],
            method=data["method"],
            rank_by=data["rank_by"],
            max_share=data["max_share"],
            worst=data["worst"],
            **meta,
        )

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``n_issues``, ``share``, ``estimated_noise``, ``n_rows``, ``n_classes``."""
        return {
            f"{p}.n_issues": float(self.n_issues),
            f"{p}.share": self.share,
            f"{p}.estimated_noise": self.estimated_noise,
            f"{p}.n_rows": float(self.n_rows),
            f"{p}.n_classes": float(self.n_classes),
        }

    def _noise_html(self) -> str:
        k = self.n_classes
        nm = self.noise_matrix
        if k <= MATRIX_CLASSES:
            head = (
                "<tr><th>given \\ true</th>" + "".join(f"<th>{j}</th>" for j in range(k)) + "</tr>"
            )
            rows = []
            for i in range(k):
                cells = []
                for j in range(k):
                    v = float(nm[i, j])
                    # Off-diagonal noise in red, agreement in green; strength by value.
                    rgb = "26,127,55" if i == j else "207,34,46"
                    cells.append(
                        f'<td class="num" style="background:rgba({rgb},{min(v, 1.0) * 0.6:.3f})">'
                        f"{html.escape(fmt_number(v, 2))}</td>"
                    )
                rows.append(f"<tr><th>{i}</th>{''.join(cells)}</tr>")
            return f"<table>{head}{''.join(rows)}</table>"
        off = nm.copy()
        np.fill_diagonal(off, 0.0)
        top = np.argsort(off, axis=None, kind="stable")[::-1][:WORST_ROWS]
        pairs = [(int(t // k), int(t % k), fmt_number(float(off.flat[t]))) for t in top]
        return "<p>The largest noise rates:</p>" + html_table(
            ["given label", "true label", "P(given | true)"], pairs
        )

    def _html_body(self) -> str:
        parts = [
            f'<p class="lead">{html.escape(self._headline())}</p>',
            "<h3>Per class</h3>",
            html_table(
                ["label", "given", "flagged", "flagged share", "estimated true"],
                [
                    [
                        c.label,
                        c.given,
                        c.flagged,
                        fmt_share(c.flagged / c.given if c.given else 0.0),
                        c.estimated_true,
                    ]
                    for c in self.per_class
                ],
            ),
            f"<h3>Worst rows (first {len(self.worst)})</h3>",
            html_table(
                ["row", "given", "predicted", "score", "P(given)", "P(predicted)"],
                [
                    [
                        w["row"],
                        w["given"],
                        w["predicted"],
                        fmt_number(w["score"]),
                        fmt_number(w["p_given"]),
                        fmt_number(w["p_predicted"]),
                    ]
                    for w in self.worst
                ],
            ),
            "<h3>Noise matrix: P(given label | true label)</h3>",
            self._noise_html(),
        ]
        return "".join(parts)


def _check_share(max_share: Any) -> Optional[float]:
    if max_share is None:
        return None
    if isinstance(max_share, bool) or not isinstance(max_share, (int, float, np.number)):
        raise InvalidTypeError(
            f"max_share: expected None or a number in [0, 1], got {type(max_share).__name__}"
        )
    if not 0.0 <= float(max_share) <= 1.0:
        raise InvalidInputError(f"max_share: expected a number in [0, 1], got {max_share!r}")
    return float(max_share)


def label_issues(
    labels: Any,
    pred_probs: Any,
    method: str = "prune_by_noise_rate",
    rank_by: str = "self_confidence",
    *,
    max_share: Optional[float] = None,
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    fingerprint: bool = True,
) -> LabelIssuesReport:
    """Finds rows whose given label is probably wrong, by confident learning.

    The result equals cleanlab 2.9's ``cleanlab.filter.find_label_issues(labels,
    pred_probs, filter_by=method)`` (``.mask``) and its ``return_indices_ranked_by=rank_by``
    (``.ranked``); ``.scores`` equals ``cleanlab.rank.get_label_quality_scores(labels,
    pred_probs, method=rank_by)``, ``.joint`` ``cleanlab.count.estimate_joint`` and
    ``.noise_matrix`` the noise matrix of ``cleanlab.count.estimate_latent`` on the
    calibrated confident joint.

    Parameters
    ----------
    labels : sequence of int
        The given label of each row, class indices ``0..k-1`` (list, numpy array, pandas
        Series). Classes no row is given are allowed, as in cleanlab; two at least must
        occur.
    pred_probs : array (n, k)
        Out-of-sample predicted probabilities (:func:`cross_val_pred_probs` computes them
        for a scikit-learn-like model): float64 or float32, read in place without a copy.
        Each row must sum to 1 within ``ROW_SUM_TOLERANCE`` (1e-4) and hold values in
        ``[-1e-6, 1 + 1e-6]`` (cleanlab's check); NaN and infinities are refused.
    method : str
        ``"prune_by_noise_rate"`` (default), ``"prune_by_class"``, ``"both"``,
        ``"confident_learning"`` or ``"predicted_neq_given"`` (cleanlab's ``filter_by``).
    rank_by : str
        ``"self_confidence"`` (default), ``"normalized_margin"`` or
        ``"confidence_weighted_entropy"`` (the last needs values in [0, 1]).
    max_share : float, optional
        A bar: the report passes when at most this share of rows is flagged. Without it
        the report has no verdict.
    frac_noise, min_examples_per_class
        As in cleanlab, for the three pruning methods: flag this share of the estimated
        issues; keep at least this many rows per class.
    fingerprint : bool
        Record :func:`mlsentry.fingerprint` of both inputs in ``report.inputs``.

    Returns
    -------
    LabelIssuesReport

    Notes
    -----
    cleanlab options not offered: ``num_to_remove_per_class``, a user-supplied
    ``confident_joint``, ``rank_by_kwargs`` (``adjust_pred_probs``), ``multi_label``
    (deprecated there), the filters ``low_self_confidence`` and ``low_normalized_margin``,
    and ``n_jobs``/``verbose`` (the work runs on mlsentry's thread pool). Where cleanlab
    sorts with numpy's default (unstable) argsort when choosing which rows of a class to
    prune and when ranking, equal values are ordered here by row index: results can only
    differ when values tie exactly at a cut. cleanlab warns when a class has too few rows
    to prune; this function prunes nothing in such a class, silently, as cleanlab does.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.85, 0.15], [0.1, 0.9], [0.7, 0.3],
    ...               [0.2, 0.8], [0.1, 0.9], [0.3, 0.7], [0.95, 0.05], [0.25, 0.75]])
    >>> report = ms.data.label_issues([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], p)
    >>> report.ranked.tolist()
    [8, 3]
    >>> report.passed is None
    True
    """
    if method not in LABEL_FILTERS:
        raise InvalidInputError(f"method must be one of {', '.join(LABEL_FILTERS)}, got {method!r}")
    if rank_by not in LABEL_RANKINGS:
        raise InvalidInputError(
            f"rank_by must be one of {', '.join(LABEL_RANKINGS)}, got {rank_by!r}"
        )
    bar = _check_share(max_share)
    if isinstance(min_examples_per_class, bool) or not isinstance(
        min_examples_per_class, (int, np.integer)
    ):
        raise InvalidTypeError("min_examples_per_class: expected an int")
    if min_examples_per_class < 0:
        raise InvalidInputError(
            f"min_examples_per_class: expected >= 0, got {min_examples_per_class}"
        )
    y = _labels_array(labels)
    p = _probs_array(pred_probs)
    out = _core.label_issues(
        y, p, method, rank_by, float(frac_noise), int(min_examples_per_class), _calibrate
    )
    ranked = out["ranked"]
    worst_rows = ranked[:WORST_ROWS]
    sub = p[worst_rows]
    predicted = sub.argmax(axis=1) if sub.size else np.zeros(0, dtype=np.int64)
    worst = [
        {
            "row": int(r),
            "given": int(y[r]),
            "predicted": int(predicted[i]),
            "score": float(out["scores"][r]),
            "p_given": float(sub[i, y[r]]),
            "p_predicted": float(sub[i, predicted[i]]),
        }
        for i, r in enumerate(worst_rows.tolist())
    ]
    per_class = [
        ClassCounts(label=c, given=int(g), flagged=int(f), estimated_true=int(t))
        for c, (g, f, t) in enumerate(
            zip(out["given_counts"], out["flagged_counts"], out["true_counts"])
        )
    ]
    # After the search, not beside it in a thread: on two cores the search already uses
    # both, and hashing beside it only added to the peak memory (measured in the bench).
    inputs = {}
    if fingerprint:
        from ..integrity import fingerprint as _fingerprint

        inputs = {"labels": _fingerprint(y), "pred_probs": _fingerprint(p)}
    report = LabelIssuesReport(
        mask=out["mask"],
        ranked=ranked,
        scores=out["scores"],
        joint=out["joint"],
        noise_matrix=out["noise_matrix"],
        confident_joint=out["confident_joint"],
        thresholds=out["thresholds"],
        per_class=per_class,
        method=method,
        rank_by=rank_by,
        max_share=bar,
        worst=worst,
        config={
            "method": method,
            "rank_by": rank_by,
            "max_share": bar,
            "frac_noise": float(frac_noise),
            "min_examples_per_class": int(min_examples_per_class),
        },
        inputs=inputs,
    )
    from ..integrity import record_check

    record_check(
        "label_issues", report.passed, inputs, n_issues=report.n_issues, share=report.share
    )
    return report


def cross_val_pred_probs(
    model_factory: Callable[[], Any],
    X: Any,
    y: Any,
    folds: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Out-of-sample predicted probabilities by stratified k-fold cross-validation.

    Each fold calls ``model_factory()`` for a fresh model, ``fit``s it on the other folds
    and fills its rows with ``predict_proba``. The folds are scikit-learn's
    ``StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)``, so the result
    equals ``cross_val_predict(model, X, y, cv=that, method="predict_proba")``.

    Parameters
    ----------
    model_factory : callable
        Returns an unfitted model with ``fit(X, y)`` and ``predict_proba(X)``.
    X : array-like or DataFrame (n, d)
    y : sequence (n,)
        Class labels; columns of the result follow the sorted unique labels. A class
        missing from a fold's training rows gets probability 0 in that fold.
    folds : int
    seed : int

    Returns
    -------
    ndarray (n, k) of float64

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.r_[np.zeros((20, 1)), np.ones((20, 1))]; y = np.r_[[0] * 20, [1] * 20]
    >>> ms.data.cross_val_pred_probs(LogisticRegression, X, y).shape
    (40, 2)
    """
    model_selection = require("sklearn.model_selection", "test", "cross_val_pred_probs")
    if not callable(model_factory):
        raise InvalidTypeError("model_factory: expected a callable returning a model")
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise InvalidInputError(f"folds: expected an int >= 2, got {folds!r}")
    y_arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if y_arr.ndim != 1:
        raise InvalidInputError(f"y: expected one label per row (1-D), got shape {y_arr.shape}")
    n = len(X)
    if n != y_arr.size:
        raise InvalidInputError(f"X has {n} rows but y has {y_arr.size} labels")
    if n == 0:
        raise InvalidInputError("X is empty: there are no rows to predict")
    classes = np.unique(y_arr)
    if classes.size < 2:
        raise InvalidInputError("y must contain at least 2 classes")
    splitter = model_selection.StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    take = (lambda idx: X.iloc[idx]) if hasattr(X, "iloc") else (lambda idx: np.asarray(X)[idx])
    out = np.zeros((n, classes.size), dtype=np.float64)
    for train, test in splitter.split(np.zeros(n), y_arr):
        model = model_factory()
        model.fit(take(train), y_arr[train])
        proba = np.asarray(model.predict_proba(take(test)), dtype=np.float64)
        seen = np.asarray(getattr(model, "classes_", classes[np.isin(classes, y_arr[train])]))
        cols = np.searchsorted(classes, seen)
        if proba.shape != (test.size, seen.size):
            raise InvalidInputError(
                f"predict_proba returned shape {proba.shape}, expected ({test.size}, {seen.size})"
            )
        out[np.ix_(test, cols)] = proba
    return out
