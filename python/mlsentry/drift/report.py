"""The result of :func:`~mlsentry.drift.compare`: one :class:`ColumnDrift` per column and
the :class:`DriftReport` (text, JSON, HTML with a plot per column)."""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Optional

import numpy as np

from ..errors import require
from ..report import Report, count_of, fmt_number, fmt_pvalue, fmt_share, html_table, name_part
from .result import (
    NORMALISED,
    TestResult,
    psi_band,
)

STATUS_ONLY_REF = "only in reference"
STATUS_ONLY_CUR = "only in current"
STATUS_TYPE = "type changed"
STATUS_UNTESTED = "not tested"
STATUS_EMPTY = "empty"
STATUS_DRIFT = "drift"
STATUS_MISSING_DRIFT = "missing-rate drift"
STATUS_OK = "no drift"
STATUS_IDENTIFIER = "identifier"
STATUS_TEXT = "text"
SCHEMA_STATUSES = (STATUS_ONLY_REF, STATUS_ONLY_CUR, STATUS_TYPE)
#: Columns recognised as not being distributions: reported, not compared, not failing.
NOT_COMPARED_STATUSES = (STATUS_IDENTIFIER, STATUS_TEXT)


@dataclasses.dataclass(frozen=True)
class Histogram:
    """What the report draws for a column: numeric bins (``edges`` has one more entry than
    the counts) or the most frequent categories (``labels``), counts per side."""

    edges: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    reference: tuple[int, ...] = ()
    current: tuple[int, ...] = ()
    #: What the edges measure: "number", or nanoseconds of a "datetime", "timedelta", "time".
    unit: str = "number"

    def edge_text(self, value: float) -> str:
        """An edge as a person reads it (dates as dates, durations in seconds)."""
        if self.unit == "datetime" and math.isfinite(value):
            return str(np.datetime_as_string(np.datetime64(int(value), "ns"), unit="m"))
        if self.unit in ("timedelta", "time"):
            return f"{value / 1e9:.4g}s"
        return f"{value:.4g}"


