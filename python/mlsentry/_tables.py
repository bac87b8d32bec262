"""Data files read the same way by the command line and the pytest plugin."""

from __future__ import annotations

import os
from typing import Any

from .errors import InvalidInputError, PathNotFoundError, require


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
        pd = require("pandas", "pandas", "reading CSV")
        try:
            return pd.read_csv(path)
        except (ValueError, UnicodeDecodeError) as e:  # bad encoding, ragged rows, no header
            raise InvalidInputError(f"{path}: cannot be read as CSV: {_first_line(e)}") from None
    if fmt == "parquet":
        pq = require("pyarrow.parquet", "pandas", "reading Parquet")
        try:
            return pq.read_table(path)
        except (ValueError, OSError) as e:  # pyarrow's ArrowInvalid / ArrowIOError
            raise InvalidInputError(
                f"{path}: cannot be read as Parquet: {_first_line(e)}"
            ) from None
    raise InvalidInputError(f"--format: expected auto, csv, parquet, npy or bytes, got {fmt!r}")


def _first_line(e: BaseException) -> str:
    """The first line of a reader's error (pandas and pyarrow append long context)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
