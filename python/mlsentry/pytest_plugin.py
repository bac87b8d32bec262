"""The ``mlsentry`` pytest plugin: fixtures, saved reports and a summary of the checks.

Installed with the package (entry point ``pytest11``, name ``mlsentry``), so pytest loads
it by itself; ``-p no:mlsentry`` switches it off. Loading it imports pytest and the
``mlsentry`` package only (no numpy, pandas, scipy, MLflow, kfp or pyspark): a test
suite that does not use mlsentry does not pay for it.

Fixtures
--------
``mlsentry_reference`` (session)
    The reference dataset named by ``--mlsentry-reference PATH`` or the ini option
    ``mlsentry_reference`` (relative to the ini file), loaded once: ``.csv`` as a pandas
    DataFrame, ``.parquet``/``.pq`` as a pyarrow Table, ``.npy`` as a numpy array (the
    formats of ``mlsentry drift``). Without one, a test that asks for it fails and says
    how to set it.
``mlsentry_reference_path`` (session)
    That path, as a :class:`pathlib.Path`.
``mlsentry_audit_log``
    An :class:`~mlsentry.integrity.AuditLog` in the test's temporary folder, with
    ``MLSENTRY_AUDIT_LOG`` pointing to it for the test, so every check the test runs
    appends to it.
``mlsentry_report``
    The reports of the ``mlsentry.testing`` assertions made during the test, passed or
    failed (a :class:`ReportCollector`; ``add`` takes reports made another way).

Options
-------
``--mlsentry-report-dir DIR`` (ini ``mlsentry_report_dir``)
    Save the report of every assertion as HTML and JSON in ``DIR``, named after the
    test; a failure message names its file.

Summary
-------
After the run, a section ``mlsentry checks`` lists each ``mlsentry.testing`` assertion
(verdict, check, test, headline; "[the test passed]" marks a failure the test expected,
as with ``pytest.raises``), failures first; ``-v`` shows every one, else the first
30. The records travel with the test reports (``user_properties``, name ``mlsentry``, a
JSON object with ``check``, ``passed`` and ``summary``): they reach the JUnit XML
(``--junitxml``) as properties of each test case, and go wherever test reports go (the
pytest-xdist controller receives them with the reports of its workers).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import pytest

if TYPE_CHECKING:
    from .integrity import AuditLog
    from .report import Report

__all__ = ["ReportCollector"]

#: The ``user_properties`` name of a check record.
PROPERTY = "mlsentry"
#: Lines of the terminal summary without ``-v``.
SUMMARY_LINES = 30
_ITEM_REPORTS = pytest.StashKey["ReportCollector"]()


class ReportCollector:
    """The reports made during one test (the ``mlsentry_report`` fixture).

    Iterable and indexable, in the order they were made. ``passed`` is True when every
    one passed (also when there is none); ``failed`` lists those that did not.
    """

    def __init__(self) -> None:
        self._reports: list[Report] = []

    def add(self, report: Report) -> None:
        """Collect a report made without the ``mlsentry.testing`` assertions."""
        from .report import Report

        if not isinstance(report, Report):
            from .errors import InvalidTypeError

            raise InvalidTypeError(
                f"report: expected an mlsentry Report, got {type(report).__name__}"
            )
        self._reports.append(report)

    @property
    def passed(self) -> bool:
        return all(r.passed is not False for r in self._reports)

    @property
    def failed(self) -> list[Report]:
        return [r for r in self._reports if r.passed is False]

    def __iter__(self) -> Any:
        return iter(self._reports)

    def __len__(self) -> int:
        return len(self._reports)

    def __getitem__(self, index: int) -> Report:
        return self._reports[index]

    def __repr__(self) -> str:
        return f"<ReportCollector {len(self._reports)} report(s), {len(self.failed)} failed>"


class _Session:
    """What the plugin keeps for one pytest run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.item: Optional[pytest.Item] = None
        self.report_dir = _report_dir(config)
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.passed_tests: set[str] = set()


_SESSION = pytest.StashKey[_Session]()
# One per running pytest session, innermost last: pytester runs pytest inside pytest.
_SESSIONS: list[_Session] = []


def _record(check: str, passed: bool, headline: str, report: Optional[Report]) -> Optional[str]:
    """Called by :mod:`mlsentry.testing` for each finished assertion: note it on the
    running test, collect its report, save it. Returns the saved HTML's path, if any."""
    if not _SESSIONS or _SESSIONS[-1].item is None:
        return None
    session, item = _SESSIONS[-1], _SESSIONS[-1].item
    record = {"check": check, "passed": bool(passed), "summary": headline}
    item.user_properties.append((PROPERTY, json.dumps(record)))
    if report is None:
        return None
    collector = item.stash.setdefault(_ITEM_REPORTS, ReportCollector())
    collector.add(report)
    if session.report_dir is None:
        return None
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")
    if len(stem) > 150 or stem != item.nodeid.replace("/", "_").replace("::", "_"):
        # Cut or changed names could collide: tell them apart by the node id's digest.
        stem = f"{stem[:140]}-{hashlib.sha256(item.nodeid.encode()).hexdigest()[:8]}"
    base = os.path.join(session.report_dir, f"{stem}.{len(collector)}.{check}")
    report.save(base + ".html")
    report.save(base + ".json")
    return base + ".html"


