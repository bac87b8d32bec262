"""Train/test leakage: test rows that are also in the training data (:func:`leakage`).

Python only normalises the tables here (columns matched by name, each turned into arrays
the core reads without a loop over rows); the Rust core hashes, indexes and compares the
rows in parallel without the GIL (``src/core/data/leakage.rs``)."""

from __future__ import annotations

import dataclasses
import html
import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Optional, Union

import numpy as np

from .. import _core, integrity
from .._progress import ProgressArg, progress_callback
from .._tables import list_array, table_columns
from ..errors import InvalidInputError, InvalidTypeError, require
from ..report import Report, count_of, fmt_number, fmt_share, html_table
from ._leakage_cells import cells

__all__ = ["DEFAULT_NEAR_THRESHOLD", "LeakagePair", "LeakagePairs", "LeakageReport", "leakage"]

#: The default ``near_threshold``: 0.01 train standard deviations in every numeric column.
DEFAULT_NEAR_THRESHOLD = 0.01
#: Pairs whose rows the report shows side by side (HTML) and keeps in its JSON.
EXAMPLES = 10

_KINDS = {1: "exact", 2: "near"}


@dataclasses.dataclass(frozen=True)
class LeakagePair:
    """One affected test row (with one table: a row that repeats an earlier one).

    Attributes
    ----------
    test_index : int
        Position of the test row (0-based, whatever the table's index).
    train_index : int
        Position of its match in train: the first equal train row (``"exact"``), or the
        nearest one, the first among equally near ones (``"near"``).
    kind : str
        ``"exact"`` or ``"near"``.
    distance : float
        Largest absolute difference over the numeric columns, in train standard
        deviations (0 for ``"exact"``).
    count : int
        How many train rows match the test row that way (equal rows for ``"exact"``,
        rows within ``near_threshold`` for ``"near"``).
    """

    test_index: int
    train_index: int
    kind: str
    distance: float
    count: int


class LeakagePairs:
    """The pairs of a :class:`LeakageReport` as arrays (one entry per affected test row,
    by test position): ``test_index``, ``train_index``, ``kind`` (``"exact"``/``"near"``),
    ``distance`` and ``count``. Indexing gives a :class:`LeakagePair`."""

    def __init__(
        self,
        test_index: Any,
        train_index: Any,
        kind: Any,
        distance: Any,
        count: Any,
    ) -> None:
        self.test_index = np.asarray(test_index, dtype=np.int64)
        self.train_index = np.asarray(train_index, dtype=np.int64)
        self.kind = np.asarray(kind, dtype="<U5")
        self.distance = np.asarray(distance, dtype=np.float64)
        self.count = np.asarray(count, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.test_index.size)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return LeakagePairs(*(a[i] for a in self._arrays()))
        return LeakagePair(
            int(self.test_index[i]),
            int(self.train_index[i]),
            str(self.kind[i]),
            float(self.distance[i]),
            int(self.count[i]),
        )

    def __iter__(self) -> Iterator[LeakagePair]:
        return (self[i] for i in range(len(self)))

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (self.test_index, self.train_index, self.kind, self.distance, self.count)

    def to_dict(self) -> dict[str, list[Any]]:
        return {
            "test_index": self.test_index.tolist(),
            "train_index": self.train_index.tolist(),
            "kind": self.kind.tolist(),
            "distance": self.distance.tolist(),
            "count": self.count.tolist(),
        }

    def to_pandas(self) -> Any:
        """A DataFrame with one row per pair."""
        pd = require("pandas", "pandas", "LeakagePairs.to_pandas()")
        return pd.DataFrame(self.to_dict())

    def __repr__(self) -> str:
        return f"<LeakagePairs: {len(self)}>"


