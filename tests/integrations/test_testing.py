"""``mlsentry.testing`` (the assertions) and ``mlsentry.pytest_plugin`` (fixtures, saved
reports, terminal summary), the plugin run through pytest's own ``pytester``.

Failure messages are checked against the report they come from, never against numbers
written here. Tests of ``assert_safe_model`` run a real scan."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd  # imported before pytester runs: its module snapshot keeps it
import pyarrow.parquet  # noqa: F401  (same: the inner runs read Parquet)
import pytest

import mlsentry as ms
import mlsentry.drift
import mlsentry.integrity
import mlsentry.pytest_plugin
import mlsentry.robustness
import mlsentry.scan
from mlsentry import testing
from mlsentry.errors import InvalidInputError, PathNotFoundError
from mlsentry.testing import assert_integrity, assert_no_drift, assert_robust, assert_safe_model

pytest_plugins = ["pytester"]

# PROTO 4, GLOBAL "os system", MARK, SHORT_BINUNICODE "true", TUPLE, REDUCE, STOP: never loaded.
EVIL = b"\x80\x04cos\nsystem\n(\x8c\x04truetR."
# GLOBAL mypkg.models Net, EMPTY_TUPLE, REDUCE, STOP: a class no policy knows.
CUSTOM = b"\x80\x02cmypkg.models\nNet\n)R."


def table_rows(message: str, header_start: str) -> list[list[str]]:
    """The rows of the text table whose header starts with ``header_start``, split on
    runs of two or more spaces (cells are separated by at least two)."""
    lines = message.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    assert set(lines[start + 1].replace(" ", "")) == {"-"}
    rows = []
    for line in lines[start + 2 :]:
        if not line or line.startswith("... and "):
            break
        rows.append(re.split(r" {2,}", line))
    return rows


def shift_data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    ref = {
        "age": rng.normal(40, 10, n),
        "income": rng.lognormal(10, 1, n),
        "plan": rng.choice(list("abc"), n),
        "steady": rng.normal(size=n),
    }
    income = rng.lognormal(10, 1, n)
    income[:300] = np.nan
    cur = {
        "age": rng.normal(44, 10, n),
        "income": income,
        "plan": rng.choice(list("abc"), n, p=[0.6, 0.2, 0.2]),
        "steady": rng.normal(size=n),
        "extra": np.zeros(n),
    }
    return ref, cur


# --------------------------------------------------------------------------- drift


def test_no_drift_returns_the_passing_report():
    rng = np.random.default_rng(3)
    ref = {"x": rng.normal(size=1000), "c": rng.choice(["a", "b", "c"], 1000)}
    cur = {"x": rng.normal(size=1000), "c": rng.choice(["a", "b", "c"], 1000)}
    report = assert_no_drift(ref, cur)
    assert isinstance(report, ms.drift.DriftReport)
    assert report.passed and report.drifted_columns == []


def test_drift_message_is_the_table_of_columns_that_failed():
    ref, cur = shift_data()
    with pytest.raises(AssertionError) as failure:
        assert_no_drift(ref, cur)
    report = failure.value.report
    message = str(failure.value)
    assert message.splitlines()[0] == "assert_no_drift: " + report.summary().splitlines()[0]
    rows = {r[0]: r for r in table_rows(message, "column")}
    # Every drifted or schema-problem column, nothing else.
    assert set(rows) == {*report.drifted_columns, *report.schema_problems}
    assert set(report.drifted_columns) == {"age", "income", "plan"}
    assert "steady" not in rows and report.only_in_current == ["extra"]
    assert rows["extra"][1] == "only in current"
    for name in ("age", "plan"):
        c = report[name]
        assert rows[name][1:4] == ["drift", c.test, f"{c.statistic:.4g}"]
        assert float(rows[name][5]) == pytest.approx(c.adjusted_pvalue, rel=1e-2)
        assert float(rows[name][6]) == c.threshold
    # The missing rate is what drifted in "income": 0% -> 15%, with its adjusted p-value.
    income = report["income"]
    assert income.status == "missing-rate drift"
    assert "0.0% -> 15.0% (adj. p " in rows["income"][-1]
    # Most significant first.
    order = [r[0] for r in table_rows(message, "column")]
    assert order[-1] == "extra"


def test_drift_message_of_a_distance_shows_the_normalised_value_and_its_threshold():
    rng = np.random.default_rng(4)
    ref, cur = {"x": rng.normal(size=3000)}, {"x": rng.normal(0.5, 1, 3000)}
    with pytest.raises(AssertionError) as failure:
        assert_no_drift(ref, cur, tests="wasserstein", thresholds={"wasserstein": 0.2})
    c = failure.value.report["x"]
    [row] = table_rows(str(failure.value), "column")
    assert row[:4] == ["x", "drift", "wasserstein", f"{c.effect_size:.4g}"]
    assert row[4] == "0.2"  # no p-value: the threshold comes next
    assert c.effect_size >= 0.2


def test_drift_kwargs_reach_compare():
    ref, cur = shift_data()
    assert assert_no_drift(ref, cur, columns=["steady"]).passed
    with pytest.raises(InvalidInputError, match="alpha"):
        assert_no_drift(ref, cur, alpha=2.0)
    with pytest.raises(TypeError):
        assert_no_drift(ref, cur, no_such_option=1)


def test_schema_problems_fail_though_nothing_drifted():
    rng = np.random.default_rng(5)
    x = rng.normal(size=500)
    with pytest.raises(AssertionError) as failure:
        assert_no_drift({"x": x, "y": x}, {"x": x, "y": np.array(["a"] * 500)})
    [row] = table_rows(str(failure.value), "column")
    assert row[:2] == ["y", "type changed"]
    assert "float64 -> " in row[-1]


def test_long_tables_are_cut_with_a_count(monkeypatch):
    rng = np.random.default_rng(6)
    ref = {f"c{i:02d}": rng.normal(size=400) for i in range(30)}
    cur = {f"c{i:02d}": rng.normal(2, 1, 400) for i in range(30)}
    with pytest.raises(AssertionError) as failure:
        assert_no_drift(ref, cur)
    assert len(table_rows(str(failure.value), "column")) == testing.MAX_ROWS == 20
    assert str(failure.value).endswith("... and 10 more")
    monkeypatch.setattr(testing, "MAX_ROWS", 4)
    with pytest.raises(AssertionError) as failure:
        assert_no_drift(ref, cur)
    assert len(table_rows(str(failure.value), "column")) == 4
    assert str(failure.value).endswith("... and 26 more")


def test_long_cells_are_shortened():
    name = "a_column_name_much_longer_than_any_table_should_show_" * 3
    rng = np.random.default_rng(7)
    with pytest.raises(AssertionError) as failure:
        assert_no_drift({name: rng.normal(size=300)}, {name: rng.normal(3, 1, 300)})
    [row] = table_rows(str(failure.value), "column")
    assert len(row[0]) == testing.MAX_CELL and row[0].endswith("...")
    assert name.startswith(row[0][:-3])


# ---------------------------------------------------------------------- robustness


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    w = np.array([1.0, -1.0, 0.5])
    y = (X @ w > 0).astype(int)

    def model(x):
        s = x @ w
        return np.stack([-s, s], axis=1)

    return model, X, y


ROBUST_ARGS = {"attacks": ("noise", "square"), "max_queries": 60, "seed": 1}


def test_robust_returns_the_passing_report(linear):
    model, X, y = linear
    report = assert_robust(model, X, y, eps=1e-4, min_robust_accuracy=0.9, **ROBUST_ARGS)
    assert report.passed and report.threshold == 0.9 and report.eps == [1e-4]


def test_robust_message_shows_each_budget_against_the_bar(linear):
    model, X, y = linear
    measured = ms.robustness.evaluate(model, X, y, eps=[0.05, 0.3], **ROBUST_ARGS)
    (lo_small, _), (lo_big, _) = measured.robust_interval
    acc_small = measured.robust_accuracy[0]
    # A bar between the lower bound and the point estimate at eps 0.05: the point estimate
    # meets it, the check must not (it applies to the lower bound), and eps 0.3 is far below.
    bar = round((lo_small + acc_small) / 2, 3)
    assert lo_small < bar <= acc_small and lo_big < bar
    with pytest.raises(AssertionError) as failure:
        assert_robust(model, X, y, eps=[0.05, 0.3], min_robust_accuracy=bar, **ROBUST_ARGS)
    report = failure.value.report
    assert report.robust_accuracy == measured.robust_accuracy  # seeded: the same run
    message = str(failure.value)
    assert message.splitlines()[0].startswith(
        f"assert_robust: Robustness evaluation: FAILED: robust accuracy below {bar:g} at eps "
        f"0.05 (lower 95% bound {lo_small:.4f}), 0.3 (lower 95% bound {lo_big:.4f})"
    )
    rows = table_rows(message, "eps")
    assert rows == [
        [f"{e:g}", f"{a:.4f}", f"[{lo:.4f}, {hi:.4f}]", f"{bar:g}", "BELOW"]
        for e, a, (lo, hi) in zip(report.eps, report.robust_accuracy, report.robust_interval)
    ]
    attacks = table_rows(message, "attack")
    assert [(r[0], r[1], r[2]) for r in attacks] == [
        (a.attack, f"{a.eps:g}", f"{a.successes}/{a.attacked}") for a in report.attacks
    ]


def test_robust_verdict_per_budget(linear):
    model, X, y = linear
    with pytest.raises(AssertionError) as failure:
        assert_robust(model, X, y, eps=[1e-4, 0.5], min_robust_accuracy=0.9, **ROBUST_ARGS)
    verdicts = [r[-1] for r in table_rows(str(failure.value), "eps")]
    assert verdicts == ["ok", "BELOW"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"min_robust_accuracy": 1.5}, InvalidInputError, "min_robust_accuracy"),
        ({"min_robust_accuracy": True}, InvalidInputError, "min_robust_accuracy"),
        ({"min_robust_accuracy": "0.9"}, InvalidInputError, "min_robust_accuracy"),
        ({"min_robust_accuracy": 0.9, "threshold": 0.9}, InvalidInputError, "threshold"),
        ({}, TypeError, "min_robust_accuracy"),
    ],
)
def test_robust_bad_bar(linear, kwargs, error, match):
    model, X, y = linear
    with pytest.raises(error, match=match):
        assert_robust(model, X, y, eps=0.1, **kwargs)


# ----------------------------------------------------------------------- integrity


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def release(tmp_path):
    root = tmp_path / "release"
    (root / "weights").mkdir(parents=True)
    (root / "config.json").write_bytes(b"{}")
    (root / "weights" / "w0.bin").write_bytes(b"abc")
    (root / "weights" / "w1.bin").write_bytes(b"xyz")
    return root


def test_integrity_returns_the_passing_report(release):
    manifest = ms.integrity.manifest(release)
    report = assert_integrity(release, manifest)
    assert isinstance(report, ms.integrity.VerifyReport) and report.files_checked == 3
    manifest.save(release.parent / "m.json")
    assert assert_integrity(release, release.parent / "m.json").ok


def test_integrity_message_lists_each_change(release):
    manifest = ms.integrity.manifest(release)
    (release / "weights" / "w0.bin").write_bytes(b"abcd")
    (release / "weights" / "w1.bin").unlink()
    (release / "extra.py").write_bytes(b"print(1)")
    with pytest.raises(AssertionError) as failure:
        assert_integrity(release, manifest)
    message = str(failure.value)
    assert message.splitlines()[0] == (
        "assert_integrity: Integrity verification: FAILED (1 modified, 1 added, 1 removed)"
    )
    rows = table_rows(message, "change")
    assert rows == [
        [
            "modified",
            "weights/w0.bin",
            sha(b"abc")[:23] + "...",
            sha(b"abcd")[:23] + "...",
            "3 -> 4",
        ],
        ["added", "extra.py"],
        ["removed", "weights/w1.bin"],
    ]
    assert failure.value.report.modified[0].path == "weights/w0.bin"


def test_long_paths_keep_their_file_name(release):
    manifest = ms.integrity.manifest(release)
    deep = release / ("nested_folder_" * 4) / ("sub_" * 10)
    deep.mkdir(parents=True)
    (deep / "adapter.safetensors").write_bytes(b"x")
    with pytest.raises(AssertionError) as failure:
        assert_integrity(release, manifest)
    [row] = table_rows(str(failure.value), "change")
    path = failure.value.report.added[0]
    assert len(path) > testing.MAX_CELL
    assert row[:2] == ["added", "..." + path[3 - testing.MAX_CELL :]]
    assert row[1].endswith("/adapter.safetensors") and len(row[1]) == testing.MAX_CELL


def test_integrity_signed_manifest(release, tmp_path):
    key = ms.integrity.SigningKey.generate()
    envelope = ms.integrity.sign(ms.integrity.manifest(release), key)
    assert assert_integrity(release, envelope, key.public_key).ok
    other = ms.integrity.SigningKey.generate()
    with pytest.raises(AssertionError, match=r"^assert_integrity: SignatureError: ") as failure:
        assert_integrity(release, envelope, other.public_key)
    assert isinstance(failure.value.__cause__, ms.SignatureError)
    # Signed and intact, then a file changes: the table again.
    (release / "config.json").write_bytes(b"{ }")
    with pytest.raises(AssertionError) as failure:
        assert_integrity(release, envelope, key.public_key)
    assert table_rows(str(failure.value), "change")[0][:2] == ["modified", "config.json"]


def test_integrity_hand_edited_manifest_fails_the_assertion(release, tmp_path):
    manifest = ms.integrity.manifest(release)
    data = json.loads(manifest.to_json())
    data["files"][0]["digest"] = sha(b"something else")
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    with pytest.raises(AssertionError, match=r"^assert_integrity: ManifestError: invalid manifest"):
        assert_integrity(release, path)


def test_integrity_missing_folder_is_an_error_not_a_failure(tmp_path, release):
    manifest = ms.integrity.manifest(release)
    with pytest.raises(PathNotFoundError):
        assert_integrity(tmp_path / "nowhere", manifest)


# ---------------------------------------------------------------------------- scan


def test_safe_model_returns_the_passing_report(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.arange(10.0))
    report = assert_safe_model(path)
    assert report.safe and len(report.files) == 1


def test_unsafe_model_message_names_the_global_and_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # short paths: the table shows them whole
    model = Path("model")
    model.mkdir()
    (model / "evil.pkl").write_bytes(EVIL)
    (model / "custom.pkl").write_bytes(CUSTOM)
    np.save(model / "fine.npy", np.arange(3.0))
    with pytest.raises(AssertionError) as failure:
        assert_safe_model(model)
    report = failure.value.report
    message = str(failure.value)
    assert message.splitlines()[0] == "assert_safe_model: " + report.summary().splitlines()[0]
    assert report.dangerous and report.unknown and len(report.files) == 3
    rows = table_rows(message, "severity")
    shown = [f for f in report.findings if f.severity != "info"]
    assert len(rows) == len(shown)
    for row, f in zip(rows, shown):  # most serious first, as the report orders them
        assert row[0] == f.severity and row[1] == f.file
        assert f.rule in row and (f.offset is None or str(f.offset) in row)
        assert f.global_name is None or f.global_name in row
    assert rows[0][0] == "dangerous" and rows[-1][0] == "unknown"
    assert any("os.system" in r for r in rows) and any("mypkg.models.Net" in r for r in rows)
    assert not any("fine.npy" in r[1] for r in rows)


def test_safe_model_policy_allows_a_known_class(tmp_path):
    path = tmp_path / "custom.pkl"
    path.write_bytes(CUSTOM)
    with pytest.raises(AssertionError, match="unknown"):
        assert_safe_model(path)
    assert assert_safe_model(path, {"allow": {"globals": ["mypkg.models.Net"]}}).safe
    # A policy that would allow a dangerous global is an input error, not a verdict.
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(EVIL)
    with pytest.raises(InvalidInputError):
        assert_safe_model(evil, {"allow": {"globals": ["os.system"]}})


def test_safe_model_bad_input_is_an_error(tmp_path):
    with pytest.raises(PathNotFoundError):
        assert_safe_model(tmp_path / "nowhere.pkl")


def test_assertions_record_nothing_outside_pytest_plugin_sessions(monkeypatch):
    # With the plugin module loaded but no session running (a plain script), nothing is
    # recorded and nothing is saved: _record answers None.
    monkeypatch.setattr(mlsentry.pytest_plugin, "_SESSIONS", [])
    assert mlsentry.pytest_plugin._record("assert_x", True, "headline", None) is None


# ---------------------------------------------------------------- plugin (pytester)

CHECKS_FILE = """
    import numpy as np
    import mlsentry as ms
    from mlsentry.testing import assert_integrity, assert_no_drift

    def test_unchanged(tmp_path):
        (tmp_path / "w.bin").write_bytes(b"abc")
        assert_integrity(tmp_path, ms.integrity.manifest(tmp_path))

    def test_drifted():
        rng = np.random.default_rng(0)
        assert_no_drift({"age": rng.normal(size=500)}, {"age": rng.normal(1, 1, 500)})

    def test_no_check():
        pass
