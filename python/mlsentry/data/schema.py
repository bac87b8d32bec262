"""What a table should look like: :class:`Schema`, inferred from reference data, edited by
hand, saved as JSON or TOML, and checked by :func:`~mlsentry.data.validate`.

Types
-----
Each column has one type of a small vocabulary, from its dtype (pandas, polars, pyarrow,
numpy; object columns by their values):

============  ==========================================================================
``int``       integer dtypes (nullable ones too)
``float``     floating and decimal dtypes
``bool``      booleans
``string``    strings, bytes, categoricals of strings, object columns of mixed values
``datetime``  timestamps and dates (time zones dropped: compared in UTC)
``timedelta`` durations
``time``      times of day
``null``      a reference column with no value at all: any type is accepted later
============  ==========================================================================

A batch column of another type is ``type_changed``, with two widenings accepted, as a
person would: an ``int`` column may arrive as floats whose values are all whole (pandas
turns an integer column with a missing value into float64), and a ``float`` column may
arrive as integers. A column with no present value has no type to judge (only its missing
rate is checked).

Inference (:meth:`Schema.infer`)
--------------------------------
- ``max_missing``: 0 when the reference has no missing value in the column (the column is
  required, as pandera's ``nullable=False``); otherwise the reference's missing share plus
  ``missing_margin`` (default 0.05), at most 1.
- ``min``/``max`` (``int`` and ``float``): the reference's smallest and largest value,
  widened on each side by ``range_margin`` (default 0.25) times their distance, so that a
  new batch from the same source rarely falls outside (the largest of n draws is exceeded
  by about 1 in n new draws); a bound never crosses zero when the reference did not (counts
  and prices stay non-negative), and integer bounds are rounded outwards. A reference
  holding infinities keeps no bound on that side. ``range_margin=0`` gives pandera's exact
  bounds. Heavy-tailed columns (log-normal amounts) may need a larger margin or no upper
  bound. Dates and durations get no range: a newer batch is later by nature.
- ``domain``: the distinct values of ``string`` and ``bool`` columns, and of ``int``
  columns with at most ``int_categories`` (default 20) distinct values. Above
  ``max_categories`` (default 1,000) distinct values no domain is kept, and the column's
  ``note`` says so. A column whose every value is distinct keeps no domain either: its
  values are identifiers, not categories.
- ``unique``: every present value (two at least) of an ``int`` or ``string`` column is
  distinct: the column is a key, and keeps no range nor domain (new batches bring new
  keys). Never inferred for floats (nor for booleans, dates and durations); set it by
  hand when wanted.
- ``constant``: one distinct present value in the reference (noted; the range or domain
  then pins it).

Severities
----------
Each anomaly kind has a severity, ``"error"`` (fails the validation), ``"warning"``
(reported, does not fail) or ``"off"`` (not reported). By default ``new_column`` is a
warning and every other kind an error; ``schema.severity`` overrides a kind for every
column and ``schema["c"].severity`` for one column.

The file
--------
JSON or TOML by the suffix (``.json``, ``.toml``), keys sorted, with ``"format":
"mlsentry/schema"`` and ``"version": 1``. Loading rejects another format, a newer version,
unknown keys and ill-typed values with :class:`SchemaError`, naming the problem.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from typing import Any, Optional, Union

import numpy as np

from .. import _core
from .._version import __version__
from ..errors import InvalidInputError, InvalidTypeError
from .columns import TYPES, read_columns

__all__ = ["ANOMALY_KINDS", "ColumnSchema", "SEVERITIES", "Schema", "SchemaError"]

FORMAT = "mlsentry/schema"
VERSION = 1

#: The kinds of anomaly :func:`~mlsentry.data.validate` reports.
ANOMALY_KINDS = (
    "type_changed",
    "out_of_range",
    "unseen_category",
    "missing_above_bound",
    "duplicate_key",
    "new_column",
    "missing_column",
)
SEVERITIES = ("error", "warning", "off")
DEFAULT_SEVERITY = {kind: "error" for kind in ANOMALY_KINDS} | {"new_column": "warning"}

_RANGED = ("int", "float")
_DOMAIN_TYPES = ("int", "bool", "string")


class SchemaError(InvalidInputError):
    """A schema that cannot be used: not a schema file, a newer version, an unknown key,
    or a value of the wrong type or out of range (the message names it)."""


PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass
class ColumnSchema:
    """What one column should hold. Edit the attributes freely; they are checked when the
    schema is used, saved or loaded.

    Attributes
    ----------
    type : str
        One of ``int``, ``float``, ``bool``, ``string``, ``datetime``, ``timedelta``,
        ``time``, ``null`` (see the module documentation for what each accepts).
    max_missing : float
        The largest share of missing values allowed, in [0, 1].
    min, max : int or float, optional
        Bounds of the values (``int`` and ``float`` columns; ``None``: no bound).
    domain : list, optional
        The values allowed (``string``: str, ``int``: int, ``bool``: bool), ``None`` for
        any.
    unique : bool
        Every present value must be distinct (a key).
    constant : bool
        The reference held one distinct value (information only).
    severity : dict
        Per anomaly kind, ``"error"``, ``"warning"`` or ``"off"`` for this column.
    note : str
        What inference wants a reader to know (no domain kept, and why).
    """

    type: str
    max_missing: float = 0.0
    min: Optional[float] = None
    max: Optional[float] = None
    domain: Optional[list[Any]] = None
    unique: bool = False
    constant: bool = False
    severity: dict[str, str] = dataclasses.field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The column as JSON-ready data (empty ``severity`` and ``note`` left out)."""
        out: dict[str, Any] = {
            "type": self.type,
            "max_missing": self.max_missing,
            "min": self.min,
            "max": self.max,
            "domain": None if self.domain is None else list(self.domain),
            "unique": self.unique,
            "constant": self.constant,
        }
        if self.severity:
            out["severity"] = dict(sorted(self.severity.items()))
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, data: Any, name: str = "?") -> ColumnSchema:
        where = f"columns.{name}"
        if not isinstance(data, Mapping):
            raise SchemaError(f"{where}: expected a table of settings, got {_kind(data)}")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise SchemaError(f"{where}: unknown key {unknown[0]!r}")
        if "type" not in data:
            raise SchemaError(f"{where}: no type")
        col = cls(**{k: copy.deepcopy(v) for k, v in data.items()})
        col.check(name)
        return col

    def check(self, name: str = "?") -> None:
        """Raise :class:`SchemaError` when a setting cannot be used."""
        where = f"columns.{name}"
        if self.type not in TYPES:
            raise SchemaError(
                f"{where}.type: expected one of {', '.join(TYPES)}, got {self.type!r}"
            )
        if not _is_number(self.max_missing) or not 0.0 <= float(self.max_missing) <= 1.0:
            raise SchemaError(
                f"{where}.max_missing: expected a share in [0, 1], got {self.max_missing!r}"
            )
        for key in ("min", "max"):
            bound = getattr(self, key)
            if bound is None:
                continue
            if self.type not in _RANGED:
                raise SchemaError(f"{where}.{key}: a range applies to int and float columns")
            if not _is_number(bound) or math.isnan(float(bound)):
                raise SchemaError(f"{where}.{key}: expected a number, got {bound!r}")
        if self.min is not None and self.max is not None and float(self.min) > float(self.max):
            raise SchemaError(f"{where}: min {self.min!r} is above max {self.max!r}")
        if self.domain is not None:
            self._check_domain(where)
        for key in ("unique", "constant"):
            if not isinstance(getattr(self, key), bool):
                raise SchemaError(f"{where}.{key}: expected true or false")
        check_severities(self.severity, f"{where}.severity")
        if not isinstance(self.note, str):
            raise SchemaError(f"{where}.note: expected text")

    def _check_domain(self, where: str) -> None:
        if self.type not in _DOMAIN_TYPES:
            raise SchemaError(f"{where}.domain: a domain applies to string, int and bool columns")
        if not isinstance(self.domain, (list, tuple)):
            raise SchemaError(f"{where}.domain: expected a list, got {_kind(self.domain)}")
        want = {"string": (str,), "int": (int,), "bool": (bool,)}[self.type]
        for v in self.domain:
            is_bool = isinstance(v, bool)
            if not isinstance(v, want) or (is_bool and self.type != "bool"):
                raise SchemaError(
                    f"{where}.domain: a {self.type} column's domain holds {self.type} values, "
                    f"got {v!r}"
                )