# -- options ---------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlsentry", "mlsentry checks")
    group.addoption(
        "--mlsentry-reference",
        metavar="PATH",
        default=None,
        help="reference dataset of the mlsentry_reference fixture (.csv, .parquet, .npy)",
    )
    group.addoption(
        "--mlsentry-report-dir",
        metavar="DIR",
        default=None,
        help="save the report of every mlsentry.testing assertion (HTML and JSON) in DIR",
    )
    parser.addini(
        "mlsentry_reference",
        "reference dataset of the mlsentry_reference fixture, relative to the ini file",
        default="",
    )
    parser.addini(
        "mlsentry_report_dir",
        "folder for the reports of mlsentry.testing assertions, relative to the ini file",
        default="",
    )


def _ini_base(config: pytest.Config) -> Path:
    return config.inipath.parent if config.inipath is not None else config.rootpath


def _option_path(config: pytest.Config, name: str) -> Optional[Path]:
    """A path from ``--name`` (relative to the working folder pytest started in) or
    the ini option (relative to the ini file)."""
    cli = config.getoption(name, None)
    if cli:
        return config.invocation_params.dir / cli
    ini = str(config.getini(name) or "").strip()
    return _ini_base(config) / ini if ini else None


def _report_dir(config: pytest.Config) -> Optional[str]:
    path = _option_path(config, "mlsentry_report_dir")
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise pytest.UsageError(f"--mlsentry-report-dir: cannot create {path}: {e}") from None
    return str(path)


# -- hooks -----------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    session = _Session(config)
    config.stash[_SESSION] = session
    _SESSIONS.append(session)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is not None and session in _SESSIONS:
        _SESSIONS.remove(session)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Optional[pytest.Item]) -> Any:
    session = item.config.stash.get(_SESSION, None)
    if session is not None:
        session.item = item
    try:
        yield
    finally:
        if session is not None:
            session.item = None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not _SESSIONS:
        return
    if report.when == "call" and report.passed:
        _SESSIONS[-1].passed_tests.add(report.nodeid)
    # Every phase's report carries the test's user_properties; the teardown one has them all.
    if report.when != "teardown":
        return
    for name, value in report.user_properties:
        if name != PROPERTY or not isinstance(value, str):
            continue
        try:
            record = json.loads(value)
        except ValueError:
            continue  # someone else's property of the same name
        if isinstance(record, dict):
            _SESSIONS[-1].records.append((report.nodeid, record))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None or not session.records:
        return
    records = sorted(session.records, key=lambda r: bool(r[1].get("passed")))
    failed = sum(not r.get("passed") for _, r in records)
    tr = terminalreporter
    tr.write_sep("=", "mlsentry checks")
    limit = len(records) if config.getoption("verbose") > 0 else SUMMARY_LINES
    width = max(len(str(r.get("check", ""))) for _, r in records)
    for nodeid, r in records[:limit]:
        verdict = "PASSED" if r.get("passed") else "FAILED"
        tr.write(verdict, green=bool(r.get("passed")), red=not r.get("passed"), bold=True)
        # A failed check inside a test that passed was expected (pytest.raises): say so.
        caught = (
            " [the test passed]" if not r.get("passed") and nodeid in session.passed_tests else ""
        )
        tr.write_line(
            f" {str(r.get('check', '')).ljust(width)} {nodeid} - {r.get('summary')}{caught}"
        )
    if len(records) > limit:
        tr.write_line(f"... and {len(records) - limit} more (-v shows every check)")
    tr.write_line(
        f"{len(records)} mlsentry check{'s' if len(records) != 1 else ''}: "
        f"{len(records) - failed} passed, {failed} failed"
    )


# -- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mlsentry_reference_path(pytestconfig: pytest.Config) -> Path:
    """The path of the reference dataset (``--mlsentry-reference`` or the ini option)."""
    path = _option_path(pytestconfig, "mlsentry_reference")
    if path is None:
        pytest.fail(
            "mlsentry_reference: no reference dataset; pass --mlsentry-reference PATH or set "
            "mlsentry_reference = PATH in the pytest ini file",
            pytrace=False,
        )
    if not path.is_file():
        pytest.fail(f"mlsentry_reference: {path} is not a file", pytrace=False)
    return path


@pytest.fixture(scope="session")
def mlsentry_reference(mlsentry_reference_path: Path) -> Any:
    """The reference dataset, loaded once per session (``.csv``: pandas DataFrame,
    ``.parquet``: pyarrow Table, ``.npy``: numpy array)."""
    from ._tables import read_table
    from .errors import MlsentryError

    try:
        return read_table(str(mlsentry_reference_path))
    except (MlsentryError, OSError) as e:
        pytest.fail(f"mlsentry_reference: {e}", pytrace=False)


@pytest.fixture
def mlsentry_audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditLog:
    """An audit log in the test's temporary folder that every check of the test appends
    to (``MLSENTRY_AUDIT_LOG`` points to it until the test ends)."""
    from .integrity import AuditLog

    path = tmp_path / "mlsentry-audit.jsonl"
    monkeypatch.setenv("MLSENTRY_AUDIT_LOG", str(path))
    return AuditLog(path)


@pytest.fixture
def mlsentry_report(request: pytest.FixtureRequest) -> ReportCollector:
    """The reports of the ``mlsentry.testing`` assertions made during this test."""
    return request.node.stash.setdefault(_ITEM_REPORTS, ReportCollector())
