"""Assertions for test suites: data has not drifted, a model resists attacks, a folder is
unchanged, a model file is safe to load.

Each ``assert_*`` function runs one mlsentry check and returns its report when the check
passes. When it fails it raises a plain :class:`AssertionError` whose message holds the
table a person needs to act (which columns drifted and by how much, which files changed,
which globals were found where, robust accuracy per budget against the bar), at most
:data:`MAX_ROWS` rows of it followed by "... and K more". The report itself is on the
exception as ``.report``, so a test can save or inspect it::

    with pytest.raises(AssertionError) as failure:
        assert_no_drift(reference, current)
    failure.value.report.save("drift.html")

They work in any test runner (they only raise). Under pytest with the ``mlsentry`` plugin
(installed with the package), every call is also recorded: it appears in the terminal
summary, is collected by the ``mlsentry_report`` fixture, and its report is saved when
``--mlsentry-report-dir`` is given. See :mod:`mlsentry.pytest_plugin`.

>>> import numpy as np
>>> from mlsentry.testing import assert_no_drift
>>> rng = np.random.default_rng(0)
>>> reference = {"age": rng.normal(40, 10, 1000)}
>>> assert_no_drift(reference, {"age": rng.normal(40, 10, 1000)}).passed
True
>>> assert_no_drift(reference, {"age": rng.normal(46, 10, 1000)})
Traceback (most recent call last):
...
AssertionError: assert_no_drift: Drift comparison: FAILED: DRIFT in 1 of 1 column ...
column  status  test  statistic  p-value   adj. p-value  threshold  effect  missing ref -> cur
...
age     drift   ks    0.2...
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

from ._paths import show_path
from .errors import FileChangedError, IntegrityError, InvalidInputError
from .report import fmt_number, fmt_pvalue, fmt_share

if TYPE_CHECKING:
    from .data import LabelIssuesReport, LeakageReport, ValidationReport
    from .drift import ColumnDrift, DriftReport
    from .evidence import EvidenceReport
    from .integrity import Manifest, VerifyReport
    from .report import Report
    from .robustness import RobustnessReport
    from .scan import ScanReport

__all__ = [
    "MAX_ROWS",
    "assert_integrity",
    "assert_no_drift",
    "assert_no_label_issues",
    "assert_no_leakage",
    "assert_robust",
    "assert_safe_model",
    "assert_valid",
    "assert_evidence",
    "assert_fair",
    "assert_private",
]

#: Rows of a failure table shown at most; the rest are counted ("... and K more").
MAX_ROWS = 20
#: Characters of one table cell shown at most (long paths and notes end with "...").
MAX_CELL = 60


# -- text tables -----------------------------------------------------------------------
def _cell(value: Any, keep_end: bool = False) -> str:
    """A cell's text on one line, at most ``MAX_CELL`` characters: the end of a path is
    kept (its file name), the start of anything else."""
    text = ("" if value is None else str(value)).replace("\n", " ")
    if len(text) <= MAX_CELL:
        return text
    return "..." + text[3 - MAX_CELL :] if keep_end else text[: MAX_CELL - 3] + "..."


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], paths: Sequence[str] = ()) -> str:
    """An aligned plain-text table of at most ``MAX_ROWS`` rows, then the count left out.
    Columns named in ``paths`` are shortened from the left."""
    limit = max(int(MAX_ROWS), 1)
    ends = [h in paths for h in headers]
    shown = [[_cell(v, e) for v, e in zip(row, ends)] for row in rows[:limit]]
    widths = [max([len(h)] + [len(r[i]) for r in shown]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    lines = [line(headers), line(["-" * w for w in widths])]
    lines += [line(r) for r in shown]
    if len(rows) > limit:
        lines.append(f"... and {len(rows) - limit} more")
    return "\n".join(lines)


def _digest(value: Optional[str]) -> str:
    """A digest shortened for a table: algorithm and the first 16 hex digits."""
    if not value:
        return ""
    algo, _, hexdigits = value.partition(":")
    return f"{algo}:{hexdigits[:16]}..." if len(hexdigits) > 16 else value


# -- recording and failing -------------------------------------------------------------
def _record(check: str, passed: bool, headline: str, report: Optional[Report]) -> Optional[str]:
    """Tell the pytest plugin, when it is loaded and running, about a finished check.
    Returns the path its report was saved to (``--mlsentry-report-dir``), if any."""
    plugin = sys.modules.get("mlsentry.pytest_plugin")
    if plugin is None:
        return None
    saved: Optional[str] = plugin._record(check, passed, headline, report)
    return saved


def _finish(check: str, report: Report, table: str, headline: Optional[str] = None) -> Any:
    """Record the check; return the report when it passed, else raise with the table."""
    __tracebackhide__ = True
    headline = headline or report.summary().splitlines()[0]
    saved = _record(check, report.passed, headline, report)
    if report.passed:
        return report
    message = f"{check}: {headline}\n{table}"
    if saved:
        message += f"\nreport saved to {saved}"
    error = AssertionError(message)
    error.report = report  # type: ignore[attr-defined]
    raise error


# -- drift -----------------------------------------------------------------------------
_SCHEMA = ("only in reference", "only in current", "type changed")


def _drift_order(c: ColumnDrift) -> tuple[int, float, float]:
    ps = [p for p in (c.adjusted_pvalue, c.missing_adjusted_pvalue) if p is not None]
    effect = c.effect if c.effect is not None and not math.isnan(c.effect) else 0.0
    return (0 if c.drift else 1, min(ps, default=1.0), -effect)


def _drift_table(report: DriftReport) -> str:
    bad = [c for c in report.columns if c.drift or c.status == "not tested" or c.status in _SCHEMA]
    rows = []
    for c in sorted(bad, key=_drift_order):
        statistic = c.measured
        missing = ""
        if c.missing_reference or c.missing_current:
            missing = (
                f"{fmt_share(c.missing_rate_reference)} -> {fmt_share(c.missing_rate_current)}"
            )
            if c.missing_drift:
                missing += f" (adj. p {fmt_pvalue(c.missing_adjusted_pvalue, 4)})"
        note = c.error or c.note
        if c.status == "type changed":
            note = f"{c.dtype_reference} -> {c.dtype_current}" + (f": {note}" if note else "")
        rows.append(
            [
                c.name,
                c.status,
                c.test or "",
                fmt_number(statistic, 4),
                fmt_pvalue(c.pvalue, 4),
                fmt_pvalue(c.adjusted_pvalue, 4),
                fmt_number(c.threshold, 4),
                fmt_number(c.effect, 4),
                missing,
                note,
            ]
        )
    return _table(
        [
            "column",
            "status",
            "test",
            "statistic",
            "p-value",
            "adj. p-value",
            "threshold",
            "effect",
            "missing ref -> cur",
            "note",
        ],
        rows,
    )


def assert_no_drift(reference: Any, current: Any, **compare_kwargs: Any) -> DriftReport:
    """Asserts that ``current`` has not drifted from ``reference``.

    Runs :func:`mlsentry.drift.compare` and fails when its report does not pass: a column
    drifted (its values or its missing rate, after the multiple-testing correction), a
    column is on one side only or changed type, or a column could not be tested.

    Parameters
    ----------
    reference, current : table
        Anything :func:`mlsentry.drift.compare` takes (pandas, polars, pyarrow, numpy,
        dict of columns), a :class:`mlsentry.drift.Profile` or the path of a profile file.
    **compare_kwargs
        Passed to :func:`mlsentry.drift.compare` (``tests``, ``alpha``, ``correction``,
        ``columns``, ``drift_share``, ``thresholds``, ...).

    Returns
    -------
    DriftReport
        The report, when the check passed.

    Raises
    ------
    AssertionError
        The check failed. The message has one row per column that drifted or could not
        be compared: status, test, statistic, raw and adjusted p-value, threshold (alpha
        or the distance's), effect size, missing rates, note. ``.report`` holds the
        report.

    Examples
    --------
    >>> import numpy as np
    >>> from mlsentry.testing import assert_no_drift
    >>> rng = np.random.default_rng(1)
    >>> ref = {"x": rng.normal(size=500), "plan": rng.choice(["a", "b"], 500)}
    >>> cur = {"x": rng.normal(size=500), "plan": rng.choice(["a", "b"], 500)}
    >>> assert_no_drift(ref, cur, alpha=0.01).drifted
    False
    """
    __tracebackhide__ = True
    from .drift import compare

    report = compare(reference, current, **compare_kwargs)
    return _finish("assert_no_drift", report, "" if report.passed else _drift_table(report))


# -- robustness ------------------------------------------------------------------------
def _robust_headline(report: RobustnessReport) -> str:
    bar = report.threshold
    lows = [lo for lo, _ in report.robust_interval]
    conf = f"{report.confidence:.0%}"
    if report.passed:
        return (
            f"{report.title}: PASSED: robust accuracy meets {bar:g} at eps "
            f"{', '.join(f'{e:g}' for e in report.eps)} (lowest lower {conf} bound "
            f"{min(lows):.4f})"
        )
    below = [(e, lo) for e, lo in zip(report.eps, lows) if bar is None or lo < bar]
    return f"{report.title}: FAILED: robust accuracy below {bar:g} at eps " + ", ".join(
        f"{e:g} (lower {conf} bound {lo:.4f})" for e, lo in below
    )


def _robust_table(report: RobustnessReport) -> str:
    bar = report.threshold
    conf = f"{report.confidence:.0%}"
    rows = [
        [
            f"{e:g}",
            f"{acc:.4f}",
            f"[{lo:.4f}, {hi:.4f}]",
            f"{bar:g}",
            "ok" if bar is not None and lo >= bar else "BELOW",
        ]
        for e, acc, (lo, hi) in zip(report.eps, report.robust_accuracy, report.robust_interval)
    ]
    lo, hi = report.clean_interval
    lines = [
        f"clean accuracy {report.clean_accuracy:.4f} [{lo:.4f}, {hi:.4f}] on "
        f"{report.n_samples} samples; the bar applies to the lower end of the {conf} "
        "Wilson interval",
        _table(["eps", "robust accuracy", f"{conf} interval", "required", "verdict"], rows),
        "",
        _table(
            ["attack", "eps", "fooled", "median L2", "median L-inf"],
            [
                [
                    a.attack,
                    "any" if a.eps is None else f"{a.eps:g}",
                    f"{a.successes}/{a.attacked}",
                    fmt_number(a.median_l2, 4),
                    fmt_number(a.median_linf, 4),
                ]
                for a in report.attacks
            ],
        ),
    ]
    return "\n".join(lines)


def assert_robust(
    model: Any,
    X: Any,
    y: Any,
    eps: Union[float, Sequence[float]] = 0.1,
    *,
    min_robust_accuracy: float,
    **evaluate_kwargs: Any,
) -> RobustnessReport:
    """Asserts that ``model`` keeps a robust accuracy of at least ``min_robust_accuracy``
    at every budget in ``eps``.

    Runs :func:`mlsentry.robustness.evaluate` with ``threshold=min_robust_accuracy``. As
    there, the bar applies to the lower end of the Wilson confidence interval of the
    robust accuracy (``confidence``, 95 % by default), so a small sample cannot pass by
    luck: 92 correct of 100 does not meet 0.9 (its lower bound is 0.85).

    Parameters
    ----------
    model, X, y
        As for :func:`mlsentry.robustness.evaluate`.
    eps : float or sequence of float
        The budgets; every one must meet the bar.
    min_robust_accuracy : float
        The bar, in [0, 1].
    **evaluate_kwargs
        Passed to :func:`mlsentry.robustness.evaluate` (``attacks``, ``norm``,
        ``max_queries``, ``constraints``, ``seed``, ``confidence``, ...).

    Returns
    -------
    RobustnessReport
        The report, when the check passed.

    Raises
    ------
    AssertionError
        A budget missed the bar. The message gives the clean accuracy, then per budget
        the robust accuracy, its interval, the bar and the verdict, then per attack how
        many samples it fooled. ``.report`` holds the report.
    InvalidInputError
        ``min_robust_accuracy`` outside [0, 1], or ``threshold`` given (use
        ``min_robust_accuracy``).

    Examples
    --------
    >>> import numpy as np
    >>> from mlsentry.testing import assert_robust
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); w = np.array([1.0, -1.0, 0.5])
    >>> y = (X @ w > 0).astype(int)
    >>> def model(x):
    ...     s = x @ w
    ...     return np.stack([-s, s], axis=1)
    >>> assert_robust(model, X, y, eps=0.001, min_robust_accuracy=0.9,
    ...               attacks="noise", max_queries=20).robust_accuracy
    [1.0]
    """
    __tracebackhide__ = True
    if "threshold" in evaluate_kwargs:
        raise InvalidInputError(
            "threshold: assert_robust takes the bar as min_robust_accuracy, not threshold"
        )
    if (
        isinstance(min_robust_accuracy, bool)
        or not isinstance(min_robust_accuracy, (int, float))
        or not 0 <= min_robust_accuracy <= 1
    ):
        raise InvalidInputError(
            f"min_robust_accuracy: expected a robust accuracy in [0, 1], got "
            f"{min_robust_accuracy!r}"
        )
    from .robustness import evaluate

    report = evaluate(model, X, y, eps=eps, threshold=float(min_robust_accuracy), **evaluate_kwargs)
    table = "" if report.passed else _robust_table(report)
    return _finish("assert_robust", report, table, _robust_headline(report))


# -- integrity -------------------------------------------------------------------------
def _changes_table(report: VerifyReport) -> str:
    rows: list[list[Any]] = [
        [
            "modified",
            show_path(m.path),
            _digest(m.expected),
            _digest(m.actual),
            f"{'?' if m.expected_size is None else m.expected_size} -> {m.actual_size}",
        ]
        for m in report.modified
    ]
    rows += [["added", show_path(p), "", "", ""] for p in report.added]
    rows += [["removed", show_path(p), "", "", ""] for p in report.removed]
    return _table(
        ["change", "path", "expected digest", "actual digest", "size (bytes)"], rows, ["path"]
    )


def assert_integrity(
    path: Any,
    manifest_or_envelope: Union[Manifest, Any],
    public_key: Any = None,
) -> VerifyReport:
    """Asserts that the file or folder ``path`` is exactly the one a manifest records.

    Runs :func:`mlsentry.integrity.verify`. With a signed envelope and the signer's
    ``public_key``, the signature is checked first.

    Parameters
    ----------
    path : str or os.PathLike
        The folder (or file) to check.
    manifest_or_envelope : Manifest, Envelope or path
        A :class:`~mlsentry.integrity.Manifest`, the path of a manifest JSON file, or a
        signed envelope (an :class:`~mlsentry.integrity.Envelope`, or its path when
        ``public_key`` is given).
    public_key : PublicKey, optional
        The signer's key, for an envelope.

    Returns
    -------
    VerifyReport
        The report, when nothing changed.

    Raises
    ------
    AssertionError
        Files were modified, added or removed (one row each: change, path, expected and
        actual digest, sizes; ``.report`` holds the report), or the manifest or its
        signature does not hold (a hand-edited manifest, a signature that does not
        verify, a signed statement about other content: the message says which, and the
        :class:`~mlsentry.errors.IntegrityError` is the ``__cause__``).
    PathNotFoundError, FilePermissionError, UnsafePathError
        ``path`` cannot be hashed safely (an error, not a difference).

    Examples
    --------
    >>> from pathlib import Path
    >>> import mlsentry as ms
    >>> from mlsentry.testing import assert_integrity
    >>> Path("release").mkdir()
    >>> _ = Path("release/weights.bin").write_bytes(b"abc")
    >>> m = ms.integrity.manifest("release")
    >>> assert_integrity("release", m).files_checked
    1
    >>> _ = Path("release/extra.txt").write_bytes(b"!")
    >>> assert_integrity("release", m)
    Traceback (most recent call last):
    ...
    AssertionError: assert_integrity: Integrity verification: FAILED (0 modified, 1 added, ...)
    change  path       expected digest  actual digest  size (bytes)
    ------  ---------  ---------------  -------------  ------------
    added   extra.txt
    """
    __tracebackhide__ = True
    from .integrity import verify

    try:
        report = verify(path, manifest_or_envelope, public_key)
    except FileChangedError:
        raise  # a file changed while it was hashed: no verdict either way
    except IntegrityError as e:
        message = f"assert_integrity: {type(e).__name__}: {e}"
        _record("assert_integrity", False, message, None)
        raise AssertionError(message) from e
    return _finish("assert_integrity", report, "" if report.passed else _changes_table(report))


# -- scan ------------------------------------------------------------------------------
def _findings_table(report: ScanReport) -> str:
    rows = [
        [
            f.severity,
            show_path(f.file),
            f.member or "",
            "" if f.offset is None else str(f.offset),
            f.global_name or "",
            f.rule,
            f.message,
        ]
        for f in report.findings
        if f.severity != "info"
    ]
    return _table(
        ["severity", "file", "member", "offset", "global", "rule", "message"],
        rows,
        ["file", "member"],
    )


def assert_safe_model(path: Any, policy: Any = None, **scan_kwargs: Any) -> ScanReport:
    """Asserts that loading the model file(s) at ``path`` would run no one's code.

    Runs :func:`mlsentry.scan.scan` and fails unless the scan is ``safe``: every opcode
    of every pickle was read and no finding is above ``info``.

    Parameters
    ----------
    path : path or list of paths
        Files and folders.
    policy : path or dict, optional
        Extends the built-in policy (see :func:`mlsentry.scan.scan`), e.g.
        ``{"allow": {"globals": ["mypkg.models.Net"]}}``.
    **scan_kwargs
        Passed to :func:`mlsentry.scan.scan` (``digests``, ``progress``).

    Returns
    -------
    ScanReport
        The report, when the files are safe.

    Raises
    ------
    AssertionError
        One row per finding above ``info`` (most serious first): severity, file, member
        inside an archive, byte offset, global, rule and explanation. ``.report`` holds
        the report.

    Examples
    --------
    >>> import pickle
    >>> from mlsentry.testing import assert_safe_model
    >>> with open("weights.pkl", "wb") as fh:
    ...     pickle.dump({"w": [1.0, 2.0]}, fh)
    >>> assert_safe_model("weights.pkl").safe
    True
    >>> with open("evil.pkl", "wb") as fh:  # GLOBAL os system; never loaded here
    ...     _ = fh.write(b"cos\\nsystem\\n(S'true'\\ntR.")
    >>> assert_safe_model("evil.pkl")
    Traceback (most recent call last):
    ...
    AssertionError: assert_safe_model: Model-file scan: NOT SAFE: 1 file, 1 dangerous, ...
    severity ... global     rule ...
    ...
    dangerous  evil.pkl ... os.system ...
    """
    __tracebackhide__ = True
    from .scan import scan

    report = scan(path, policy, **scan_kwargs)
    return _finish("assert_safe_model", report, "" if report.passed else _findings_table(report))


# -- data leakage ----------------------------------------------------------------------
def _leakage_table(report: LeakageReport) -> str:
    left, right = ("row", "earlier row") if report.one_table else ("test row", "train row")
    rows = [
        [p.test_index, p.train_index, p.kind, fmt_number(p.distance, 4), p.count]
        for p in report.pairs
    ]
    return _table([left, right, "kind", "distance", "matching"], rows)


def assert_no_leakage(
    train: Any, test: Any = None, max_share: float = 0.0, **leakage_kwargs: Any
) -> LeakageReport:
    """Asserts that at most ``max_share`` of the test rows are also in ``train``.

    Runs :func:`mlsentry.data.leakage` (exact and near duplicates; with ``test=None``, the
    rows of ``train`` that repeat an earlier row) and fails when more than ``max_share``
    of the rows are affected.

    Parameters
    ----------
    train, test : table
        Anything :func:`mlsentry.data.leakage` takes (pandas, polars, pyarrow, numpy, dict
        of columns).
    max_share : float, default 0.0
        The share of affected test rows tolerated (0: none).
    **leakage_kwargs
        Passed to :func:`mlsentry.data.leakage` (``near_threshold``, ``columns``, ...).

    Returns
    -------
    LeakageReport
        The report, when the check passed.

    Raises
    ------
    AssertionError
        The check failed. The message has one row per affected test row: its position,
        the train row it matches, exact or near, the distance in train standard
        deviations and how many train rows match it. ``.report`` holds the report.

    Examples
    --------
    >>> from mlsentry.testing import assert_no_leakage
    >>> train = {"x": [0.5, 1.5, 2.5], "city": ["Oslo", "Rome", "Lima"]}
    >>> assert_no_leakage(train, {"x": [9.0], "city": ["Oslo"]}).share
    0.0
    >>> assert_no_leakage(train, {"x": [1.5, 7.0], "city": ["Rome", "Kyiv"]})
    Traceback (most recent call last):
    ...
    AssertionError: assert_no_leakage: Train/test leakage: FAILED: 1 of 2 test rows (50.0%) ...
    test row  train row  kind   distance  matching
    ...
    0         1          exact  0         1
    """
    __tracebackhide__ = True
    from . import data

    report = data.leakage(train, test, max_share=max_share, **leakage_kwargs)
    return _finish("assert_no_leakage", report, "" if report.passed else _leakage_table(report))


# -- data schema -----------------------------------------------------------------------
def assert_valid(data: Any, schema: Any, **validate_kwargs: Any) -> ValidationReport:
    """Asserts that ``data`` fits ``schema``: no anomaly is an error.

    Runs :func:`mlsentry.data.validate` and fails when its report does not pass.

    Parameters
    ----------
    data : table
        Anything :func:`mlsentry.data.validate` takes (pandas, polars, pyarrow, dict of
        columns, 2-D numpy).
    schema : Schema or path
        A :class:`mlsentry.data.Schema` or a schema file (``.json``/``.toml``).
    **validate_kwargs
        Passed to :func:`mlsentry.data.validate` (``examples``, ``fingerprint``, ...).

    Returns
    -------
    ValidationReport
        The report, when no anomaly is an error (warnings are allowed).

    Raises
    ------
    AssertionError
        One row per anomaly, errors first: column, kind, severity, rows concerned, what
        was expected and the first example rows with their values. ``.report`` holds the
        report.

    Examples
    --------
    >>> import mlsentry as ms
    >>> from mlsentry.testing import assert_valid
    >>> schema = ms.data.Schema.infer({"plan": ["a", "b", "a"], "price": [9.5, 12.0, 30.0]})
    >>> assert_valid({"plan": ["b", "a"], "price": [10.0, 11.0]}, schema).passed
    True
    >>> assert_valid({"plan": ["b", "gold"], "price": [10.0, 11.0]}, schema)
    Traceback (most recent call last):
    ...
    AssertionError: assert_valid: Schema validation: FAILED: 1 error, 0 warnings in 2 rows ...
    column  kind             severity  rows  detail ...
    ...
    plan    unseen_category  error     1     values outside the domain of 2 values  1: 'gold'
    """
    __tracebackhide__ = True
    from .data import validate

    report = validate(data, schema, **validate_kwargs)
    return _finish("assert_valid", report, "" if report.passed else _anomalies_table(report))


def _anomalies_table(report: ValidationReport) -> str:
    headers = ["column", "kind", "severity", "rows", "detail", "examples (row: value)"]
    rows = [
        [
            a.column,
            a.kind,
            a.severity,
            a.count,
            a.detail,
            ", ".join(f"{r}: {v!r}" for r, v in zip(a.rows, a.values)),
        ]
        for a in sorted(report.anomalies, key=lambda a: a.severity != "error")
    ]
    return _table(headers, rows)


# -- label issues ----------------------------------------------------------------------
def _label_issues_table(report: Any) -> str:
    shown = report.worst[: max(int(MAX_ROWS), 1)]
    rows = [
        [
            w["row"],
            w["given"],
            w["predicted"],
            fmt_number(w["score"]),
            fmt_number(w["p_given"]),
            fmt_number(w["p_predicted"]),
        ]
        for w in shown
    ]
    headers = ["row", "given", "predicted", "score", "P(given)", "P(predicted)"]
    table = _table(headers, rows)
    if report.n_issues > len(shown):
        table += f"\n... and {report.n_issues - len(shown)} more"
    return table


def assert_no_label_issues(
    labels: Any, pred_probs: Any, max_share: float = 0.0, **kwargs: Any
) -> LabelIssuesReport:
    """Asserts that at most ``max_share`` of the rows have a label that is probably wrong.

    Runs :func:`mlsentry.data.label_issues` (confident learning, as cleanlab's
    ``find_label_issues``) with the bar ``max_share`` and fails when more rows are flagged.

    Parameters
    ----------
    labels : sequence of int
        Given labels, class indices ``0..k-1``.
    pred_probs : array (n, k)
        Out-of-sample predicted probabilities (see
        :func:`mlsentry.data.cross_val_pred_probs`).
    max_share : float
        The share of flagged rows tolerated (default 0: none).
    **kwargs
        Passed to :func:`mlsentry.data.label_issues` (``method``, ``rank_by``, ...).

    Returns
    -------
    LabelIssuesReport
        The report, when the check passed.

    Raises
    ------
    AssertionError
        Too many rows flagged. The message has the worst rows (lowest label quality
        first): row, given label, predicted label, score, probability of the given and of
        the predicted label. ``.report`` holds the report.

    Examples
    --------
    >>> import numpy as np
    >>> from mlsentry.testing import assert_no_label_issues
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    >>> assert_no_label_issues([0, 0, 1, 1], p).n_issues
    0
    >>> assert_no_label_issues([0, 0, 1, 0], p)
    Traceback (most recent call last):
    ...
    AssertionError: assert_no_label_issues: Label issues: FAILED: 1 row of 4 flagged ...
    row  given  predicted  score  P(given)  P(predicted)
    ...
    3    0      1          0.1    0.1       0.9
    """
    __tracebackhide__ = True
    from .data import label_issues

    report = label_issues(labels, pred_probs, max_share=max_share, **kwargs)
    table = "" if report.passed else _label_issues_table(report)
    return _finish("assert_no_label_issues", report, table)


# -- evidence ----------------------------------------------------------------------------
def assert_evidence(path: Any, public_key: Any, *, checks_passed: bool = True) -> EvidenceReport:
    """Asserts that an evidence bundle verifies (signature, every digest, every audit-log
    proof) and, with ``checks_passed``, that no check of the release failed.

    Parameters
    ----------
    path : str or os.PathLike
        The bundle (``Bundle.save``, ``mlsentry check --evidence``).
    public_key : PublicKey
        The key it must be signed with.
    checks_passed : bool
        Also fail when a check recorded in the bundle failed (default).

    Returns
    -------
    EvidenceReport
        The verification report, when it passed.

    Raises
    ------
    AssertionError
        One row per problem (member, what) and per failed check (name, kind, verdict);
        ``.report`` holds the report.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> from mlsentry.testing import assert_evidence
    >>> key = ms.integrity.SigningKey.generate()
    >>> drift = ms.drift.compare({"x": np.arange(60.0)}, {"x": np.arange(60.0) + 50})
    >>> _ = ms.evidence.build([drift], environment_info=False).save("r.evidence", key)
    >>> assert_evidence("r.evidence", key.public_key, checks_passed=False).passed
    True
    >>> assert_evidence("r.evidence", key.public_key)
    Traceback (most recent call last):
    ...
    AssertionError: assert_evidence: Evidence bundle verification: PASSED ...; 1 check failed
    where  what
    ...
    drift  drift: FAILED
    """
    __tracebackhide__ = True
    from .evidence import verify

    report = verify(path, public_key)
    failed = [c for c in report.checks if c["verdict"] == "FAILED"] if checks_passed else []
    rows = [[p.member or "bundle", p.what] for p in report.problems]
    rows += [[c["name"], f"{c['kind']}: {c['verdict']}"] for c in failed]
    headline = report.summary().splitlines()[0]
    if failed:
        headline += f"; {len(failed)} check{'s' if len(failed) > 1 else ''} failed"
    ok = report.passed and not failed
    saved = _record("assert_evidence", ok, headline, report)
    if ok:
        return report
    message = f"assert_evidence: {headline}\n{_table(['where', 'what'], rows)}"
    if saved:
        message += f"\nreport saved to {saved}"
    error = AssertionError(message)
    error.report = report  # type: ignore[attr-defined]
    raise error


# -- fairness --------------------------------------------------------------------------
def _fairness_table(report: Any) -> str:
    rows = [
        [
            d.name,
            fmt_number(d.value),
            ""
            if d.interval is None
            else f"{fmt_number(d.interval[0])}, {fmt_number(d.interval[1])}",
            "" if d.bar is None else (">= " if d.higher_is_fairer else "<= ") + fmt_number(d.bar),
            {True: "met", False: "NOT MET"}.get(d.passed, ""),
        ]
        for d in report.disparities.values()
    ]
    groups = [
        [
            r.label,
            r.count,
            fmt_number(r.values["selection_rate"]),
            fmt_number(r.values["tpr"]),
            fmt_number(r.values["fpr"]),
            "small" if r.small else "",
        ]
        for r in report.by_group
    ]
    return (
        _table(["disparity", "value", "interval", "bar", ""], rows)
        + "\n"
        + _table(["group", "rows", "selection_rate", "tpr", "fpr", ""], groups)
    )


def assert_fair(
    y_true: Any,
    y_pred: Any = None,
    sensitive: Any = None,
    thresholds: Optional[dict[str, float]] = None,
    **kwargs: Any,
) -> Any:
    """Asserts that a binary classifier's disparities between groups meet their bars.

    Runs :func:`mlsentry.fairness.evaluate` and fails when a disparity misses its bar
    (by default the four-fifths rule: ``demographic_parity_ratio >= 0.8``).

    Parameters
    ----------
    y_true, y_pred, sensitive
        As :func:`mlsentry.fairness.evaluate` (or ``model=`` and ``X=`` in ``kwargs``).
    thresholds : dict, optional
        Disparity name to bar; None: the four-fifths rule. At least one bar is needed.
    **kwargs
        Passed to :func:`mlsentry.fairness.evaluate` (``n_boot``, ``seed``, ...).

    Returns
    -------
    FairnessReport
        The report, when the check passed.

    Raises
    ------
    AssertionError
        A bar missed. The message has every disparity (value, interval, bar) and the
        groups' selection rates, TPR and FPR; ``.report`` holds the report.

    Examples
    --------
    >>> from mlsentry.testing import assert_fair
    >>> y, group = [0, 1] * 50, ["a"] * 50 + ["b"] * 50
    >>> assert_fair(y, y, group, n_boot=0).passed
    True
    >>> assert_fair(y, [1] * 50 + [0] * 50, group, n_boot=0)
    Traceback (most recent call last):
    ...
    AssertionError: assert_fair: Fairness: FAILED: 2 groups of sensitive over 100 rows; ...
    disparity  ...
    """
    __tracebackhide__ = True
    from .fairness import evaluate

    if thresholds is not None and not thresholds:
        raise InvalidInputError("thresholds: assert_fair needs at least one bar")
    report = evaluate(y_true, y_pred, sensitive, thresholds=thresholds, **kwargs)
    table = "" if report.passed else _fairness_table(report)
    return _finish("assert_fair", report, table)


# -- privacy ---------------------------------------------------------------------------
def _privacy_table(report: Any) -> str:
    rows = [
        [
            a.name,
            fmt_share(a.tpr),
            f"{fmt_share(a.tpr_interval[0])} - {fmt_share(a.tpr_interval[1])}",
            fmt_number(a.auc),
            fmt_number(a.epsilon),
            "FAILED" if a.tpr > report.threshold else "ok",
        ]
        for a in sorted(report.attacks.values(), key=lambda a: -a.tpr)
    ]
    headers = ["attack", f"TPR@{fmt_share(report.at_fpr)}", "interval", "AUC", "eps>=", ""]
    return _table(headers, rows)


def assert_private(
    model: Any,
    X_members: Any,
    y_members: Any,
    X_nonmembers: Any,
    y_nonmembers: Any,
    *,
    max_tpr: float,
    at_fpr: float = 0.01,
    **kwargs: Any,
) -> Any:
    """Asserts that no membership-inference attack tells ``model``'s training records
    (``X_members``) from others with a TPR above ``max_tpr`` at FPR ``at_fpr``.

    Runs :func:`mlsentry.privacy.membership_inference` with ``threshold=max_tpr``;
    ``kwargs`` go to it (``attacks``, ``train_fn``, ``n_reference``, ``seed``, ...).

    Returns
    -------
    PrivacyReport
        The report, when the check passed.

    Raises
    ------
    AssertionError
        An attack exceeded the bar. The message lists every attack, strongest first:
        TPR at ``at_fpr``, its interval, AUC, the epsilon it proves and the verdict.
        ``.report`` holds the report.

    Examples
    --------
    >>> import numpy as np
    >>> from mlsentry.testing import assert_private
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3)); y = (X[:, 0] > 0).astype(int)
    >>> def model(x):  # a smooth model that never saw X: nothing to leak
    ...     p = 1 / (1 + np.exp(-3 * x[:, 0]))
    ...     return np.stack([1 - p, p], axis=1)
    >>> rep = assert_private(model, X[:200], y[:200], X[200:], y[200:], max_tpr=0.2,
    ...                      attacks=("loss",))
    >>> rep.passed
    True
    """
    __tracebackhide__ = True
    from .privacy import membership_inference

    if "threshold" in kwargs:
        raise InvalidInputError("assert_private: give the bar as max_tpr, not threshold")
    report = membership_inference(
        model,
        X_members,
        y_members,
        X_nonmembers,
        y_nonmembers,
        at_fpr=at_fpr,
        threshold=max_tpr,
        **kwargs,
    )
    table = "" if report.passed else _privacy_table(report)
    return _finish("assert_private", report, table)
