"""Record every global that unpickling real model objects imports.

Pickles numpy arrays and random generators, pandas frames, scipy.sparse matrices, fitted
scikit-learn estimators (through pickle and joblib) and standard-library values at
protocols 2 to 5, loads each pickle with an unpickler whose ``find_class`` records what it
is asked for, and merges the records into ``globals_real.txt`` beside this script (one
``module name`` pair a line, sorted, without duplicates). The scan policy's tests assert
that each of them is allowed.

``getattr(G, "attr")`` where ``G`` is a global the same pickle imported (how protocols 2
and 3 name a class's method, e.g. ``ZoneInfo._unpickle``) is recorded as the dotted global
``G.attr``, the name protocol 4 would use, since that is what the call reaches; a
``getattr`` on anything else is recorded as ``builtins getattr``.

Run with each Python environment whose library versions should be covered::

    python src/core/scan/testdata/policy/collect_globals.py            # merge
    python src/core/scan/testdata/policy/collect_globals.py --replace  # start afresh

``--audit`` instead lists, for the policy's class families (scikit-learn and pandas), the
class-named attributes of their modules whose objects come from elsewhere: the class rule
would allow them, so each must be data or be refused by name in the policy
(``FAMILY_DANGEROUS_NAMES``/``FAMILY_UNKNOWN_NAMES`` in ``policy/builtin.rs``).
"""

from __future__ import annotations

import argparse
import array
import builtins
import collections
import datetime
import decimal
import fractions
import importlib
import io
import ipaddress
import pathlib
import pickle
import pkgutil
import re
import sys
import types
import uuid
import warnings
import zoneinfo
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp

OUT = Path(__file__).with_name("globals_real.txt")
PROTOCOLS = (2, 3, 4, 5)


class Recorder(pickle.Unpickler):
    """An unpickler that records the globals it imports into ``seen``."""

    def __init__(self, data: bytes, seen: set[tuple[str, str]], **kwargs):
        super().__init__(io.BytesIO(data), **kwargs)
        self.seen = seen
        self.imported: dict[int, tuple[str, str]] = {}

    def find_class(self, module: str, name: str):
        found = super().find_class(module, name)
        if found is builtins.getattr:
            return self.recording_getattr
        self.seen.add((module, name))
        self.imported[id(found)] = (module, name)
        return found

    def recording_getattr(self, obj, attr, *default):
        origin = self.imported.get(id(obj))
        if origin is not None and isinstance(attr, str):
            self.seen.add((origin[0], f"{origin[1]}.{attr}"))
        else:
            self.seen.add(("builtins", "getattr"))
        return getattr(obj, attr, *default)


def record_pickles(obj, seen: set[tuple[str, str]]) -> None:
    for protocol in PROTOCOLS:
        Recorder(pickle.dumps(obj, protocol=protocol), seen).load()
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    Recorder(data, seen, buffers=buffers).load()


def record_joblib(obj, seen: set[tuple[str, str]]) -> None:
    """joblib's own unpickler (pure-Python pickle) with ``find_class`` wrapped."""
    from joblib import numpy_pickle

    original = numpy_pickle.NumpyUnpickler.find_class

    def find_class(self, module, name):
        seen.add((module, name))
        return original(self, module, name)

    numpy_pickle.NumpyUnpickler.find_class = find_class
    try:
        for compress in (0, 3):
            buffer = io.BytesIO()
            joblib.dump(obj, buffer, compress=compress)
            buffer.seek(0)
            joblib.load(buffer)
    finally:
        numpy_pickle.NumpyUnpickler.find_class = original


