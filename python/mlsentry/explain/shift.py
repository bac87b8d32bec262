"""Which features drive a shift of the model's predictions between two data sets.

SHAP values of the rows of both sides are computed against ONE shared background (a
seeded sample of the reference for Kernel SHAP; the model's own training covers, or the
given background, for Tree SHAP). Every row's values add up to ``f(x) - base`` with the
same ``base`` on both sides, so the difference of the per-feature means,
``mean phi_j(current) - mean phi_j(reference)``, adds up exactly to
``mean f(current) - mean f(reference)``: the shift of the mean prediction, split over the
features, with nothing left over. For a linear model the share of feature ``j`` is
``w_j (mean_current x_j - mean_reference x_j)``.
"""

from __future__ import annotations

import html
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Optional, Union

import numpy as np

from .._args import check_int
from .._progress import ProgressArg
from ..errors import InvalidInputError, require
from ..report import Report, count_of, fmt_number, html_table, name_part
from .kernel import kernel_shap
from .report import TOP_FEATURES, Explanation, feature_matrix
from .trees import is_tree_model, tree_shap

__all__ = ["ShiftExplanation", "prediction_shift"]

#: Rows explained per side by default (sampled, seeded, when a side has more).
MAX_ROWS = 1000
#: Reference rows sampled as Kernel SHAP's background by default.
BACKGROUND_ROWS = 100
METHODS = ("auto", "tree", "kernel")


def _confidence(value: Any) -> float:
    try:
        c = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"confidence: expected a number in (0, 1), got {value!r}") from None
    if not 0.0 < c < 1.0:
        raise InvalidInputError(f"confidence: expected a number in (0, 1), got {value!r}")
    return c


def _columns(X: Any) -> Optional[list[Any]]:
    if hasattr(X, "columns") and not isinstance(X, np.ndarray):
        return list(X.columns)
    return None


def _as_model_input(rows: np.ndarray, columns: Optional[list[Any]]) -> Any:
    """Rows as the model saw its input: a pandas DataFrame again when the sides were
    DataFrames (a pipeline keyed by column names keeps working)."""
    if columns is None:
        return rows
    import pandas as pd

    return pd.DataFrame(rows, columns=pd.Index(columns))


def _frame(X: Any, what: str, columns: Optional[Sequence[str]], model: Any) -> Any:
    """A table side as the model takes it: dicts of columns, pyarrow and polars tables as
    pandas DataFrames; a DataFrame narrowed to ``columns`` (or the model's
    ``feature_names_in_`` when it has them all)."""
    module = type(X).__module__.split(".", 1)[0]
    if isinstance(X, Mapping) or module in ("pyarrow", "polars"):
        pd = require("pandas", "pandas", f"{what} as a {type(X).__name__}")
        X = pd.DataFrame(dict(X)) if isinstance(X, Mapping) else X.to_pandas()
    names = _columns(X)
    if names is None:
        if columns is not None:
            raise InvalidInputError(f"columns: {what} has no column names to choose from")
        return X
    wanted = columns
    if wanted is None:
        fitted = getattr(model, "feature_names_in_", None)
        if fitted is not None and all(str(c) in map(str, names) for c in fitted):
            wanted = [str(c) for c in fitted]
    if wanted is None:
        return X
    by_name = {str(c): c for c in names}
    missing = [c for c in wanted if str(c) not in by_name]
    if missing:
        raise InvalidInputError(f"columns: {what} has no column {', '.join(map(repr, missing))}")
    return X[[by_name[str(c)] for c in wanted]]


def _sample(n: int, limit: int, rng: np.random.Generator) -> Optional[np.ndarray]:
    """Sorted row indices of a sample of ``limit`` rows, or None to keep them all."""
    if n <= limit:
        return None
    return np.sort(rng.choice(n, size=limit, replace=False))


