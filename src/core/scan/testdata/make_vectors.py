"""Benign pickle vectors for the Rust pickle reader's tests.

Writes ``pickle/<name>`` files (plain pickles of builtins and standard-library values at
protocols 0 to 5, numpy arrays of many dtypes, a pandas DataFrame, scipy.sparse matrices,
scikit-learn models through ``pickle`` and through ``joblib`` raw and compressed) and
``pickle/globals.json``: for each file, the exact set of ``(module, name)`` pairs that
CPython's unpickler passes to ``find_class`` when it loads the file (recorded by loading
each file with an unpickler whose ``find_class`` records its arguments; joblib files
through joblib's own unpickler, nested object-array pickles included). These are our own
benign files, so loading them is fine.

Run from anywhere with the project's interpreter (``.venv/bin/python``, which has numpy,
pandas, scipy, scikit-learn and joblib)::

    .venv/bin/python src/core/scan/testdata/make_vectors.py

Deterministic for given library versions (fixed seeds, no timestamps); the versions used
are recorded in ``globals.json``. The files are kept small (well under 2 MB in all).
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import io
import json
import pickle
import sys
import uuid
from pathlib import Path

import joblib
import joblib.numpy_pickle as numpy_pickle
import numpy as np
import pandas as pd
import scipy
import scipy.sparse as sp
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

OUT = Path(__file__).resolve().parent / "pickle"
SEED = 20261122


# --------------------------------------------------------------------------- recording


class _Recording(pickle.Unpickler):
    """The C unpickler, recording what ``find_class`` is asked for."""

    def __init__(self, file, seen: set, buffers=None):
        super().__init__(file, buffers=buffers)
        self.seen = seen

    def find_class(self, module, name):
        self.seen.add((module, name))
        return super().find_class(module, name)


def globals_of_pickles(data: bytes, buffers=None) -> set:
    """Every global the C unpickler imports, loading each pickle of ``data`` in turn."""
    seen: set = set()
    f = io.BytesIO(data)
    while f.tell() < len(data):
        _Recording(f, seen, buffers).load()
    return seen


def globals_of_joblib(path: Path) -> set:
    """Every global ``joblib.load`` imports (nested pickles of object arrays included)."""
    seen: set = set()
    original = numpy_pickle.NumpyUnpickler

    class Recording(original):
        def find_class(self, module, name):
            seen.add((module, name))
            return super().find_class(module, name)

    numpy_pickle.NumpyUnpickler = Recording
    try:
        joblib.load(path)
    finally:
        numpy_pickle.NumpyUnpickler = original
    return seen


# --------------------------------------------------------------------------- the values


def plain_values() -> dict:
    shared = [1, 2, 3]
    return {
        "ints": [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -(2**31), 2**31, 2**70, -(2**70)],
        "floats": [0.0, -1.5, 1e300, 5e-324, float("inf"), float("-inf"), float("nan")],
        "text": "na\u00efve \u00fcnic\u00f8de \U0001f600 'quoted' \"double\" back\\slash\nnewline",
        "empty": ["", b"", (), [], {}, set(), frozenset()],
        "bytes": bytes(range(256)),
        "long_text": "x" * 300,
        "bytearray": bytearray(b"ab\x00\xff"),
        "tuples": [(1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
        "bools": [True, False, None],
        "set": {1, 2, 3},
        "frozenset": frozenset({"a", "b"}),
        "ordered": collections.OrderedDict([("a", 1), ("b", 2)]),
        "defaultdict": collections.defaultdict(list, {"k": [1]}),
        "counter": collections.Counter("hello"),
        "deque": collections.deque([1, 2, 3], maxlen=5),
        "complex": 1 + 2j,
        "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
        "aware": datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
        "date": datetime.date(2024, 2, 29),
        "time": datetime.time(12, 30),
        "timedelta": datetime.timedelta(days=1, seconds=2),
        "decimal": decimal.Decimal("3.14159"),
        "fraction": fractions.Fraction(1, 3),
        "uuid": uuid.UUID(int=SEED),
        "range": range(0, 10, 2),
        "slice": slice(1, 5, 2),
        "shared_twice": [shared, shared],
        "nested": {"list": [[1, 2], {"k": (3, 4)}], "deep": [[[[[]]]]]},
    }


def numpy_arrays() -> dict:
    rng = np.random.default_rng(SEED)
    arrays: dict = {
        dt: rng.integers(0, 100, 5).astype(dt)
        for dt in (
            "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
            "float16", "float32", "float64", "complex64", "complex128", "bool",
        )
    }  # fmt: skip
    arrays["big_endian"] = np.arange(4, dtype=">i4")
    arrays["datetime64"] = np.array(["2024-01-01", "2024-06-30"], dtype="datetime64[D]")
    arrays["timedelta64"] = np.array([1, 2, 3], dtype="timedelta64[s]")
    arrays["unicode"] = np.array(["a", "bcd"], dtype="<U4")
    arrays["bytes"] = np.array([b"x", b"yz"], dtype="S2")
    arrays["structured"] = np.array(
        [(1.5, 2, "ab"), (3.0, 4, "cd")], dtype=[("x", "<f4"), ("n", "<i8"), ("name", "<U2")]
    )
    arrays["subarray"] = np.zeros(2, dtype=[("v", "<f8", (2, 3))])
    arrays["objects"] = np.array([1, "two", None, (3,)], dtype=object)
    arrays["fortran_2d"] = np.asfortranarray(rng.standard_normal((3, 4)))
    arrays["zero_d"] = np.array(7.0)
    arrays["empty"] = np.zeros((0, 3))
    arrays["scalar_f8"] = np.float64(2.5)
    arrays["scalar_i8"] = np.int64(3)
    arrays["dtype"] = np.dtype("float32")
    arrays["matrix"] = np.matrix([[1, 2], [3, 4]])
    arrays["masked"] = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    return arrays


def data_frame():
    rng = np.random.default_rng(SEED)
    n = 12
    return pd.DataFrame(
        {
            "i": np.arange(n),
            "x": rng.standard_normal(n),
            "s": [f"row{i}" for i in range(n)],
            "c": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "t": pd.date_range("2024-01-01", periods=n, freq="D"),
            "tz": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
            "b": rng.integers(0, 2, n).astype(bool),
            "f": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        }
    )


def sparse_matrices() -> dict:
    rng = np.random.default_rng(SEED)
    dense = (rng.random((6, 5)) > 0.6) * rng.integers(1, 9, (6, 5))
    return {
        "csr": sp.csr_matrix(dense),
        "csc": sp.csc_matrix(dense),
        "coo": sp.coo_matrix(dense),
        "csr_array": sp.csr_array(dense),
        "dok": sp.dok_matrix(dense),
        "lil": sp.lil_matrix(dense),
    }


def models() -> dict:
    rng = np.random.default_rng(SEED)
    n = 80
    X = rng.standard_normal((n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "cat": rng.choice(["u", "v", "w"], n)})
    out = {
        "logistic": LogisticRegression(max_iter=200).fit(X, y),
        "random_forest": RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(
            X, y
        ),
        "pipeline": Pipeline(
            [("scale", StandardScaler()), ("model", LogisticRegression(max_iter=200))]
        ).fit(X, y),
        "column_transformer": Pipeline(
            [
                (
                    "prep",
                    ColumnTransformer(
                        [
                            ("num", StandardScaler(), ["a", "b"]),
                            ("cat", OneHotEncoder(handle_unknown="ignore"), ["cat"]),
                        ]
                    ),
                ),
                ("model", LogisticRegression(max_iter=200)),
            ]
        ).fit(frame, y),
        "hist_gradient_boosting": HistGradientBoostingClassifier(
            max_iter=5, max_leaf_nodes=4, random_state=0
        ).fit(X, y),
    }
    return out


# --------------------------------------------------------------------------- writing


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    record: dict = {}

    def pickled(name: str, data: bytes, buffers=None) -> None:
        (OUT / name).write_bytes(data)
        record[name] = {"kind": "pickle", "globals": sorted(globals_of_pickles(data, buffers))}

    def dumped(name: str, value, **kwargs) -> None:
        path = OUT / name
        joblib.dump(value, path, **kwargs)
        record[name] = {"kind": "joblib", "globals": sorted(globals_of_joblib(path))}

    plain = plain_values()
    for p in range(6):
        pickled(f"plain_protocol{p}.pkl", pickle.dumps(plain, protocol=p))
    pickled("stacked.pkl", pickle.dumps([1, 2], 4) + pickle.dumps({"b": 2}, 0))
    pickled("text_protocol0.pkl", pickle.dumps(["\u20ac\\u20ac", "a\nb", "\\"], protocol=0))

    arrays = numpy_arrays()
    for p in (0, 2, 4, 5):
        pickled(f"numpy_protocol{p}.pkl", pickle.dumps(arrays, protocol=p))
    buffers: list = []
    oob = pickle.dumps(np.arange(3.0), protocol=5, buffer_callback=buffers.append)
    pickled("numpy_out_of_band.pkl", oob, buffers)

    frame = data_frame()
    for p in (2, 4, 5):
        pickled(f"pandas_protocol{p}.pkl", pickle.dumps(frame, protocol=p))
    pickled("pandas_series.pkl", pickle.dumps(frame["c"], protocol=5))

    sparse = sparse_matrices()
    pickled("scipy_sparse.pkl", pickle.dumps(sparse, protocol=4))

    fitted = models()
    for name, model in fitted.items():
        pickled(f"sklearn_{name}.pkl", pickle.dumps(model, protocol=5))
        dumped(f"sklearn_{name}.joblib", model)
    dumped("sklearn_random_forest_zlib.joblib", fitted["random_forest"], compress=3)
    dumped("sklearn_pipeline_gzip.joblib", fitted["pipeline"], compress=("gzip", 3))
    dumped("sklearn_logistic_xz.joblib", fitted["logistic"], compress=("xz", 3))
    dumped("sklearn_logistic_lzma.joblib", fitted["logistic"], compress=("lzma", 3))
    dumped("joblib_arrays.joblib", arrays)
    dumped("joblib_arrays_protocol2.joblib", arrays, protocol=2)
    dumped(
        "joblib_arrays_protocol0.joblib", {"a": np.arange(5), "o": arrays["objects"]}, protocol=0
    )
    dumped("joblib_frame.joblib", frame)

    meta = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "joblib": joblib.__version__,
    }
    doc = {"versions": meta, "files": record}
    (OUT / "globals.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"{len(record)} vectors, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