def stdlib_objects() -> list:
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    return [
        {1, 2},
        frozenset({3}),
        {"a": [1, 2.5, "x", b"y", None, True, 1 + 2j]},
        (slice(1, 5, 2), range(3), Ellipsis, NotImplemented),
        bytearray(b"abc"),
        collections.OrderedDict(a=1),
        collections.defaultdict(list, {"k": [1]}),
        collections.deque([1, 2], maxlen=5),
        collections.Counter("hello"),
        datetime.datetime(2024, 5, 1, 12, 30),
        datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc),
        datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        datetime.datetime(2024, 5, 1, tzinfo=paris),
        datetime.date(2024, 5, 1),
        datetime.time(8, 15),
        datetime.timedelta(days=2),
        decimal.Decimal("1.25"),
        fractions.Fraction(3, 7),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        ipaddress.ip_address("10.0.0.1"),
        ipaddress.ip_network("2001:db8::/32"),
        ipaddress.ip_interface("192.168.0.1/24"),
        pathlib.PurePosixPath("/a/b"),
        pathlib.PureWindowsPath("C:/a"),
        pathlib.Path("relative/file.txt"),
        re.compile(r"a+b", re.IGNORECASE),
        array.array("d", [1.0, 2.0]),
        types.SimpleNamespace(a=1, b=[2]),
        *optional_timezones(),
    ]


def optional_timezones() -> list:
    """Datetimes in pytz and dateutil zones, where those packages are installed."""
    values = []
    try:
        import pytz

        values.append(pytz.timezone("Europe/Paris").localize(datetime.datetime(2024, 5, 1)))
        values.append(datetime.datetime(2024, 5, 1, tzinfo=pytz.utc))
    except ImportError:
        pass
    try:
        from dateutil import tz

        values.append(datetime.datetime(2024, 5, 1, tzinfo=tz.tzutc()))
        values.append(datetime.datetime(2024, 5, 1, tzinfo=tz.tzoffset("X", 3600)))
    except ImportError:
        pass
    return values


def numpy_objects() -> list:
    dtypes = [
        "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
        "f2", "f4", "f8", "g", "c8", "c16", "G", "U5", "S5", "V4",
        "M8[ns]", "M8[D]", "m8[s]",
    ]  # fmt: skip
    arrays = [np.zeros((2, 3), dtype=d) for d in dtypes]
    structured = np.zeros(3, dtype=[("x", "f8"), ("y", "i4", (2,)), ("z", [("a", "U3")])])
    objects = np.array([1, "two", [3], {"four": 4}, None], dtype=object)
    values = [
        *arrays,
        structured,
        structured[0],
        objects,
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.arange(10)[::2],
        np.array(3.5),
        np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]),
        np.ma.masked,
        np.matrix([[1, 2], [3, 4]]),
        np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
        np.float64(1.5),
        np.int32(7),
        np.bool_(True),
        np.complex64(1j),
        np.datetime64("2024-01-01"),
        np.timedelta64(3, "h"),
        np.str_("s"),
        np.bytes_(b"b"),
        [np.dtype(d) for d in dtypes],
        [type(np.dtype(d)) for d in ("f8", "i4", "U3", "M8[ns]", "O")],
        [np.float64, np.int64, np.bool_, np.ndarray],
        [np.log1p, np.exp, np.sqrt, np.add],
        np.random.default_rng(0),
        np.random.RandomState(0),
        np.random.SeedSequence(1),
    ]
    for bit_generator in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937,
                          np.random.Philox, np.random.SFC64):  # fmt: skip
        values.append(np.random.Generator(bit_generator(1)))
        values.append(bit_generator(2))
    if hasattr(np, "dtypes") and hasattr(np.dtypes, "StringDType"):
        values.append(np.array(["a", "bb"], dtype=np.dtypes.StringDType()))
    return values