def prediction_shift(
    model: Any,
    reference: Any,
    current: Any,
    background: Any = None,
    method: str = "auto",
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    *,
    background_rows: int = BACKGROUND_ROWS,
    columns: Optional[Sequence[str]] = None,
    nsamples: Union[str, int] = "auto",
    confidence: float = 0.95,
    feature_names: Optional[Sequence[str]] = None,
    progress: ProgressArg = False,
) -> ShiftExplanation:
    """Splits the change of the mean prediction from ``reference`` to ``current`` over
    the features.

    Parameters
    ----------
    model : model
        A tree model that :func:`tree_shap` reads, or any model :func:`kernel_shap`
        calls (``predict_proba``, a callable, or ``predict``).
    reference, current : array-like (n, d)
        The two data sets (numeric; DataFrames reach the model as DataFrames; the same
        columns in the same order on both sides).
    background : array-like (m, d), optional
        The one background both sides are explained against. None: Kernel SHAP samples
        ``background_rows`` reference rows (seeded); Tree SHAP is path-dependent (the
        model's training covers are the background). Given: Kernel SHAP uses it, Tree
        SHAP is interventional against it.
    method : {"auto", "tree", "kernel"}
        ``"auto"``: Tree SHAP for supported tree models (their raw output: log-odds for
        boosted classifiers), Kernel SHAP otherwise (``predict_proba`` when the model has
        it).
    max_rows : int
        Rows explained per side; a side with more is sampled without replacement
        (seeded; the counts are recorded).
    seed : int
        Seed of the row samples, the background sample and sampled coalitions.
    background_rows : int
        Reference rows sampled as Kernel SHAP's background when none is given.
    columns : list of str, optional
        The model's input columns of table sides (dicts of columns, pandas, polars and
        pyarrow tables: the latter reach the model as pandas DataFrames). Default: the
        model's ``feature_names_in_`` when the tables have them all, else every column.
    nsamples : "auto", "exact" or int
        Coalitions of Kernel SHAP (see :func:`kernel_shap`).
    confidence : float
        Level of the per-feature intervals: normal intervals of a difference of two means
        over the explained rows (they reflect which rows were sampled, not the model).

    Returns
    -------
    ShiftExplanation
        ``contributions`` ``(d,)`` (``(d, k)`` for ``k`` outputs) that add up to
        ``mean_current - mean_reference``, their intervals, and both mean predictions.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> ref, cur = rng.normal(size=(300, 3)), rng.normal(size=(300, 3)) + [0.0, 1.0, 0.0]
    >>> w = np.array([1.0, -2.0, 0.5])
    >>> sh = ms.explain.prediction_shift(lambda rows: rows @ w, ref, cur)
    >>> bool(np.allclose(sh.contributions, w * (cur.mean(0) - ref.mean(0))))
    True
    """
    if method not in METHODS:
        raise InvalidInputError(f"method: expected one of {METHODS}, got {method!r}")
    seed = check_int(seed, "seed", 0)
    max_rows = check_int(max_rows, "max_rows", 2)
    background_rows = check_int(background_rows, "background_rows", 1)
    level = _confidence(confidence)
    tree = is_tree_model(model) if method == "auto" else method == "tree"
    reference = _frame(reference, "reference", columns, model)
    current = _frame(current, "current", columns, model)
    if background is not None:
        background = _frame(background, "background", columns, model)
    ref, names = feature_matrix(reference, "reference", feature_names, model, allow_nan=tree)
    cur, cur_names = feature_matrix(current, "current", feature_names, model, allow_nan=tree)
    columns = _columns(reference)
    fitted = getattr(model, "feature_names_in_", None)
    if columns is None and fitted is not None and [str(c) for c in fitted] == list(names):
        # Rows without column names for a model fitted on a DataFrame: it gets the
        # columns it was fitted with, as when the sides were DataFrames.
        columns = list(fitted)
    if cur.shape[1] != ref.shape[1]:
        raise InvalidInputError(
            f"current: {cur.shape[1]} features per row, reference has {ref.shape[1]}"
        )
    if cur_names != names:
        raise InvalidInputError("current: its columns differ from reference's (names or order)")
    for what, side in (("reference", ref), ("current", cur)):
        if side.shape[0] < 2:
            raise InvalidInputError(f"{what}: at least 2 rows needed, got {side.shape[0]}")
    rng_ref, rng_cur, rng_bg = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    pick_ref = _sample(len(ref), max_rows, rng_ref)
    pick_cur = _sample(len(cur), max_rows, rng_cur)
    ref_rows = ref if pick_ref is None else ref[pick_ref]
    cur_rows = cur if pick_cur is None else cur[pick_cur]
    stacked = _as_model_input(np.concatenate([ref_rows, cur_rows]), columns)
    bg: Optional[np.ndarray] = None
    if background is not None:
        bg, _ = feature_matrix(background, "background", None, model, allow_nan=tree)
        if bg.shape[1] != ref.shape[1]:
            raise InvalidInputError(
                f"background: {bg.shape[1]} features per row, reference has {ref.shape[1]}"
            )
    elif not tree:
        pick_bg = _sample(len(ref), background_rows, rng_bg)
        bg = ref if pick_bg is None else ref[pick_bg]
    bg_input = None if bg is None else _as_model_input(bg, columns)
    if tree:
        ex = tree_shap(model, stacked, bg_input, feature_names=names, progress=progress)
    else:
        ex = kernel_shap(
            model, stacked, bg_input, nsamples, seed, feature_names=names, progress=progress
        )
    return _summarise(
        ex,
        len(ref_rows),
        level,
        config={
            "method": ex.method,
            "output": ex.config.get("output", ex.config.get("model_call")),
            "max_rows": max_rows,
            "rows_reference": [len(ref_rows), len(ref)],
            "rows_current": [len(cur_rows), len(cur)],
            "background": "given"
            if background is not None
            else ("model covers" if tree else f"{len(bg) if bg is not None else 0} reference rows"),
            "background_rows": None if bg is None else len(bg),
            "nsamples": nsamples if isinstance(nsamples, (str, int)) else str(nsamples),
            "confidence": level,
        },
        inputs=_inputs(ref, cur, bg),
        seed=seed,
    )


