"""The fairness report: group tables, disparities with intervals, a verdict against bars."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from .. import _core
from ..errors import require
from ..report import Report, count_of, fmt_number, html_table, name_part

#: Per-group metrics (fairlearn/scikit-learn definitions, 1 the positive class).
GROUP_METRICS: tuple[str, ...] = tuple(_core.FAIRNESS_GROUP_METRICS)
#: Per-group metrics of the scores, with ``y_score``.
SCORE_METRICS: tuple[str, ...] = ("auc", "brier", "mean_score")
#: The disparities, as fairlearn names its functions.
DISPARITIES: tuple[str, ...] = tuple(_core.FAIRNESS_DISPARITIES)


def _num(v: Optional[float]) -> Optional[float]:
    """JSON has no NaN: None stands for it."""
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _float(v: Any) -> float:
    return math.nan if v is None else float(v)


@dataclass(frozen=True)
class Disparity:
    """One disparity over a grouping: its value, percentile bootstrap interval (None
    without a bootstrap), the bar it was held to (None: none) and whether it met it."""

    name: str
    value: float
    interval: Optional[tuple[float, float]] = None
    bar: Optional[float] = None
    higher_is_fairer: bool = False

    @property
    def passed(self) -> Optional[bool]:
        if self.bar is None:
            return None
        if math.isnan(self.value):
            return False
        return self.value >= self.bar if self.higher_is_fairer else self.value <= self.bar

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": _num(self.value),
            "interval": None if self.interval is None else [_num(x) for x in self.interval],
            "bar": self.bar,
            "higher_is_fairer": self.higher_is_fairer,
            "passed": self.passed,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Disparity:
        iv = d.get("interval")
        return cls(
            name=d["name"],
            value=_float(d["value"]),
            interval=None if iv is None else (_float(iv[0]), _float(iv[1])),
            bar=d.get("bar"),
            higher_is_fairer=bool(d.get("higher_is_fairer", False)),
        )


@dataclass(frozen=True)
class GroupRow:
    """One group: its values (one per sensitive column of the grouping), row count,
    whether it is smaller than ``min_group_size``, metric values and intervals."""

    group: tuple[Any, ...]
    count: int
    small: bool
    values: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return ", ".join(str(v) for v in self.group)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": list(self.group),
            "count": self.count,
            "small": self.small,
            "values": {k: _num(v) for k, v in self.values.items()},
            "intervals": {k: [_num(a), _num(b)] for k, (a, b) in self.intervals.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GroupRow:
        return cls(
            group=tuple(d["group"]),
            count=int(d["count"]),
            small=bool(d["small"]),
            values={k: _float(v) for k, v in d["values"].items()},
            intervals={k: (_float(a), _float(b)) for k, (a, b) in d["intervals"].items()},
        )


@dataclass(frozen=True)
class Grouping:
    """The groups of one sensitive column, or of the intersection of several."""

    name: str
    columns: list[str]
    rows: list[GroupRow]
    disparities: dict[str, Disparity]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": list(self.columns),
            "rows": [r.to_dict() for r in self.rows],
            "disparities": [d.to_dict() for d in self.disparities.values()],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Grouping:
        disp = [Disparity.from_dict(x) for x in d["disparities"]]
        return cls(
            name=d["name"],
            columns=list(d["columns"]),
            rows=[GroupRow.from_dict(r) for r in d["rows"]],
            disparities={x.name: x for x in disp},
        )


class FairnessReport(Report):
    """Group metrics, disparities with bootstrap intervals and a verdict.

    Attributes
    ----------
    groupings : list of Grouping
        Each sensitive column alone (with several) and last their intersection.
    disparities : dict of str to Disparity
        Over the intersection of all sensitive columns (fairlearn's
        ``sensitive_features=`` all of them).
    disparities_by : dict of str to dict of Disparity
        Per grouping name.
    by_group : list of GroupRow
        The rows of the intersection grouping; :meth:`to_pandas` gives every grouping.
    four_fifths : bool
        True when the selection-rate ratio is below 0.8 (the four-fifths rule is broken).
    small_groups : list of str
        Groups (of any grouping) with fewer than ``min_group_size`` rows.
    passed : bool or None
        Every disparity with a bar meets it; None when ``thresholds`` was empty.
    """

    schema = "mlsentry/fairness-report/v1"
    title = "Fairness"

    def __init__(
        self,
        *,
        groupings: Sequence[Grouping],
        thresholds: Mapping[str, float],
        confidence: float,
        n_boot: int,
        min_group_size: int,
        n_rows: int,
        **meta: Any,
    ) -> None:
        super().__init__(**meta)
        self.groupings = list(groupings)
        self.thresholds = dict(thresholds)
        self.confidence = confidence
        self.n_boot = n_boot
        self.min_group_size = min_group_size
        self.n_rows = n_rows

    @property
    def disparities(self) -> dict[str, Disparity]:
        return self.groupings[-1].disparities

    @property
    def disparities_by(self) -> dict[str, dict[str, Disparity]]:
        return {g.name: g.disparities for g in self.groupings}

    @property
    def by_group(self) -> list[GroupRow]:
        return self.groupings[-1].rows

    @property
    def four_fifths(self) -> bool:
        return bool(self.disparities["demographic_parity_ratio"].value < 0.8)

    @property
    def small_groups(self) -> list[str]:
        return [f"{g.name}={r.label}" for g in self.groupings for r in g.rows if r.small]

    @property
    def passed(self) -> Optional[bool]:
        verdicts = [d.passed for d in self.disparities.values() if d.passed is not None]
        if not verdicts:
            return None
        return all(verdicts)

    def to_pandas(self) -> Any:
        """One row per group of every grouping: ``grouping``, ``group``, ``count``,
        ``small``, each metric and, with a bootstrap, ``<metric>_low``/``_high``."""
        pd = require("pandas", "pandas", "FairnessReport.to_pandas")
        records = []
        for g in self.groupings:
            for r in g.rows:
                rec: dict[str, Any] = {
                    "grouping": g.name,
                    "group": r.label,
                    "count": r.count,
                    "small": r.small,
                }
                rec.update(r.values)
                for m, (lo, hi) in r.intervals.items():
                    rec[f"{m}_low"] = lo
                    rec[f"{m}_high"] = hi
                records.append(rec)
        return pd.DataFrame.from_records(records)

    # -- text ------------------------------------------------------------------------
    def _headline(self) -> str:
        d = self.disparities
        g = self.groupings[-1]
        return (
            f"{count_of(len(g.rows), 'group')} of {g.name} over {self.n_rows} rows; "
            f"selection-rate ratio {fmt_number(d['demographic_parity_ratio'].value)}"
            f"{' (below four fifths)' if self.four_fifths else ''}, equalized odds difference "
            f"{fmt_number(d['equalized_odds_difference'].value)}"
        )

    def summary(self) -> str:
        lines = [f"{self.title}: {self.verdict}: {self._headline()}"]
        for d in self.disparities.values():
            iv = "" if d.interval is None else f" [{_interval_text(d.interval)}]"
            bar = "" if d.bar is None else f" (bar {fmt_number(d.bar)}: {_word(d.passed)})"
            lines.append(f"  {d.name}: {fmt_number(d.value)}{iv}{bar}")
        if self.small_groups:
            lines.append(
                f"  {count_of(len(self.small_groups), 'group')} under {self.min_group_size} "
                f"rows: {', '.join(self.small_groups[:5])}"
            )
        return "\n".join(lines)

    # -- JSON ------------------------------------------------------------------------
    def _payload(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "n_boot": self.n_boot,
            "confidence": self.confidence,
            "min_group_size": self.min_group_size,
            "thresholds": self.thresholds,
            "four_fifths": self.four_fifths,
            "disparities": {k: v.to_dict() for k, v in self.disparities.items()},
            "groupings": [g.to_dict() for g in self.groupings],
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> FairnessReport:
        return cls(
            groupings=[Grouping.from_dict(g) for g in data["groupings"]],
            thresholds=data["thresholds"],
            confidence=float(data["confidence"]),
            n_boot=int(data["n_boot"]),
            min_group_size=int(data["min_group_size"]),
            n_rows=int(data["n_rows"]),
            **meta,
        )

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """Each disparity (and its interval ends ``.low``/``.high``) over the intersection,
        ``four_fifths``, ``n_groups`` and ``n_small_groups``; per grouping (of several
        sensitive columns) ``grouping.<name>.<disparity>``."""
        out: dict[str, float] = {}
        for d in self.disparities.values():
            out[f"{p}.{d.name}"] = d.value
            if d.interval is not None:
                out[f"{p}.{d.name}.low"], out[f"{p}.{d.name}.high"] = d.interval
        out[f"{p}.four_fifths"] = float(self.four_fifths)
        out[f"{p}.n_groups"] = float(len(self.by_group))
        out[f"{p}.n_small_groups"] = float(len(self.small_groups))
        if len(self.groupings) > 1:
            for g in self.groupings[:column_metrics]:
                for d in g.disparities.values():
                    out[f"{p}.grouping.{name_part(g.name)}.{d.name}"] = d.value
        return out

    # -- HTML ------------------------------------------------------------------------
    def _html_body(self) -> str:
        parts = [f'<p class="lead">{html.escape(self._headline())}</p>']
        if self.n_boot:
            parts.append(
                f"<p>Intervals: {fmt_number(100 * self.confidence, 3)}% percentile bootstrap, "
                f"{self.n_boot} resamples.</p>"
            )
        for g in self.groupings:
            parts.append(f"<h3>{html.escape(g.name)}</h3>")
            parts.append(_disparity_table(g))
            parts.append(_selection_svg(g))
            parts.append(_group_table(g, self.min_group_size))
        return "".join(parts)


def _word(passed: Optional[bool]) -> str:
    return {True: "met", False: "not met"}.get(passed, "")


def _interval_text(iv: tuple[float, float]) -> str:
    return f"{fmt_number(iv[0])}, {fmt_number(iv[1])}"


def _disparity_table(g: Grouping) -> str:
    rows, classes = [], []
    for d in g.disparities.values():
        rows.append(
            [
                d.name,
                fmt_number(d.value),
                "" if d.interval is None else _interval_text(d.interval),
                ""
                if d.bar is None
                else ("\u2265 " if d.higher_is_fairer else "\u2264 ") + fmt_number(d.bar),
                _word(d.passed),
            ]
        )
        classes.append({True: "good", False: "bad"}.get(d.passed, ""))
    return html_table(["disparity", "value", "interval", "bar", ""], rows, row_classes=classes)


def _group_table(g: Grouping, min_group_size: int) -> str:
    metrics = list(GROUP_METRICS) + [m for m in SCORE_METRICS if g.rows and m in g.rows[0].values]
    rows = []
    for r in g.rows:
        cells: list[Any] = [r.label, r.count]
        for m in metrics:
            v = fmt_number(r.values.get(m))
            if m in r.intervals:
                v += f" [{_interval_text(r.intervals[m])}]"
            cells.append(v)
        cells.append(f"under {min_group_size}" if r.small else "")
        rows.append(cells)
    return html_table(
        ["group", "rows", *metrics, ""],
        rows,
        row_classes=["bad" if r.small else "" for r in g.rows],
    )


def _selection_svg(g: Grouping, width: int = 520) -> str:
    """Selection rate per group as horizontal bars with the interval as a whisker."""
    rows = g.rows[:40]
    if not rows:
        return ""
    label_w, bar_w, h = 180, width - 200, 18
    height = h * len(rows) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="selection rate by group">'
    ]
    for i, r in enumerate(rows):
        y = 4 + i * h
        v = r.values.get("selection_rate", math.nan)
        w = 0.0 if math.isnan(v) else v * bar_w
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" font-size="11">'
            f"{html.escape(r.label[:28])}</text>"
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{h - 6}" '
            f'fill="{"#cf222e" if r.small else "#0969da"}"/>'
        )
        if "selection_rate" in r.intervals:
            lo, hi = r.intervals["selection_rate"]
            if not (math.isnan(lo) or math.isnan(hi)):
                parts.append(
                    f'<line x1="{label_w + lo * bar_w:.1f}" x2="{label_w + hi * bar_w:.1f}" '
                    f'y1="{y + h / 2 - 1:.1f}" y2="{y + h / 2 - 1:.1f}" stroke="#1b1f24"/>'
                )
    axis_y = 4 + len(rows) * h + 12
    parts.append(
        f'<text x="{label_w}" y="{axis_y}" font-size="10">0</text>'
        f'<text x="{label_w + bar_w}" y="{axis_y}" font-size="10" text-anchor="end">'
        "1 (selection rate)</text></svg>"
    )
    return "".join(parts)
