"""The one conversion of a numeric (n, d) sample: the multivariate drift tests and the
monitor read their inputs with it."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .errors import InvalidInputError, InvalidTypeError

__all__ = ["as_matrix"]


def as_matrix(x: Any, name: str, *, width: Optional[int] = None) -> np.ndarray:
    """A C-contiguous float64 (n, d) array of a numeric 2-D sample (numpy, nested lists,
    pandas or polars DataFrames, pyarrow tables); a 1-D sample is one column."""
    obj = x
    if type(obj).__module__.split(".", 1)[0] == "pyarrow" and hasattr(obj, "to_pandas"):
        obj = obj.to_pandas()
    if hasattr(obj, "to_numpy") and not isinstance(obj, np.ndarray):
        try:
            obj = obj.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            obj = obj.to_numpy()
    try:
        arr = np.asarray(obj)
    except (TypeError, ValueError) as e:
        raise InvalidTypeError(f"{name}: cannot be read as a numeric array ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise InvalidTypeError(f"{name}: expected numbers (rows, features), got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise InvalidInputError(f"{name}: expected a 2-D array (rows, features), got {arr.shape}")
    if arr.shape[0] == 0:
        raise InvalidInputError(f"{name}: no rows")
    if width is not None and arr.shape[1] != width:
        raise InvalidInputError(f"{name}: expected {width} features, got {arr.shape[1]}")
    out = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(out).all():
        raise InvalidInputError(f"{name}: contains NaN or infinite values")
    return out