def _inputs(ref: np.ndarray, cur: np.ndarray, bg: Optional[np.ndarray]) -> dict[str, str]:
    from ..integrity import fingerprint

    out = {"reference": fingerprint(ref), "current": fingerprint(cur)}
    if bg is not None:
        out["background"] = fingerprint(bg)
    return out


def _summarise(
    ex: Explanation,
    n_ref: int,
    level: float,
    *,
    config: dict[str, Any],
    inputs: dict[str, str],
    seed: int,
) -> ShiftExplanation:
    """The per-feature shift from the values of the stacked rows (reference first)."""
    phi = ex._by_output()  # (n, d, k)
    pred = phi.sum(axis=1) + ex._base_by_output()  # (n, k): the outputs the values explain
    a, b = phi[:n_ref], phi[n_ref:]
    contrib = b.mean(axis=0) - a.mean(axis=0)
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    z = statistics.NormalDist().inv_cdf(0.5 + level / 2)
    low, high = contrib - z * se, contrib + z * se
    mean_ref, mean_cur = pred[:n_ref].mean(axis=0), pred[n_ref:].mean(axis=0)
    if ex.n_outputs == 1:
        contrib, low, high = contrib[:, 0], low[:, 0], high[:, 0]
        mean_ref, mean_cur = mean_ref[:1], mean_cur[:1]
    gap = float(ex.efficiency_gap.max()) if ex.efficiency_gap.size else 0.0
    return ShiftExplanation(
        contributions=contrib,
        low=low,
        high=high,
        mean_reference=mean_ref,
        mean_current=mean_cur,
        feature_names=ex.feature_names,
        output_names=ex.output_names,
        method=ex.method,
        efficiency_gap=gap,
        config=config,
        inputs=inputs,
        seed=seed,
    )


