"""The `mlsentry` command: every command, its output and its exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.cli import main


@pytest.fixture
def model_dir(tmp_path):
    d = tmp_path / "model"
    (d / "sub").mkdir(parents=True)
    (d / "weights.bin").write_bytes(os.urandom(100_000))
    (d / "sub" / "config.json").write_text('{"a": 1}')
    return d


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert ms.__version__ in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert "Exit status" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["no-such-command"]) == 2
    assert main(["manifest"]) == 2
    assert main(["manifest", ".", "--shard-size", "-5"]) == 2


def test_manifest_then_verify(model_dir, tmp_path, capsys):
    out = tmp_path / "manifest.json"
    assert main(["manifest", str(model_dir), "-o", str(out), "--no-progress"]) == 0
    m = ms.integrity.Manifest.load(out)
    assert m.root == ms.integrity.manifest(model_dir).root
    capsys.readouterr()

    assert main(["verify", str(model_dir), str(out), "--no-progress"]) == 0
    assert "PASSED" in capsys.readouterr().out
    html = tmp_path / "v.html"
    (model_dir / "weights.bin").write_bytes(b"changed")
    assert main(["verify", str(model_dir), str(out), "--json", "--html", str(html)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == "mlsentry/verify-report/v1"
    assert report["passed"] is False
    assert "weights.bin" in json.dumps(report)
    assert html.read_text().startswith("<!DOCTYPE html>")


def test_manifest_json_to_stdout(model_dir, capsys):
    assert main(["manifest", str(model_dir), "--json", "--algorithm", "blake3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["root"].startswith("blake3:")


def test_verify_input_errors_exit_2(model_dir, tmp_path, capsys):
    assert main(["verify", str(tmp_path / "missing"), str(tmp_path / "nope.json")]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["verify", str(model_dir), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "mlsentry: error:" in err


def test_fingerprint_npy_csv_parquet(tmp_path, capsys):
    arr = np.arange(12, dtype=np.float64).reshape(3, 4)
    np.save(tmp_path / "a.npy", arr)
    assert main(["fingerprint", str(tmp_path / "a.npy")]) == 0
    assert capsys.readouterr().out.strip() == ms.fingerprint(arr)

    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"x": [1.5, 2.5], "y": ["a", "b"]})
    df.to_csv(tmp_path / "d.csv", index=False)
    assert main(["fingerprint", str(tmp_path / "d.csv"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["fingerprint"] == ms.fingerprint(pd.read_csv(tmp_path / "d.csv"))

    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"x": [1, 2, 3]})
    pq.write_table(table, tmp_path / "t.parquet")
    assert main(["fingerprint", str(tmp_path / "t.parquet")]) == 0
    assert capsys.readouterr().out.strip() == ms.fingerprint(table)


def test_fingerprint_errors_exit_2(tmp_path, capsys):
    assert main(["fingerprint", str(tmp_path / "missing.npy")]) == 2
    (tmp_path / "x.weird").write_text("?")
    assert main(["fingerprint", str(tmp_path / "x.weird")]) == 2
    assert "--format" in capsys.readouterr().err
    assert main(["fingerprint", str(tmp_path / "x.weird"), "--format", "bytes"]) == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n", "cannot be read as CSV: Error tokenizing"),
        ("latin1.csv", b"a,b\n\xff\xfe,2\n", "cannot be read as CSV: 'utf-8' codec"),
        ("empty.csv", b"", "cannot be read as CSV"),
        ("broken.parquet", b"PAR1 not really PAR1", "cannot be read as Parquet"),
    ],
)
def test_unreadable_data_files_exit_2_with_a_message(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    good = tmp_path / "good.csv"
    good.write_text("a,b\n1,2\n")
    for argv in (["fingerprint", str(path)], ["drift", str(good), str(path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_log_proof_of_a_negative_index_exits_2(tmp_path, capsys):
    log = str(tmp_path / "audit.jsonl")
    assert main(["log", "append", log, "{}"]) == 0
    assert main(["log", "proof", log, "--index", "-1"]) == 2
    assert "index: expected an int >= 0" in capsys.readouterr().err


def test_python_dash_m_and_console_script(model_dir):
    r = subprocess.run(
        [sys.executable, "-m", "mlsentry", "manifest", str(model_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["schema"] == "mlsentry/manifest/v1"


def test_demo_runs_and_catches_tampering(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "tampered" in text
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "mlsentry/demo-report/v1"
    assert report["passed"] is True
    verdicts = [(s["report"]["passed"], s["as_expected"]) for s in report["steps"]]
    assert verdicts == [
        (True, True),
        (False, True),
        (True, True),
        (True, True),  # drift: a fresh sample of the same customers
        (False, True),  # drift: a shifted sample
        (True, True),  # robustness at a small eps
        (False, True),  # robustness at a large eps
        (True, True),  # scan: a benign pickle
        (False, True),  # scan: a pickle that calls os.system
        (True, True),  # data: a fresh batch against the schema
        (False, True),  # data: a broken batch
        (False, True),  # data: flipped labels found (and more than the bar)
        (None, True),  # data: poisoning has no bar; the planted rows are among the suspects
        (False, True),  # data: test rows copied from train
        (False, True),  # fairness: approval-rate ratio below four fifths
        (False, True),  # privacy: a memorising model leaks its training rows
        (True, True),  # privacy: a smooth model does not
        (False, True),  # monitor: a stream that drifts half-way raises one alert
        (True, True),
        (False, True),
    ]
    data = {s["report"]["schema"]: s for s in report["steps"][9:14]}
    monitor = next(
        s["report"] for s in report["steps"] if s["report"]["schema"].startswith("mlsentry/monitor")
    )
    assert [a["kind"] for a in monitor["alerts"]] == ["drift"]
    assert 50 < monitor["alerts"][0]["index"] <= 100
    assert data["mlsentry/label_issues/v1"]["recall"] >= 0.9
    assert data["mlsentry/poisoning/v1"]["recall"] == 1.0
    assert data["mlsentry/poisoning/v1"]["expected"] == "no verdict"
    kinds = {a["kind"] for a in data["mlsentry/validation/v1"]["report"]["anomalies"]}
    assert {"unseen_category", "out_of_range", "duplicate_key"} <= kinds
    # MLflow is installed here: the same reports went to one run of a local SQLite store.
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{out / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("mlsentry-demo").experiment_id])
    assert run.data.metrics["mlsentry.demo.passed"] == 1.0
    assert run.data.metrics["mlsentry.drift.step5.share_drifted"] > 0
    assert run.data.tags["mlsentry.scan.step9.passed"] == "false"
    evil = report["steps"][8]["report"]
    assert evil["schema"] == "mlsentry/scan-report/v1"
    assert evil["findings"][0]["global_name"] == "os.system"
    robust = report["steps"][6]["report"]
    assert robust["schema"] == "mlsentry/robustness-report/v1" and robust["calls"] > 0
    drift = report["steps"][4]
    assert drift["report"]["schema"] == "mlsentry/drift-report/v1"
    assert drift["expected_drifted"] == ["income", "region"]
    assert drift["report"]["drifted_columns"] == ["income", "region"]
    again = ms.Report.load(out / "report.json")  # the demo and every step, as classes
    assert type(again).__name__ == "DemoReport" and again.passed
    assert json.loads(again.to_json()) == report
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "Drift comparison" in page and "<svg" in page and "<script" not in page
    assert "Robustness evaluation" in page


def test_robustness_command(tmp_path, capsys, monkeypatch):
    import numpy as np

    (tmp_path / "mymodel.py").write_text(
        "import numpy as np\n"
        "W = np.array([1.0, -1.0, 0.5])\n"
        "def scores(x):\n"
        "    s = x @ W\n"
        "    return np.stack([-s, s], axis=1)\n"
    )
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    np.save("X.npy", X)
    np.save("y.npy", (X @ np.array([1.0, -1.0, 0.5]) > 0).astype(int))
    base = ["robustness", "mymodel:scores", "X.npy", "y.npy", "--max-queries", "200"]
    assert main([*base, "--eps", "0.001", "--threshold", "0.5"]) == 0
    assert "robust accuracy" in capsys.readouterr().out
    assert main([*base, "--eps", "0.05", "1.0", "--threshold", "0.9", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["eps"] == [0.05, 1.0] and data["passed"] is False
    capsys.readouterr()
    # No --threshold: no verdict, exit 0, and nothing says PASSED.
    assert main([*base, "--html", "r.html", "--attacks", "hsj", "--norm", "l2"]) == 0
    out = capsys.readouterr().out
    assert "NO VERDICT" in out and "no threshold set" in out and "PASSED" not in out
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "NO VERDICT" in page and "PASSED" not in page
    assert main([*base, "--eps", "1.0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is None
    for bad in (
        ["robustness", "nomodule:f", "X.npy", "y.npy"],
        ["robustness", "mymodel", "X.npy", "y.npy"],
        ["robustness", "mymodel:missing", "X.npy", "y.npy"],
        ["robustness", "mymodel:scores", "X.npy"],
        [*base, "--eps", "-1"],
    ):
        assert main(bad) == 2, bad


def test_keygen_sign_verify_signature(model_dir, tmp_path, capsys, monkeypatch):
    key = tmp_path / "k.pem"
    monkeypatch.setenv("KEY_PW", "hunter2")
    assert main(["keygen", "-o", str(key), "--passphrase-env", "KEY_PW"]) == 0
    assert (tmp_path / "k.pub").exists()
    assert main(["keygen", "-o", str(key)]) == 2  # refuses to overwrite
    env = tmp_path / "env.json"
    args = ["sign", str(model_dir), "--key", str(key), "-o", str(env), "--no-progress"]
    assert main([*args, "--passphrase-env", "KEY_PW"]) == 0
    assert main(args) == 2  # encrypted key without its passphrase
    capsys.readouterr()
    pub = str(tmp_path / "k.pub")
    assert main(["verify-signature", str(model_dir), str(env), "--pub", pub]) == 0

    (model_dir / "sub" / "config.json").write_text('{"a": 2}')
    assert main(["verify-signature", str(model_dir), str(env), "--pub", pub, "--json"]) == 1
    assert "config.json" in capsys.readouterr().out

    doc = json.loads(env.read_text())
    doc["payloadType"] = "application/x-other"
    env.write_text(json.dumps(doc))
    assert main(["verify-signature", str(model_dir), str(env), "--pub", pub]) == 1
    other = tmp_path / "other.pem"
    assert main(["keygen", "-o", str(other)]) == 0
    assert main(["sign", str(model_dir), "--key", str(other), "-o", str(env)]) == 0
    assert main(["verify-signature", str(model_dir), str(env), "--pub", pub]) == 1
    assert "verif" in capsys.readouterr().err


def test_a_signature_or_manifest_inside_the_folder_it_covers(model_dir, tmp_path, capsys):
    key = str(tmp_path / "k.pem")
    assert main(["keygen", "-o", key]) == 0
    pub = ["--pub", str(tmp_path / "k.pub")]
    sig = str(model_dir / "release.sig.json")
    for _ in range(2):  # signed again with the first signature inside: still verifies
        assert main(["sign", str(model_dir), "--key", key, "-o", sig]) == 0
        capsys.readouterr()
        assert main(["verify-signature", str(model_dir), sig, *pub, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["added"] == [] and report["signature"]["verified"] is True
        assert report["signature"]["key_id"] == ms.integrity.PublicKey.load(pub[1]).key_id
    assert main(["verify-signature", str(model_dir), sig, *pub]) == 0
    assert "signature: DSSE envelope verified with ed25519 key" in capsys.readouterr().out
    m = str(model_dir / "m.json")
    assert main(["manifest", str(model_dir), "-o", m]) == 0
    assert main(["verify", str(model_dir), m]) == 0
    # --ignore on every command that builds or checks a manifest
    (model_dir / "scratch.tmp").write_text("x")
    assert main(["verify", str(model_dir), m]) == 1
    assert main(["verify", str(model_dir), m, "--ignore", "*.tmp"]) == 0
    more = ["--ignore", "*.tmp", "--ignore", "/m.json"]  # m.json came after the signature
    assert main(["verify-signature", str(model_dir), sig, *pub, *more]) == 0
    assert main(["sign", str(model_dir), "--key", key, "-o", sig, "--ignore", "*.tmp"]) == 0
    assert main(["verify-signature", str(model_dir), sig, *pub]) == 0  # the signed ignore
    capsys.readouterr()
    assert main(["manifest", str(model_dir), "--ignore", "sub", "--json"]) == 0
    listed = [f["path"] for f in json.loads(capsys.readouterr().out)["files"]]
    assert not any(p.startswith("sub/") for p in listed)
    # An envelope without a key is named as such, not as a malformed manifest.
    assert main(["verify", str(model_dir), sig]) == 2
    assert "signed envelope: pass a public key" in capsys.readouterr().err


def test_dsse_sign_and_verify_load_only_what_they_use(model_dir, tmp_path):
    """A CI gate pays the command's start-up on every call: signing and verifying a folder
    in DSSE load neither numpy nor the Model Signing format's module."""
    code = (
        "import sys\n"
        "from mlsentry.cli import main\n"
        "d, k, e = sys.argv[1:]\n"
        "assert main(['keygen', '-o', k]) == 0\n"
        "assert main(['sign', d, '--key', k, '-o', e, '--no-progress']) == 0\n"
        "assert main(['verify-signature', d, e, '--pub', k[:-4] + '.pub']) == 0\n"
        "lazy = ('numpy', 'mlsentry.integrity.model_signing')\n"
        "print(sorted(m for m in lazy if m in sys.modules))\n"
    )
    args = [str(model_dir), str(tmp_path / "k.pem"), str(tmp_path / "e.json")]
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_sign_a_report_file(tmp_path, capsys):
    assert main(["keygen", "-o", str(tmp_path / "k.pem")]) == 0
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"schema": "mlsentry/drift-report/v1", "passed": True}))
    env = tmp_path / "r.sig.json"
    assert main(["sign", str(report), "--key", str(tmp_path / "k.pem"), "-o", str(env)]) == 0
    capsys.readouterr()
    pub = str(tmp_path / "k.pub")
    assert main(["verify-signature", str(report), str(env), "--pub", pub, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["predicate"]["passed"] is True


def test_log_commands(tmp_path, capsys):
    log = str(tmp_path / "audit.jsonl")
    for i in range(3):
        assert main(["log", "append", log, json.dumps({"i": i})]) == 0
    assert [json.loads(line)["index"] for line in capsys.readouterr().out.splitlines()] == [0, 1, 2]
    assert main(["log", "append", log, "not json"]) == 2
    assert main(["keygen", "-o", str(tmp_path / "k.pem")]) == 0
    assert main(["log", "verify", log, "--pub", str(tmp_path / "k.pub")]) == 1  # unsigned
    kept = str(tmp_path / "kept.json")
    assert main(["log", "checkpoint", log, "--key", str(tmp_path / "k.pem"), "-o", kept]) == 0
    capsys.readouterr()
    assert main(["log", "verify", log, "--pub", str(tmp_path / "k.pub"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["checkpoints_signed_ok"] == 1
    pub = ["--pub", str(tmp_path / "k.pub")]
    assert main(["log", "verify", log, *pub, "--checkpoint", kept, "--expect-size", "3"]) == 0
    full = (tmp_path / "audit.jsonl").read_text()
    (tmp_path / "audit.jsonl").write_text("".join(full.splitlines(True)[:2]))  # cut
    assert main(["log", "verify", log, "--checkpoint", kept]) == 1
    assert main(["log", "verify", log, "--expect-size", "3"]) == 1
    assert "cut from its end" in capsys.readouterr().out
    (tmp_path / "audit.jsonl").write_text(full)
    assert main(["log", "proof", log, "--index", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["verified"] is True
    assert main(["log", "proof", log, "--consistency", "2"]) == 0
    assert main(["log", "proof", log, "--index", "7"]) == 2
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    del lines[1]
    (tmp_path / "audit.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["log", "verify", log]) == 1


def test_sign_and_verify_model_signing_bundle(model_dir, tmp_path, capsys):
    key = tmp_path / "p256.pem"
    assert main(["keygen", "-o", str(key), "--algorithm", "ecdsa-p256"]) == 0
    sig = tmp_path / "model.sig"
    args = ["sign", str(model_dir), "--key", str(key), "--format", "model-signing"]
    assert main([*args, "-o", str(sig)]) == 0
    pub = str(tmp_path / "p256.pub")
    assert main(["verify-signature", str(model_dir), str(sig), "--pub", pub]) == 0
    (model_dir / "weights.bin").write_bytes(b"tampered")
    assert main(["verify-signature", str(model_dir), str(sig), "--pub", pub]) == 1
    ed = tmp_path / "ed.pem"
    assert main(["keygen", "-o", str(ed)]) == 0
    assert main(["sign", str(model_dir), "--key", str(ed), "--format", "model-signing"]) == 2
    assert "ecdsa-p256" in capsys.readouterr().err


@pytest.fixture
def drift_files(tmp_path):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    n = 1000
    ref = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": ["x", "y"] * 500})
    same = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": ["y", "x"] * 500})
    moved = same.assign(a=rng.normal(0.5, 1, n))
    paths = {
        "ref": tmp_path / "ref.csv",
        "same": tmp_path / "same.parquet",
        "moved": tmp_path / "moved.csv",
        "npy": tmp_path / "ref.npy",
        "extra": tmp_path / "extra.csv",
    }
    ref.to_csv(paths["ref"], index=False)
    pq.write_table(pa.Table.from_pandas(same, preserve_index=False), paths["same"])
    moved.to_csv(paths["moved"], index=False)
    np.save(paths["npy"], ref[["a", "b"]].to_numpy())
    same.assign(d=1.0).to_csv(paths["extra"], index=False)
    return {k: str(v) for k, v in paths.items()}


def test_drift_exit_status_and_outputs(drift_files, tmp_path, capsys):
    f = drift_files
    assert main(["drift", f["ref"], f["same"]]) == 0
    assert "Drift comparison: PASSED" in capsys.readouterr().out
    html = tmp_path / "drift.html"
    assert main(["drift", f["ref"], f["moved"], "--json", "--html", str(html)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == "mlsentry/drift-report/v1"
    assert report["drifted_columns"] == ["a"] and report["passed"] is False
    assert "<svg" in html.read_text()
    # a column only in current fails the check too
    assert main(["drift", f["ref"], f["extra"]]) == 1
    assert "d: only in current" in capsys.readouterr().out
    # .npy: columns "0", "1"
    assert main(["drift", f["npy"], f["npy"], "--json"]) == 0
    names = [c["name"] for c in json.loads(capsys.readouterr().out)["columns"]]
    assert names == ["0", "1"]


def test_drift_options(drift_files, capsys):
    f = drift_files
    assert main(["drift", f["ref"], f["moved"], "--columns", "b,c"]) == 0
    capsys.readouterr()
    assert main(["drift", f["ref"], f["moved"], "--tests", "psi", "--json"]) == 1
    tests = {c["name"]: c["test"] for c in json.loads(capsys.readouterr().out)["columns"]}
    assert tests == {"a": "psi", "b": "psi", "c": "psi"}
    args = ["--tests", "a=wasserstein,c=g_test", "--correction", "holm", "--alpha", "0.01"]
    assert main(["drift", f["ref"], f["moved"], *args, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [c["test"] for c in report["columns"]] == ["wasserstein", "ks", "g_test"]
    assert report["config"]["correction"] == "holm" and report["config"]["alpha"] == 0.01
    assert main(["drift", f["ref"], f["moved"], "--drift-share", "0.5"]) == 0
    capsys.readouterr()
    assert main(["drift", f["ref"], f["moved"], "--categorical", "b", "--json"]) == 1
    kinds = [c["kind"] for c in json.loads(capsys.readouterr().out)["columns"]]
    assert kinds == ["numeric", "categorical", "categorical"]
    assert main(["drift", f["ref"], f["moved"], "--exclude", "a", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in report["columns"]] == ["b", "c"]
    assert main(["drift", f["ref"], f["moved"], "--min-effect", "100", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["min_effect"] == 100 and not report["drifted"]


def test_drift_usage_errors_exit_2(drift_files, tmp_path, capsys):
    f = drift_files
    bad = [
        ["drift", f["ref"]],
        ["drift", f["ref"], str(tmp_path / "missing.csv")],
        ["drift", f["ref"], f["same"], "--tests", "nope"],
        ["drift", f["ref"], f["same"], "--tests", "a=chi2"],
        ["drift", f["ref"], f["same"], "--tests", "a=,b=ks"],
        ["drift", f["ref"], f["same"], "--alpha", "2"],
        ["drift", f["ref"], f["same"], "--alpha", "x"],
        ["drift", f["ref"], f["same"], "--correction", "fdr"],
        ["drift", f["ref"], f["same"], "--columns", "a,zz"],
        ["drift", f["ref"], f["same"], "--columns", "a,,b"],
        ["drift", f["ref"], str(tmp_path / "data.txt")],
    ]
    (tmp_path / "data.txt").write_text("a\n1\n")
    for argv in bad:
        assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert "tests: unknown test 'nope'" in err
    assert "column 'a' is numeric" in err
    assert "alpha: expected a number in (0, 1), got 2.0" in err
    assert "columns: no column named 'zz'" in err


def test_demo_needs_numpy_only(tmp_path, monkeypatch, capsys):
    """`make demo` on a fresh clone installs no extras: the demo runs on numpy alone."""
    import sys

    for name in ("pandas", "pyarrow", "polars", "scipy", "mlflow"):
        monkeypatch.setitem(sys.modules, name, None)  # `import name` now fails
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    assert "all steps as expected" in capsys.readouterr().out


def test_every_option_has_help_text():
    import argparse

    from mlsentry.cli import build_parser

    missing = []

    def walk(parser, words):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
            elif not action.help and not isinstance(action, argparse._HelpAction):
                missing.append(f"{' '.join(words)} {action.option_strings or action.dest}")

    walk(build_parser(), ["mlsentry"])
    assert not missing, missing


def test_the_cli_reference_is_current(repo_root):
    from mlsentry.cli.reference import markdown

    text = markdown()
    assert "## `mlsentry log proof`" in text and "--consistency OLD_SIZE" in text
    written = (repo_root / "docs" / "cli.md").read_text(encoding="utf-8")
    assert written == text, "regenerate: python -m mlsentry.cli.reference > docs/cli.md"