"""


def test_plugin_is_registered_as_a_pytest11_entry_point():
    [ep] = [e for e in entry_points(group="pytest11") if e.name == "mlsentry"]
    assert ep.value == "mlsentry.pytest_plugin"
    assert ep.load() is mlsentry.pytest_plugin


def test_summary_lists_each_check_with_its_verdict(pytester):
    pytester.makepyfile(CHECKS_FILE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= mlsentry checks =*",
            "FAILED assert_no_drift  test_*.py::test_drifted - Drift comparison: FAILED: "
            "DRIFT in 1 of 1 column*",
            "PASSED assert_integrity test_*.py::test_unchanged - Integrity verification: "
            "PASSED (1 file unchanged)",
            "2 mlsentry checks: 1 passed, 1 failed",
        ]
    )
    # The failure shows the table, and no frame of mlsentry's own code.
    result.stdout.fnmatch_lines(["E * AssertionError: assert_no_drift: Drift comparison*"])
    result.stdout.fnmatch_lines(["E * age *drift *ks *"])
    result.stdout.no_fnmatch_line("*mlsentry/testing.py*")


def test_summary_absent_without_checks_and_without_the_plugin(pytester):
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*mlsentry checks*")
    pytester.makepyfile(CHECKS_FILE)
    # In a process of its own: in this one, the plugin module is loaded by the outer run.
    result = pytester.runpytest_subprocess("-p", "no:mlsentry")
    result.assert_outcomes(passed=2, failed=1)  # the assertions work all the same
    result.stdout.fnmatch_lines(["E * age *drift *ks *"])
    result.stdout.no_fnmatch_line("*mlsentry checks*")


def test_summary_is_bounded_unless_verbose(pytester):
    pytester.makepyfile(
        """
        import pytest
        import mlsentry as ms
        from mlsentry.testing import assert_integrity

        @pytest.mark.parametrize("i", range(35))
        def test_many(tmp_path, i):
            (tmp_path / "w.bin").write_bytes(b"abc")
            assert_integrity(tmp_path, ms.integrity.manifest(tmp_path))
        """
    )
    result = pytester.runpytest()
    lines = [line for line in result.outlines if line.startswith("PASSED assert_integrity")]
    assert len(lines) == mlsentry.pytest_plugin.SUMMARY_LINES == 30
    result.stdout.fnmatch_lines(
        ["... and 5 more (-v shows every check)", "35 mlsentry checks: 35 passed, 0 failed"]
    )
    result = pytester.runpytest("-v")
    assert sum(line.startswith("PASSED assert_integrity") for line in result.outlines) == 35


def test_records_reach_junit_xml(pytester):
    pytester.makepyfile(CHECKS_FILE)
    pytester.runpytest("--junitxml=out.xml")
    tree = ElementTree.parse(pytester.path / "out.xml")
    found = {
        case.get("name"): [json.loads(p.get("value")) for p in case.iter("property")]
        for case in tree.iter("testcase")
    }
    assert [r["check"] for r in found["test_unchanged"]] == ["assert_integrity"]
    [drift] = found["test_drifted"]
    assert drift["check"] == "assert_no_drift" and drift["passed"] is False
    assert drift["summary"].startswith("Drift comparison: FAILED: DRIFT in 1 of 1 column")
    assert found["test_no_check"] == []


def test_mlsentry_report_collects_the_test_reports(pytester):
    pytester.makepyfile(
        """
        import numpy as np
        import pytest
        import mlsentry as ms
        from mlsentry.testing import assert_integrity, assert_no_drift

        def test_collect(mlsentry_report, tmp_path):
            assert len(mlsentry_report) == 0 and mlsentry_report.passed
            (tmp_path / "w.bin").write_bytes(b"abc")
            ok = assert_integrity(tmp_path, ms.integrity.manifest(tmp_path))
            rng = np.random.default_rng(0)
            with pytest.raises(AssertionError) as failure:
                assert_no_drift({"a": rng.normal(size=300)}, {"a": rng.normal(2, 1, 300)})
            assert list(mlsentry_report) == [ok, failure.value.report]
            assert mlsentry_report[1] is failure.value.report
            assert mlsentry_report.failed == [failure.value.report]
            assert not mlsentry_report.passed
            mine = ms.drift.compare({"a": [1.0, 2.0, 3.0]}, {"a": [1.0, 2.0, 3.0]})
            mlsentry_report.add(mine)
            assert len(mlsentry_report) == 3
            with pytest.raises(TypeError, match="Report"):
                mlsentry_report.add({"passed": True})

        def test_fresh_per_test(mlsentry_report):
            assert len(mlsentry_report) == 0
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_mlsentry_audit_log_receives_the_checks(pytester, monkeypatch):
    monkeypatch.delenv("MLSENTRY_AUDIT_LOG", raising=False)
    pytester.makepyfile(
        """
        import os
        import mlsentry as ms
        from mlsentry.testing import assert_integrity

        def test_logged(mlsentry_audit_log, tmp_path):
            assert os.environ["MLSENTRY_AUDIT_LOG"] == mlsentry_audit_log.path
            assert mlsentry_audit_log.path.startswith(str(tmp_path))
            (tmp_path / "w.bin").write_bytes(b"abc")
            assert_integrity(tmp_path, ms.integrity.manifest(tmp_path))
            entries = mlsentry_audit_log.entries()
            assert [e["event"]["check"] for e in entries] == ["verify"]
            assert entries[0]["event"]["passed"] is True
            assert mlsentry_audit_log.verify().ok

        def test_restored_after():
            assert "MLSENTRY_AUDIT_LOG" not in os.environ
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_report_dir_saves_each_report(pytester):
    pytester.makepyfile(CHECKS_FILE)
    result = pytester.runpytest("--mlsentry-report-dir", "reports")
    result.assert_outcomes(passed=2, failed=1)
    saved = sorted(p.name for p in (pytester.path / "reports").iterdir())
    stem = "test_report_dir_saves_each_report.py_"
    assert saved == [
        f"{stem}test_drifted.1.assert_no_drift.html",
        f"{stem}test_drifted.1.assert_no_drift.json",
        f"{stem}test_unchanged.1.assert_integrity.html",
        f"{stem}test_unchanged.1.assert_integrity.json",
    ]
    data = json.loads((pytester.path / "reports" / saved[1]).read_text())
    assert data["schema"] == "mlsentry/drift-report/v1" and data["passed"] is False
    html = (pytester.path / "reports" / saved[0]).read_text()
    assert html.startswith("<!DOCTYPE html>") and "age" in html
    # The failure message names the saved page.
    result.stdout.fnmatch_lines([f"E * report saved to */reports/{saved[0]}"])


def test_report_dir_names_stay_apart(pytester):
    pytester.makepyfile(
        """
        import pytest
        import mlsentry as ms
        from mlsentry.testing import assert_integrity

        @pytest.mark.parametrize("name", ["a/b", "a_b", "a b", "x" * 300])
        def test_p(tmp_path, name):
            (tmp_path / "w.bin").write_bytes(b"abc")
            assert_integrity(tmp_path, ms.integrity.manifest(tmp_path))
            assert_integrity(tmp_path, ms.integrity.manifest(tmp_path))
        """
    )
    pytester.runpytest("--mlsentry-report-dir", "r").assert_outcomes(passed=4)
    names = [p.name for p in (pytester.path / "r").iterdir()]
    assert len(names) == 4 * 2 * 2 and max(len(n) for n in names) < 200
    assert sum(".2.assert_integrity.html" in n for n in names) == 4


def test_report_dir_from_the_ini_file_is_relative_to_it(pytester, monkeypatch):
    pytester.makeini("[pytest]\nmlsentry_report_dir = out/reports\n")
    pytester.makepyfile(CHECKS_FILE)
    sub = pytester.mkdir("elsewhere")
    monkeypatch.chdir(sub)
    result = pytester.runpytest(str(pytester.path))
    result.assert_outcomes(passed=2, failed=1)
    assert len(list((pytester.path / "out" / "reports").iterdir())) == 4
    assert not (sub / "out").exists()


def test_report_dir_that_cannot_be_made_is_a_usage_error(pytester):
    (pytester.path / "file").write_text("")
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--mlsentry-report-dir", "file/reports")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mlsentry-report-dir: cannot create *file/reports*"])


REFERENCE_TEST = """
    import numpy as np
    import mlsentry as ms
    from mlsentry.testing import assert_no_drift

    def test_batch(mlsentry_reference, mlsentry_reference_path):
        assert mlsentry_reference_path.name.startswith("reference")
        current = np.random.default_rng(1).normal(size=(400, 2))
        assert_no_drift(mlsentry_reference, {"0": current[:, 0], "1": current[:, 1]}
                        if isinstance(mlsentry_reference, np.ndarray) else
                        {"a": current[:, 0], "b": current[:, 1]})

    def test_same_object_in_the_session(mlsentry_reference, request):
        assert mlsentry_reference is request.getfixturevalue("mlsentry_reference")
"""


def write_reference(folder: Path, suffix: str) -> Path:
    values = np.random.default_rng(0).normal(size=(400, 2))
    path = folder / f"reference{suffix}"
    if suffix == ".npy":
        np.save(path, values)
    elif suffix == ".csv":
        pd.DataFrame(values, columns=["a", "b"]).to_csv(path, index=False)
    else:
        pd.DataFrame(values, columns=["a", "b"]).to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npy"])
def test_reference_from_the_command_line(pytester, suffix):
    write_reference(pytester.mkdir("data"), suffix)
    pytester.makepyfile(REFERENCE_TEST)
    result = pytester.runpytest("--mlsentry-reference", f"data/reference{suffix}")
    result.assert_outcomes(passed=2)


def test_reference_from_the_ini_file_is_relative_to_it(pytester, monkeypatch):
    write_reference(pytester.mkdir("data"), ".csv")
    pytester.makeini("[pytest]\nmlsentry_reference = data/reference.csv\n")
    pytester.makepyfile(REFERENCE_TEST)
    monkeypatch.chdir(pytester.mkdir("sub"))  # started elsewhere: still found
    result = pytester.runpytest(str(pytester.path))
    result.assert_outcomes(passed=2)


def test_reference_problems_fail_with_a_clear_message(pytester):
    pytester.makepyfile("def test_x(mlsentry_reference):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*mlsentry_reference: no reference dataset; pass --mlsentry-reference PATH*"]
    )
    result = pytester.runpytest("--mlsentry-reference", "missing.csv")
    result.stdout.fnmatch_lines(["*mlsentry_reference: */missing.csv is not a file*"])
    (pytester.path / "reference.xlsx").write_bytes(b"PK")
    result = pytester.runpytest("--mlsentry-reference", "reference.xlsx")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mlsentry_reference: FILE: cannot tell the format of *"])


def test_plugin_import_is_light_and_fast():
    code = (
        "import sys, time; t = time.perf_counter(); import mlsentry.pytest_plugin; "
        "print(time.perf_counter() - t); "
        "print(','.join(sorted(m for m in ('numpy', 'pandas', 'scipy', 'pyarrow', 'mlflow', "
        "'kfp', 'pyspark', 'sklearn', 'torch') if m in sys.modules)))"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    wall = time.perf_counter() - started
    assert out[1] == ""  # none of them
    assert float(out[0]) < 1.0 and wall < 5.0  # typically 0.1 s and 0.2 s here


def test_readme_pytest_section_runs(pytester, readme_blocks):
    [block] = readme_blocks("pytest")
    rng = np.random.default_rng(0)
    # The files the README's test module reads.
    pd.DataFrame({"age": rng.normal(40, 10, 1000), "plan": rng.choice(["a", "b"], 1000)}).to_csv(
        pytester.path / "reference.csv", index=False
    )
    pd.DataFrame({"age": rng.normal(40, 10, 1000), "plan": rng.choice(["a", "b"], 1000)}).to_csv(
        pytester.path / "batch.csv", index=False
    )
    (pytester.path / "model").mkdir()
    np.save(pytester.path / "model" / "weights.npy", np.array([1.0, -2.0, 0.5]))
    ms.integrity.manifest(pytester.path / "model").save(pytester.path / "model.manifest.json")
    X = rng.normal(size=(200, 3))
    np.save(pytester.path / "holdout_X.npy", X)
    np.save(pytester.path / "holdout_y.npy", (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(int))
    pytester.makepyfile(test_release=block)
    result = pytester.runpytest("--mlsentry-reference", "reference.csv")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["4 mlsentry checks: 4 passed, 0 failed"])