class LeakageReport(Report):
    """What :func:`leakage` found.

    Attributes
    ----------
    pairs : LeakagePairs
        One pair per affected test row.
    share : float
        Affected test rows / test rows.
    n_exact, n_near : int
        Test rows with an exact match; test rows with only near matches.
    passed : bool or None
        ``share <= max_share`` when ``max_share`` was given, else ``None`` (no verdict).
    one_table : bool
        The report is about the duplicates within one table (``leakage(table)``).
    columns : list of str
        The columns compared, by name (sorted).
    near_columns : list of str
        The columns compared as numbers for near duplicates (the other columns must be
        equal).
    examples : list of dict
        The first pairs with the values of both rows, as text (``columns`` order).
    """

    schema: ClassVar[str] = "mlsentry/leakage/v1"
    title: ClassVar[str] = "Train/test leakage"

    def __init__(
        self,
        *,
        pairs: LeakagePairs,
        n_train: int,
        n_test: int,
        columns: Sequence[str],
        near_columns: Sequence[str] = (),
        one_table: bool = False,
        examples: Sequence[Mapping[str, Any]] = (),
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(config=config, inputs=inputs)
        self.pairs = pairs
        self.n_train = int(n_train)
        self.n_test = int(n_test)
        self.columns = list(columns)
        self.near_columns = list(near_columns)
        self.one_table = bool(one_table)
        self.examples = [dict(e) for e in examples]

    @property
    def max_share(self) -> Optional[float]:
        value = self.config.get("max_share")
        return None if value is None else float(value)

    @property
    def near_threshold(self) -> Optional[float]:
        value = self.config.get("near_threshold")
        return None if value is None else float(value)

    @property
    def n_exact(self) -> int:
        return int(np.count_nonzero(self.pairs.kind == "exact"))

    @property
    def n_near(self) -> int:
        return int(np.count_nonzero(self.pairs.kind == "near"))

    @property
    def share(self) -> float:
        return len(self.pairs) / self.n_test if self.n_test else 0.0

    @property
    def passed(self) -> Optional[bool]:
        bar = self.max_share
        return None if bar is None else self.share <= bar

    def _words(self) -> tuple[str, str]:
        return ("rows", "earlier rows") if self.one_table else ("test rows", "train")

    def _headline(self) -> str:
        rows, where = self._words()
        if self.one_table:
            head = (
                f"{len(self.pairs)} of {count_of(self.n_test, 'row')} ({fmt_share(self.share)}) "
                f"repeat an earlier row: {self.n_exact} exactly, {self.n_near} nearly"
            )
        else:
            head = (
                f"{len(self.pairs)} of {self.n_test} {rows} ({fmt_share(self.share)}) are in "
                f"{where}: {self.n_exact} exactly, {self.n_near} nearly"
            )
        t = self.near_threshold
        head += "" if t is None else f" (near: within {t:g} train std)"
        if self.max_share is not None:
            head += f"; bar {fmt_share(self.max_share)}"
        return head

    def summary(self) -> str:
        lines = [f"{self.title}: {self.verdict}: {self._headline()}"]
        left, right = ("row", "earlier row") if self.one_table else ("test row", "train row")
        for p in self.pairs[:5]:
            lines.append(
                f"  {left} {p.test_index} ~ {right} {p.train_index}: {p.kind}"
                + (f", distance {fmt_number(p.distance)}" if p.kind == "near" else "")
                + f" ({p.count} matching)"
            )
        if len(self.pairs) > 5:
            lines.append(f"  ... and {len(self.pairs) - 5} more")
        return "\n".join(lines)

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``share``, ``n_affected``, ``n_exact``, ``n_near``, ``n_test``, ``n_train``."""
        return {
            f"{p}.share": float(self.share),
            f"{p}.n_affected": float(len(self.pairs)),
            f"{p}.n_exact": float(self.n_exact),
            f"{p}.n_near": float(self.n_near),
            f"{p}.n_test": float(self.n_test),
            f"{p}.n_train": float(self.n_train),
        }

    def _payload(self) -> dict[str, Any]:
        return {
            "one_table": self.one_table,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "share": self.share,
            "n_exact": self.n_exact,
            "n_near": self.n_near,
            "columns": self.columns,
            "near_columns": self.near_columns,
            "pairs": self.pairs.to_dict(),
            "examples": self.examples,
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> LeakageReport:
        p = data["pairs"]
        pairs = LeakagePairs(
            p["test_index"], p["train_index"], p["kind"], p["distance"], p["count"]
        )
        return cls(
            pairs=pairs,
            n_train=data["n_train"],
            n_test=data["n_test"],
            columns=data["columns"],
            near_columns=data["near_columns"],
            one_table=data["one_table"],
            examples=data["examples"],
            **meta,
        )

    def to_pandas(self) -> Any:
        """The pairs, one row each (see :meth:`LeakagePairs.to_pandas`)."""
        return self.pairs.to_pandas()

    def _html_body(self) -> str:
        rows, where = self._words()
        parts = [f'<p class="lead"><b>{html.escape(self._headline())}</b>.</p>']
        parts.append(
            html_table(
                ["", "count"],
                [
                    [f"{rows} compared", self.n_test],
                    [f"rows in {where}" if not self.one_table else "rows", self.n_train],
                    ["exact duplicates", self.n_exact],
                    ["near duplicates", self.n_near],
                    ["share affected", fmt_share(self.share)],
                ],
            )
        )
        near = ", ".join(self.near_columns) or "none"
        parts.append(
            f"<p>Columns compared: {html.escape(', '.join(self.columns))}. Numeric columns "
            f"for near duplicates: {html.escape(near)}.</p>"
        )
        if self.examples:
            left, right = ("row", "earlier row") if self.one_table else ("test row", "train row")
            parts.append(f"<h3>The first {count_of(len(self.examples), 'pair')}</h3>")
            for e in self.examples:
                caption = (
                    f"{left} {e['test_index']} and {right} {e['train_index']}: {e['kind']}"
                    + (f", distance {fmt_number(e['distance'])}" if e["kind"] == "near" else "")
                )
                body = [
                    [name, a, b]
                    for name, a, b in zip(self.columns, e["test_values"], e["train_values"])
                ]
                # Exact pairs hold equal values even when their text differs (45 and 45.0).
                cls = ["" if e["kind"] == "exact" or a == b else "bad" for _, a, b in body]
                parts.append(f"<p>{html.escape(caption)}</p>")
                parts.append(html_table(["column", left, right], body, row_classes=cls))
        return "".join(parts)


# -- inputs ----------------------------------------------------------------------------
def _named_columns(obj: Any, what: str) -> dict[str, Any]:
    if obj is None:
        raise InvalidTypeError(f"{what}: expected a table, got None")
    if isinstance(obj, (list, tuple)):
        obj = list_array(obj)
    if isinstance(obj, np.ndarray) and obj.ndim == 1 and obj.dtype.names is None:
        raise InvalidInputError(
            f"{what}: expected a table (rows x columns), got a 1-D array of shape {obj.shape}"
        )
    named = table_columns(obj, what)
    out: dict[str, Any] = {}
    for name, col in named:
        if name in out:
            raise InvalidInputError(f"{what}: the column name {name!r} appears twice")
        out[name] = col
    if not out:
        raise InvalidInputError(f"{what}: the table has no columns")
    lengths = {name: len(col) for name, col in out.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidInputError(f"{what}: columns differ in length: {lengths}")
    if next(iter(lengths.values())) == 0:
        raise InvalidInputError(f"{what}: the table has no rows")
    return out


def _choose_columns(
    train: dict[str, Any], test: Optional[dict[str, Any]], columns: Any
) -> list[str]:
    if columns is None:
        if test is not None and set(train) != set(test):
            only_train = sorted(set(train) - set(test))
            only_test = sorted(set(test) - set(train))
            raise InvalidInputError(
                "train and test have different columns (only in train: "
                f"{only_train}, only in test: {only_test}); pass columns='shared' to compare "
                "on the columns they share, or a list of names"
            )
        return sorted(train)
    if isinstance(columns, str) and columns == "shared":
        names = sorted(set(train) & set(test if test is not None else train))
        if not names:
            raise InvalidInputError("columns='shared': train and test share no column")
        return names
    if isinstance(columns, str) or not isinstance(columns, Sequence):
        raise InvalidTypeError(
            f"columns: expected None, 'shared' or a list of column names, got {columns!r}"
        )
    names = sorted({str(c) for c in columns})
    if not names:
        raise InvalidInputError("columns: the list is empty")
    for side, table in (("train", train), ("test", test)):
        if table is None:
            continue
        missing = [n for n in names if n not in table]
        if missing:
            raise InvalidInputError(f"columns: {side} has no column {missing[0]!r}")
    return names


def _check_threshold(value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(
            f"near_threshold: expected None or a number >= 0, got {type(value).__name__}"
        )
    t = float(value)
    if not (math.isfinite(t) and t >= 0):
        raise InvalidInputError(f"near_threshold: expected a finite number >= 0, got {value!r}")
    return t if t > 0 else None


def _check_share(value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"max_share: expected None or a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise InvalidInputError(f"max_share: expected a number in [0, 1], got {value!r}")
    return float(value)


def _cell_text(col: Any, i: int) -> str:
    mod = type(col).__module__.split(".", 1)[0]
    if mod == "pandas":
        value = col.iloc[i]
    elif mod == "pyarrow":
        value = col[i].as_py()
    else:
        value = col[i]
        value = value.item() if isinstance(value, np.generic) else value
    return str(value)


def _examples(
    found: Mapping[str, np.ndarray],
    train: dict[str, Any],
    test: dict[str, Any],
    names: list[str],
) -> list[dict[str, Any]]:
    out = []
    for k in range(min(EXAMPLES, len(found["test_index"]))):
        q, r = int(found["test_index"][k]), int(found["train_index"][k])
        out.append(
            {
                "test_index": q,
                "train_index": r,
                "kind": _KINDS[int(found["kind"][k])],
                "distance": float(found["distance"][k]),
                "test_values": [_cell_text(test[n], q) for n in names],
                "train_values": [_cell_text(train[n], r) for n in names],
            }
        )
    return out


def _digest(obj: Any) -> Optional[str]:
    """The fingerprint of an input (a dict as the pandas DataFrame it makes), or None when
    the fingerprint refuses it."""
    try:
        if isinstance(obj, Mapping):
            pd = require("pandas", "pandas", "fingerprinting a dict of columns")
            obj = pd.DataFrame(dict(obj))
        return str(integrity.fingerprint(obj))
    except (ValueError, TypeError, ImportError):
        return None


def leakage(
    train: Any,
    test: Any = None,
    *,
    near_threshold: Optional[float] = DEFAULT_NEAR_THRESHOLD,
    columns: Union[str, Sequence[str], None] = None,
    max_share: Optional[float] = None,
    fingerprint: bool = True,
    progress: ProgressArg = False,
) -> LeakageReport:
    """Test rows that are also in the training data, exactly or nearly.

    Columns are matched by name (their order does not matter) and compared by value:

    * numbers by value whatever their type: ``1 == 1.0``, ``-0.0 == 0.0``, integers beyond
      2**53 exactly; booleans, datetimes (nanoseconds, UTC for time-zone-aware ones; a
      date is its midnight), durations and times of day are kinds of their own (``True``
      is not ``1``); strings by their UTF-8 bytes, binary by bytes; categoricals by their
      values; decimals as float64;
    * a missing value (None, NaN, NaT, ``pd.NA``, an arrow null) equals a missing value,
      as ``pandas.merge`` matches missing keys.

    **Exact** duplicates: every value equal. Each row gets a 64-bit digest of its values
    (columns in sorted name order) computed in Rust; a digest match is always confirmed by
    comparing the values, so a hash collision never reports a false match.

    **Near** duplicates: numeric columns (numeric on both sides, with a finite, non-zero
    standard deviation in train) are standardised by the train mean and standard
    deviation (ddof 0); every other column must be equal (a column constant in train must
    match exactly). The distance is the largest absolute standardised difference over the
    numeric columns, and a pair is near when it is at most ``near_threshold``. A row with
    a missing or infinite numeric value is never near. A test row with an exact match is
    reported as exact only. The search sorts train rows into grid cells and never compares
    all pairs.

    **Pairs**: one per affected test row, in test order: its first equal train row and how
    many train rows equal it, or, without one, its nearest near train row (the first among
    equally near ones) and how many train rows are within the threshold. With one table,
    ``leakage(table)`` compares each row with the rows before it: the pair is (the later
    row, the earlier row), and the statistics for near duplicates are the table's own.

    Parameters
    ----------
    train : table
        pandas or polars DataFrame, pyarrow Table, dict of columns, 2-D numpy array
        (columns named ``"0"``, ``"1"``, ...) or structured array.
    test : table, optional
        The rows to look for in ``train``. Without it, the duplicates within ``train``.
    near_threshold : float or None, default 0.01
        In train standard deviations. ``None`` or ``0`` looks for exact duplicates only
        (faster).
    columns : None, "shared" or list of str
        ``None``: every column; train and test must have the same column names (else an
        error says which differ). ``"shared"``: the columns both have. A list: those.
    max_share : float, optional
        The bar: the check passes when at most this share of test rows is affected
        (``0.0``: no leakage allowed). Without it the report has no verdict.
    fingerprint : bool, default True
        Record :func:`mlsentry.fingerprint` of the inputs in ``report.inputs``.
    progress : bool or callable, optional
        ``True`` shows a tqdm bar; a callable is called as ``progress(done, total)``.

    Returns
    -------
    LeakageReport

    Raises
    ------
    InvalidInputError
        A table without rows or columns, columns of different lengths, different column
        names without ``columns=``, a bad ``near_threshold`` or ``max_share``.
    InvalidTypeError
        A table or column type that is not supported (e.g. an object column mixing
        strings and numbers).

    Examples
    --------
    >>> import mlsentry as ms
    >>> train = {"age": [31, 45, 27, 60], "city": ["Oslo", "Rome", "Lima", "Oslo"]}
    >>> test = {"city": ["Rome", "Oslo", "Kyiv"], "age": [45.0, 31.0001, 33]}
    >>> report = ms.data.leakage(train, test)
    >>> [(p.test_index, p.train_index, p.kind) for p in report.pairs]
    [(0, 1, 'exact'), (1, 0, 'near')]
    >>> round(report.share, 3)
    0.667
    """
    threshold = _check_threshold(near_threshold)
    bar = _check_share(max_share)
    if not isinstance(fingerprint, (bool, np.bool_)):
        raise InvalidTypeError(f"fingerprint: expected a bool, got {type(fingerprint).__name__}")
    train_cols = _named_columns(train, "train")
    test_cols = None if test is None else _named_columns(test, "test")
    names = _choose_columns(train_cols, test_cols, columns)
    train_cells = [cells(train_cols[n], f"train column {n!r}") for n in names]
    test_cells = (
        None if test_cols is None else [cells(test_cols[n], f"test column {n!r}") for n in names]
    )
    with progress_callback(progress, "leakage", unit="rows") as cb:
        found = _core.leakage_pairs(train_cells, test_cells, threshold, cb)
    n_train = len(train_cols[names[0]])
    n_test = n_train if test_cols is None else len(test_cols[names[0]])
    pairs = LeakagePairs(
        found["test_index"],
        found["train_index"],
        np.where(found["kind"] == 1, "exact", "near"),
        found["distance"],
        found["count"],
    )
    inputs: dict[str, str] = {}
    if fingerprint:
        for side, obj in (("train", train), ("test", test)):
            if obj is not None:
                digest = _digest(obj)
                if digest is not None:
                    inputs[side] = digest
    report = LeakageReport(
        pairs=pairs,
        n_train=n_train,
        n_test=n_test,
        columns=names,
        near_columns=[names[i] for i in found["near_columns"]],
        one_table=test_cols is None,
        examples=_examples(found, train_cols, test_cols or train_cols, names),
        config={
            "near_threshold": threshold,
            "max_share": bar,
            "columns": columns if columns is None or isinstance(columns, str) else names,
            "distance": "max |z| (train standard deviations)",
        },
        inputs=inputs,
    )
    integrity.record_check(
        "data.leakage",
        report.passed,
        report.inputs,
        share=report.share,
        exact=report.n_exact,
        near=report.n_near,
    )
    return report
