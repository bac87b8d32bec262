"""The audit log: appends, proofs, checkpoints, tampering, crashes, concurrency."""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest

import mlsentry as ms
from mlsentry.errors import IntegrityError, InvalidTypeError
from mlsentry.integrity import AuditLog, SigningKey


def _log(tmp_path, n=8):
    tmp_path.mkdir(parents=True, exist_ok=True)
    log = AuditLog(tmp_path / "audit.jsonl", durable=False)
    for i in range(n):
        assert log.append({"check": "verify", "i": i}).index == i
    return log


def _lines(log):
    with open(log.path) as fh:
        return fh.read().splitlines()


def _write(log, lines):
    with open(log.path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def test_append_and_verify(tmp_path):
    log = _log(tmp_path)
    r = log.verify()
    assert r.ok and r.passed and r.entries == 8 and not r.problems
    assert len(log) == 8
    assert json.loads(r.to_json())["schema"] == "mlsentry/audit-verify-report/v1"
    entries = log.entries()
    assert [e["index"] for e in entries] == list(range(8))
    assert entries[3]["event"] == {"check": "verify", "i": 3}


def test_inclusion_and_consistency_proofs(tmp_path):
    log = _log(tmp_path, 13)
    root = log.verify().root
    for i in range(13):
        p = log.inclusion_proof(i)
        assert p.root == root and p.size == 13 and p.verify()
    old = log.consistency_proof(5)
    assert old.verify()
    log.append({"more": True})
    c = log.consistency_proof(13)
    assert c.old_root == root and c.verify()
    with pytest.raises(ms.errors.InvalidInputError, match="no entry"):
        log.inclusion_proof(99)
    with pytest.raises(ms.errors.InvalidInputError, match="old_size"):
        log.consistency_proof(0)


def test_edit_delete_reorder_insert_are_named(tmp_path):
    cases = {
        "edited": lambda ls: ls.__setitem__(2, ls[2].replace('"i":2', '"i":7')),
        "missing": lambda ls: ls.pop(4),
        "again": lambda ls: ls.insert(5, ls[1]),
    }
    for word, mutate in cases.items():
        log = _log(tmp_path / word)
        lines = _lines(log)
        mutate(lines)
        _write(log, lines)
        r = log.verify()
        assert not r.ok
        assert any(word in p.what for p in r.problems), (word, r.problems)
        with pytest.raises(IntegrityError):
            log.verify(strict=True)
    log = _log(tmp_path / "swap")
    lines = _lines(log)
    lines[1], lines[6] = lines[6], lines[1]
    _write(log, lines)
    assert {p.index for p in log.verify().problems} >= {1, 6}


def test_signed_checkpoint_catches_consistent_rewrite(tmp_path):
    key = SigningKey.generate()
    log = _log(tmp_path, 4)
    cp = log.checkpoint(key)
    assert cp["size"] == 4 and cp["root"] == log.verify().root
    log.append({"after": 1})
    r = log.verify(key.public_key)
    assert r.ok and r.checkpoints == 1 and r.checkpoints_signed_ok == 1
    assert not log.verify(SigningKey.generate().public_key).ok  # another signer

    # A forger rewrites entry 0 and recomputes its leaf hash with our own code.
    lines = _lines(log)
    forged = json.loads(lines[0])
    forged["event"]["i"] = 100
    leaf = ms._core.merkle_leaf_hash(
        json.dumps(
            {"event": forged["event"], "index": 0, "time": forged["time"]},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
    )
    forged["leaf"] = leaf
    lines[0] = json.dumps(forged, sort_keys=True, separators=(",", ":"))
    _write(log, lines)
    r = log.verify(key.public_key)
    assert not r.ok
    assert any("checkpoint" in p.what for p in r.problems)


def test_a_key_needs_a_signed_checkpoint(tmp_path):
    key = SigningKey.generate()
    log = _log(tmp_path, 3)
    assert log.verify().ok  # no key, no signature to check
    r = log.verify(key.public_key)
    assert not r.ok and r.checkpoints_signed_ok == 0
    assert "no checkpoint signature was checked" in r.summary()
    assert "log: a public key was given" in r.summary()  # a problem of the whole log
    log.checkpoint(key)
    assert log.verify(key.public_key).ok


def test_a_cut_tail_is_caught_by_what_was_kept_elsewhere(tmp_path):
    key = SigningKey.generate()
    log = _log(tmp_path, 3)
    log.checkpoint(key)
    log.append({"check": "scan", "passed": False})
    kept = log.checkpoint(key)  # the release keeps this in MLflow or its evidence
    (tmp_path / "kept.json").write_text(json.dumps(kept))
    for how in ({"checkpoint": kept}, {"checkpoint": tmp_path / "kept.json"}, {"expect_size": 4}):
        assert log.verify(key.public_key, **how).ok, how

    # Whoever can write the log removes the failed scan and the last checkpoint: what is
    # left verifies on its own, signature and all.
    _write(log, _lines(log)[:4])
    assert log.verify(key.public_key).ok
    for how in ({"checkpoint": kept}, {"checkpoint": tmp_path / "kept.json"}, {"expect_size": 4}):
        r = log.verify(key.public_key, **how)
        assert not r.ok and "cut from its end" in r.summary(), how
        with pytest.raises(IntegrityError, match="cut from its end"):
            log.verify(key.public_key, strict=True, **how)
    report = log.verify(key.public_key, checkpoint=kept)
    assert report.config["checkpoint"]["size"] == 4 and report.config["public_keys"]


def test_a_kept_checkpoint_must_match_the_log_and_its_signer(tmp_path):
    key, other = SigningKey.generate(), SigningKey.generate()
    log = _log(tmp_path / "a", 3)
    kept = log.checkpoint(key)
    assert not log.verify(other.public_key, checkpoint=kept).ok
    # Another log of the same length: its entries do not hash to the kept root.
    elsewhere = _log(tmp_path / "b", 0)
    for i in range(3):
        elsewhere.append({"check": "other", "i": i})
    r = elsewhere.verify(checkpoint=kept)
    assert not r.ok and "no longer hash" in r.summary()
    forged = {**kept, "size": 2}
    assert "signed tree head differs" in log.verify(key.public_key, checkpoint=forged).summary()
    with pytest.raises(InvalidTypeError, match="checkpoint"):
        log.verify(checkpoint=3)
    with pytest.raises(ms.errors.InvalidInputError, match="expect_size"):
        log.verify(expect_size=-1)


def test_events_are_kept_exactly_or_refused(tmp_path):
    import numpy as np

    log = _log(tmp_path, 0)
    big = 2**64 - 1
    entry = log.append({"n": big, "neg": -(2**63), "np": np.int64(7), "f": np.float32(0.5)})
    assert entry.event == {"n": big, "neg": -(2**63), "np": 7, "f": 0.5}
    assert log.verify().ok
    for bad, match in [
        ({"n": 2**70}, "outside the 64-bit range"),
        ({"n": -(2**63) - 1}, "outside the 64-bit range"),
        ({"b": b"raw"}, "a bytes is not JSON"),
        ({"o": object()}, "a object is not JSON"),
        ({"x": [1, {"deep": float("nan")}]}, r"event\['x'\]\[1\]\['deep'\]: nan"),
        ({"k": {1: "a"}}, "keys must be strings"),
    ]:
        with pytest.raises(ms.errors.InvalidInputError, match=match):
            log.append(bad)
    assert log.verify().ok and log.verify().entries == 1  # nothing half-written


def test_proofs_of_impossible_positions_are_clear_errors(tmp_path):
    log = _log(tmp_path, 3)
    for call in (lambda: log.inclusion_proof(-1), lambda: log.consistency_proof(-1)):
        with pytest.raises(ms.errors.InvalidInputError, match="expected an int >= 0"):
            call()
    with pytest.raises(InvalidTypeError, match="index"):
        log.inclusion_proof("0")


def test_a_trailing_blank_line_is_not_a_problem(tmp_path):
    log = _log(tmp_path, 2)
    with open(log.path, "a") as fh:
        fh.write("\n  \n")
    assert log.verify().ok
    assert log.append({"after": True}).index == 2
    assert log.verify().ok and log.verify().entries == 3


def test_torn_last_line_after_crash(tmp_path):
    log = _log(tmp_path, 5)
    with open(log.path, "a") as fh:
        fh.write('{"type":"entry","index":5,"ti')
    r = log.verify()
    assert r.entries == 5 and r.torn_bytes > 0
    assert len(r.problems) == 1 and "torn" in r.problems[0].what
    e = log.append({"after": "crash"})
    assert e.index == 5 and e.torn_bytes_removed > 0
    assert log.verify().ok


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ms.errors.PathNotFoundError) as info:
        AuditLog(tmp_path / "nope" / "audit.jsonl").append({"a": 1})
    assert "nope" in str(info.value)


def test_not_our_log(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("just some notes\n")
    log = AuditLog(p)
    r = log.verify()
    assert not r.ok and "audit-log" in r.problems[0].what
    with pytest.raises(ms.errors.MlsentryError):
        log.append({"x": 1})
    with pytest.raises(InvalidTypeError):
        log.append(["not", "a", "dict"])  # type: ignore[arg-type]


def _append_many(path, worker, n):
    log = AuditLog(path, durable=False)
    for i in range(n):
        log.append({"worker": worker, "i": i})


def test_concurrent_appends_from_processes(tmp_path):
    path = tmp_path / "audit.jsonl"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(path), w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    r = AuditLog(path).verify()
    assert r.ok and r.entries == 160


def test_every_check_records_itself(tmp_path, monkeypatch):
    log_path = tmp_path / "checks.jsonl"
    monkeypatch.setenv("MLSENTRY_AUDIT_LOG", str(log_path))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.bin").write_bytes(b"a")
    m = ms.integrity.manifest(tmp_path / "m")
    ms.integrity.verify(tmp_path / "m", m)
    (tmp_path / "m" / "a.bin").write_bytes(b"b")
    ms.integrity.verify(tmp_path / "m", m)
    events = [e["event"] for e in AuditLog(log_path).entries()]
    assert [(e["check"], e["passed"]) for e in events] == [("verify", True), ("verify", False)]
    assert events[0]["inputs"]["manifest"] == m.root
    assert AuditLog(log_path).verify().ok
