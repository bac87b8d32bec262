"""Tables into the columns the schema core reads: each column typed (the vocabulary of
:mod:`mlsentry.data.schema`) and held as float64 values or as category codes with their
values, read the way :func:`mlsentry.drift.compare` reads them."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np

from ..drift.tables import Side, side_any, table_columns
from ..errors import InvalidInputError

TYPES = ("int", "float", "bool", "string", "datetime", "timedelta", "time", "null")


def type_of(side: Side) -> str:
    """The schema type of a column."""
    if side.group == "number":
        return "int" if side.integer else "float"
    if side.group == "text":
        return "string"
    return side.group


@dataclasses.dataclass
class Column:
    """One column of a table, typed and ready for the core."""

    name: str
    side: Side

    @property
    def n(self) -> int:
        return self.side.n

    @property
    def type(self) -> str:
        return type_of(self.side)

    @property
    def dtype(self) -> str:
        return self.side.dtype

    def core(self) -> tuple[str, np.ndarray, Optional[np.ndarray], int]:
        """``(kind, data, exact, k)`` as ``_core.schema_infer``/``schema_validate`` take."""
        s = self.side
        if s.codes is not None and s.uniques is not None:
            codes = np.ascontiguousarray(s.codes, dtype=np.int64)
            return "codes", codes, None, len(s.uniques)
        if s.values is None:  # no value at all
            return "float", np.full(s.n, np.nan), None, 0
        exact = None if s.exact is None else s.exact.view(np.int64)
        return "float", np.asarray(s.values, dtype=np.float64), exact, 0

    def is_whole(self) -> bool:
        return self.side.is_whole()

    def present_rows(self, limit: int) -> list[int]:
        """The first ``limit`` rows holding a value."""
        s = self.side
        if s.codes is not None:
            present = s.codes >= 0
        elif s.values is not None:
            present = ~np.isnan(s.values)
        else:
            return []
        return [int(i) for i in np.flatnonzero(present)[:limit]]

    def values_at(self, rows: list[int]) -> list[Any]:
        """The values of some rows, JSON-ready (``None`` for a missing one)."""
        s = self.side
        if not rows:
            return []
        idx = np.asarray(rows, dtype=np.int64)
        if s.codes is not None and s.uniques is not None:
            return [None if c < 0 else json_value(s.uniques[c]) for c in s.codes[idx]]
        if s.values is None:
            return [None] * len(rows)
        t = self.type
        out: list[Any] = []
        for i, v in zip(idx, s.values[idx]):
            if np.isnan(v):
                out.append(None)
            elif t == "int":
                out.append(int(s.exact[i]) if s.exact is not None else int(v))
            elif t == "bool":
                out.append(bool(v))
            elif t == "datetime":
                out.append(str(np.datetime64(int(s.exact[i] if s.exact is not None else v), "ns")))
            elif t in ("timedelta", "time"):
                ns = int(s.exact[i]) if s.exact is not None else int(v)
                out.append(str(np.timedelta64(ns, "ns")))
            else:
                out.append(float(v))
        return out

    def domain_values(self, prof: dict[str, Any]) -> Optional[list[Any]]:
        """The inferred domain as a schema file holds it, from the core's profile; ``None``
        when its values are not all of the column's kind (a mixed object column)."""
        t = self.type
        if t == "int":
            return [int(v) for v in prof["values"]]
        if t == "bool":
            return [bool(v) for v in prof["values"]]
        uniques = self.side.uniques
        if uniques is None:
            return None
        values = [json_value(u) for u in uniques[prof["codes"]]]
        if not all(isinstance(v, str) for v in values):
            return None
        return sorted(values)

    def allowed_codes(self, domain: list[Any]) -> np.ndarray:
        """One bool per category code: its value is in ``domain``."""
        uniques = self.side.uniques
        assert uniques is not None
        try:
            import pandas as pd
        except ImportError:
            allowed = set(domain)
            return np.array([json_value(u) in allowed for u in uniques], dtype=bool)
        return np.asarray(pd.Index(uniques, dtype=object).isin(list(domain)), dtype=bool)


def json_value(v: Any) -> Any:
    """A value as JSON holds it (numpy scalars as Python ones, bytes decoded)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8", "backslashreplace")
    if isinstance(v, float) and v != v:
        return None
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _decoded(side: Side, what: str) -> Side:
    """A categorical of numbers, booleans or dates as those values (float64)."""
    assert side.codes is not None and side.uniques is not None
    if len(side.uniques) == 0:
        return Side(side.n, "null", side.dtype)
    u = side_any(np.asarray(side.uniques, dtype=object), what)
    if u.values is None:
        return side
    codes = side.codes
    values = np.where(codes >= 0, u.values[np.maximum(codes, 0)], np.nan)
    return Side(side.n, u.group, side.dtype, values=values, integer=u.integer)


def read_columns(obj: Any, what: str) -> list[Column]:
    """The columns of a table (pandas, polars, pyarrow, dict of columns, numpy), with at
    least one column and one row, names distinct, lengths equal."""
    pairs = table_columns(obj, what)
    if not pairs:
        raise InvalidInputError(f"{what}: the table has no columns")
    seen: set[str] = set()
    out = []
    for name, col in pairs:
        if name in seen:
            raise InvalidInputError(f"{what}: column {name!r} appears twice")
        seen.add(name)
        side = side_any(col, f"{what}[{name!r}]")
        if side.codes is not None and side.group not in ("text", "null"):
            side = _decoded(side, f"{what}[{name!r}]")
        out.append(Column(name, side))
    lengths = {c.n for c in out}
    if len(lengths) > 1:
        raise InvalidInputError(
            f"{what}: columns of different lengths ({', '.join(map(str, sorted(lengths)))})"
        )
    if out[0].n == 0:
        raise InvalidInputError(f"{what}: the table has no rows")
    return out