def check_severities(sev: Any, where: str) -> None:
    if not isinstance(sev, Mapping):
        raise SchemaError(f"{where}: expected a table of kind = level, got {_kind(sev)}")
    for kind, level in sev.items():
        if kind not in ANOMALY_KINDS:
            raise SchemaError(
                f"{where}: unknown anomaly kind {kind!r} "
                f"(expected one of {', '.join(ANOMALY_KINDS)})"
            )
        if level not in SEVERITIES:
            raise SchemaError(f"{where}.{kind}: expected error, warning or off, got {level!r}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _kind(v: Any) -> str:
    return type(v).__name__


class Schema:
    """The expected columns of a table, by name.

    Build one with :meth:`infer` from reference data, or by hand from
    :class:`ColumnSchema` entries; check a batch with :func:`mlsentry.data.validate`.

    Examples
    --------
    >>> import mlsentry as ms
    >>> ref = {"age": [31, 45, 31, 60], "plan": ["a", "b", "a", "b"], "id": [1, 2, 3, 4]}
    >>> schema = ms.data.Schema.infer(ref)
    >>> schema["plan"].domain, schema["id"].unique, schema["age"].min, schema["age"].max
    (['a', 'b'], True, 23, 68)
    >>> schema["age"].max = 120
    >>> schema.save("schema.toml")
    >>> ms.data.Schema.load("schema.toml") == schema
    True
    """

    def __init__(
        self,
        columns: Optional[Mapping[str, ColumnSchema]] = None,
        *,
        severity: Optional[Mapping[str, str]] = None,
        rows: Optional[int] = None,
    ) -> None:
        self.columns: dict[str, ColumnSchema] = dict(columns or {})
        self.severity: dict[str, str] = dict(severity or {})
        #: Rows of the reference the schema was inferred from (information only).
        self.rows = rows

    # -- a mapping of columns ------------------------------------------------------------
    def __getitem__(self, name: str) -> ColumnSchema:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r} in the schema") from None

    def __setitem__(self, name: str, column: ColumnSchema) -> None:
        if not isinstance(column, ColumnSchema):
            raise InvalidTypeError(
                f"schema[{name!r}]: expected a ColumnSchema, got {_kind(column)}"
            )
        self.columns[str(name)] = column

    def __delitem__(self, name: str) -> None:
        del self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"<Schema of {len(self.columns)} columns: {', '.join(list(self.columns)[:8])}>"

    def severity_of(self, column: Optional[str], kind: str) -> str:
        """The severity of ``kind`` for ``column``: the column's setting, else the
        schema's, else the default (``new_column`` a warning, the rest errors)."""
        if column is not None and column in self.columns:
            own = self.columns[column].severity.get(kind)
            if own is not None:
                return own
        return self.severity.get(kind, DEFAULT_SEVERITY[kind])

    # -- inference -----------------------------------------------------------------------
    @classmethod
    def infer(
        cls,
        reference: Any,
        *,
        max_categories: int = 1000,
        int_categories: int = 20,
        missing_margin: float = 0.05,
        range_margin: float = 0.25,
    ) -> Schema:
        """The schema of ``reference``, column by column (the rules are in the module
        documentation of :mod:`mlsentry.data.schema`).

        Parameters
        ----------
        reference : table
            A pandas or polars DataFrame, a pyarrow Table, a dict of columns or a 2-D
            numpy array (columns named ``"0"``, ``"1"``, ...), with at least one row.
        max_categories : int, default 1000
            Above this many distinct values a column keeps no domain.
        int_categories : int, default 20
            An integer column with at most this many distinct values keeps them as its
            domain.
        missing_margin : float, default 0.05
            Added to the reference's missing share of a column that has missing values.
        range_margin : float, default 0.25
            Widens ``[min, max]`` by this times ``max - min`` on each side.

        Raises
        ------
        InvalidInputError
            An empty table, a column name twice, a bad setting.
        InvalidTypeError
            Not a table, or a column of a type that is not supported.
        """
        cap = _count_arg(max_categories, "max_categories")
        int_cap = _count_arg(int_categories, "int_categories")
        missing_margin = _share_arg(missing_margin, "missing_margin", upper=1.0)
        range_margin = _share_arg(range_margin, "range_margin", upper=math.inf)
        columns = read_columns(reference, "reference")
        inputs = []
        for col in columns:
            t = col.type
            counted = t in ("int", "bool")
            inputs.append((*col.core(), counted))
        profiles = _core.schema_infer(inputs, max(cap, int_cap))
        out: dict[str, ColumnSchema] = {}
        rows = columns[0].n
        for col, prof in zip(columns, profiles):
            out[col.name] = _column_schema(col, prof, cap, int_cap, missing_margin, range_margin)
        return cls(out, rows=rows)

    # -- files ---------------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`SchemaError` when a setting cannot be used."""
        for name, col in self.columns.items():
            if not isinstance(col, ColumnSchema):
                raise SchemaError(f"columns.{name}: expected a ColumnSchema, got {_kind(col)}")
            col.check(name)
        check_severities(self.severity, "severity")

    def to_dict(self) -> dict[str, Any]:
        """The schema as JSON-ready data (what :meth:`save` writes)."""
        self.check()
        out: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "mlsentry_version": __version__,
            "columns": {name: col.to_dict() for name, col in self.columns.items()},
        }
        if self.severity:
            out["severity"] = dict(sorted(self.severity.items()))
        if self.rows is not None:
            out["rows"] = self.rows
        return out

    def to_json(self) -> str:
        """The schema as JSON text, keys sorted."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"

    def to_toml(self) -> str:
        """The schema as TOML text, keys sorted (unset values are left out)."""
        return str(_core.schema_json_to_toml(json.dumps(self.to_dict(), allow_nan=False)))

    def fingerprint(self) -> str:
        """``sha256:`` of the canonical JSON of the schema (recorded by reports)."""
        data = self.to_dict()
        data.pop("mlsentry_version", None)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def save(self, path: PathLike) -> None:
        """Write the schema as JSON (``.json``) or TOML (``.toml``)."""
        p = os.fspath(path)
        fmt = _format_of(p)
        text = self.to_json() if fmt == "json" else self.to_toml()
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(text)

    @classmethod
    def load(cls, path: PathLike) -> Schema:
        """Read a schema written by :meth:`save` (JSON or TOML, by the suffix).

        Raises
        ------
        SchemaError
            Not a schema (truncated, edited into something else), a newer version, an
            unknown key or a bad value; the message names the file and the problem.
        PathNotFoundError
            No such file.
        """
        p = os.fspath(path)
        fmt = _format_of(p)
        if not os.path.exists(p):
            from ..errors import PathNotFoundError

            raise PathNotFoundError(2, "No such file or directory", p)
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
        try:
            if fmt == "toml":
                text = _core.schema_toml_to_json(text)
            data = json.loads(text)
        except (ValueError, InvalidInputError) as e:
            raise SchemaError(f"{p}: not a readable {fmt.upper()} schema: {e}") from None
        try:
            return cls.from_dict(data)
        except SchemaError as e:
            raise SchemaError(f"{p}: {e}") from None

    @classmethod
    def from_dict(cls, data: Any) -> Schema:
        """The schema whose :meth:`to_dict` is ``data``."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise SchemaError(f'not an mlsentry schema (no "format": "{FORMAT}")')
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SchemaError(f"version: expected a positive whole number, got {version!r}")
        if version > VERSION:
            raise SchemaError(
                f"schema version {version} is newer than this mlsentry reads ({VERSION}); "
                "upgrade mlsentry"
            )
        known = {"format", "version", "mlsentry_version", "columns", "severity", "rows"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SchemaError(f"unknown key {unknown[0]!r}")
        columns = data.get("columns")
        if not isinstance(columns, Mapping):
            raise SchemaError(f"columns: expected a table of columns, got {_kind(columns)}")
        rows = data.get("rows")
        if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 0):
            raise SchemaError(f"rows: expected a whole number, got {rows!r}")
        severity = data.get("severity", {})
        check_severities(severity, "severity")
        cols = {str(n): ColumnSchema.from_dict(c, str(n)) for n, c in columns.items()}
        return cls(cols, severity=severity, rows=rows)


