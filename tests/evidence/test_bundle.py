"""The evidence bundle: a release run end to end verifies; any changed byte, dropped or
added member, replayed audit entry or other key fails, naming what."""

from __future__ import annotations

import hashlib
import json
import time
import zipfile

import numpy as np
import pytest
from conftest import write_config

import mlsentry as ms
from mlsentry.cli import main
from mlsentry.errors import InvalidInputError, InvalidTypeError


@pytest.fixture
def release(project, capsys):
    """``mlsentry check --evidence`` over scan, verify, drift and robustness with an
    audit log: (bundle path, key)."""
    write_config(
        project,
        ["scan", "verify", "drift", "robustness"],
        head='report_dir = "reports"\naudit_log = "audit.jsonl"\n'
        'manifests = ["model.manifest.json"]\ncontrols = ["eu-ai-act", "nist-ai-rmf", "hipaa"]\n',
    )
    key = ms.integrity.SigningKey.generate("ecdsa-p256")
    key.save(project / "k.pem")
    key.public_key.save(project / "k.pub")
    assert main(["check", "--evidence", "release.evidence", "--key", "k.pem"]) == 0
    capsys.readouterr()
    return project / "release.evidence", key


def _rewrite(path, change):
    """Rewrite the bundle's members through ``change(dict name -> bytes)``."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    change(members)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_the_release_run_verifies(release, capsys):
    path, key = release
    assert main(["evidence", "verify", str(path), "--pub", "k.pub"]) == 0
    assert "PASSED" in capsys.readouterr().out
    report = ms.evidence.verify(path, key.public_key)
    assert report.passed and report.problems == []
    assert [c["kind"] for c in report.checks] == ["scan", "verify", "drift", "robustness"]
    assert all(c["verdict"] == "PASSED" for c in report.checks)
    assert report.entries_proved == 4  # one audit entry per check, each proved
    assert report.inputs["bundle"] == ms.integrity.hash_file(path)
    by_id = {c["id"]: c for c in report.coverage}
    assert {k["name"] for k in by_id["Art. 15(5)"]["checks"]} == {
        "scan gate",
        "verify gate",
        "robustness gate",
    }
    assert by_id["Art. 12"]["covered"] and by_id["164.312(a)(1)"]["covered"] is False
    assert "MEASURE 2.11" in {c["id"] for c in report.not_covered}  # no fairness check
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        index = json.loads(z.read("index.json"))
        page = z.read("index.html").decode()
        statement = json.loads(z.read("statement.dsse.json"))
        env = json.loads(z.read("environment.json"))
    assert {"index.json", "index.html", "controls.toml", "environment.json",
            "audit/entries.jsonl", "audit/proofs.json", "audit/checkpoint.json",
            "manifests/model.manifest.json.json", "reports/scan-gate.json",
            "reports/robustness-gate.html"} <= names  # fmt: skip
    assert index["manifests"][0]["root"] == ms.integrity.manifest(path.parent / "model").root
    assert "not covered" in page and 'href="reports/drift-gate.html"' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert statement["payloadType"] == "application/vnd.in-toto+json"
    assert env["mlsentry_version"] == ms.__version__
    assert any(p["name"] == "numpy" and p["record"].startswith("sha256:") for p in env["packages"])
    again = ms.Report.from_dict(report.to_dict())
    assert type(again) is type(report) and again.to_dict() == report.to_dict()
    assert report.to_html().startswith("<!DOCTYPE html>")


def _members(path):
    with zipfile.ZipFile(path) as z:
        return z.namelist()


def test_changing_any_byte_of_any_member_fails_naming_it(release):
    path, key = release
    original = path.read_bytes()
    for name in _members(path):
        path.write_bytes(original)

        def flip(members, name=name):
            data = bytearray(members[name])
            data[len(data) // 2] ^= 0x01
            members[name] = bytes(data)

        _rewrite(path, flip)
        report = ms.evidence.verify(path, key.public_key)
        assert not report.passed, name
        assert report.problems[0].member == name, (name, report.problems)


def test_dropping_or_adding_a_member_fails(release, capsys):
    path, key = release
    original = path.read_bytes()
    for name in _members(path):
        path.write_bytes(original)
        _rewrite(path, lambda m, name=name: m.pop(name))
        report = ms.evidence.verify(path, key.public_key)
        assert not report.passed and name in {p.member for p in report.problems}, name
    path.write_bytes(original)
    _rewrite(path, lambda m: m.update({"reports/extra.json": b"{}"}))
    report = ms.evidence.verify(path, key.public_key)
    assert [str(p) for p in report.problems] == [
        "reports/extra.json: not covered by the signed statement (added after signing)"
    ]
    assert main(["evidence", "verify", str(path), "--pub", "k.pub"]) == 1


def test_another_key_fails(release):
    path, _ = release
    other = ms.integrity.SigningKey.generate()
    report = ms.evidence.verify(path, other.public_key)
    assert not report.passed and report.problems[0].member == "statement.dsse.json"
    assert "does not verify with key" in report.problems[0].what


def _resign(members, key):
    """Sign the changed members again, as someone holding the key would."""
    subjects = [
        {"name": n, "digest": {"sha256": hashlib.sha256(d).hexdigest()}}
        for n, d in sorted(members.items())
        if n != "statement.dsse.json"
    ]
    old = ms.integrity.verify_envelope(members["statement.dsse.json"], key.public_key)
    env = ms.integrity.sign_statement({**old, "subject": subjects}, key)
    members["statement.dsse.json"] = env.to_json().encode()


def test_replaying_an_old_audit_entry_fails(project, tmp_path, monkeypatch):
    log_path = tmp_path / "audit.jsonl"
    monkeypatch.setenv(ms.integrity.AUDIT_LOG_ENV, str(log_path))
    key = ms.integrity.SigningKey.generate()
    ms.scan.scan("model")  # an earlier run: entry 0, same inputs and verdict
    time.sleep(1.05)  # reports carry their time to the second
    report = ms.scan.scan("model")  # this release: entry 1
    bundle = ms.evidence.build([report], audit_log=log_path, environment_info=False)
    assert bundle.checks[0].audit_index == 1
    path = tmp_path / "r.evidence"
    bundle.save(path, key)
    assert ms.evidence.verify(path, key.public_key).passed
    log = ms.integrity.AuditLog(log_path)
    old_line = log_path.read_text().splitlines(keepends=True)[0]
    old_proof = log.inclusion_proof(0)

    def replay(members):
        members["audit/entries.jsonl"] = old_line.encode()
        proofs = json.loads(members["audit/proofs.json"])
        proofs[0].update(index=0, leaf=old_proof.leaf, path=list(old_proof.path))
        members["audit/proofs.json"] = json.dumps(proofs).encode()
        index = json.loads(members["index.json"])
        index["audit"]["entries"] = [0]
        index["checks"][0]["audit_index"] = 0
        members["index.json"] = json.dumps(index).encode()

    original = path.read_bytes()
    _rewrite(path, replay)  # the old entry swapped in: the digests catch it
    problems = {p.member for p in ms.evidence.verify(path, key.public_key).problems}
    assert {"audit/entries.jsonl", "audit/proofs.json", "index.json"} <= problems
    path.write_bytes(original)
    _rewrite(path, lambda m: (replay(m), _resign(m, key)))  # even re-signed by the key holder
    report = ms.evidence.verify(path, key.public_key)
    assert [p.member for p in report.problems] == ["audit/entries.jsonl"]
    assert "predates the report" in report.problems[0].what
    assert "replayed" in report.problems[0].what
    # and the proof itself stays valid: the entry is in the log, only not of this run
    assert old_proof.verify()


def test_a_report_without_an_audit_entry_and_python_api(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    key = ms.integrity.SigningKey.generate()
    rng = np.random.default_rng(1)
    drift = ms.drift.compare({"x": rng.normal(size=200)}, {"x": rng.normal(size=200)})
    drift.save("drift.json")
    m = ms.integrity.manifest(tmp_path / "drift.json")
    bundle = ms.evidence.build({"data drift": "drift.json"}, manifests={"data": m})
    digest = bundle.save("b.evidence", key)
    assert digest == ms.integrity.hash_file("b.evidence") == bundle.digest
    report = ms.evidence.verify("b.evidence", key.public_key)
    assert report.passed and report.entries_proved == 0
    assert report.checks[0]["name"] == "data drift" and report.checks[0]["audit_index"] is None
    report.save("v.json")
    assert ms.Report.load("v.json").to_dict() == report.to_dict()


def test_bad_arguments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    drift = ms.drift.compare({"x": np.arange(30.0)}, {"x": np.arange(30.0)})
    key = ms.integrity.SigningKey.generate()
    with pytest.raises(InvalidInputError, match="reports: give at least one report"):
        ms.evidence.build([])
    with pytest.raises(InvalidTypeError, match="reports: expected Report objects"):
        ms.evidence.build([42])
    with pytest.raises(InvalidInputError, match="controls: unknown framework 'nope'"):
        ms.evidence.build([drift], controls="nope")
    with pytest.raises(InvalidInputError, match=r"audit_log: 'none\.jsonl' is not a file"):
        ms.evidence.build([drift], audit_log="none.jsonl")
    with pytest.raises(InvalidTypeError, match="audit_log: expected an AuditLog"):
        ms.evidence.build([drift], audit_log=3)
    with pytest.raises(InvalidTypeError, match="manifests: expected Manifest"):
        ms.evidence.build([drift], manifests=[1])
    bundle = ms.evidence.build([drift], environment_info=False)
    with pytest.raises(InvalidTypeError, match="key: expected a SigningKey"):
        bundle.save("x.evidence", key.public_key)
    (tmp_path / "junk.evidence").write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError, match="is not an evidence bundle"):
        ms.evidence.verify("junk.evidence", key.public_key)
    with pytest.raises(InvalidTypeError, match="public_key: expected a PublicKey"):
        ms.evidence.verify("junk.evidence", key)
    assert main(["evidence", "verify", "junk.evidence", "--pub", "nope.pub"]) == 2


def test_the_control_mapping_is_versioned_data():
    mapping = ms.evidence.load_controls()
    assert mapping.version
    assert set(mapping.frameworks) == {
        "eu-ai-act", "nist-ai-rmf", "iso-42001", "soc2", "iso-27001", "gdpr", "hipaa",
    }  # fmt: skip
    ids = {(c.framework, c.id) for c in mapping.controls}
    for wanted in [("eu-ai-act", "Art. 10"), ("eu-ai-act", "Art. 12"), ("eu-ai-act", "Annex IV"),
                   ("soc2", "CC7.1"), ("soc2", "CC8.1"), ("gdpr", "Art. 25"),
                   ("gdpr", "Art. 32"), ("gdpr", "Art. 35"), ("hipaa", "164.312(b)")]:  # fmt: skip
        assert wanted in ids
    kinds = {k for c in mapping.controls for k in c.checks}
    assert {"scan", "verify", "drift", "robustness", "privacy", "fairness", "validation",
            "label_issues", "audit_trail", "environment"} <= kinds  # fmt: skip


def test_assert_evidence(release):
    from mlsentry.testing import assert_evidence

    path, key = release
    assert assert_evidence(path, key.public_key).passed
    _rewrite(path, lambda m: m.pop("reports/scan-gate.html"))
    with pytest.raises(AssertionError) as failure:
        assert_evidence(path, key.public_key)
    assert "reports/scan-gate.html" in str(failure.value)
    assert failure.value.report.passed is False
