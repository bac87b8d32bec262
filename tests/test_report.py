"""The Report base class: metadata, JSON, self-contained HTML, save, notebook display."""

from __future__ import annotations

import json
import math
import re

import pytest

import mlsentry as ms
from mlsentry.errors import InvalidInputError
from mlsentry.report import Report, html_table


class _Check(Report):
    schema = "mlsentry/test-report/v1"
    title = "test check"

    def __init__(self, ok: bool, note: str = "") -> None:
        super().__init__(config={"threshold": 0.5}, inputs={"data": "sha256:" + "0" * 64}, seed=7)
        self.ok = ok
        self.note = note

    @property
    def passed(self) -> bool:
        return self.ok

    def _payload(self) -> dict:
        return {"note": self.note}


def test_to_dict_carries_metadata():
    d = _Check(True, "hi").to_dict()
    assert d["schema"] == "mlsentry/test-report/v1"
    assert d["mlsentry_version"] == ms.__version__
    assert d["passed"] is True
    assert d["seed"] == 7
    assert d["config"] == {"threshold": 0.5}
    assert d["inputs"]["data"].startswith("sha256:")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", d["created"])
    assert d["note"] == "hi"
    assert json.loads(_Check(False).to_json())["passed"] is False


def test_html_is_self_contained_and_escaped():
    page = _Check(False, "<script>alert(1)</script>").to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.replace("&lt;script&gt;", "")
    assert "http://" not in page and "https://" not in page  # no CDN, no external resource
    assert "FAILED" in page
    assert "<style>" in _Check(True)._repr_html_()


def test_save_by_suffix(tmp_path):
    r = _Check(True)
    r.save(tmp_path / "r.json")
    r.save(tmp_path / "r.html")
    assert json.loads((tmp_path / "r.json").read_text())["schema"] == r.schema
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(InvalidInputError, match=r"\.json or \.html"):
        r.save(tmp_path / "r.txt")


def test_summary_and_repr():
    assert "FAILED" in _Check(False).summary()
    assert repr(_Check(True)) == "<_Check passed=True>"


def test_html_table_marks_numbers_and_escapes():
    t = html_table(["a", "b"], [[1, "<x>"], [2.5, True]])
    assert '<td class="num">1</td>' in t
    assert "&lt;x&gt;" in t
    assert '<td class="num">True</td>' not in t


def test_unbounded_configuration_values_are_json():
    """A robustness report with an unbounded feature (upper bound inf) saves as JSON."""
    rep = _Check(True)
    rep.config["constraints"] = {"upper": [math.inf, 10.0], "lower": (-math.inf, math.nan)}
    d = json.loads(rep.to_json())
    assert d["config"]["constraints"] == {"upper": ["inf", 10.0], "lower": ["-inf", None]}
    assert rep.config["constraints"]["upper"][0] == math.inf  # the report itself is unchanged


def _reports(tmp_path):
    """One report of every kind, with the parts that are hardest to read back."""
    import pickle

    import numpy as np

    import mlsentry as ms

    rng = np.random.default_rng(0)
    n = 300
    ref = {
        "x": rng.normal(size=n),
        "c": rng.choice(["a", "b"], n),
        "id": np.arange(n),
        "gone": rng.normal(size=n),
        "inf": np.r_[rng.normal(size=n - 1), np.inf],
    }
    cur = {
        "x": rng.normal(1, 1, n),
        "c": rng.choice(["a", "b"], n),
        "id": np.arange(n, 2 * n),
        "new": rng.normal(size=n),
        "inf": rng.normal(size=n),
    }
    yield ms.drift.compare(ref, cur, min_effect=0.01)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"weights")
    key = ms.integrity.SigningKey.generate()
    env = ms.integrity.sign(ms.integrity.manifest(folder), key)
    (folder / "w.bin").write_bytes(b"changed")
    (folder / "extra.txt").write_text("x")
    yield ms.integrity.verify(folder, env, key.public_key)
    log = ms.integrity.AuditLog(tmp_path / "a.jsonl")
    log.append({"check": "x"})
    yield log.verify(key.public_key)  # no signed checkpoint: a problem of the whole log
    (tmp_path / "evil.pkl").write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps({"a": 1}))
    yield ms.scan.scan([tmp_path / "evil.pkl", tmp_path / "ok.pkl"])

    def model(x):
        s = x @ np.array([1.0, -1.0])
        return np.stack([-s, s], axis=1)

    X = rng.normal(size=(40, 2))
    y = (X @ np.array([1.0, -1.0]) > 0).astype(int)
    yield ms.robustness.evaluate(model, X, y, attacks=("noise", "hsj"), eps=[0.1, 1.0])
    yield ms.robustness.evaluate(model, X, y, attacks="square", eps=0.5, threshold=0.5)


def test_every_report_reads_back_as_its_class(tmp_path):
    from mlsentry import Report

    kinds = set()
    for i, report in enumerate(_reports(tmp_path)):
        path = tmp_path / f"r{i}.json"
        report.save(path)
        again = Report.load(path)
        assert type(again) is type(report), report.schema
        assert again.to_dict() == report.to_dict(), report.schema
        assert again.summary() == report.summary()
        assert again.to_html() == report.to_html()
        assert type(report).load(path).to_dict() == report.to_dict()  # from its own class
        kinds.add(report.schema)
    assert len(kinds) == 5


def test_reading_back_refuses_what_is_not_a_report(tmp_path):
    from mlsentry import Report
    from mlsentry.errors import InvalidInputError
    from mlsentry.scan import ScanReport

    cases = {
        "not.json": "{",
        "noschema.json": "{}",
        "unknown.json": '{"schema": "mlsentry/nope/v1"}',
        "broken.json": '{"schema": "mlsentry/verify-report/v1", "added": []}',
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InvalidInputError):
            Report.load(tmp_path / name)
    (tmp_path / "v.json").write_text(
        '{"schema": "mlsentry/verify-report/v1", "added": [], "removed": [], "modified": [],'
        ' "files_checked": 0}'
    )
    with pytest.raises(InvalidInputError, match="not a ScanReport"):
        ScanReport.load(tmp_path / "v.json")
