"""Data files read the same way by the command line and the pytest plugin."""

from __future__ import annotations

import os
from typing import Any

from .errors import InvalidInputError, PathNotFoundError


def read_table(path: str, fmt: str = "auto") -> Any:
    """A CSV (pandas DataFrame), Parquet (pyarrow Table), ``.npy`` (NumPy array, no pickles)
    or raw (``bytes``) file, the format from ``fmt`` or the file's suffix."""
    if not os.path.exists(path):
        raise PathNotFoundError(2, "No such file or directory", path)
    if fmt == "auto":
        ext = os.path.splitext(path)[1].lower()
        fmt = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npy": "npy"}.get(ext, "")
        if not fmt:
            raise InvalidInputError(
                f"FILE: cannot tell the format of {path!r} from its suffix; "
                "use --format csv|parquet|npy|bytes"
            )
    if fmt == "npy":
        import numpy as np

        try:
            return np.load(path, allow_pickle=False)
        except ValueError as e:
            raise InvalidInputError(f"{path}: not a plain .npy array ({e})") from None
    if fmt == "bytes":
        with open(path, "rb") as fh:
            return fh.read()
    if fmt == "csv":
        try:
            import pandas as pd
        except ImportError:
            raise InvalidInputError(
                "reading CSV needs pandas: pip install 'mlsentry[pandas]'"
            ) from None
        return pd.read_csv(path)
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InvalidInputError(
                "reading Parquet needs pyarrow: pip install 'mlsentry[pandas]'"
            ) from None
        return pq.read_table(path)
    raise InvalidInputError(f"--format: expected auto, csv, parquet, npy or bytes, got {fmt!r}")
