"""A batch checked against a :class:`~mlsentry.data.Schema`: :func:`validate` and its
:class:`ValidationReport` of :class:`Anomaly` entries."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Optional, Union

import numpy as np

from .. import _core
from .._background import Fingerprints
from .._progress import ProgressArg, progress_callback
from ..errors import InvalidInputError, InvalidTypeError, require
from ..report import Report, count_of, html_table, name_part
from .columns import Column, read_columns
from .schema import ANOMALY_KINDS, ColumnSchema, Schema

__all__ = ["Anomaly", "ValidationReport", "validate"]


@dataclasses.dataclass(frozen=True)
class Anomaly:
    """One way a batch breaks its schema.

    Attributes
    ----------
    column : str
        The column.
    kind : str
        ``type_changed``, ``out_of_range``, ``unseen_category``, ``missing_above_bound``,
        ``duplicate_key``, ``new_column`` or ``missing_column``.
    count : int
        Rows concerned: values of another type, out of range, outside the domain,
        missing, repeating an earlier row's key; for ``new_column`` and
        ``missing_column``, every row of the batch.
    severity : str
        ``"error"`` (fails the validation) or ``"warning"``.
    rows : tuple of int
        The first rows concerned (0-based positions in the batch).
    values : tuple
        Their values (``None`` for a missing one).
    detail : str
        What was expected and what was found.
    """

    column: str
    kind: str
    count: int
    severity: str
    rows: tuple[int, ...] = ()
    values: tuple[Any, ...] = ()
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["rows"], d["values"] = list(self.rows), list(self.values)
        return d

    def __str__(self) -> str:
        return (
            f"{self.column}: {self.kind} ({self.severity}), "
            f"{count_of(self.count, 'row')}: {self.detail}"
        )


class ValidationReport(Report):
    """What :func:`validate` found.

    Attributes
    ----------
    anomalies : list of Anomaly
        In schema column order, then the new columns; within a column by kind.
    passed : bool
        No anomaly is an error.
    rows : int
        Rows of the batch.
    columns : int
        Columns of the batch.
    """

    schema: ClassVar[str] = "mlsentry/validation/v1"
    title: ClassVar[str] = "Schema validation"

    def __init__(
        self,
        *,
        anomalies: Sequence[Anomaly],
        rows: int,
        columns: int,
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(config=config, inputs=inputs)
        self.anomalies = list(anomalies)
        self.rows = int(rows)
        self.columns = int(columns)

    @property
    def passed(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Anomaly]:
        return [a for a in self.anomalies if a.severity == "error"]

    @property
    def warnings(self) -> list[Anomaly]:
        return [a for a in self.anomalies if a.severity == "warning"]

    def of_kind(self, kind: str) -> list[Anomaly]:
        """The anomalies of one kind."""
        return [a for a in self.anomalies if a.kind == kind]

    def _payload(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns": self.columns,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "anomalies": [a.to_dict() for a in self.anomalies],
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> ValidationReport:
        anomalies = [
            Anomaly(
                column=a["column"],
                kind=a["kind"],
                count=int(a["count"]),
                severity=a["severity"],
                rows=tuple(a["rows"]),
                values=tuple(a["values"]),
                detail=a["detail"],
            )
            for a in data["anomalies"]
        ]
        return cls(anomalies=anomalies, rows=data["rows"], columns=data["columns"], **meta)

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``n_anomalies``, ``n_errors``, ``n_warnings`` and, per kind, ``<kind>``: the
        anomalies of that kind; for at most ``column_metrics`` anomalies (errors first),
        ``column.<name>.<kind>``: its row count."""
        out = {
            f"{p}.n_anomalies": float(len(self.anomalies)),
            f"{p}.n_errors": float(len(self.errors)),
            f"{p}.n_warnings": float(len(self.warnings)),
        }
        for kind in ANOMALY_KINDS:
            out[f"{p}.{kind}"] = float(len(self.of_kind(kind)))
        ranked = sorted(self.anomalies, key=lambda a: a.severity != "error")
        for a in ranked[:column_metrics]:
            out[f"{p}.column.{name_part(a.column)}.{a.kind}"] = float(a.count)
        return out

    def to_pandas(self) -> Any:
        """One row per anomaly."""
        pd = require("pandas", "pandas", f"{type(self).__name__}.to_pandas()")
        names = [f.name for f in dataclasses.fields(Anomaly)]
        return pd.DataFrame([[getattr(a, n) for n in names] for a in self.anomalies], columns=names)

    def _headline(self) -> str:
        if not self.anomalies:
            return (
                f"no anomaly in {count_of(self.rows, 'row')} x {count_of(self.columns, 'column')}"
            )
        return (
            f"{count_of(len(self.errors), 'error')}, {count_of(len(self.warnings), 'warning')} "
            f"in {count_of(self.rows, 'row')} x {count_of(self.columns, 'column')}"
        )

    def summary(self) -> str:
        lines = [f"{self.title}: {self.verdict}: {self._headline()}"]
        lines += [f"  {a}" for a in self.anomalies]
        return "\n".join(lines)

    def _html_body(self) -> str:
        lead = f'<p class="lead">{self._headline()}</p>'
        if not self.anomalies:
            return lead
        return lead + anomalies_table_html(self.anomalies)