@dataclasses.dataclass(frozen=True)
class ColumnDrift:
    """The comparison of one column.

    Attributes
    ----------
    name : str
        The column name (``str`` of the label).
    status : str
        ``"drift"`` (the values drifted), ``"missing-rate drift"`` (only the share of
        missing values changed), ``"no drift"``, ``"empty"`` (no value on either side:
        nothing to compare), ``"not tested"`` (the test could not run: see ``error``),
        ``"only in reference"``, ``"only in current"`` or ``"type changed"``.
    kind : str or None
        ``"numeric"`` or ``"categorical"``; ``None`` for a column not compared.
    test : str or None
        The test that ran (``"auto"`` resolved: ``"ks"``, ``"chi2"``, ``"fisher"``).
    statistic, pvalue : float or None
        The test's statistic and raw p-value (``None`` for distances).
    adjusted_pvalue : float or None
        The p-value after the multiple-testing correction.
    method : str or None
        How the test computed its p-value (``"exact"``, ``"asymptotic"``, ...).
    effect_size : float or None
        The test's own effect size (KS: D; chi-squared: Cramér's V; wasserstein and
        energy: the normalised distance, which their threshold applies to).
    effect : float or None
        One yardstick for every column: the normalised Wasserstein distance (numeric) or
        the Jensen-Shannon distance (categorical). Ranks columns in the report.
    threshold : float or None
        ``alpha`` for tests with a p-value, else the distance threshold.
    drift : bool
        The values drifted or the missing rate did (after correction).
    missing_drift : bool
        The missing rate drifted (adjusted missing p-value below ``alpha``).
    missing_rate_reference, missing_rate_current : float or None
        Share of missing values on each side (``None`` for a side with no rows).
    missing_pvalue, missing_adjusted_pvalue : float or None
        The two-proportion test on the missing rates (chi-squared, Fisher's exact test for
        small counts), run when either side has missing values.
    n_reference, n_current : int
        Values compared on each side (missing ones excluded).
    missing_reference, missing_current : int
        Missing values on each side.
    infinite_reference, infinite_current : int
        Infinite values (numeric): kept by the rank tests, left out of the plot.
    categories : int
        Categories present on either side (categorical).
    new_categories : int
        Categories of the current side never seen in the reference.
    dtype_reference, dtype_current : str or None
        The input types.
    note : str
        How the column was read or tested, when worth saying.
    error : str or None
        Why the test could not run.
    histogram : Histogram
        The data of the report's plot.
    pvalue_interval : tuple of float or None
        From a profile (KS): the p-values at the two ends of the statistic's error bound,
        ``(p(D + e), p(D - e))``; the column drifts only when the whole interval is below
        ``alpha`` (after the correction).
    """

    name: str
    status: str
    kind: Optional[str] = None
    test: Optional[str] = None
    statistic: Optional[float] = None
    pvalue: Optional[float] = None
    adjusted_pvalue: Optional[float] = None
    method: Optional[str] = None
    effect_size: Optional[float] = None
    effect: Optional[float] = None
    threshold: Optional[float] = None
    drift: bool = False
    missing_drift: bool = False
    missing_rate_reference: Optional[float] = None
    missing_rate_current: Optional[float] = None
    missing_pvalue: Optional[float] = None
    missing_adjusted_pvalue: Optional[float] = None
    n_reference: int = 0
    n_current: int = 0
    missing_reference: int = 0
    missing_current: int = 0
    infinite_reference: int = 0
    infinite_current: int = 0
    categories: int = 0
    new_categories: int = 0
    dtype_reference: Optional[str] = None
    dtype_current: Optional[str] = None
    note: str = ""
    error: Optional[str] = None
    histogram: Histogram = dataclasses.field(default_factory=Histogram, repr=False)
    pvalue_interval: Optional[tuple[float, float]] = None

    @property
    def tested(self) -> bool:
        """The column was compared (its verdict counts in the drift share)."""
        return self.status in (STATUS_DRIFT, STATUS_MISSING_DRIFT, STATUS_OK)

    @property
    def measured(self) -> Optional[float]:
        """The value the verdict of a distance compares with its threshold: the statistic,
        or for wasserstein and energy the effect size (divided by the reference's spread).
        """
        return self.effect_size if self.test in NORMALISED else self.statistic

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; infinities as ``"inf"``/``"-inf"``, NaN as ``None``."""
        d = {f.name: _json_number(getattr(self, f.name)) for f in dataclasses.fields(self)}
        h = self.histogram
        d["histogram"] = {
            "edges": [_json_number(e) for e in h.edges],
            "labels": list(h.labels),
            "reference": list(h.reference),
            "current": list(h.current),
            "unit": h.unit,
        }
        return d

    def __str__(self) -> str:
        parts = [f"{self.name}: {self.status}"]
        if self.test:
            parts.append(f"{self.test}")
        if self.adjusted_pvalue is not None:
            parts.append(f"adjusted p={self.adjusted_pvalue:.3g}")
        elif self.statistic is not None:
            parts.append(f"statistic={self.statistic:.3g}")
        if self.note or self.error:
            parts.append(f"({self.error or self.note})")
        return " ".join(parts)


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def severity(c: ColumnDrift) -> tuple[int, float, float]:
    ps = [p for p in (c.adjusted_pvalue, c.missing_adjusted_pvalue) if p is not None]
    effect = c.effect if c.effect is not None and not math.isnan(c.effect) else 0.0
    return (0 if c.drift else 1, min(ps, default=1.0), -effect)


class DriftReport(Report):
    """What :func:`compare` found, column by column.

    Attributes
    ----------
    drifted : bool
        The dataset drifted: any column drifted (values or missing rate, after the
        correction), or with ``drift_share`` set, the share of drifted columns reached it.
    passed : bool
        Not drifted, and no schema problem (a column only on one side, a type change) and
        no column left untested.
    columns : list of ColumnDrift
        Every column, in input order (reference columns, then those only in current).
    drift_share : float
        Drifted columns / compared columns.
    """

    schema: ClassVar[str] = "mlsentry/drift-report/v1"
    title: ClassVar[str] = "Drift comparison"

    def __init__(
        self,
        *,
        columns: Sequence[ColumnDrift],
        drifted: bool,
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
        multivariate: Optional[TestResult] = None,
        explanation: Optional[Report] = None,
    ) -> None:
        super().__init__(config=config, inputs=inputs)
        self.columns = list(columns)
        self.drifted = bool(drifted)
        #: The dataset-level test of ``compare(..., multivariate=...)``, if asked for.
        self.multivariate = multivariate
        #: The prediction shift split over features (``compare(..., model=m)``), a
        #: :class:`mlsentry.explain.ShiftExplanation`, if asked for.
        self.explanation = explanation

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> DriftReport:
        def number(v: Any) -> Any:  # the inverse of _json_number
            return float(v) if isinstance(v, str) and v in ("inf", "-inf") else v

        columns = []
        for c in data["columns"]:
            h = c["histogram"]
            histogram = Histogram(
                edges=tuple(float(number(e)) if e is not None else math.nan for e in h["edges"]),
                labels=tuple(h["labels"]),
                reference=tuple(h["reference"]),
                current=tuple(h["current"]),
                unit=h["unit"],
            )
            floats = {f.name for f in dataclasses.fields(ColumnDrift) if "float" in str(f.type)}
            fields = {k: number(v) if k in floats else v for k, v in c.items() if k != "histogram"}
            if fields.get("pvalue_interval") is not None:
                fields["pvalue_interval"] = tuple(fields["pvalue_interval"])
            columns.append(ColumnDrift(**fields, histogram=histogram))
        mv = data.get("multivariate")
        joint = None if mv is None else TestResult(**{**mv, "details": dict(mv["details"])})
        ex = data.get("explanation")
        return cls(
            columns=columns,
            drifted=bool(data["drifted"]),
            multivariate=joint,
            explanation=None if ex is None else Report.from_dict(ex),
            **meta,
        )

    def __getitem__(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def _names(self, *statuses: str) -> list[str]:
        return [c.name for c in self.columns if c.status in statuses]

    @property
    def drifted_columns(self) -> list[str]:
        """Columns whose values or missing rate drifted."""
        return [c.name for c in self.columns if c.drift]

    @property
    def only_in_reference(self) -> list[str]:
        """Columns of the reference that current lacks."""
        return self._names(STATUS_ONLY_REF)

    @property
    def only_in_current(self) -> list[str]:
        """Columns of current that the reference lacks."""
        return self._names(STATUS_ONLY_CUR)

    @property
    def type_changes(self) -> list[str]:
        """Columns whose kind differs between the sides."""
        return self._names(STATUS_TYPE)

    @property
    def untested(self) -> list[str]:
        """Columns whose test could not run (see their ``error``)."""
        return self._names(STATUS_UNTESTED)

    @property
    def not_compared(self) -> list[str]:
        """Columns recognised as identifiers or free text: reported, not compared."""
        return self._names(*NOT_COMPARED_STATUSES)

    @property
    def schema_problems(self) -> list[str]:
        """Columns on one side only, or whose type changed."""
        return self._names(*SCHEMA_STATUSES)

    @property
    def drift_share(self) -> float:
        """Drifted columns / compared columns (0 when none was compared)."""
        tested = [c for c in self.columns if c.tested]
        return sum(c.drift for c in tested) / len(tested) if tested else 0.0

    @property
    def passed(self) -> bool:
        return not (self.drifted or self.schema_problems or self.untested)

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``drifted``, ``share_drifted``, ``n_drifted``, ``n_columns``, ``n_tested``,
        ``n_schema_problems``, ``n_untested`` and, for at most ``column_metrics`` tested
        columns (the most severe first), ``column.<column>.drift``, ``.statistic``,
        ``.adjusted_pvalue`` and ``.effect``."""
        tested = [c for c in self.columns if c.tested]
        out = {
            f"{p}.drifted": float(self.drifted),
            f"{p}.share_drifted": float(self.drift_share),
            f"{p}.n_drifted": float(sum(c.drift for c in tested)),
            f"{p}.n_columns": float(len(self.columns)),
            f"{p}.n_tested": float(len(tested)),
            f"{p}.n_schema_problems": float(len(self.schema_problems)),
            f"{p}.n_untested": float(len(self.untested)),
        }
        # Most severe first, so that a cap keeps the columns a person looks at.
        for c in sorted(tested, key=severity)[:column_metrics]:
            col = f"{p}.column.{name_part(c.name)}"
            out[f"{col}.drift"] = float(c.drift)
            for field, value in (
                ("statistic", c.statistic),
                ("adjusted_pvalue", c.adjusted_pvalue),
                ("effect", c.effect),
            ):
                if value is not None:
                    out[f"{col}.{field}"] = float(value)
        if self.explanation is not None:
            out.update(self.explanation._metrics(f"{p}.explanation", column_metrics))
        return out

    def _payload(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "drift_share": self.drift_share,
            "n_columns": len(self.columns),
            "drifted_columns": self.drifted_columns,
            "only_in_reference": self.only_in_reference,
            "only_in_current": self.only_in_current,
            "type_changes": self.type_changes,
            "untested": self.untested,
            "columns": [c.to_dict() for c in self.columns],
            **({"multivariate": self.multivariate.to_dict()} if self.multivariate else {}),
            **({"explanation": self.explanation.to_dict()} if self.explanation else {}),
        }

    def to_pandas(self) -> Any:
        """One row per column (every :class:`ColumnDrift` field but the histogram)."""
        pd = require("pandas", "pandas", f"{type(self).__name__}.to_pandas()")

        names = [f.name for f in dataclasses.fields(ColumnDrift) if f.name != "histogram"]
        return pd.DataFrame([[getattr(c, n) for n in names] for c in self.columns], columns=names)

    def _headline(self) -> str:
        tested = [c for c in self.columns if c.tested]
        n_drift = sum(c.drift for c in tested)
        corr = self.config.get("correction", "bh")
        alpha = self.config.get("alpha", 0.05)
        if self.drifted:
            head = f"DRIFT in {n_drift} of {count_of(len(tested), 'column')}"
        elif n_drift:
            head = f"{n_drift} of {len(tested)} columns drifted, below drift_share"
        else:
            head = f"no drift in {count_of(len(tested), 'column')}"
        head += f" (correction {corr}, alpha {alpha:g})"
        problems = []
        for label, names in (
            ("only in reference", self.only_in_reference),
            ("only in current", self.only_in_current),
            ("type changed", self.type_changes),
            ("not tested", self.untested),
        ):
            if names:
                problems.append(f"{len(names)} {label}")
        if problems:
            head += "; " + ", ".join(problems)
        if self.not_compared:
            kinds = sorted({self[n].status for n in self.not_compared})
            head += (
                f"; {count_of(len(self.not_compared), 'column')} not compared "
                f"({' or '.join(kinds)}: {', '.join(self.not_compared[:5])}"
                + (", ..." if len(self.not_compared) > 5 else "")
                + ")"
            )
        return head

    def summary(self) -> str:
        lines = [f"{self.title}: {self.verdict}: {self._headline()}"]
        if self.multivariate is not None:
            lines.append(f"  joint test of the numeric columns: {self.multivariate}")
        if self.explanation is not None:
            lines.extend("  " + line for line in self.explanation.summary().splitlines())
        for c in sorted(self.columns, key=severity):
            if c.drift or c.status in (STATUS_UNTESTED, *SCHEMA_STATUSES, *NOT_COMPARED_STATUSES):
                lines.append("  " + _summary_line(c))
        return "\n".join(lines)

    def _html_body(self) -> str:
        skipped = (*SCHEMA_STATUSES, *NOT_COMPARED_STATUSES)
        skipped = (*skipped, STATUS_EMPTY)
        tested = sorted((c for c in self.columns if c.status not in skipped), key=severity)
        compared = [c for c in self.columns if c.tested]
        share = f"{self.drift_share:.0%} of {count_of(len(compared), 'compared column')} drifted"
        worst = _worst(self.columns)
        parts = [
            f'<p class="lead"><b>{html.escape(share)}</b>'
            + (f"; the worst: {html.escape(worst)}" if worst else "")
            + ".</p>",
            f"<p>{html.escape(self._headline())}.</p>",
        ]
        if self.multivariate is not None:
            parts.append(f"<p>Joint test: {html.escape(str(self.multivariate))}.</p>")
        empty = self._names(STATUS_EMPTY)
        if empty:
            parts.append(
                f"<p>No values on either side (not shown): {html.escape(', '.join(empty))}.</p>"
            )
        problems = [c for c in self.columns if c.status in SCHEMA_STATUSES]
        if problems:
            parts.append("<h3>Schema changes</h3>")
            parts.append(
                html_table(
                    ["column", "problem", "reference type", "current type", "note"],
                    [
                        [c.name, c.status, c.dtype_reference or "", c.dtype_current or "", c.note]
                        for c in problems
                    ],
                    row_classes=["bad"] * len(problems),
                )
            )
        others = [c for c in self.columns if c.status in NOT_COMPARED_STATUSES]
        if others:
            parts.append("<h3>Not compared: identifiers and free text</h3>")
            parts.append(
                html_table(
                    ["column", "recognised as", "why"], [[c.name, c.status, c.note] for c in others]
                )
            )
        if tested:
            parts.append(
                f"<h3>Columns</h3><p>{_swatch(_REF_COLOUR)} reference "
                f"{_swatch(_CUR_COLOUR)} current {_swatch(_REF_COLOUR, _CUR_COLOUR)} both "
                "(bars: share of each side's values; numbers binned at the reference's "
                "quantiles, categories the most frequent)</p>"
            )
            parts.append(_columns_table(tested))
        if self.explanation is not None:
            parts.append(f"<h3>{html.escape(self.explanation.title)}</h3>")
            parts.append(self.explanation._html_body())
        return "".join(parts)


