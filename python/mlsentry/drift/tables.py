"""Text columns read as numbers or dates for a comparison; the rest of the column reading
is shared (:mod:`mlsentry._tables`), its names kept here for the drift modules."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._tables import (
    EXACT_LIMIT,
    Side,
    _float_side,
    _ns_side,
    dict_column,
    factorize_objects,
    int_side,
    list_array,
    side_any,
    table_columns,
)
from ..errors import InvalidInputError, InvalidTypeError

__all__ = [
    "EXACT_LIMIT",
    "check_names",
    "named_columns",
    "Side",
    "dict_column",
    "factorize_objects",
    "int_side",
    "list_array",
    "parse_text_pair",
    "side_any",
    "table_columns",
]


def _parsed(uniques: np.ndarray, target: str) -> Optional[np.ndarray]:
    """The distinct strings of a side as numbers (``"f8"``) or ISO dates (``"M8[ns]"``),
    or ``None`` when one of them does not parse, or looks like a code (``"007"``)."""
    if len(uniques) == 0 or not all(isinstance(u, str) for u in uniques[:100]):
        return None
    text = np.char.strip(uniques.astype(str))
    if target == "f8":
        digits = np.char.lstrip(text, "+-")
        coded = np.char.startswith(digits, "0") & (np.char.str_len(digits) > 1)
        if np.any(coded & ~np.char.startswith(digits, "0.")):
            return None  # leading zeros: identifiers and codes, not quantities
    elif not np.all((np.char.find(text, "-") == 4) & (np.char.str_len(text) >= 10)):
        return None  # only ISO dates (YYYY-MM-DD...), not any string numpy would read
    try:
        with np.errstate(all="ignore"):
            values = np.asarray(text, dtype=target)
    except (ValueError, TypeError, OverflowError):
        return None
    if target == "f8" and not np.all(np.isfinite(values)):
        return None  # "nan", "inf" spelled out: keep the column as text
    return values


def parse_text_pair(ref: Side, cur: Side) -> tuple[Side, Side, str]:
    """Text columns whose every value on both sides reads as a number, or as an ISO date,
    as that numeric or datetime column (``note`` says so); other columns unchanged."""
    sides = [s for s in (ref, cur) if s.group != "null"]
    if not sides or any(s.group != "text" or s.categorical_dtype for s in sides):
        return ref, cur, ""
    if any(s.uniques is None or s.codes is None for s in sides):
        return ref, cur, ""
    for target, group, word in (("f8", "number", "numbers"), ("M8[ns]", "datetime", "dates")):
        parsed = [_parsed(s.uniques, target) for s in sides]
        if any(p is None for p in parsed):
            continue
        out = []
        for s in (ref, cur):
            if s.group == "null":
                out.append(s)
                continue
            values = parsed.pop(0)
            codes = s.codes
            if group == "number":
                floats = np.where(codes >= 0, values[np.maximum(codes, 0)], np.nan)
                whole = bool(
                    np.all(floats[~np.isnan(floats)] == np.floor(floats[~np.isnan(floats)]))
                )
                out.append(_float_side(floats, "number", f"{s.dtype} (numbers)", integer=whole))
            else:
                stamps = values[np.maximum(codes, 0)]
                stamps[codes < 0] = np.datetime64("NaT")
                out.append(_ns_side(stamps, "datetime", f"{s.dtype} (dates)"))
        return out[0], out[1], f"strings that all read as {word}: compared as {word}"
    return ref, cur, ""


def check_names(value: Any, name: str) -> Optional[list[str]]:
    """``value`` as a list of column names (``None`` stays ``None``), or a clear error."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    try:
        names = list(value)
    except TypeError:
        raise InvalidTypeError(
            f"{name}: expected a list of column names, got {type(value).__name__}"
        ) from None
    return [str(n) for n in names]


def named_columns(pairs: list[tuple[str, Any]], what: str) -> dict[str, Any]:
    """Columns by name; two columns of one name are an error naming ``what``."""
    out: dict[str, Any] = {}
    for name, col in pairs:
        if name in out:
            raise InvalidInputError(f"{what}: two columns are named {name!r}")
        out[name] = col
    return out