def pandas_objects() -> list:
    n = 4
    frame = pd.DataFrame(
        {
            "int": np.arange(n),
            "float": np.linspace(0, 1, n),
            "bool": [True, False, True, True],
            "object": ["a", "b", None, "d"],
            "category": pd.Categorical(["x", "y", "x", "z"]),
            "ordered": pd.Categorical(["lo", "hi", "lo", "hi"], ordered=True),
            "naive": pd.date_range("2024-01-01", periods=n),
            "utc": pd.date_range("2024-01-01", periods=n, tz="UTC"),
            "paris": pd.date_range("2024-01-01", periods=n, tz="Europe/Paris"),
            "delta": pd.to_timedelta(np.arange(n), unit="s"),
            "string": pd.array(["p", "q", None, "s"], dtype="string"),
            "Int64": pd.array([1, None, 3, 4], dtype="Int64"),
            "UInt8": pd.array([1, 2, None, 4], dtype="UInt8"),
            "Float64": pd.array([1.5, None, 3.0, 4.0], dtype="Float64"),
            "boolean": pd.array([True, None, False, True], dtype="boolean"),
            "interval": pd.arrays.IntervalArray.from_breaks(np.arange(n + 1)),
            "period": pd.period_range("2024-01", periods=n, freq="M"),
            "sparse": pd.arrays.SparseArray([0, 0, 1, 0]),
        }
    )
    try:
        frame["arrow_string"] = pd.array(["p", "q", None, "s"], dtype="string[pyarrow]")
        frame["arrow_int"] = pd.array([1, 2, None, 4], dtype="int64[pyarrow]")
    except ImportError:
        pass
    multi = pd.DataFrame(
        np.arange(8.0).reshape(4, 2),
        index=pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["l", "n"]),
        columns=pd.MultiIndex.from_tuples([("c", "x"), ("c", "y")]),
    )
    return [
        frame,
        multi,
        frame["float"],
        pd.Series(["u", "v"], index=pd.CategoricalIndex(["p", "q"])),
        pd.Series([1, 2], index=pd.timedelta_range("1s", periods=2)),
        pd.Series([1.0], index=pd.IntervalIndex.from_breaks([0, 1])),
        pd.Series([1.0], index=pd.PeriodIndex(["2024-01"], freq="M")),
        pd.Series([1.0, 2.0], index=pd.Index([1.5, 2.5])),
        pd.Series([1, 2], index=pd.date_range("2024-01-01", periods=2)),
        pd.Series([1, 2], index=pd.date_range("2024-01-01", periods=2, tz="Europe/Paris")),
        pd.Index(["a", "b"]),
        pd.RangeIndex(5),
        pd.Timestamp("2024-01-01", tz="UTC"),
        pd.Timestamp("2024-01-01"),
        pd.Timedelta("1h"),
        pd.NaT,
        pd.NA,
        pd.Period("2024-01", freq="M"),
        pd.Interval(0, 1),
        pd.DateOffset(days=1),
        pd.offsets.MonthEnd(2),
        frame.dtypes,
    ]


def scipy_objects() -> list:
    dense = np.array([[0, 1.5, 0], [2, 0, 0], [0, 0, 3]])
    values = []
    for name in ("csr", "csc", "coo", "lil", "dok", "dia", "bsr"):
        values.append(getattr(sp, f"{name}_matrix")(dense))
        if hasattr(sp, f"{name}_array"):
            values.append(getattr(sp, f"{name}_array")(dense))
    return values