def _summary_line(c: ColumnDrift) -> str:
    if c.status in (*SCHEMA_STATUSES, *NOT_COMPARED_STATUSES):
        return f"{c.name}: {c.status}" + (f" ({c.note})" if c.note else "")
    if c.status == STATUS_UNTESTED:
        return f"{c.name}: not tested ({c.error})"
    bits = [f"{c.name}: {c.status}", f"[{c.kind}, {c.test}]"]
    if c.adjusted_pvalue is not None:
        bits.append(f"adjusted p={fmt_pvalue(c.adjusted_pvalue)}")
    elif c.statistic is not None:
        bits.append(f"{c.test}={fmt_number(c.measured)}")
    if c.effect is not None:
        bits.append(f"effect={fmt_number(c.effect)}")
    if c.missing_drift:
        bits.append(
            f"missing {fmt_share(c.missing_rate_reference)} -> {fmt_share(c.missing_rate_current)} "
            f"(adjusted p={fmt_pvalue(c.missing_adjusted_pvalue)})"
        )
    return " ".join(bits)


_REF_COLOUR = "#0969da"
_CUR_COLOUR = "#e36209"


def _swatch(*colours: str) -> str:
    """A legend square; several colours are drawn over each other (their overlap)."""
    rects = "".join(
        f'<rect width="10" height="10" fill="{c}" fill-opacity="0.55"/>' for c in colours
    )
    return f'<svg width="10" height="10" aria-hidden="true">{rects}</svg>'