class ShiftExplanation(Report):
    """The change of the mean prediction between two data sets, split over the features.

    Attributes
    ----------
    contributions : ndarray
        ``(d,)`` for one output, ``(d, k)`` for ``k``: ``mean phi_j(current) -
        mean phi_j(reference)``; they add up to ``shift``.
    low, high : ndarray
        The interval of each contribution (``config["confidence"]``).
    mean_reference, mean_current : ndarray (k,)
        The mean model output of the explained rows of each side (in the space the values
        explain: probabilities for ``predict_proba``, log-odds for boosted trees).
    shift : ndarray (k,)
        ``mean_current - mean_reference``.
    efficiency_gap : float
        The largest ``|sum of values + base - output|`` of an explained row.

    An explanation has no bar to pass: ``passed`` is None.
    """

    schema: ClassVar[str] = "mlsentry/prediction-shift/v1"
    title: ClassVar[str] = "Prediction shift by feature"

    def __init__(
        self,
        *,
        contributions: Any,
        low: Any,
        high: Any,
        mean_reference: Any,
        mean_current: Any,
        feature_names: Sequence[str],
        output_names: Optional[Sequence[str]],
        method: str,
        efficiency_gap: float,
        **meta: Any,
    ) -> None:
        super().__init__(**meta)
        self.contributions = np.asarray(contributions, dtype=np.float64)
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.mean_reference = np.asarray(mean_reference, dtype=np.float64).reshape(-1)
        self.mean_current = np.asarray(mean_current, dtype=np.float64).reshape(-1)
        self.feature_names = list(feature_names)
        self.output_names = None if output_names is None else list(output_names)
        self.method = method
        self.efficiency_gap = float(efficiency_gap)

    @property
    def passed(self) -> Optional[bool]:
        return None

    @property
    def shift(self) -> np.ndarray:
        return self.mean_current - self.mean_reference

    def _by_output(self, a: np.ndarray) -> np.ndarray:
        return a[:, None] if a.ndim == 1 else a

    def _output_labels(self) -> list[str]:
        k = self.mean_reference.size
        if self.output_names is not None and len(self.output_names) == k:
            return [str(o) for o in self.output_names]
        return [str(o) for o in range(k)]

    def to_pandas(self) -> Any:
        """One row per feature (and output): ``contribution``, ``low``, ``high``."""
        import pandas as pd

        c, lo, hi = (self._by_output(a) for a in (self.contributions, self.low, self.high))
        labels = self._output_labels()
        rows = [
            [labels[o], self.feature_names[j], c[j, o], lo[j, o], hi[j, o]]
            for o in range(c.shape[1])  # a loop over outputs and features
            for j in range(c.shape[0])
        ]
        df = pd.DataFrame(rows, columns=["output", "feature", "contribution", "low", "high"])
        return df.drop(columns="output") if c.shape[1] == 1 else df

    # -- report ----------------------------------------------------------------------
    def _payload(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "feature_names": self.feature_names,
            "output_names": self.output_names,
            "contributions": self.contributions.tolist(),
            "low": self.low.tolist(),
            "high": self.high.tolist(),
            "mean_reference": self.mean_reference.tolist(),
            "mean_current": self.mean_current.tolist(),
            "efficiency_gap": self.efficiency_gap,
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> ShiftExplanation:
        return cls(
            contributions=data["contributions"],
            low=data["low"],
            high=data["high"],
            mean_reference=data["mean_reference"],
            mean_current=data["mean_current"],
            feature_names=data["feature_names"],
            output_names=data["output_names"],
            method=data["method"],
            efficiency_gap=data["efficiency_gap"],
            **meta,
        )

    def _order(self, o: int) -> np.ndarray:
        c = self._by_output(self.contributions)[:, o]
        return np.argsort(-np.abs(c), kind="stable")

    def summary(self) -> str:
        lines = [f"{self.title} ({self.method}):"]
        c = self._by_output(self.contributions)
        for o, label in enumerate(self._output_labels()):
            top = ", ".join(f"{self.feature_names[j]} {c[j, o]:+.3g}" for j in self._order(o)[:5])
            name = "" if self.mean_reference.size == 1 else f"output {label}: "
            lines.append(
                f"  {name}mean prediction {fmt_number(float(self.mean_reference[o]))} -> "
                f"{fmt_number(float(self.mean_current[o]))} "
                f"({float(self.shift[o]):+.3g}); largest shares: {top}"
            )
        return "\n".join(lines)

    def _metrics(self, prefix: str, column_metrics: int) -> dict[str, float]:
        out = {f"{prefix}.efficiency_gap": self.efficiency_gap}
        c = self._by_output(self.contributions)
        labels = self._output_labels()
        for o, label in enumerate(labels):
            p = prefix if len(labels) == 1 else f"{prefix}.{name_part(label)}"
            out[f"{p}.shift"] = float(self.shift[o])
            for j in self._order(o)[:column_metrics]:
                out[f"{p}.contribution.{name_part(self.feature_names[j])}"] = float(c[j, o])
        return out

    def _html_body(self) -> str:
        c, lo, hi = (self._by_output(a) for a in (self.contributions, self.low, self.high))
        conf = self.config.get("confidence", 0.95)
        parts = [
            f'<p class="lead">{html.escape(self.method)}: the change of the mean prediction '
            "split over the features (the bars add up to the change; red raises the "
            f"prediction, blue lowers it; the values add up within "
            f"{self.efficiency_gap:.3g} on every row).</p>"
        ]
        for o, label in enumerate(self._output_labels()[:5]):
            head = "" if c.shape[1] == 1 else f"Output {html.escape(label)}: "
            parts.append(
                f"<h3>{head}mean prediction {fmt_number(float(self.mean_reference[o]))} "
                f"&#8594; {fmt_number(float(self.mean_current[o]))} "
                f"({float(self.shift[o]):+.3g})</h3>"
            )
            order = self._order(o)
            parts.append(_signed_bars_svg([self.feature_names[j] for j in order], c[order, o]))
            parts.append(
                html_table(
                    ["feature", "contribution", f"{conf:.0%} interval"],
                    [
                        [
                            self.feature_names[j],
                            f"{c[j, o]:+.4g}",
                            f"[{lo[j, o]:+.3g}, {hi[j, o]:+.3g}]",
                        ]
                        for j in order[:50]
                    ],
                )
            )
        counts = [
            f"{side} {used:,} of {total:,}"
            for side in ("reference", "current")
            for used, total in [self.config.get(f"rows_{side}") or (0, 0)]
        ]
        n = count_of(len(self.feature_names), "feature")
        parts.append(f"<p>{n}; rows explained: {html.escape(', '.join(counts))}.</p>")
        return "".join(parts)


def _signed_bars_svg(names: Sequence[str], values: np.ndarray) -> str:
    """Bars left (blue, negative) or right (red, positive) of a zero line, largest
    |value| first; features past ``TOP_FEATURES`` summed into one bar."""
    labels = list(names[:TOP_FEATURES])
    vals = [float(v) for v in values[:TOP_FEATURES]]
    if len(names) > TOP_FEATURES:
        labels.append(f"{len(names) - TOP_FEATURES} other features")
        vals.append(float(np.sum(values[TOP_FEATURES:])))
    # 60 px on each side of the bars for their value labels.
    width, left, bar_h = 700.0, 200.0, 18.0
    half = (width - left - 120) / 2
    zero = left + 60 + half
    top = max((abs(v) for v in vals), default=0.0) or 1.0
    scale = half / top
    parts = []
    for i, (label, v) in enumerate(zip(labels, vals)):
        y = 4 + i * (bar_h + 4)
        x0 = zero + min(v, 0.0) * scale
        colour = "#cf222e" if v >= 0 else "#0969da"
        tx = zero + v * scale + (4 if v >= 0 else -4)
        parts.append(
            f'<text x="{left - 6:.0f}" y="{y + 13:.0f}" text-anchor="end" font-size="12">'
            f"{html.escape(label[:30])}</text>"
            f'<rect x="{x0:.1f}" y="{y:.0f}" width="{max(abs(v) * scale, 0.5):.1f}" '
            f'height="{bar_h:.0f}" fill="{colour}"/>'
            f'<text x="{tx:.1f}" y="{y + 13:.0f}" font-size="11" '
            f'text-anchor="{"start" if v >= 0 else "end"}">{v:+.3g}</text>'
        )
    height = 8 + len(labels) * (bar_h + 4)
    parts.append(
        f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{height:.0f}" stroke="#57606a"/>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'role="img"><title>contribution of each feature to the prediction shift</title>'
        f"{''.join(parts)}</svg>"
    )
