"""The :class:`Explanation` report of Kernel SHAP and Tree SHAP, and the input handling
both share (rows as a float64 matrix, feature names, input fingerprints)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import numpy as np

from ..errors import InvalidInputError, InvalidTypeError
from ..report import Report, count_of, fmt_number, html_table, name_part

__all__ = ["Explanation"]

#: Features shown in the importance chart and the waterfall (the rest are summed).
TOP_FEATURES = 20


def feature_matrix(
    X: Any,
    what: str,
    feature_names: Optional[Sequence[str]],
    model: Any = None,
    *,
    allow_nan: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """``X`` as a C-contiguous float64 ``(n, d)`` matrix and its feature names (given, a
    DataFrame's columns, the model's ``feature_names_in_``, or ``x0..``)."""
    columns = None
    if hasattr(X, "columns") and hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        columns = [str(c) for c in X.columns]
        try:
            X = X.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as e:
            raise InvalidTypeError(f"{what}: every column must be numeric ({e})") from None
    try:
        arr = np.asarray(X)
    except Exception as e:
        raise InvalidTypeError(f"{what}: cannot convert to an array ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise InvalidTypeError(f"{what}: expected numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InvalidInputError(
            f"{what}: expected a 2-D array (rows, features), got shape {arr.shape}"
        )
    if arr.shape[1] == 0:
        raise InvalidInputError(f"{what}: rows have no features")
    x = np.ascontiguousarray(arr, dtype=np.float64)
    bad = np.isinf(x) if allow_nan else ~np.isfinite(x)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        kind = "infinite" if allow_nan else "NaN or infinite"
        raise InvalidInputError(
            f"{what}: {int(bad.sum())} {kind} value(s), the first at row {i}, feature {j}"
        )
    if feature_names is not None:
        names = [str(n) for n in feature_names]
    elif columns is not None:
        names = columns
    elif model is not None and getattr(model, "feature_names_in_", None) is not None:
        names = [str(n) for n in model.feature_names_in_]
    else:
        names = [f"x{j}" for j in range(x.shape[1])]
    if len(names) != x.shape[1]:
        raise InvalidInputError(f"feature_names: {len(names)} names for {x.shape[1]} features")
    return x, names


def explanation_inputs(x: np.ndarray, background: Optional[np.ndarray]) -> dict[str, str]:
    from ..integrity import fingerprint

    out = {"X": fingerprint(x)}
    if background is not None:
        out["background"] = fingerprint(background)
    return out


class Explanation(Report):
    """Feature attributions (SHAP values) of a model's output for some rows.

    Attributes
    ----------
    values : ndarray
        ``(n, d)`` for a model with one output, ``(n, d, k)`` for ``k`` outputs, as
        ``shap`` shapes them.
    base_values : ndarray
        ``(n,)`` or ``(n, k)``: the expected output the values start from; for every row,
        ``values.sum(axis=1) + base_values`` is the model's output.
    data : ndarray (n, d)
        The rows explained.
    feature_names : list of str
    output_names : list of str or None
        The outputs (classes) when there are several.
    efficiency_gap : ndarray (n,)
        ``|sum of values + base - output|`` per row (the largest over outputs): how far
        the attributions are from adding up to the model's output.
    method : str
        ``tree_path_dependent``, ``tree_interventional``, ``kernel_exact`` or
        ``kernel_sampled``.

    An explanation has no bar to pass: ``passed`` is None.
    """

    schema = "mlsentry/explanation/v1"
    title = "Explanation"

    def __init__(
        self,
        *,
        values: np.ndarray,
        base_values: np.ndarray,
        data: np.ndarray,
        feature_names: Sequence[str],
        output_names: Optional[Sequence[str]],
        efficiency_gap: np.ndarray,
        method: str,
        **meta: Any,
    ) -> None:
        super().__init__(**meta)
        self.values = np.asarray(values, dtype=np.float64)
        self.base_values = np.asarray(base_values, dtype=np.float64)
        self.data = np.asarray(data, dtype=np.float64)
        self.feature_names = list(feature_names)
        self.output_names = None if output_names is None else list(output_names)
        self.efficiency_gap = np.asarray(efficiency_gap, dtype=np.float64)
        self.method = method

    @property
    def passed(self) -> Optional[bool]:
        return None

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_outputs(self) -> int:
        return 1 if self.values.ndim == 2 else int(self.values.shape[2])

    def _by_output(self) -> np.ndarray:
        """Values as ``(n, d, k)`` whatever the number of outputs."""
        return self.values[:, :, None] if self.values.ndim == 2 else self.values

    def _base_by_output(self) -> np.ndarray:
        return self.base_values[:, None] if self.base_values.ndim == 1 else self.base_values

    @property
    def importance(self) -> np.ndarray:
        """Mean absolute value of each feature over the rows, ``(d,)`` or ``(d, k)``."""
        if self.n_rows == 0:
            return np.zeros(self.values.shape[1:])
        return np.abs(self.values).mean(axis=0)

    def _output_labels(self) -> list[str]:
        if self.output_names is not None:
            return [str(o) for o in self.output_names]
        return [str(o) for o in range(self.n_outputs)]

    def to_pandas(self) -> Any:
        """The values as a DataFrame: one row per explained row, one column per feature
        (for several outputs, columns ``(output, feature)``), plus ``base_value``."""
        import pandas as pd

        if self.values.ndim == 2:
            df = pd.DataFrame(self.values, columns=self.feature_names)
            df["base_value"] = self.base_values
            return df
        frames = {}
        for o, label in enumerate(self._output_labels()):
            part = pd.DataFrame(self.values[:, :, o], columns=self.feature_names)
            part["base_value"] = self.base_values[:, o]
            frames[label] = part
        return pd.concat(frames, axis=1)

    # -- report ----------------------------------------------------------------------
    def _payload(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "feature_names": self.feature_names,
            "output_names": self.output_names,
            "values": self.values.tolist(),
            "base_values": self.base_values.tolist(),
            "data": _nan_as_none(self.data),
            "efficiency_gap": self.efficiency_gap.tolist(),
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> Explanation:
        d = len(data["feature_names"])
        values = np.asarray(data["values"], dtype=np.float64)
        rows = np.asarray(
            [[np.nan if v is None else v for v in r] for r in data["data"]], dtype=np.float64
        ).reshape(-1, d)
        return cls(
            values=values.reshape((-1, *values.shape[1:])) if values.size else values,
            base_values=np.asarray(data["base_values"], dtype=np.float64),
            data=rows,
            feature_names=data["feature_names"],
            output_names=data["output_names"],
            efficiency_gap=np.asarray(data["efficiency_gap"], dtype=np.float64),
            method=data["method"],
            **meta,
        )

    def summary(self) -> str:
        imp = self.importance
        total = imp if imp.ndim == 1 else imp.mean(axis=1)
        order = np.argsort(-total, kind="stable")[:5]
        top = ", ".join(f"{self.feature_names[j]} {fmt_number(float(total[j]))}" for j in order)
        gap = float(self.efficiency_gap.max()) if self.efficiency_gap.size else 0.0
        return (
            f"{self.title} ({self.method}): {count_of(self.n_rows, 'row')}, "
            f"{count_of(len(self.feature_names), 'feature')}, "
            f"{count_of(self.n_outputs, 'output')}\n"
            f"  top features by mean |value|: {top}\n"
            f"  largest efficiency gap: {gap:.3g}"
        )

    def _metrics(self, prefix: str, column_metrics: int) -> dict[str, float]:
        imp = self.importance
        total = imp if imp.ndim == 1 else imp.mean(axis=1)
        out = {
            f"{prefix}.rows": float(self.n_rows),
            f"{prefix}.max_efficiency_gap": float(self.efficiency_gap.max())
            if self.efficiency_gap.size
            else 0.0,
        }
        for j in np.argsort(-total, kind="stable")[:column_metrics]:
            out[f"{prefix}.importance.{name_part(self.feature_names[j])}"] = float(total[j])
        return out

    def _html_body(self) -> str:
        imp = self.importance
        total = imp if imp.ndim == 1 else imp.mean(axis=1)
        order = np.argsort(-total, kind="stable")
        gap = float(self.efficiency_gap.max()) if self.efficiency_gap.size else 0.0
        lead = (
            f'<p class="lead">{html.escape(self.method)}: {count_of(self.n_rows, "row")}, '
            f"{count_of(len(self.feature_names), 'feature')}; the values add up to the "
            f"model's output within {gap:.3g} on every row.</p>"
        )
        parts = [lead, "<h3>Global importance (mean |value|)</h3>"]
        parts.append(_bars_svg([self.feature_names[j] for j in order], total[order]))
        if self.n_rows:
            by_out = self._by_output()
            base = self._base_by_output()
            label = self._output_labels()[0]
            parts.append(
                f"<h3>Row 0, output {html.escape(label)}: from the base value to the output</h3>"
            )
            parts.append(
                _waterfall_svg(self.feature_names, by_out[0, :, 0], float(base[0, 0]), self.data[0])
            )
        rows = [[self.feature_names[j], fmt_number(float(total[j]), 4)] for j in order[:50]]
        parts.append(html_table(["feature", "mean |value|"], rows))
        return "".join(parts)


def _nan_as_none(a: np.ndarray) -> list[Any]:
    return [[None if np.isnan(v) else float(v) for v in row] for row in a.tolist()]


def _bars_svg(names: Sequence[str], values: np.ndarray) -> str:
    """Horizontal bars, largest first; features past ``TOP_FEATURES`` summed into one."""
    labels = list(names[:TOP_FEATURES])
    vals = [float(v) for v in values[:TOP_FEATURES]]
    if len(names) > TOP_FEATURES:
        labels.append(f"{len(names) - TOP_FEATURES} other features")
        vals.append(float(np.sum(values[TOP_FEATURES:])))
    width, left, bar_h = 640.0, 200.0, 18.0
    top = max(vals) if vals and max(vals) > 0 else 1.0
    scale = (width - left - 60) / top
    parts = []
    for i, (label, v) in enumerate(zip(labels, vals)):
        y = 4 + i * (bar_h + 4)
        parts.append(
            f'<text x="{left - 6:.0f}" y="{y + 13:.0f}" text-anchor="end" font-size="12">'
            f"{html.escape(label[:30])}</text>"
            f'<rect x="{left:.0f}" y="{y:.0f}" width="{max(v * scale, 0.5):.1f}" '
            f'height="{bar_h:.0f}" fill="#0969da"/>'
            f'<text x="{left + v * scale + 4:.1f}" y="{y + 13:.0f}" font-size="11">'
            f"{html.escape(fmt_number(v))}</text>"
        )
    height = 8 + len(labels) * (bar_h + 4)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'role="img"><title>mean absolute value per feature</title>{"".join(parts)}</svg>'
    )


def _waterfall_svg(names: Sequence[str], phi: np.ndarray, base: float, row: np.ndarray) -> str:
    """The base value, then each feature's value as a step (largest |value| first; the
    rest summed), ending at the output: red pushes up, blue down."""
    order = np.argsort(-np.abs(phi), kind="stable")
    steps = [
        (f"{names[j]} = {fmt_number(float(row[j]))}", float(phi[j])) for j in order[:TOP_FEATURES]
    ]
    if len(order) > TOP_FEATURES:
        steps.append(
            (f"{len(order) - TOP_FEATURES} other features", float(phi[order[TOP_FEATURES:]].sum()))
        )
    level = [base]
    for _, v in steps:
        level.append(level[-1] + v)
    lo, hi = min(level), max(level)
    span = hi - lo if hi > lo else 1.0
    width, left, bar_h = 640.0, 220.0, 18.0
    scale = (width - left - 70) / span

    def px(v: float) -> float:
        return left + (v - lo) * scale

    parts = []
    for i, (label, v) in enumerate(steps):
        y = 4 + i * (bar_h + 4)
        a, b = level[i], level[i + 1]
        color = "#cf222e" if v >= 0 else "#0969da"
        parts.append(
            f'<text x="{left - 6:.0f}" y="{y + 13:.0f}" text-anchor="end" font-size="12">'
            f"{html.escape(label[:34])}</text>"
            f'<rect x="{min(px(a), px(b)):.1f}" y="{y:.0f}" '
            f'width="{max(abs(px(b) - px(a)), 0.5):.1f}" height="{bar_h:.0f}" fill="{color}"/>'
            f'<text x="{max(px(a), px(b)) + 4:.1f}" y="{y + 13:.0f}" font-size="11">'
            f"{'+' if v >= 0 else ''}{html.escape(fmt_number(v))}</text>"
        )
    y = 8 + len(steps) * (bar_h + 4)
    parts.append(
        f'<text x="{left:.0f}" y="{y + 12:.0f}" font-size="12">base {html.escape(fmt_number(base))}'
        f" &#8594; output {html.escape(fmt_number(level[-1]))}</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{y + 20:.0f}" '
        f'role="img"><title>waterfall of one row</title>{"".join(parts)}</svg>'
    )