def _worst(cols: Sequence[ColumnDrift], n: int = 3) -> str:
    """The few most drifted columns, for the line at the top of the page."""
    drifted = sorted((c for c in cols if c.drift), key=severity)[:n]
    return ", ".join(
        c.name + ("" if c.effect is None else f" (effect {fmt_number(c.effect)})") for c in drifted
    )


def _columns_table(cols: Sequence[ColumnDrift]) -> str:
    head = [
        "column",
        "kind",
        "test",
        "statistic",
        "p",
        "adjusted p",
        "effect",
        "missing (ref \u2192 cur)",
        "verdict",
        "distributions",
        "note",
    ]
    rows = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for c in cols:
        missing = ""
        if c.missing_reference or c.missing_current:
            missing = (
                f"{fmt_share(c.missing_rate_reference)} \u2192 {fmt_share(c.missing_rate_current)}"
            )
            if c.missing_adjusted_pvalue is not None:
                missing += f" (adj. p {fmt_pvalue(c.missing_adjusted_pvalue)})"
        stat = c.measured
        verdict = c.status
        if c.test == "psi" and c.statistic is not None:
            verdict += f" ({psi_label(c.statistic)})"
        cls = ' class="bad"' if c.drift or c.status == STATUS_UNTESTED else ""
        cells = [
            f"<td>{html.escape(c.name)}</td>",
            f"<td>{html.escape(c.kind or '')}</td>",
            f"<td>{html.escape(c.test or '')}</td>",
            f'<td class="num">{fmt_number(stat)}</td>',
            f'<td class="num">{fmt_pvalue(c.pvalue)}</td>',
            f'<td class="num">{fmt_pvalue(c.adjusted_pvalue)}</td>',
            f'<td class="num">{fmt_number(c.effect)}</td>',
            f"<td>{html.escape(missing)}</td>",
            f"<td>{html.escape(verdict)}</td>",
            f"<td>{_svg(c)}</td>",
            f"<td>{html.escape(c.error or c.note)}</td>",
        ]
        rows.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    return "".join(rows)