def sklearn_objects() -> list:
    from sklearn import (
        calibration,
        cluster,
        compose,
        decomposition,
        discriminant_analysis,
        ensemble,
        feature_extraction,
        impute,
        linear_model,
        mixture,
        model_selection,
        multiclass,
        naive_bayes,
        neighbors,
        neural_network,
        pipeline,
        preprocessing,
        svm,
        tree,
    )

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    y3 = np.digitize(x[:, 2], [-0.5, 0.5])
    r = x @ np.array([1.0, -2.0, 0.5, 0.0])
    frame = pd.DataFrame(
        {"num": x[:, 0], "num2": x[:, 1], "cat": rng.choice(["a", "b", "c"], size=60)}
    )
    texts = ["the cat sat", "a dog ran", "the dog sat", "cats and dogs"] * 5
    labels = [0, 1, 1, 0] * 5
    classifiers = [
        linear_model.LogisticRegression(),
        linear_model.SGDClassifier(random_state=0),
        tree.DecisionTreeClassifier(random_state=0),
        ensemble.RandomForestClassifier(n_estimators=5, random_state=0),
        ensemble.ExtraTreesClassifier(n_estimators=5, random_state=0),
        ensemble.GradientBoostingClassifier(n_estimators=5, random_state=0),
        ensemble.HistGradientBoostingClassifier(max_iter=5),
        ensemble.AdaBoostClassifier(n_estimators=5, random_state=0),
        ensemble.BaggingClassifier(n_estimators=3, random_state=0),
        ensemble.IsolationForest(n_estimators=5, random_state=0),
        ensemble.VotingClassifier(
            [("lr", linear_model.LogisticRegression()), ("nb", naive_bayes.GaussianNB())]
        ),
        ensemble.StackingClassifier(
            [("dt", tree.DecisionTreeClassifier(max_depth=2))],
            final_estimator=linear_model.LogisticRegression(),
            cv=2,
        ),
        neighbors.KNeighborsClassifier(algorithm="kd_tree"),
        neighbors.KNeighborsClassifier(algorithm="ball_tree"),
        neighbors.KNeighborsClassifier(algorithm="brute"),
        svm.SVC(probability=True, random_state=0),
        svm.LinearSVC(),
        naive_bayes.GaussianNB(),
        neural_network.MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0),
        discriminant_analysis.LinearDiscriminantAnalysis(),
        calibration.CalibratedClassifierCV(linear_model.LogisticRegression(), cv=2),
        multiclass.OneVsRestClassifier(linear_model.LogisticRegression()),
        pipeline.make_pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression()),
        model_selection.GridSearchCV(tree.DecisionTreeClassifier(), {"max_depth": [1, 2]}, cv=2),
    ]
    regressors = [
        linear_model.LinearRegression(),
        linear_model.Ridge(),
        linear_model.Lasso(),
        tree.DecisionTreeRegressor(random_state=0),
        ensemble.RandomForestRegressor(n_estimators=5, random_state=0),
        ensemble.HistGradientBoostingRegressor(max_iter=5),
        svm.SVR(),
        neighbors.KNeighborsRegressor(),
    ]
    unsupervised = [
        cluster.KMeans(n_clusters=2, n_init=2, random_state=0),
        cluster.MiniBatchKMeans(n_clusters=2, n_init=2, random_state=0),
        cluster.DBSCAN(),
        decomposition.PCA(n_components=2),
        decomposition.TruncatedSVD(n_components=2),
        mixture.GaussianMixture(n_components=2, random_state=0),
        neighbors.NearestNeighbors(),
        preprocessing.StandardScaler(),
        preprocessing.MinMaxScaler(),
        preprocessing.PolynomialFeatures(),
        preprocessing.KBinsDiscretizer(n_bins=3),
        preprocessing.SplineTransformer(),
        impute.SimpleImputer(),
    ]
    column = compose.ColumnTransformer(
        [
            ("num", preprocessing.StandardScaler(), ["num", "num2"]),
            ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore"), ["cat"]),
        ]
    )
    fitted = [m.fit(x, y3 if i % 2 else y) for i, m in enumerate(classifiers)]
    fitted += [m.fit(x, r) for m in regressors]
    fitted += [m.fit(x) for m in unsupervised]
    fitted += [
        pipeline.make_pipeline(column, linear_model.LogisticRegression()).fit(frame, y),
        preprocessing.OneHotEncoder().fit(frame[["cat"]]),
        preprocessing.OrdinalEncoder().fit(frame[["cat"]]),
        preprocessing.TargetEncoder(random_state=0).fit(frame[["cat"]], y),
        preprocessing.LabelEncoder().fit(["a", "b", "a"]),
        feature_extraction.text.TfidfVectorizer().fit(texts),
        feature_extraction.text.CountVectorizer().fit(texts),
        pipeline.make_pipeline(
            feature_extraction.text.TfidfVectorizer(), linear_model.LogisticRegression()
        ).fit(texts, labels),
        preprocessing.FunctionTransformer(np.log1p).fit(np.abs(x)),
    ]
    return fitted