def _examples_text(a: Anomaly) -> str:
    return ", ".join(f"{r}: {v!r}" for r, v in zip(a.rows, a.values))


ANOMALY_HEADERS = ("column", "kind", "severity", "rows", "detail", "examples (row: value)")


def anomaly_row(a: Anomaly) -> list[Any]:
    return [a.column, a.kind, a.severity, a.count, a.detail, _examples_text(a)]


def anomalies_table_html(anomalies: Sequence[Anomaly]) -> str:
    return html_table(
        ANOMALY_HEADERS,
        [anomaly_row(a) for a in anomalies],
        row_classes=["bad" if a.severity == "error" else "" for a in anomalies],
    )


# -- validate ----------------------------------------------------------------------------

#: The types a batch column may have for each schema type (besides its own).
_WIDENS = {"float": ("int",)}


def _type_ok(expected: str, col: Column) -> bool:
    got = col.type
    if expected == "null" or got == expected or got == "null":
        return True
    if got in _WIDENS.get(expected, ()):
        return True
    return expected == "int" and got == "float" and col.is_whole()


def _rule(col: Column, spec: ColumnSchema) -> tuple[Any, ...]:
    """The core's tuple for a column that has the expected type."""
    kind, data, exact, k = col.core()
    lo = hi = domain = None
    if kind in ("float", "int"):
        lo = None if spec.min is None else float(spec.min)
        hi = None if spec.max is None else float(spec.max)
    if spec.domain is not None and spec.type in ("int", "bool", "string"):
        domain = col.domain_arg(spec.domain)
    return (kind, data, exact, k, lo, hi, domain, bool(spec.unique))


