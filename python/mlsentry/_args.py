"""Argument checks shared by every module: a clear error that names the argument.

NumPy scalars count through the ``numbers`` ABCs they register with, so these checks do not
import NumPy (the command line's signing and audit paths start without it)."""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional

from .errors import InvalidInputError, InvalidTypeError

__all__ = ["check_int", "check_positive"]


def check_int(value: Any, name: str, minimum: int, maximum: Optional[int] = None) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (bools refused)."""
    wanted = f"an int >= {minimum}" if maximum is None else f"an int from {minimum} to {maximum:,}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{name}: expected {wanted}, got {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        raise InvalidInputError(f"{name}: expected {wanted}, got {value}")
    return int(value)


def check_positive(value: Any, name: str) -> float:
    """``value`` as a positive finite float (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name}: expected a positive number, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise InvalidInputError(f"{name}: expected a positive finite number, got {value!r}")
    return float(value)