def collect() -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    groups = [stdlib_objects(), numpy_objects(), pandas_objects(), scipy_objects()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        groups.append(sklearn_objects())
    for group in groups:
        for obj in group:
            record_pickles(obj, seen)
    for obj in groups[1][:5] + groups[4]:
        record_joblib(obj, seen)
    return seen


def versions() -> str:
    import scipy
    import sklearn

    return (
        f"python {sys.version.split()[0]}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"joblib {joblib.__version__}"
    )


# The class families of the policy and the subtrees excluded from them (policy/builtin.rs).
FAMILIES = {
    "sklearn": [
        "sklearn.datasets",
        "sklearn.externals",
        "sklearn.utils._testing",
        "sklearn.utils._test_common",
        "sklearn.utils.estimator_checks",
        "sklearn.utils.parallel",
        "sklearn.utils._joblib",
        "sklearn.utils._show_versions",
        "sklearn.experimental",
        "sklearn.conftest",
        "sklearn.callback._transport",
    ],
    "pandas": [
        "pandas.io",
        "pandas.core.computation",
        "pandas.testing",
        "pandas._testing",
        "pandas.plotting",
        "pandas.util",
        "pandas.compat",
        "pandas._config",
        "pandas.core.config_init",
        "pandas.conftest",
    ],
}
CLASS_NAME = re.compile(r"_*([A-Z][A-Za-z0-9_]*[a-z][A-Za-z0-9_]*|[A-Z][A-Z0-9]+)")


def under(module: str, roots) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def audit(root: str, excluded: list[str]) -> list[str]:
    """Class-named attributes of the family's modules defined outside it or excluded."""
    package = importlib.import_module(root)
    names = [root] + [m.name for m in pkgutil.walk_packages(package.__path__, root + ".")]
    found = set()
    for name in names:
        parts = name.split(".")
        if under(name, excluded) or "tests" in parts:
            continue
        if not all(re.fullmatch(r"[a-z0-9_]+", part) for part in parts):
            continue
        try:
            module = importlib.import_module(name)
        except Exception:  # optional dependencies of some modules
            continue
        for attr, value in vars(module).items():
            if not CLASS_NAME.fullmatch(attr) or (attr.startswith("__") and attr.endswith("__")):
                continue
            origin = getattr(value, "__module__", None) or type(value).__module__
            if not isinstance(origin, str) or not under(origin, [root]) or under(origin, excluded):
                found.add(f"{attr.lstrip('_')}: {origin}.{attr} in {name}")
    return sorted(found)


HEADER = (
    "# Globals that unpickling real objects imports, one `module name` pair a line.\n"
    "# Written by collect_globals.py; each line must be allowed by the scan policy.\n"
    "# Merged from:\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replace", action="store_true", help="drop the existing records")
    parser.add_argument("--audit", action="store_true", help="list the families' imports")
    args = parser.parse_args()
    if args.audit:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for root, excluded in FAMILIES.items():
                print("\n".join(audit(root, excluded)))
        return
    sources: list[str] = []
    pairs: set[tuple[str, str]] = set()
    if OUT.exists() and not args.replace:
        for line in OUT.read_text().splitlines():
            if line.startswith("#   "):
                sources.append(line[4:])
            elif line and not line.startswith("#"):
                module, name = line.split(" ")
                pairs.add((module, name))
    pairs |= collect()
    this = versions()
    if this not in sources:
        sources.append(this)
    lines = [f"{module} {name}" for module, name in sorted(pairs)]
    OUT.write_text(HEADER + "".join(f"#   {s}\n" for s in sources) + "\n".join(lines) + "\n")
    print(f"{len(lines)} globals in {OUT}")


if __name__ == "__main__":
    main()
