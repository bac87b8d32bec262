"""Per-column drift between two tables: :func:`compare`.

Python only normalises the inputs here, column by column and without a loop over rows:
numeric columns become ``float64`` arrays (NaN = missing) and categorical columns integer
codes factorised jointly over both sides (``-1`` = missing). One call into the Rust core
then tests every column in parallel without the GIL; the multiple-testing correction and
the dataset decision are made here on the few numbers per column it returns."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional, Union

import numpy as np

from .. import _core
from .._args import check_int, check_positive
from .._background import Fingerprints
from .._progress import ProgressArg, progress_callback
from .._tables import arrow_text, list_array, table_columns
from ..errors import InvalidInputError, InvalidTypeError
from ..integrity import fingerprint, record_check
from ..report import Report
from .choice import (
    HIGH_CARDINALITY,
    Prepared,
    column_role,
    join_notes,
    prepare,
    prepare_text,
    type_change,
)
from .corrections import CORRECTIONS, adjust_pvalues
from .multivariate import dataset_test, dataset_test_name
from .profile import compare_profiles, is_profile_side
from .report import (
    STATUS_DRIFT,
    STATUS_EMPTY,
    STATUS_MISSING_DRIFT,
    STATUS_OK,
    STATUS_ONLY_CUR,
    STATUS_ONLY_REF,
    STATUS_TYPE,
    STATUS_UNTESTED,
    ColumnDrift,
    DriftReport,
    Histogram,
    psi_label,
)
from .result import (
    DEFAULT_THRESHOLDS,
    DISTANCES,
    TestResult,
    check_alpha,
    check_threshold,
    distance_drift,
)
from .tables import check_names as _check_names
from .tables import named_columns as _named
from .tables import parse_text_pair, side_any


def _check_tests(tests: Any) -> Union[str, dict[str, str]]:
    allowed = ", ".join(_core.DRIFT_TEST_NAMES)
    if isinstance(tests, str):
        if tests not in _core.DRIFT_TEST_NAMES:
            raise InvalidInputError(f"tests: unknown test {tests!r}; expected one of {allowed}")
        return tests
    if isinstance(tests, Mapping):
        out: dict[str, str] = {}
        for col, name in tests.items():
            if not isinstance(name, str) or name not in _core.DRIFT_TEST_NAMES:
                raise InvalidInputError(
                    f"tests: unknown test {name!r} for column {str(col)!r}; "
                    f"expected one of {allowed}"
                )
            out[str(col)] = name
        return out
    raise InvalidTypeError(
        'tests: expected "auto", a test name or a dict {column: test name}, '
        f"got {type(tests).__name__}"
    )


def _check_thresholds(thresholds: Any) -> dict[str, float]:
    merged = dict(DEFAULT_THRESHOLDS)
    if thresholds is None:
        return merged
    if not isinstance(thresholds, Mapping):
        raise InvalidTypeError(
            f"thresholds: expected a dict {{distance: value}}, got {type(thresholds).__name__}"
        )
    for name, value in thresholds.items():
        if name not in DISTANCES:
            raise InvalidInputError(
                f"thresholds: {name!r} is not a distance; expected some of "
                + ", ".join(sorted(DISTANCES))
            )
        value = check_threshold(name, value, f"thresholds[{name!r}]")
        merged[name] = value
    return merged


def _check_share(drift_share: Any) -> Optional[float]:
    if drift_share is None:
        return None
    if isinstance(drift_share, bool) or not isinstance(drift_share, (int, float, np.number)):
        raise InvalidTypeError(
            f"drift_share: expected None or a number in (0, 1], got {type(drift_share).__name__}"
        )
    if not 0.0 < float(drift_share) <= 1.0:
        raise InvalidInputError(f"drift_share: expected a number in (0, 1], got {drift_share!r}")
    return float(drift_share)


def _fingerprint_side(obj: Any) -> tuple[Optional[str], Optional[str]]:
    """The fingerprint of one input, or why there is none (a dict whose columns differ in
    length, a type the fingerprint refuses, no pandas for a dict)."""
    try:
        if isinstance(obj, Mapping):
            try:
                import pandas as pd
            except ImportError:
                return None, "a dict of columns is fingerprinted as a pandas DataFrame"
            return fingerprint(pd.DataFrame(dict(obj)), index=False), None
        if isinstance(obj, (list, tuple)):
            obj = list_array(obj)
        return fingerprint(obj), None
    except (ValueError, TypeError) as e:
        return None, str(e)


def _number(v: Any) -> Optional[float]:
    return None if v is None else float(v)


def _rate(missing: int, present: int) -> Optional[float]:
    total = missing + present
    return missing / total if total else None


def compare(
    reference: Any,
    current: Any,
    tests: Union[str, Mapping[str, str]] = "auto",
    alpha: float = 0.05,
    correction: str = "bh",
    *,
    columns: Optional[Sequence[str]] = None,
    exclude: Optional[Sequence[str]] = None,
    categorical: Optional[Sequence[str]] = None,
    min_effect: Optional[float] = None,
    bins: int = 10,
    max_categories: int = 20,
    drift_share: Optional[float] = None,
    thresholds: Optional[Mapping[str, float]] = None,
    fingerprint: bool = True,
    progress: ProgressArg = False,
    multivariate: Union[bool, str] = False,
    model: Any = None,
    explain: Optional[Mapping[str, Any]] = None,
) -> DriftReport:
    """Compares every column of ``current`` with the same column of ``reference``.

    Each column gets a two-sample test (numeric: Kolmogorov-Smirnov by default;
    categorical: chi-squared, or Fisher's exact test for two categories with an expected
    count below 5), an effect size on one scale for all columns, and a test of its missing
    rate. All p-values of the report are corrected together for multiple testing, then the
    dataset verdict is made. The tests run in Rust, one column per core, without the GIL.

    Parameters
    ----------
    reference, current : table
        A pandas DataFrame or Series, a polars DataFrame or Series, a pyarrow Table,
        RecordBatch or array, a numpy array (2-D: columns named ``"0"``, ``"1"``, ...;
        1-D: one column ``"0"``; structured: its field names), a list, or a dict of 1-D
        columns (arrays, lists, Series). The two sides may be of different types; columns
        are matched by name (``str`` of the label).
    tests : str or dict
        ``"auto"``; one test name, used for every column of a kind it applies to (the
        others stay ``"auto"``); or ``{column: test}``, where a test that does not apply
        to the column's kind raises. Numeric tests: ``ks``, ``anderson``,
        ``cramer_von_mises``, ``mann_whitney``, ``wasserstein``, ``energy`` and the binned
        distances ``psi``, ``jensen_shannon``, ``hellinger``, ``kl``,
        ``total_variation``. Categorical tests: ``chi2``, ``g_test``, ``fisher`` (two
        categories) and the same five distances on category frequencies.
    alpha : float
        Level of the tests, applied to adjusted p-values.
    correction : {"bh", "by", "holm", "bonferroni", "none"}
        Multiple-testing correction over every p-value of the report: each column's test
        and each missing-rate test. ``bh`` (Benjamini-Hochberg) and ``holm`` keep the
        chance of a false dataset alarm at or below ``alpha`` when nothing drifted;
        ``none`` does not (with 10 columns, about 40 % at ``alpha=0.05``).
    columns : list of str, optional
        Compare only these columns (names on neither side raise).
    exclude : list of str, optional
        Leave these columns out entirely (names on neither side raise).
    categorical : list of str, optional
        Columns to compare as categories whatever their type. A column named here (or in
        ``tests``) is compared even when it looks like an identifier or free text.
    min_effect : float, optional
        Practical significance: a column's values drift only when the test rejects *and*
        its ``effect`` reaches this. ``effect`` is the Wasserstein distance divided by the
        reference's standard deviation for numbers (a shift of the whole distribution by
        0.1 standard deviations is 0.1) and the Jensen-Shannon distance (0 to 1) for
        categories. With a million rows a shift of 0.01 standard deviations is
        statistically significant; ``min_effect=0.1`` ignores it. The missing-rate test is
        not affected. ``None`` (default): significance alone decides.
    bins : int
        Quantile bins of the reference for the binned distances on numeric columns.
    max_categories : int
        A column of whole numbers (an integer type, or floats such as ``3.0``) with at
        most this many distinct values over both sides is categorical.
    drift_share : float, optional
        ``None``: the dataset drifted when any column drifted. A share in (0, 1]: when
        the share of compared columns that drifted reaches it (Evidently's rule).
    thresholds : dict, optional
        Drift thresholds of the distances, by name, over
        ``mlsentry.drift.DEFAULT_THRESHOLDS`` (0.1 each; ``wasserstein`` and
        ``energy`` apply to the normalised distance). A distance test has no p-value: its
        column drifts when the distance reaches the threshold (PSI is also read in the
        usual bands: below 0.1 stable, 0.1-0.25 moderate, 0.25 and above major).
    fingerprint : bool
        Record :func:`mlsentry.fingerprint` of both inputs in ``report.inputs`` (a dict
        is fingerprinted as the pandas DataFrame it makes, without index). It reads every
        value once more: for 1M rows x 25 columns (20 float, 5 string) about 0.2 s a side
        on 2 cores, some 15 % of the call. An input the fingerprint refuses (pandas
        periods or intervals, a dict of columns of different lengths) is left out and
        ``config["fingerprint_skipped"]`` says why.
    progress : bool or callable, optional
        ``True`` shows a tqdm bar; a callable receives ``(columns_done, columns_total)``.
    multivariate : bool or {"mmd", "energy", "classifier"}
        Also test the numeric columns jointly (``True``: ``"mmd"``), as
        ``report.multivariate`` (a :class:`TestResult` at level ``alpha``, outside the
        per-column correction; see :func:`mlsentry.drift.multivariate.dataset_test`). Its
        rejection makes the dataset drifted: it sees a change of the correlations that no
        column test sees.
    model : model, optional
        Also explain the shift of the model's mean prediction from ``reference`` to
        ``current`` feature by feature, as ``report.explanation`` (a
        :class:`mlsentry.explain.ShiftExplanation` from
        :func:`mlsentry.explain.prediction_shift`; the model sees its own input columns,
        whatever ``columns``/``exclude`` say). Needs rows on both sides (not a profile).
    explain : dict, optional
        Keyword arguments of :func:`mlsentry.explain.prediction_shift` (``method``,
        ``max_rows``, ``background``, ``columns``, ``seed``, ...).

    Returns
    -------
    DriftReport
        ``drifted``, ``passed``, ``columns`` (one :class:`ColumnDrift` each),
        ``to_pandas()``, ``summary()``, JSON and HTML.

    Raises
    ------
    InvalidTypeError
        An input or argument of the wrong type (the message names it).
    InvalidInputError
        A bad value: unknown test or correction, ``alpha`` outside (0, 1), a column in
        ``columns``/``categorical``/``tests`` found on neither side, a test that does not
        apply to its column.

    Notes
    -----
    **Kinds.** A column is numeric when both sides hold numbers: floats, ints, decimals,
    datetimes, durations and times of day (as nanoseconds; NaT is missing). Integers that
    float64 would round (past 2**53: nanosecond timestamps, 64-bit ids) are compared
    exactly: shifted by the column's minimum in integer arithmetic while its range is below
    2**53, else by their order (positions among the distinct values, which every rank and
    ECDF test needs; the column's note says so). It is
    categorical when either side holds strings, bytes, booleans or a pandas category /
    arrow dictionary / polars Categorical or Enum, when it is named in ``categorical``,
    or when it holds whole numbers with at most ``max_categories`` distinct values.
    Categories are coded jointly over both sides, so a category seen on one side only
    counts; categories seen only in current are counted in ``new_categories``.
    Object columns take the kind of their values; when they mix kinds, values are equal
    when Python finds them equal and they are of the same kind: numbers by value (``1``,
    ``1.0`` and ``numpy.int64(1)`` are one category), booleans apart from numbers (``True``
    is not ``1``), strings apart from numbers (``"1"`` is not ``1``); the report labels
    such values with ``repr``.

    **Missing values and infinities.** NaN, None, ``pd.NA`` and NaT are missing: left
    out of the tests, counted, and their rate is tested when either side has some.
    Infinities are values: the rank tests use them, they are counted
    (``infinite_reference``/``infinite_current``) and left out of the plot and of the
    Wasserstein effect.

    **Identifiers and free text.** A column whose present values are all distinct on each
    side (at least 20 a side) is not a distribution to compare: text or category codes are
    ``"identifier"`` (short strings) or ``"text"`` (long strings, 40 characters or more at
    the median), and integers that are also strictly monotone in row order (a running id)
    are ``"identifier"``. Such columns are reported with that status, not tested, not
    failing the report, and the summary lists them. Name the column in ``categorical`` or
    ``tests`` to test it anyway.

    **Strings that are numbers or dates.** A text column whose every value on both sides
    reads as a number (no leading zeros, which mark codes) or as an ISO date is compared as
    numbers or dates, and its note says so (name it in ``categorical`` to keep it as text).

    **Rare categories.** With more than 1000 categories over both sides, or when more than
    a fifth of the cells expect fewer than 5 values (Cochran's rule for chi-squared), the
    automatic test pools the rare categories (expected count on the smaller side below 5,
    where chi-squared is not valid) before chi-squared, in two bins: those the reference has and
    those new in current, so that novelty is itself evidence (a column whose current values
    are all new drifts). The column's ``note`` says so and gives the share of current values
    never seen in the reference.

    **Schema problems.** A column on one side only (status ``"only in reference"`` /
    ``"only in current"``) and a column whose kind differs between the sides (numbers in
    one, text in the other: ``"type changed"``) are reported, not compared, and make the
    report fail (``passed`` is False) though the dataset need not have ``drifted``. So
    does a column whose test could not run (``"not tested"``, e.g. a side with no rows).
    A column with no value on either side is ``"empty"`` and does not count.

    **Decision.** A column drifts when its adjusted p-value is below ``alpha`` (tests)
    or its distance reaches the threshold (distances), or when its missing-rate test's
    adjusted p-value is below ``alpha``.

    Every call appends one event to the audit log named by ``MLSENTRY_AUDIT_LOG``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> ref = {"age": rng.normal(40, 10, 2000), "plan": rng.choice(["a", "b"], 2000)}
    >>> cur = {"age": rng.normal(45, 10, 2000), "plan": rng.choice(["a", "b"], 2000)}
    >>> report = ms.drift.compare(ref, cur)
    >>> report.drifted, report.drifted_columns
    (True, ['age'])
    >>> report["plan"].test, report["plan"].drift
    ('chi2', False)
    """
    tests = _check_tests(tests)
    alpha = check_alpha(alpha)
    if correction not in CORRECTIONS:
        raise InvalidInputError(
            f"correction: expected one of {', '.join(CORRECTIONS)}, got {correction!r}"
        )
    bins = check_int(bins, "bins", 1)
    max_categories = check_int(max_categories, "max_categories", 0)
    drift_share = _check_share(drift_share)
    joint_test = dataset_test_name(multivariate)
    limits = _check_thresholds(thresholds)
    if min_effect is not None:
        min_effect = check_positive(min_effect, "min_effect")
    wanted = _check_names(columns, "columns")
    excluded = set(_check_names(exclude, "exclude") or ())
    forced = set(_check_names(categorical, "categorical") or ())
    if not isinstance(fingerprint, (bool, np.bool_)):
        raise InvalidTypeError(f"fingerprint: expected a bool, got {type(fingerprint).__name__}")

    config: dict[str, Any] = {
        "tests": tests,
        "alpha": alpha,
        "correction": correction,
        "columns": wanted,
        "exclude": sorted(excluded),
        "categorical": sorted(forced),
        "min_effect": min_effect,
        "bins": bins,
        "max_categories": max_categories,
        "drift_share": drift_share,
        "thresholds": limits,
        "high_cardinality": HIGH_CARDINALITY,
        "fingerprint": bool(fingerprint),
    }
    if explain is not None and not isinstance(explain, Mapping):
        raise InvalidTypeError(f"explain: expected a dict of options, got {type(explain).__name__}")
    if explain is not None and model is None:
        raise InvalidInputError("explain: options given without a model to explain")
    if is_profile_side(reference) or is_profile_side(current):
        if model is not None:
            raise InvalidInputError(
                "model: explaining the prediction shift needs the rows of both sides; a "
                "profile keeps per-column counts only"
            )
        if joint_test is not None:
            raise InvalidInputError(
                "multivariate: a dataset-level test needs the rows of both sides; a profile "
                "keeps per-column counts only"
            )
        # A table side is profiled, then compared: its fingerprint runs beside that work.
        sides = [("reference", reference), ("current", current)]
        tables = [(n, o) for n, o in sides if not is_profile_side(o)]
        with Fingerprints(
            tables, enabled=bool(fingerprint), fingerprint_side=_fingerprint_side
        ) as fingerprints:
            return compare_profiles(
                reference,
                current,
                tests=tests,
                alpha=alpha,
                correction=correction,
                wanted=wanted,
                excluded=excluded,
                forced=forced,
                min_effect=min_effect,
                bins=bins,
                drift_share=drift_share,
                limits=limits,
                config=config,
                progress=progress,
                decide=_decide,
                finish=_finish,
                fingerprint_side=fingerprints.of,
            )

    ref_cols = _named(table_columns(reference, "reference"), "reference")
    cur_cols = _named(table_columns(current, "current"), "current")
    # The fingerprints read every value once more: they run beside the comparison (their
    # hashing releases the GIL), not after it, and are collected at the end.
    sides = [("reference", reference), ("current", current)]
    with Fingerprints(
        sides, enabled=bool(fingerprint), fingerprint_side=_fingerprint_side
    ) as fingerprints:
        return _compare_columns(
            ref_cols,
            cur_cols,
            tests=tests,
            alpha=alpha,
            correction=correction,
            wanted=wanted,
            excluded=excluded,
            forced=forced,
            min_effect=min_effect,
            bins=bins,
            max_categories=max_categories,
            drift_share=drift_share,
            limits=limits,
            joint_test=joint_test,
            config=config,
            progress=progress,
            fingerprints=fingerprints,
            explain_shift=None
            if model is None
            else lambda: _shift(model, reference, current, explain),
        )


def _shift(
    model: Any, reference: Any, current: Any, explain: Optional[Mapping[str, Any]]
) -> Report:
    """The explanation of the shift of ``model``'s mean prediction (``compare(model=...)``)."""
    from ..explain import prediction_shift

    return prediction_shift(model, reference, current, **dict(explain or {}))


def _compare_columns(
    ref_cols: dict[str, Any],
    cur_cols: dict[str, Any],
    *,
    tests: Union[str, dict[str, str]],
    alpha: float,
    correction: str,
    wanted: Optional[list[str]],
    excluded: set[str],
    forced: set[str],
    min_effect: Optional[float],
    bins: int,
    max_categories: int,
    drift_share: Optional[float],
    limits: Mapping[str, float],
    joint_test: Optional[str],
    config: dict[str, Any],
    progress: ProgressArg,
    fingerprints: Fingerprints,
    explain_shift: Optional[Callable[[], Report]] = None,
) -> DriftReport:
    """The comparison of two tables' columns (``compare`` without its argument checks);
    ``explain_shift`` gives the report's explanation of the prediction shift."""
    known = list(ref_cols) + [n for n in cur_cols if n not in ref_cols]
    for arg, names in (
        ("columns", wanted or ()),
        ("exclude", excluded),
        ("categorical", forced),
        ("tests", tests if isinstance(tests, dict) else ()),
    ):
        unknown = [n for n in names if n not in ref_cols and n not in cur_cols]
        if unknown:
            raise InvalidInputError(
                f"{arg}: no column named {', '.join(map(repr, unknown))} on either side"
            )
    names = [n for n in (wanted if wanted is not None else known) if n not in excluded]
    asked = forced | set(tests if isinstance(tests, dict) else ())

    results: dict[str, ColumnDrift] = {}
    prepared: list[Prepared] = []
    text = _text_pairs([n for n in names if n in ref_cols and n in cur_cols], ref_cols, cur_cols)
    for name in names:
        if name in text:
            joint, dtypes = text[name]
            p_text = prepare_text(
                name,
                joint,
                dtypes,
                forced_categorical=name in forced,
                asked=name in asked,
                tests=tests,
            )
            if p_text is not None:
                prepared.append(p_text)
                continue
        if name not in cur_cols:
            side = side_any(ref_cols[name], f"reference column {name!r}")
            results[name] = ColumnDrift(name, STATUS_ONLY_REF, dtype_reference=side.dtype)
            continue
        if name not in ref_cols:
            side = side_any(cur_cols[name], f"current column {name!r}")
            results[name] = ColumnDrift(name, STATUS_ONLY_CUR, dtype_current=side.dtype)
            continue
        ref = side_any(ref_cols[name], f"reference column {name!r}")
        cur = side_any(cur_cols[name], f"current column {name!r}")
        parsed_note = ""
        if name not in forced:
            ref, cur, parsed_note = parse_text_pair(ref, cur)
        change = type_change(ref, cur)
        if change is not None and name not in forced:
            results[name] = ColumnDrift(
                name,
                STATUS_TYPE,
                dtype_reference=ref.dtype,
                dtype_current=cur.dtype,
                note=change,
            )
            continue
        role = None if name in asked else column_role(ref, cur)
        if role is not None:
            status, why = role
            results[name] = ColumnDrift(
                name, status, dtype_reference=ref.dtype, dtype_current=cur.dtype, note=why
            )
            continue
        p = prepare(
            name,
            ref,
            cur,
            forced_categorical=name in forced,
            max_categories=max_categories,
            tests=tests,
        )
        p.note = join_notes(parsed_note, p.note)
        prepared.append(p)

    with progress_callback(progress, "drift", unit="col") as cb:
        outputs = _core.drift_compare(
            [(p.name, p.kind, p.reference, p.current, p.k, p.test, bins) for p in prepared],
            cb,
        )
    results.update(_decide(prepared, outputs, alpha, correction, limits, min_effect))
    joint = None
    if joint_test is not None:
        numeric = [p for p in prepared if p.kind == "numeric" and results[p.name].tested]
        joint = dataset_test(
            [p.reference for p in numeric], [p.current for p in numeric], joint_test, alpha
        )
        config["multivariate"] = joint_test

    inputs, unfingerprinted = fingerprints.result()
    if unfingerprinted:
        config["fingerprint_skipped"] = unfingerprinted
    explanation = None if explain_shift is None else explain_shift()
    return _finish([results[n] for n in names], drift_share, config, inputs, joint, explanation)


def _text_pairs(
    names: Sequence[str], ref_cols: dict[str, Any], cur_cols: dict[str, Any]
) -> dict[str, tuple[tuple[Any, ...], tuple[str, str]]]:
    """The columns held as Arrow text on both sides, coded jointly by the core in one call
    (columns in parallel): ``{name: (core output, (dtype reference, dtype current))}``."""
    found: dict[str, tuple[Any, Any]] = {}
    for name in names:
        r = arrow_text(ref_cols[name])
        c = arrow_text(cur_cols[name]) if r is not None else None
        if r is not None and c is not None:
            found[name] = (r, c)
    if not found:
        return {}
    outputs = _core.drift_factorize_text([(n, r[1], c[1]) for n, (r, c) in found.items()])
    return {n: (o, (r[0], c[0])) for (n, (r, c)), o in zip(found.items(), outputs)}


def _finish(
    cols: list[ColumnDrift],
    drift_share: Optional[float],
    config: dict[str, Any],
    inputs: dict[str, str],
    multivariate: Optional[TestResult] = None,
    explanation: Optional[Report] = None,
) -> DriftReport:
    """The dataset verdict (a rejected multivariate test makes the dataset drifted), the
    report and its audit event."""
    tested = [c for c in cols if c.tested]
    n_drift = sum(c.drift for c in tested)
    if drift_share is None:
        drifted = n_drift > 0
    else:
        drifted = bool(tested) and n_drift / len(tested) >= drift_share
    drifted = drifted or bool(multivariate is not None and multivariate.drift)
    report = DriftReport(
        columns=cols,
        drifted=drifted,
        config=config,
        inputs=inputs,
        multivariate=multivariate,
        explanation=explanation,
    )
    record_check(
        "drift.compare",
        report.passed,
        report.inputs,
        drifted=report.drifted,
        columns=len(cols),
        drifted_columns=report.drifted_columns,
        schema_problems=report.schema_problems,
        untested=report.untested,
    )
    return report


def _decide(
    prepared: Sequence[Prepared],
    outputs: Sequence[dict[str, Any]],
    alpha: float,
    correction: str,
    limits: Mapping[str, float],
    min_effect: Optional[float],
) -> dict[str, ColumnDrift]:
    """The corrected p-values and the verdict of every compared column."""
    # One family: every test p-value and every missing-rate p-value of the report.
    family: list[float] = []
    slots: list[tuple[int, str]] = []
    for i, o in enumerate(outputs):
        empty = o["n_reference"] == 0 and o["n_current"] == 0
        outcome = o["outcome"]
        p_test = None if outcome is None or o["test"] in DISTANCES else outcome["pvalue"]
        if p_test is not None and not math.isnan(p_test):
            family.append(p_test)
            slots.append((i, "test"))
        mt = o["missing_test"]
        if mt is not None and not empty and not math.isnan(mt["pvalue"]):
            family.append(mt["pvalue"])
            slots.append((i, "missing"))
    adjusted = adjust_pvalues(family, correction)
    adj: dict[tuple[int, str], float] = {s: float(a) for s, a in zip(slots, adjusted)}

    out: dict[str, ColumnDrift] = {}
    for i, (p, o) in enumerate(zip(prepared, outputs)):
        out[p.name] = _column_result(
            p, o, adj.get((i, "test")), adj.get((i, "missing")), alpha, limits, min_effect
        )
    return out


def _column_result(
    p: Prepared,
    o: dict[str, Any],
    adj_p: Optional[float],
    adj_missing: Optional[float],
    alpha: float,
    limits: Mapping[str, float],
    min_effect: Optional[float] = None,
) -> ColumnDrift:
    test = o["test"]
    outcome = o["outcome"]
    effect = o["effect"]
    # One yardstick for every column: normalised Wasserstein (numbers), Jensen-Shannon.
    effect_value = None
    if effect is not None:
        effect_value = effect["effect_size"] if p.kind == "numeric" else effect["statistic"]
    nr, nc = o["n_reference"], o["n_current"]
    mr, mc = o["missing_reference"], o["missing_current"]
    note = p.note
    error = o["error"]
    statistic = pvalue = effect_size = threshold = None
    method = None
    value_drift = False
    if outcome is not None:
        statistic = outcome["statistic"]
        method = outcome["method"]
        effect_size = outcome["effect_size"]
        if test in DISTANCES:
            threshold = limits[test]
            _, value_drift = distance_drift(test, statistic, effect_size, threshold)
            if test == "psi":
                note = join_notes(note, f"PSI {statistic:.3g}: {psi_label(statistic)}")
        else:
            pvalue = outcome["pvalue"]
            threshold = alpha
            value_drift = adj_p is not None and adj_p < alpha
        e = _number(effect_value)
        if value_drift and min_effect is not None and e is not None and e < min_effect:
            value_drift = False
            note = join_notes(
                note, f"significant, but the effect {e:.3g} is below min_effect {min_effect:g}"
            )
    missing_drift = adj_missing is not None and adj_missing < alpha
    mt = o["missing_test"]
    if error is not None:
        status = STATUS_UNTESTED
    elif nr == 0 and nc == 0:
        status = STATUS_EMPTY
        note = join_notes(note, "no values on either side")
    elif outcome is None:
        side = "reference" if nr == 0 else "current"
        why = "all missing" if (mr if nr == 0 else mc) else "no rows"
        if missing_drift:
            status = STATUS_MISSING_DRIFT
            note = join_notes(note, f"no values on the {side} side ({why})")
        else:
            status = STATUS_UNTESTED
            error = f"no values on the {side} side ({why})"
    elif value_drift:
        status = STATUS_DRIFT
    elif missing_drift:
        status = STATUS_MISSING_DRIFT
    else:
        status = STATUS_OK
    if p.kind == "numeric" and (o["infinite_reference"] or o["infinite_current"]):
        note = join_notes(
            note,
            f"infinite values: {o['infinite_reference']} reference, "
            f"{o['infinite_current']} current (in the test, not in the plot)",
        )
    edges = p.original_edges(o["hist_edges"])
    labels: tuple[str, ...] = ()
    if p.kind == "categorical" and p.labels is not None:
        labels = tuple(p.labels[int(code)] for code in o["hist_codes"])
    return ColumnDrift(
        name=p.name,
        status=status,
        kind=p.kind,
        test=test,
        statistic=_number(statistic),
        pvalue=_number(pvalue),
        adjusted_pvalue=adj_p,
        method=method,
        effect_size=_number(effect_size),
        effect=_number(effect_value),
        threshold=threshold,
        drift=bool(value_drift or missing_drift),
        missing_drift=bool(missing_drift),
        missing_rate_reference=_rate(mr, nr),
        missing_rate_current=_rate(mc, nc),
        missing_pvalue=None if mt is None else _number(mt["pvalue"]),
        missing_adjusted_pvalue=adj_missing,
        n_reference=int(nr),
        n_current=int(nc),
        missing_reference=int(mr),
        missing_current=int(mc),
        infinite_reference=int(o["infinite_reference"]),
        infinite_current=int(o["infinite_current"]),
        categories=int(o["categories"]),
        new_categories=p.new_categories,
        dtype_reference=p.ref.dtype,
        dtype_current=p.cur.dtype,
        note=note,
        error=error,
        histogram=Histogram(
            edges=edges,
            labels=labels,
            reference=tuple(int(v) for v in o["hist_reference"]),
            current=tuple(int(v) for v in o["hist_current"]),
            unit=p.group if p.group in ("datetime", "timedelta", "time") else "number",
        ),
    )
