"""The one base class of every mlsentry report.

A report answers one check ("is this folder unchanged?", "has this data drifted?") and
records enough to be trusted later: its schema name and version, the mlsentry version, the
time, the seed and configuration, and the fingerprints of its inputs. It renders as JSON
for machines and as one self-contained HTML page (inline CSS and SVG, no script, no
network) for people, and displays itself in notebooks.

Subclasses set ``schema`` and ``title`` and implement ``passed``, ``_payload`` (their own
JSON fields), ``summary``, ``_html_body`` and ``_metrics`` (their headline numbers).

Metric names
------------
:meth:`Report.metrics` gives a report's headline numbers under names that any metrics store
accepts (MLflow, Kubeflow's ``Metrics``, Prometheus after a rename): letters, digits,
``_ - .`` and spaces. A robust accuracy at a budget of 0.1 is
``mlsentry.robustness.robust_accuracy.eps_0.1``. A name taken from the data (a column, an
input) keeps its allowed characters; when any character had to change, or the name is
empty or longer than 64 characters, eight hex digits of its SHA-256 are appended, so two
different names never share a metric.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Optional

from ._version import __version__

__all__ = ["Report", "count_of", "html_table", "name_part"]


class Report:
    """Base class: metadata, JSON, HTML, ``save`` and notebook display.

    Parameters
    ----------
    config : mapping, optional
        The settings the check ran with (thresholds, algorithms, options).
    inputs : mapping, optional
        Name to fingerprint (``"sha256:..."``) of each input the report speaks of.
    seed : int, optional
        The seed of a random check; ``None`` for deterministic ones.
    """

    schema: ClassVar[str] = "mlsentry/report/v1"
    title: ClassVar[str] = "mlsentry report"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _KINDS[cls.schema] = cls

    def __init__(
        self,
        *,
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
        seed: Optional[int] = None,
        created: Optional[str] = None,
        mlsentry_version: Optional[str] = None,
    ) -> None:
        self.config: dict[str, Any] = dict(config or {})
        self.inputs: dict[str, str] = dict(inputs or {})
        self.seed = seed
        self.created = created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.mlsentry_version = mlsentry_version or __version__

    # -- what subclasses provide -------------------------------------------------------
    @property
    def passed(self) -> Optional[bool]:
        """Whether the check passed: ``True``, ``False``, or ``None`` when the check had no
        bar to pass (no threshold was set), so there is no verdict."""
        raise NotImplementedError

    @property
    def verdict(self) -> str:
        """``"PASSED"``, ``"FAILED"`` or ``"NO VERDICT"`` (no bar was set)."""
        return {True: "PASSED", False: "FAILED"}.get(self.passed, "NO VERDICT")

    def _payload(self) -> dict[str, Any]:
        """The report's own fields, JSON-ready."""
        return {}

    def summary(self) -> str:
        """A few lines of text for a terminal or a log."""
        return f"{self.title}: {self.verdict}"

    def _html_body(self) -> str:
        """The report's own section of the HTML page (escaped HTML)."""
        return f"<pre>{html.escape(self.summary())}</pre>"

    def _metrics(self, prefix: str, column_metrics: int) -> dict[str, float]:
        """The report's own headline numbers, named ``<prefix>.<metric>``."""
        return {}

    # -- metrics and tags for metric stores ----------------------------------------------
    def metrics(self, name: Optional[str] = None, column_metrics: int = 100) -> dict[str, float]:
        """The headline numbers of the report under stable names.

        Every report with a verdict gives ``mlsentry.<kind>.passed`` (1.0 or 0.0; left out
        when the check had no bar), where ``kind`` comes
        from the schema (``drift``, ``robustness``, ``scan``, ``verify``, ``audit_verify``);
        with a ``name`` (one of several reports of a kind in a run) the names are
        ``mlsentry.<kind>.<name>.*``. Each kind adds its own numbers (see the ``_metrics``
        of each report class; a drift report lists at most ``column_metrics`` columns, the
        most severe first). Values that are not finite are left out (a metric store may
        refuse them).

        Examples
        --------
        >>> import numpy as np, mlsentry as ms
        >>> rng = np.random.default_rng(0)
        >>> report = ms.drift.compare({"age": rng.normal(size=300)}, {"age": rng.normal(2, 1, 300)})
        >>> m = report.metrics()
        >>> m["mlsentry.drift.passed"], m["mlsentry.drift.column.age.drift"]
        (0.0, 1.0)
        """
        p = self.metric_prefix(name)
        out = self._metrics(p, column_metrics)
        if self.passed is not None:
            out = {f"{p}.passed": float(self.passed), **out}
        return {k: v for k, v in out.items() if math.isfinite(v)}

    def tags(self, name: Optional[str] = None) -> dict[str, str]:
        """``mlsentry.<kind>.schema``, ``.passed`` (``"true"``, ``"false"``, ``"none"``) and
        ``.input.<input>`` with the fingerprint of each input the report speaks of."""
        p = self.metric_prefix(name)
        passed = "none" if self.passed is None else str(bool(self.passed)).lower()
        tags = {f"{p}.schema": str(self.schema), f"{p}.passed": passed}
        for key, digest in self.inputs.items():
            tags[f"{p}.input.{name_part(str(key))}"] = str(digest)
        return tags

    @classmethod
    def schema_name(cls) -> str:
        """``drift-report`` from ``mlsentry/drift-report/v1`` (``report`` if unusual)."""
        parts = str(cls.schema).split("/")
        name = parts[1] if len(parts) == 3 and parts[0] == "mlsentry" else "report"
        return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "report"

    @classmethod
    def kind(cls) -> str:
        """The report's kind in metric names: ``drift``, ``robustness``, ``scan``, ..."""
        name = cls.schema_name()
        if name.endswith("-report") and name != "-report":
            name = name[: -len("-report")]
        return name.replace("-", "_")

    def metric_prefix(self, name: Optional[str] = None) -> str:
        """``mlsentry.<kind>`` or ``mlsentry.<kind>.<name>``."""
        head = f"mlsentry.{self.kind()}"
        return head if name is None else f"{head}.{name}"

    # -- shared rendering --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data, metadata first."""
        out: dict[str, Any] = {
            "schema": self.schema,
            "mlsentry_version": self.mlsentry_version,
            "created": self.created,
            "passed": self.passed,
            "seed": self.seed,
            "config": _json_ready(self.config),
            "inputs": self.inputs,
        }
        out.update(self._payload())
        return out

    def to_json(self, indent: Optional[int] = 2) -> str:
        """The report as JSON text: ASCII (other characters as ``\\uXXXX`` escapes, so file
        names kept with ``surrogateescape`` survive), keys in a stable order."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=True, allow_nan=False)

    def _html_section(self) -> str:
        status = {True: "passed", False: "failed"}.get(self.passed, "none")
        meta = html_table(
            ["", ""],
            [
                ["schema", self.schema],
                ["created", self.created],
                ["mlsentry", self.mlsentry_version],
                ["seed", "" if self.seed is None else str(self.seed)],
                *[[f"input {k}", v] for k, v in self.inputs.items()],
                *[[f"config {k}", json.dumps(v, default=str)] for k, v in self.config.items()],
            ],
            css_class="meta",
            header=False,
        )
        return (
            f'<section class="mls-report"><h2>{html.escape(self.title)} '
            f'<span class="badge {status}">{self.verdict}</span></h2>'
            f"{self._html_body()}<details><summary>Details</summary>{meta}</details></section>"
        )

    def to_html(self) -> str:
        """One self-contained HTML page: inline CSS, no script, no external resource."""
        return html_page(self.title, self._html_section())

    def _repr_html_(self) -> str:
        return f"<style>{_CSS}</style>{self._html_section()}"

    def save(self, path: os.PathLike[str] | str) -> None:
        """Write the report; the format follows the suffix (``.json``, ``.html``/``.htm``)."""
        p = os.fspath(path)
        suffix = os.path.splitext(p)[1].lower()
        if suffix == ".json":
            text = self.to_json()
        elif suffix in (".html", ".htm"):
            text = self.to_html()
        else:
            from .errors import InvalidInputError

            raise InvalidInputError(
                f"path: cannot tell the report format from {p!r}; use .json or .html"
            )
        # backslashreplace: a lone surrogate (a non-UTF-8 file name) cannot make saving fail.
        with open(p, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)

    # -- reading back ------------------------------------------------------------------
    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> Report:
        """A report of this class from its ``to_dict()``; ``meta`` holds ``config`` and
        ``inputs`` for the constructor."""
        raise NotImplementedError(f"{cls.__name__} cannot be read back")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """The report whose ``to_dict()`` is ``data``, as its own class (chosen by its
        ``schema``): a :class:`~mlsentry.drift.DriftReport` for a drift report, and so on.

        Raises :class:`~mlsentry.errors.InvalidInputError` for data that is not a report
        this version of mlsentry writes.
        """
        from .errors import InvalidInputError

        if not isinstance(data, Mapping) or not isinstance(data.get("schema"), str):
            raise InvalidInputError("not an mlsentry report: no schema")
        schema = data["schema"]
        if schema not in _KINDS:
            _load_report_classes()
        kind = _KINDS.get(schema)
        if kind is None:
            raise InvalidInputError(f"unknown report schema {schema!r}")
        if not issubclass(kind, cls):
            raise InvalidInputError(f"a {schema} report is not a {cls.__name__}")
        meta = {"config": data.get("config") or {}, "inputs": data.get("inputs") or {}}
        try:
            report = kind._from_dict(data, meta)
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidInputError(f"a malformed {schema} report: {e!r}") from None
        # When and by what it was made, as recorded (not the time of reading).
        report.seed = data.get("seed")
        report.created = data.get("created") or report.created
        report.mlsentry_version = data.get("mlsentry_version") or report.mlsentry_version
        return report

    @classmethod
    def load(cls, path: os.PathLike[str] | str) -> Report:
        """Read back a report saved as JSON (:meth:`save` with ``.json``) as its class.

        Examples
        --------
        >>> import numpy as np, mlsentry as ms
        >>> report = ms.drift.compare({"x": np.arange(50.0)}, {"x": np.arange(50.0) + 30})
        >>> report.save("drift.json")
        >>> again = ms.Report.load("drift.json")
        >>> type(again).__name__, again.drifted, again.to_dict() == report.to_dict()
        ('DriftReport', True, True)
        """
        from .errors import InvalidInputError

        with open(os.fspath(path), encoding="utf-8") as fh:
            try:
                data = json.load(fh)
            except ValueError as e:
                raise InvalidInputError(f"{os.fspath(path)}: not JSON ({e})") from None
        return cls.from_dict(data)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} passed={self.passed}>"

    def __str__(self) -> str:
        return self.summary()


#: Report classes by schema, filled as their modules are imported.
_KINDS: dict[str, type[Report]] = {}
#: The modules that define report classes, imported by name on the first read-back (the
#: shared layer does not import capabilities; the classes register themselves).
_REPORT_MODULES = (
    "mlsentry.data",
    "mlsentry.fairness",
    "mlsentry.explain",
    "mlsentry.integrity",
    "mlsentry.drift",
    "mlsentry.explain",
    "mlsentry.robustness",
    "mlsentry.scan",
    "mlsentry.evidence",
    "mlsentry.privacy",
    "mlsentry.cli.demo_steps",
)


def _load_report_classes() -> None:
    import importlib

    for name in _REPORT_MODULES:
        importlib.import_module(name)


_CSS = """
.mls-report{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1b1f24;
max-width:1100px;margin:1em auto;padding:0 1em}
.mls-report h2{font-size:1.25em;border-bottom:1px solid #d0d7de;padding-bottom:.3em}
.mls-report table{border-collapse:collapse;margin:.6em 0;font-size:.9em;max-width:100%}
.mls-report th,.mls-report td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;
vertical-align:top}
.mls-report th{background:#f6f8fa}
.mls-report td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.mls-report p.lead{font-size:1.05em}
.mls-report code,.mls-report td.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;
font-size:.85em;word-break:break-all;min-width:12em}
.mls-report .badge{font-size:.7em;padding:.15em .5em;border-radius:1em;vertical-align:middle;
color:#fff}
.mls-report .badge.passed{background:#1a7f37}.mls-report .badge.failed{background:#cf222e}
.mls-report .badge.none{background:#6e7781}
.mls-report tr.bad td{background:#ffebe9}.mls-report tr.good td{background:#dafbe1}
.mls-report details summary{cursor:pointer;color:#57606a}
"""


def fmt_number(value: Optional[float], digits: int = 3) -> str:
    """A statistic for a table: ``digits`` significant digits, "" for None, "nan"."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.{digits}g}"


def fmt_pvalue(value: Optional[float], digits: int = 3) -> str:
    """A p-value for a table: scientific below 1e-3, else ``digits`` decimals."""
    if value is None:
        return ""
    return f"{value:.2e}" if value < 1e-3 else f"{value:.{digits}f}"


def fmt_share(value: Optional[float]) -> str:
    """A share as a percentage with one decimal, "" for None."""
    return "" if value is None else f"{value:.1%}"


def _json_ready(value: Any) -> Any:
    """`value` with non-finite floats as JSON has no numbers for them: ``"inf"``/``"-inf"``,
    NaN as None (a configuration may hold unbounded limits)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def html_page(title: str, body: str) -> str:
    """Wrap sections into one standalone HTML document."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


_DIGEST = re.compile(r"[a-z0-9-]+:[0-9a-f]{32,}")


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    css_class: str = "",
    header: bool = True,
    row_classes: Optional[Sequence[str]] = None,
) -> str:
    """An escaped HTML table; numbers are right-aligned, cells are text."""
    parts = [f'<table class="{html.escape(css_class)}">']
    if header:
        parts.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in headers) + "</tr>")
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = []
        for v in row:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'<td class="num">{html.escape(str(v))}</td>')
            elif isinstance(v, str) and _DIGEST.fullmatch(v):
                cells.append(f'<td class="mono">{html.escape(v)}</td>')
            else:
                cells.append(f"<td>{html.escape(str(v))}</td>")
        parts.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    return "".join(parts)


#: Characters kept in a name taken from data (``\\w`` is Unicode, as in MLflow's check).
_UNSAFE_NAME = re.compile(r"[^\w.\- ]")
_MAX_NAME_PART = 64


def name_part(text: str) -> str:
    """A piece of a metric or tag name made from any text, distinct for distinct texts.

    Examples
    --------
    >>> from mlsentry.report import name_part
    >>> name_part("age")
    'age'
    >>> name_part("price/unit")
    'price_unit-...'
    """
    clean = _UNSAFE_NAME.sub("_", text)
    if clean == text and text and len(text) <= _MAX_NAME_PART:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{clean[:_MAX_NAME_PART]}-{digest}"


def count_of(n: int, noun: str) -> str:
    """``"1 file"``, ``"3 files"``, ``"2 entries"``: a count with its noun in the right
    number (nouns ending in a consonant and ``y`` take ``ies``)."""
    if n == 1:
        return f"{n} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{n} {noun[:-1]}ies"
    return f"{n} {noun}s"


def eps_name(e: float) -> str:
    """``eps_0.1``: the shortest text that reads back as the same float ("+" is not allowed
    in metric names)."""
    return "eps_" + repr(float(e)).replace("+", "")