def _format_of(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".json", ".toml"):
        raise InvalidInputError(f"path: a schema file is .json or .toml, got {path!r}")
    return ext[1:]


def _count_arg(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise InvalidTypeError(f"{what}: expected a whole number, got {_kind(v)}")
    if v < 0:
        raise InvalidInputError(f"{what}: expected a number >= 0, got {v}")
    return int(v)


def _share_arg(v: Any, what: str, upper: float) -> float:
    if not _is_number(v):
        raise InvalidTypeError(f"{what}: expected a number, got {_kind(v)}")
    if not 0.0 <= float(v) <= upper:
        raise InvalidInputError(f"{what}: expected a number in [0, {upper}], got {v!r}")
    return float(v)


def _widened(lo: float, hi: float, margin: float, integer: bool) -> tuple[Any, Any]:
    """The reference range widened by ``margin`` times its width on each side, not crossing
    zero, integers rounded outwards; infinite ends are no bound (``None``)."""
    span = hi - lo if math.isfinite(lo) and math.isfinite(hi) else 0.0
    a, b = lo - margin * span, hi + margin * span
    if lo >= 0:
        a = max(a, 0.0)
    if hi <= 0:
        b = min(b, 0.0)
    out: list[Any] = []
    for v, rnd in ((a, math.floor), (b, math.ceil)):
        if not math.isfinite(v):
            out.append(None)
        elif integer:
            out.append(int(rnd(v)))
        else:
            out.append(float(v) + 0.0)  # -0.0 reads oddly in a file
    return out[0], out[1]


def _column_schema(
    col: Any,
    prof: Mapping[str, Any],
    cap: int,
    int_cap: int,
    missing_margin: float,
    range_margin: float,
) -> ColumnSchema:
    t = col.type
    rows, missing = int(prof["rows"]), int(prof["missing"])
    present = rows - missing
    if missing == 0:
        max_missing = 0.0
    else:
        share = missing / rows + missing_margin
        max_missing = min(1.0, math.ceil(share * 1e6) / 1e6)
    out = ColumnSchema(type=t, max_missing=max_missing)
    if t == "null" or present == 0:
        return out
    distinct = prof["distinct"]
    out.unique = bool(prof["unique"]) and t in ("int", "string") and present > 1
    if out.unique:
        out.note = "every value distinct (an identifier): no range or domain kept"
        return out
    if t in _RANGED:
        out.min, out.max = _widened(prof["min"], prof["max"], range_margin, t == "int")
    if distinct is not None:
        out.constant = distinct == 1
    elif prof["min"] == prof["max"]:
        out.constant = True
    if t not in _DOMAIN_TYPES:
        return out
    limit = int_cap if t == "int" else cap
    if prof["capped"] or distinct > limit:
        if t != "int":  # integers above int_categories are quantities, not categories
            out.note = f"more than {cap} distinct values: no domain kept"
        return out
    domain = col.domain_values(prof)
    if domain is None:
        out.note = "values that a schema file cannot hold: no domain kept"
    out.domain = domain
    return out