def _bare(col: Column) -> tuple[Any, ...]:
    """The core's tuple that only counts missing values."""
    kind, data, exact, k = col.core()
    return (kind, data, exact, k, None, None, None, False)


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _fmt(v: Any) -> str:
    return "none" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def validate(
    data: Any,
    schema: Union[Schema, str, os.PathLike[str]],
    *,
    examples: int = 5,
    fingerprint: bool = True,
    progress: ProgressArg = False,
) -> ValidationReport:
    """Check a batch against a schema, every column in one parallel pass.

    Parameters
    ----------
    data : table
        A pandas or polars DataFrame, a pyarrow Table, a dict of columns or a 2-D numpy
        array, with at least one row.
    schema : Schema or path
        The schema, or a JSON/TOML file :meth:`Schema.save` wrote.
    examples : int, default 5
        Rows kept as examples per anomaly (the first ones in row order).
    fingerprint : bool, default True
        Record :func:`mlsentry.fingerprint` of ``data`` in ``report.inputs`` (with the
        schema's own fingerprint).
    progress : bool or callable, optional
        ``True`` shows a tqdm bar; a callable gets ``(done, total)`` rows.

    Returns
    -------
    ValidationReport
        ``.anomalies`` and ``.passed`` (no anomaly is an error).

    Raises
    ------
    InvalidInputError
        An empty table, a column name twice, columns of different lengths.
    InvalidTypeError
        ``data`` is not a table, or ``schema`` not a schema.
    SchemaError
        A schema setting that cannot be used.

    Examples
    --------
    >>> import mlsentry as ms
    >>> ref = {"price": [9.5, 12.0, 9.5, 30.0], "plan": ["a", "b", "a", "b"]}
    >>> schema = ms.data.Schema.infer(ref)
    >>> rep = ms.data.validate({"price": [10.0, 250.0], "plan": ["a", "z"]}, schema)
    >>> rep.passed, [(a.column, a.kind, a.rows, a.values) for a in rep.anomalies]
    (False, [('price', 'out_of_range', (1,), (250.0,)), ('plan', 'unseen_category', (1,), ('z',))])
    """
    if isinstance(schema, (str, os.PathLike)):
        schema = Schema.load(schema)
    if not isinstance(schema, Schema):
        raise InvalidTypeError(f"schema: expected a Schema or a path, got {type(schema).__name__}")
    if isinstance(examples, bool) or not isinstance(examples, (int, np.integer)) or examples < 0:
        raise InvalidInputError(f"examples: expected a whole number >= 0, got {examples!r}")
    schema.check()
    # The batch's fingerprint reads every value once more: it runs beside the checks (both
    # release the GIL), not after them.
    with Fingerprints(
        [("data", data)], enabled=bool(fingerprint), fingerprint_side=_fingerprint_side
    ) as fingerprints:
        columns = read_columns(data, "data")
        by_name = {c.name: c for c in columns}
        n = columns[0].n

        checked: list[tuple[str, Column, bool]] = []  # name, column, type accepted
        tuples = []
        for name, spec in schema.columns.items():
            col = by_name.get(name)
            if col is None:
                continue
            ok = _type_ok(spec.type, col)
            checked.append((name, col, ok))
            tuples.append(_rule(col, spec) if ok else _bare(col))
        with progress_callback(progress, "validate", unit="row") as cb:
            findings = _core.schema_validate(tuples, int(examples), cb)
        digests, _ = fingerprints.result()

    anomalies: list[Anomaly] = []

    def add(
        name: Optional[str],
        kind: str,
        count: int,
        rows: Sequence[int],
        detail: str,
        col: Optional[Column] = None,
    ) -> None:
        sev = schema.severity_of(name, kind)
        if sev == "off":
            return
        rows = list(rows)
        values = tuple(col.values_at(rows)) if col is not None else ()
        anomalies.append(Anomaly(str(name), kind, int(count), sev, tuple(rows), values, detail))

    found = {name: (col, ok, f) for (name, col, ok), f in zip(checked, findings)}
    for name, spec in schema.columns.items():
        if name not in found:
            add(name, "missing_column", n, (), f"expected {_a(spec.type)} column, absent")
            continue
        col, ok, f = found[name]
        missing, missing_rows = f["missing"]
        present = n - missing
        if not ok and present:
            add(
                name,
                "type_changed",
                present,
                col.present_rows(int(examples)),
                f"expected {spec.type}, got {col.type} ({col.dtype})",
                col,
            )
        if ok:
            count, rows = f["out_of_range"]
            if count:
                add(
                    name,
                    "out_of_range",
                    count,
                    rows,
                    f"expected values in [{_fmt(spec.min)}, {_fmt(spec.max)}]",
                    col,
                )
            count, rows = f["unseen"]
            if count:
                add(
                    name,
                    "unseen_category",
                    count,
                    rows,
                    f"values outside the domain of {count_of(len(spec.domain or ()), 'value')}",
                    col,
                )
        if missing / n > float(spec.max_missing) + 1e-12:
            add(
                name,
                "missing_above_bound",
                missing,
                missing_rows,
                f"{missing / n:.2%} missing, at most {float(spec.max_missing):.2%} allowed",
                col,
            )
        count, rows = f["duplicate"]
        if count:
            add(
                name,
                "duplicate_key",
                count,
                rows,
                "values of a unique column repeated (first occurrence not counted)",
                col,
            )
    for col in columns:
        if col.name not in schema.columns:
            add(
                col.name,
                "new_column",
                n,
                (),
                f"{_a(col.type)} column ({col.dtype}) not in the schema",
            )

    inputs = {"schema": schema.fingerprint(), **digests}
    return ValidationReport(
        anomalies=anomalies,
        rows=n,
        columns=len(columns),
        config={"examples": int(examples)},
        inputs=inputs,
    )


def _fingerprint_side(obj: Any) -> tuple[Optional[str], Optional[str]]:
    digest = _fingerprint(obj)
    return digest, None if digest is not None else "no canonical encoding"


def _fingerprint(obj: Any) -> Optional[str]:
    """The batch's fingerprint, or ``None`` when it has none (a dict of ragged columns)."""
    from ..integrity import fingerprint

    try:
        if isinstance(obj, Mapping):
            pd = require("pandas", "pandas", "fingerprinting a dict of columns")
            return fingerprint(pd.DataFrame(dict(obj)), index=False)
        return fingerprint(obj)
    except (ValueError, TypeError, ImportError):
        return None
