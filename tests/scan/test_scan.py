"""mlsentry.scan: the corpora of tests/scan/scan_corpus.py, findings, policies, bounds, folders,
the command line and the audit log.

Every malicious file here is written opcode by opcode and nothing here loads any of them."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import scan_corpus as corpus

import mlsentry as ms
from mlsentry.cli import main
from mlsentry.errors import InvalidInputError, InvalidTypeError, PathNotFoundError

# PROTO 4, GLOBAL "os system", MARK, SHORT_BINUNICODE "true", TUPLE, REDUCE, STOP
EVIL = b"\x80\x04cos\nsystem\n(\x8c\x04truetR."
# A class nobody's policy knows: GLOBAL mypkg.models Net, EMPTY_TUPLE, REDUCE, STOP.
CUSTOM = b"\x80\x02cmypkg.models\nNet\n)R."


def _write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _zip(members) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


# ------------------------------------------------------------------------------ corpora


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    assert not corpus.missing_generators(), "scikit-learn and joblib are test dependencies"
    return corpus.write_corpus(tmp_path_factory.mktemp("corpus"))


def _verdicts(samples, expected):
    chosen = [s for s in samples if s.expected == expected]
    return chosen, [(s, ms.scan.scan(s.path, digests=False)) for s in chosen]


def test_every_malicious_sample_is_not_safe(samples):
    chosen, results = _verdicts(samples, corpus.UNSAFE)
    assert len(chosen) >= 60
    missed = [f"{s.path.name}: {s.trick}" for s, rep in results if rep.safe]
    assert not missed, "passed as safe:\n" + "\n".join(missed)
    # Every category of tricks is there, and the opcode/callable tricks are caught as
    # what they are (a named global, or an extension code, whose global only the loading
    # process's registry knows), not only as unreadable content.
    assert {s.category for s in chosen} >= {"opcodes", "callables", "containers"}
    for s, rep in results:
        if s.category in ("opcodes", "callables"):
            named = [f for f in rep.findings if f.global_name or "extension" in f.rule]
            assert any(f.severity != "info" for f in named), s.trick


def test_every_benign_sample_is_safe(samples):
    chosen, results = _verdicts(samples, corpus.SAFE)
    assert len(chosen) >= 40
    flagged = [
        f"{s.path.name} ({s.trick}): " + "; ".join(str(f) for f in rep.findings)
        for s, rep in results
        if not rep.safe
    ]
    assert not flagged, "flagged:\n" + "\n".join(flagged)
    # The benign corpus holds real pickles: most samples were read as pickle streams.
    assert sum(sum(f.streams for f in rep.files) > 0 for _, rep in results) >= 35


def test_whole_corpus_as_one_folder(samples, tmp_path):
    root = samples[0].path.parents[2]
    rep = ms.scan.scan(root / corpus.SAFE, digests=False)
    assert rep.safe, rep.summary()
    rep = ms.scan.scan(root, digests=False)
    assert not rep.safe
    bad_files = {f.file for f in rep.findings if f.severity != "info"}
    assert all(os.sep + corpus.UNSAFE + os.sep in p for p in bad_files)


# ------------------------------------------------------------------------------ findings


def test_finding_fields(tmp_path):
    path = _write(tmp_path / "weights.bin", EVIL)
    rep = ms.scan.scan(path)
    assert not rep.safe and not rep.passed
    f = rep.dangerous[0]
    assert f.file == str(path) and f.member is None
    assert f.global_name == "os.system" and f.severity == "dangerous"
    assert f.rule.startswith("pickle.") and f.offset == EVIL.index(b"c")
    assert "os.system" in str(f) and f.message
    d = json.loads(rep.to_json())
    assert d["schema"] == "mlsentry/scan-report/v1" and d["safe"] is False
    assert d["findings"][0]["global_name"] == "os.system"
    assert d["inputs"][str(path)] == ms.integrity.manifest(path).root
    assert rep.files[0].digest == ms.integrity.manifest(path).files[0].digest
    assert "os.system" in rep.to_html() and "NOT SAFE" in rep.summary()
    frame = rep.to_pandas()
    assert list(frame.columns)[:3] == ["file", "member", "offset"]
    assert frame.loc[0, "global_name"] == "os.system"


def test_member_path_inside_nested_archives(tmp_path):
    inner = _zip([("archive/data.pkl", EVIL)])
    path = _write(tmp_path / "model.pt", _zip([("nested/inner.zip", inner)]))
    rep = ms.scan.scan(path)
    f = rep.dangerous[0]
    assert f.member == "nested/inner.zip!archive/data.pkl"
    assert f.offset == EVIL.index(b"c")


def test_gzip_and_bz2_pickles_offsets_are_in_decompressed_bytes(tmp_path):
    for name, data in (("a.gz", gzip.compress(EVIL, mtime=0)), ("b.bz2", bz2.compress(EVIL))):
        rep = ms.scan.scan(_write(tmp_path / name, data))
        assert rep.dangerous[0].offset == EVIL.index(b"c"), name
        assert "pickle" in rep.files[0].format


def test_benign_numpy_pickle_is_safe_and_reads_every_opcode(tmp_path):
    arrays = {"w": np.arange(12.0).reshape(3, 4), "b": np.zeros(4, dtype=np.float32)}
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        path = _write(tmp_path / f"p{protocol}.pkl", pickle.dumps(arrays, protocol=protocol))
        rep = ms.scan.scan(path)
        assert rep.safe, rep.summary()
        assert rep.files[0].streams == 1


def test_a_second_pickle_after_a_benign_one_is_read(tmp_path):
    data = pickle.dumps([1, 2, 3], protocol=4) + EVIL
    rep = ms.scan.scan(_write(tmp_path / "two.pkl", data))
    assert rep.dangerous and rep.dangerous[0].offset >= len(pickle.dumps([1, 2, 3], protocol=4))


@pytest.mark.parametrize("cut", [2, 5, 10, -2, -1])
def test_truncated_pickle_is_a_finding(tmp_path, cut):
    data = pickle.dumps({"w": list(range(50))}, protocol=4)[:cut]
    rep = ms.scan.scan(_write(tmp_path / "cut.pkl", data))
    assert not rep.safe
    assert rep.unknown and all(f.severity != "dangerous" for f in rep.findings)


def test_empty_and_text_files_hold_no_code(tmp_path):
    rep = ms.scan.scan(_write(tmp_path / "empty.pkl", b""))
    assert rep.safe and all(f.severity == "info" for f in rep.findings)
    rep = ms.scan.scan(_write(tmp_path / "README.md", b"# A model\n\nIt classifies.\n"))
    assert rep.safe


# ------------------------------------------------------------------------------ policy


def test_unknown_global_is_not_safe_until_a_policy_allows_it(tmp_path):
    path = _write(tmp_path / "custom.pkl", CUSTOM)
    rep = ms.scan.scan(path)
    assert not rep.safe and rep.unknown[0].global_name == "mypkg.models.Net"
    assert not rep.dangerous
    toml = _write(tmp_path / "policy.toml", b'[allow]\nglobals = ["mypkg.models.*"]\n')
    assert ms.scan.scan(path, policy=toml).safe
    jsn = _write(tmp_path / "policy.json", b'{"allow": {"globals": ["mypkg.models.Net"]}}')
    assert ms.scan.scan(path, policy=jsn).safe
    assert ms.scan.scan(path, policy={"allow": {"globals": ["mypkg.models.Net"]}}).safe
    # A policy can also call something dangerous that the built-in one does not know.
    rep = ms.scan.scan(path, policy={"dangerous": {"globals": ["mypkg.models.Net"]}})
    assert rep.dangerous and rep.dangerous[0].global_name == "mypkg.models.Net"


def test_a_policy_cannot_allow_what_is_dangerous(tmp_path):
    path = _write(tmp_path / "evil.pkl", EVIL)
    for allow in (["os.system"], ["os.*"], ["subprocess.Popen"]):
        with pytest.raises(InvalidInputError, match=r"dangerous|refus"):
            ms.scan.scan(path, policy={"allow": {"globals": allow}})


def test_bad_policies_are_input_errors(tmp_path):
    path = _write(tmp_path / "a.pkl", pickle.dumps(1))
    bad = {
        "p1.toml": b"[allow\nglobals = 3\n",
        "p2.toml": b'[allow]\nglobals = "x.y"\n',
        "p3.json": b'{"allow": {"globals": ["a.*.b"]}}',
        "p4.json": b'{"permit": {"globals": ["a.b"]}}',
        "p5.json": b"[1, 2",
    }
    for name, text in bad.items():
        with pytest.raises(InvalidInputError):
            ms.scan.scan(path, policy=_write(tmp_path / name, text))
    with pytest.raises(InvalidInputError, match=r"toml or \.json"):
        ms.scan.scan(path, policy=_write(tmp_path / "p.yaml", b"allow: []"))
    with pytest.raises(PathNotFoundError):
        ms.scan.scan(path, policy=tmp_path / "missing.toml")
    with pytest.raises(InvalidTypeError):
        ms.scan.scan(path, policy=3)


# ------------------------------------------------------------------------------ bounds


def test_zip_bomb_stays_bounded(tmp_path):
    # 256 MiB of zeros deflates to about 250 KiB: past the ratio limit.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z, z.open("data.pkl", "w") as m:
        chunk = bytes(1 << 20)
        for _ in range(256):
            m.write(chunk)
    rep = ms.scan.scan(_write(tmp_path / "bomb.zip", buf.getvalue()), digests=False)
    assert not rep.safe
    assert any("bomb" in f.rule or "limit" in f.rule for f in rep.unknown), rep.summary()


def test_deep_nesting_stays_bounded(tmp_path):
    data = pickle.dumps([1.0, 2.0])
    for depth in range(8):
        data = _zip([(f"level{depth}.bin", data)])
    rep = ms.scan.scan(_write(tmp_path / "deep.zip", data))
    assert not rep.safe and rep.unknown


def test_enormous_declared_length_is_a_finding(tmp_path):
    # BINBYTES8 declaring 2**62 bytes, then nothing.
    data = b"\x80\x04\x8e" + (1 << 62).to_bytes(8, "little")
    rep = ms.scan.scan(_write(tmp_path / "huge.pkl", data))
    assert not rep.safe and not rep.dangerous


def test_deeply_nested_pickle_does_not_overflow(tmp_path):
    # 200,000 nested one-element lists: EMPTY_LIST MARK ... APPENDS, built without pickling.
    n = 200_000
    data = b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b"."
    rep = ms.scan.scan(_write(tmp_path / "deep.pkl", data))
    assert rep.safe, rep.summary()


# ------------------------------------------------------------------------------ folders


def test_folder_scan_names_files_and_never_loops(tmp_path):
    root = tmp_path / "model"
    _write(root / "weights" / "arrays.pkl", pickle.dumps(np.ones(3)))
    _write(root / "tokenizer" / "vocab.bin", EVIL)
    (root / "loop").symlink_to(root)
    (root / "outside").symlink_to(tmp_path)
    os.mkfifo(root / "pipe")
    rep = ms.scan.scan(root)
    assert not rep.safe
    assert rep.dangerous[0].file == os.path.join(str(root), "tokenizer", "vocab.bin")
    scanned = sorted(os.path.relpath(f.path, root) for f in rep.files)
    assert scanned == ["tokenizer/vocab.bin", "weights/arrays.pkl"]
    assert any(f.file.endswith("outside") for f in rep.unknown)
    # No manifest of a folder with a FIFO and a link leaving it: the scan says so.
    assert "FIFO" in rep.config["not_digested"][str(root)] and str(root) not in rep.inputs
    assert all(f.digest is None for f in rep.files)
    for name in ("pipe", "outside", "loop"):
        (root / name).unlink()
    rep = ms.scan.scan(root)
    assert not rep.safe and "not_digested" not in rep.config
    digests = {e.path: e.digest for e in ms.integrity.manifest(root).files}
    assert rep.inputs[str(root)] == ms.integrity.manifest(root).root
    for f in rep.files:
        assert f.digest == digests[os.path.relpath(f.path, root)]


def test_several_paths_and_bad_paths(tmp_path):
    a = _write(tmp_path / "a.pkl", pickle.dumps({"x": 1}))
    b = _write(tmp_path / "b.pkl", EVIL)
    rep = ms.scan.scan([a, b])
    assert not rep.safe and len(rep.files) == 2 and len(rep.inputs) == 2
    assert ms.scan.scan([a]).safe
    with pytest.raises(PathNotFoundError):
        ms.scan.scan(tmp_path / "missing.pkl")
    with pytest.raises(InvalidInputError):
        ms.scan.scan([])
    with pytest.raises(InvalidTypeError):
        ms.scan.scan([a, 3])


# ------------------------------------------------------------------------------ CLI, audit


def test_command_line_exit_codes(tmp_path, capsys):
    good = _write(tmp_path / "good.pkl", pickle.dumps([1, 2]))
    bad = _write(tmp_path / "bad.bin", EVIL)
    assert main(["scan", str(good)]) == 0
    assert main(["scan", str(good), str(bad), "--json"]) == 1
    out = capsys.readouterr().out
    d = json.loads(out[out.index("{") :])
    assert d["safe"] is False and d["findings"][0]["global_name"] == "os.system"
    assert main(["scan", str(tmp_path / "missing")]) == 2
    assert main(["scan", str(good), "--policy", str(tmp_path / "missing.toml")]) == 2
    policy = _write(tmp_path / "p.toml", b'[allow]\nglobals = ["os.system"]\n')
    assert main(["scan", str(bad), "--policy", str(policy)]) == 2
    html = tmp_path / "scan.html"
    assert main(["scan", str(bad), "--no-digests", "--html", str(html)]) == 1
    assert "os.system" in html.read_text()


def test_every_scan_is_audited(tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MLSENTRY_AUDIT_LOG", str(log))
    path = _write(tmp_path / "bad.bin", EVIL)
    ms.scan.scan(path)
    (event,) = [e["event"] for e in ms.integrity.AuditLog(log).entries()]
    assert event["check"] == "scan" and event["passed"] is False
    assert event["dangerous"] == 1
    assert event["inputs"][str(path)] == ms.integrity.manifest(path).root


def test_readme_scan_section_runs(tmp_path, monkeypatch, capsys, readme_blocks):
    (block,) = readme_blocks("Scan")
    (policy,) = readme_blocks("Scan", "toml")
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "model" / "weights.pkl", pickle.dumps({"w": np.ones(3)}))
    _write(tmp_path / "model" / "head.pkl", CUSTOM)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["report"].safe is False
    assert "mypkg.models.Net" in capsys.readouterr().out
    _write(tmp_path / "policy.toml", policy.encode())
    assert ms.scan.scan("model", policy="policy.toml").safe


def test_real_pytorch_files():
    """Files written by torch 2.15 itself (tests/scan/torch_files/make_torch_files.py; torch is
    not needed here). Every file torch's own restricted loader (`weights_only=True`) accepts
    is safe, and so are whole pickled modules of torch.nn classes, which that loader refuses
    only because it allows no module class; user classes and TorchScript are not safe."""
    weights_only = json.loads((corpus.TORCH_FILES / "torch_results.json").read_text())
    weights_only = weights_only["weights_only"]
    not_safe = {
        "custom_module.pt": ("pickle.unknown-global", "__main__.MyNet"),
        "torchscript.pt": ("torch.torchscript", None),
    }
    # The same two files the benchmark corpus leaves out of its benign samples.
    assert len(weights_only) == 28 and set(not_safe) == corpus.NOT_IN_CORPUS
    for name, torch_says in sorted(weights_only.items()):
        report = ms.scan.scan(corpus.TORCH_FILES / name, digests=False)
        assert report.files[0].format in ("pytorch-zip", "torch-legacy", "torchscript"), name
        if name in not_safe:
            rule, glob = not_safe[name]
            assert not report.safe and not report.dangerous, name
            assert any(f.rule == rule for f in report.unknown), (name, report.findings)
            if glob is not None:
                assert [f.global_name for f in report.unknown] == [glob]
        else:
            assert report.safe, (name, torch_says, report.findings)
    # Every file torch's loader accepts is among the safe ones.
    assert not any(weights_only[n] == "loads" for n in not_safe)
    # A TorchScript archive is named as such, and its program's classes are listed.
    ts = ms.scan.scan(corpus.TORCH_FILES / "torchscript.pt", digests=False)
    assert ts.files[0].format == "torchscript"
    assert {f.global_name for f in ts.unknown} >= {"__torch__.torch.nn.modules.linear.Linear"}
