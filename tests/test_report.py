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