def psi_label(value: float) -> str:
    band = psi_band(value)
    return band if band == "stable" else f"{band} shift"


def _is_int_text(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _svg(c: ColumnDrift) -> str:
    """A small inline SVG: overlaid histograms (numeric) or paired bars (categorical),
    each side as shares of its own values, with the range or the category names below."""
    h = c.histogram
    ref = np.asarray(h.reference, dtype=np.float64)
    cur = np.asarray(h.current, dtype=np.float64)
    if ref.size == 0:
        return ""
    labels = list(h.labels)
    if labels and all(_is_int_text(lab) for lab in labels):  # integer categories in order
        order = np.argsort([int(lab) for lab in labels], kind="stable")
        labels = [labels[i] for i in order]
        ref, cur = ref[order], cur[order]
    ref = ref / max(c.n_reference, 1)
    cur = cur / max(c.n_current, 1)
    top = float(max(ref.max(), cur.max())) or 1.0
    axis = 30.0  # room for the share axis on the left
    plot, height, k = 240.0, 72.0, ref.size
    width = axis + plot
    slot = plot / k
    parts = [
        f'<text x="{axis - 3}" y="8" font-size="9" fill="#57606a" text-anchor="end">'
        f"{top:.0%}</text>",
        f'<text x="{axis - 3}" y="{height}" font-size="9" fill="#57606a" '
        'text-anchor="end">0</text>',
        f'<line x1="{axis}" y1="0" x2="{axis}" y2="{height}" stroke="#8c959f"/>',
    ]

    def bar(x: float, w: float, share: float, colour: str, tip: str) -> None:
        bh = height * share / top
        x += axis
        if bh > 0:
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bh:.1f}" width="{max(w, 0.5):.1f}" '
                f'height="{bh:.1f}" fill="{colour}" fill-opacity="0.55">'
                f"<title>{html.escape(tip)}</title></rect>"
            )

    def text(x: float, anchor: str, words: str) -> None:
        x += axis
        parts.append(
            f'<text x="{x:.1f}" y="{height + 11}" font-size="9" fill="#57606a" '
            f'text-anchor="{anchor}">{html.escape(words)}</text>'
        )

    for i in range(k):
        if labels:
            tip = f"{labels[i]}: reference {ref[i]:.1%}, current {cur[i]:.1%}"
            bar(i * slot + slot * 0.08, slot * 0.42, ref[i], _REF_COLOUR, tip)
            bar(i * slot + slot * 0.5, slot * 0.42, cur[i], _CUR_COLOUR, tip)
            fits = int(slot / 5.5)
            if fits >= 2:
                label = labels[i]
                text(
                    i * slot + slot / 2,
                    "middle",
                    label if len(label) <= fits else label[: fits - 1] + "\u2026",
                )
        else:
            lo, hi = h.edges[i], h.edges[i + 1]
            span = f"[{h.edge_text(lo)}, {h.edge_text(hi)}]"
            tip = f"{span}: reference {ref[i]:.1%}, current {cur[i]:.1%}"
            bar(i * slot, slot, ref[i], _REF_COLOUR, tip)
            bar(i * slot, slot, cur[i], _CUR_COLOUR, tip)
    if h.edges:
        text(0, "start", h.edge_text(h.edges[0]))
        text(plot, "end", h.edge_text(h.edges[-1]))
    total = height + 14
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{total:.0f}" '
        f'viewBox="0 0 {width:.0f} {total:.0f}" role="img">'
        f"<title>{html.escape(c.name)}: reference vs current</title>"
        f'<line x1="{axis}" y1="{height}" x2="{width}" y2="{height}" stroke="#8c959f"/>'
        + "".join(parts)
        + "</svg>"
    )
