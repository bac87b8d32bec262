"""SARIF 2.1.0 from scan, verify and check, validated against the standard's JSON schema
(tests/evidence/sarif-schema-2.1.0.json: the OASIS schema as published in the
oasis-tcs/sarif-spec repository, sarif-2.1/schema/sarif-schema-2.1.0.json, errata 01)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from conftest import write_config

import mlsentry as ms
from mlsentry.cli import main

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())


def _valid(path) -> dict:
    log = json.loads(Path(path).read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert log["version"] == "2.1.0"
    return log


def _results(log):
    return log["runs"][0]["results"]


def test_the_schema_is_the_standard_one():
    assert SCHEMA["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    with pytest.raises(jsonschema.ValidationError):  # it does refuse a wrong log
        jsonschema.validate({"version": "2.1.0", "runs": [{"results": []}]}, SCHEMA)


def test_scan_levels_rules_and_locations(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("models").mkdir()
    Path("models/evil.pkl").write_bytes(b"\x80\x04cos\nsystem\n.")
    Path("models/odd.pkl").write_bytes(b"\x80\x04cmypkg.sub\nfunc\n)R.")
    Path("models/ok.npy").write_bytes(b"\x93NUMPY\x01\x00v\x00" + b" " * 117 + b"\n")
    with zipfile.ZipFile("models/bundle.zip", "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x04cos\nsystem\n.")
    assert main(["scan", "models", "--sarif", "scan.sarif", "--no-progress"]) == 1
    log = _valid("scan.sarif")
    by_file = {}
    for r in _results(log):
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        by_file[uri] = r
    assert by_file["models/evil.pkl"]["level"] == "error"
    assert by_file["models/evil.pkl"]["ruleId"] == "scan.pickle.dangerous-global"
    assert by_file["models/evil.pkl"]["locations"][0]["physicalLocation"]["region"] == {
        "byteOffset": 2
    }
    assert by_file["models/odd.pkl"]["level"] == "warning"
    inner = by_file["models/bundle.zip"]
    assert inner["level"] == "error" and "archive/data.pkl" in inner["message"]["text"]
    assert "region" not in inner["locations"][0]["physicalLocation"]  # offset is the member's
    rules = {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in _results(log)} <= rules
    assert log["runs"][0]["tool"]["driver"]["version"] == ms.__version__


def test_verify_changes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("m").mkdir()
    for name in ("a.bin", "b.bin"):
        Path("m", name).write_bytes(name.encode())
    ms.integrity.manifest("m").save("m.json")
    assert main(["verify", "m", "m.json", "--sarif", "clean.sarif", "--no-progress"]) == 0
    assert _results(_valid("clean.sarif")) == []
    Path("m/a.bin").write_bytes(b"changed")
    Path("m/b.bin").unlink()
    Path("m/new.bin").write_bytes(b"new")
    assert main(["verify", "m", "m.json", "--sarif", "v.sarif", "--no-progress"]) == 1
    found = {
        (r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in _results(_valid("v.sarif"))
    }
    assert found == {
        ("integrity.modified", "error", "m/a.bin"),
        ("integrity.removed", "error", "m/b.bin"),
        ("integrity.added", "warning", "m/new.bin"),
    }


def test_check_gives_one_result_per_gate_at_its_line(project):
    config = write_config(project, ["scan", "drift"])
    config.write_text(config.read_text().replace('"cur.csv"', '"shifted.csv"'))
    (project / "model" / "evil.pkl").write_bytes(b"\x80\x04cos\nsystem\n.")
    assert main(["check", "--sarif", "check.sarif"]) == 1
    results = _results(_valid(project / "check.sarif"))
    gates = [r for r in results if r["ruleId"].startswith("gate.")]
    assert [(r["ruleId"], r["kind"], r["level"]) for r in gates] == [
        ("gate.scan", "fail", "error"),
        ("gate.drift", "fail", "error"),
    ]
    where = gates[1]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "mlsentry.toml" and where["region"] == {
        "startLine": 8
    }
    assert any(r["ruleId"] == "scan.pickle.dangerous-global" for r in results)
    config.write_text(config.read_text().replace('"shifted.csv"', '"cur.csv"'))
    (project / "model" / "evil.pkl").unlink()
    assert main(["check", "--sarif", "check.sarif"]) == 0
    results = _results(_valid(project / "check.sarif"))
    assert {r["kind"] for r in results if r["ruleId"].startswith("gate.")} == {"pass"}
    assert {r["level"] for r in results} <= {"none", "note"}  # passed gates, info findings


def test_bad_arguments():
    with pytest.raises(ms.InvalidTypeError, match="reports: expected Report objects"):
        ms.evidence.to_sarif([{"schema": "x"}])
