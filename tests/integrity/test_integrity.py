"""File hashing, manifests and verification (``mlsentry.integrity``).

Digests are compared with ``hashlib`` (and the ``blake3`` package when installed), never
with our own output.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import unicodedata

import pytest

import mlsentry as ms
from mlsentry.errors import (
    FileChangedError,
    FilePermissionError,
    IntegrityError,
    InvalidInputError,
    InvalidTypeError,
    ManifestError,
    PathNotFoundError,
    UnsafePathError,
)

integrity = ms.integrity


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write(root, rel, data: bytes):
    path = os.path.join(os.fsencode(root), os.fsencode(rel))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "model"
    write(root, "config.json", b'{"layers": 3}')
    write(root, "weights/w0.bin", os.urandom(5000))
    write(root, "weights/w1.bin", os.urandom(70_000))
    write(root, "empty.txt", b"")
    os.makedirs(root / "empty_folder")
    return root


def call_with_timeout(fn, fifo, timeout=10.0):
    """Runs ``fn`` in a thread; if it blocks on the FIFO, unblock it and fail."""
    result = {}

    def target():
        try:
            result["value"] = fn()
        except BaseException as e:  # re-raised in the caller
            result["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # a reader is blocked: release it
        os.close(fd)
        t.join(5)
        pytest.fail("hashing blocked on a FIFO")
    if "error" in result:
        raise result["error"]
    return result["value"]


# --- hash_file ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 1000, 8 * 2**20 + 12345])
def test_hash_file_matches_hashlib(tmp_path, size):
    data = os.urandom(size)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    assert integrity.hash_file(p) == sha(data)
    assert integrity.hash_file(str(p), "sha256") == sha(data)
    assert integrity.hash_file(os.fsencode(p)) == sha(data)


def test_hash_file_blake3(tmp_path):
    blake3 = pytest.importorskip("blake3")
    data = os.urandom(3 * 2**20 + 7)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    assert integrity.hash_file(p, "blake3") == "blake3:" + blake3.blake3(data).hexdigest()
    assert integrity.hash_file(tmp_path / "f.bin", algorithm="blake3").startswith("blake3:")


def test_hash_file_progress_callable(tmp_path):
    data = os.urandom(2**20)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    calls = []
    assert integrity.hash_file(p, progress=lambda d, t: calls.append((d, t))) == sha(data)
    assert calls and calls[-1] == (len(data), len(data))


def test_hash_file_bad_arguments(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x")
    with pytest.raises(InvalidInputError, match="algorithm"):
        integrity.hash_file(p, "md5")
    with pytest.raises(InvalidTypeError, match="path"):
        integrity.hash_file(123)
    with pytest.raises(InvalidInputError, match="directory"):
        integrity.hash_file(tmp_path)


def test_missing_path_names_it(tmp_path):
    missing = tmp_path / "nope" / "weights.bin"
    with pytest.raises(PathNotFoundError) as ei:
        integrity.hash_file(missing)
    assert ei.value.filename == str(missing)
    assert str(missing) in str(ei.value)
    with pytest.raises(PathNotFoundError, match="nope"):
        integrity.manifest(tmp_path / "nope")
    with pytest.raises(FileNotFoundError):  # still the built-in class
        integrity.verify(tmp_path / "nope", integrity.manifest(tmp_path))


def test_permission_denied_names_the_file(tree):
    p = tree / "weights" / "w0.bin"
    os.chmod(p, 0)
    try:
        if os.access(p, os.R_OK):
            pytest.skip("running as a user who can read mode-000 files (root)")
        with pytest.raises(FilePermissionError) as ei:
            integrity.hash_file(p)
        assert ei.value.filename == str(p)
        with pytest.raises(FilePermissionError) as ei:
            integrity.manifest(tree)
        assert ei.value.filename == str(p)
        assert isinstance(ei.value, PermissionError)
    finally:
        os.chmod(p, 0o644)


def test_file_truncated_while_hashed(tmp_path):
    # A 4 GiB sparse file takes seconds to hash; the first progress report (after 0.1 s)
    # truncates it, so the read comes up short.
    p = tmp_path / "sparse.bin"
    with open(p, "wb") as fh:
        fh.truncate(4 * 2**30)
    seen = []

    def cb(done, total):
        if not seen and done < total:
            os.truncate(p, 1000)
        seen.append(done)

    with pytest.raises(FileChangedError, match=r"sparse\.bin"):
        integrity.hash_file(p, progress=cb)


def test_file_growing_while_hashed(tmp_path):
    root = tmp_path / "t"
    p = root / "sparse.bin"
    root.mkdir()
    with open(p, "wb") as fh:
        fh.truncate(4 * 2**30)
    seen = []

    def cb(done, total):
        if not seen and done < total:
            with open(p, "ab") as fh:
                fh.write(b"appended")
        seen.append(done)

    with pytest.raises(FileChangedError, match=r"sparse\.bin"):
        integrity.manifest(root, "blake3", progress=cb)


def test_fifo_is_never_opened(tmp_path):
    root = tmp_path / "t"
    write(root, "a.bin", b"a")
    fifo = root / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UnsafePathError, match="FIFO"):
        call_with_timeout(lambda: integrity.hash_file(fifo), fifo)
    with pytest.raises(UnsafePathError, match="pipe"):
        call_with_timeout(lambda: integrity.manifest(root), fifo)
    # Ignored: not even looked at.
    m = call_with_timeout(lambda: integrity.manifest(root, ignore=["pipe"]), fifo)
    assert [f.path for f in m.files] == ["a.bin"]


def test_device_file_refused():
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    with pytest.raises(UnsafePathError, match="device"):
        integrity.hash_file("/dev/null")


# --- symlinks -------------------------------------------------------------------------


def test_symlink_inside_tree_hashed_as_target(tree):
    os.symlink("weights/w0.bin", tree / "alias.bin")
    os.symlink("weights", tree / "wdir")
    m = integrity.manifest(tree)
    by_path = {f.path: f for f in m.files}
    data = (tree / "weights" / "w0.bin").read_bytes()
    assert by_path["alias.bin"].digest == sha(data)
    assert by_path["wdir/w0.bin"].digest == sha(data)


def test_symlink_leaving_tree(tmp_path, tree):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside")
    os.symlink(secret, tree / "leak")
    with pytest.raises(UnsafePathError, match="outside the tree"):
        integrity.manifest(tree)
    m = integrity.manifest(tree, follow_symlinks=True)
    assert {f.path: f.digest for f in m.files}["leak"] == sha(b"outside")
    # verify re-applies follow_symlinks from the manifest
    assert integrity.verify(tree, m).ok


@pytest.mark.parametrize("follow", [False, True])
def test_symlink_loop_detected(tree, follow):
    os.symlink("..", tree / "weights" / "up")
    with pytest.raises(UnsafePathError, match="loop"):
        integrity.manifest(tree, follow_symlinks=follow)


def test_self_and_broken_links(tree):
    os.symlink("me", tree / "me")
    with pytest.raises(UnsafePathError, match="loop"):
        integrity.manifest(tree)
    os.remove(tree / "me")
    os.symlink("does-not-exist", tree / "dangling")
    with pytest.raises(UnsafePathError, match="does not exist"):
        integrity.manifest(tree)


# --- manifests ------------------------------------------------------------------------


def test_manifest_lists_every_file(tree):
    # Files mode: one digest per file, the root over them all (the empty file included).
    m = integrity.manifest(tree, shard_size=None)
    assert [f.path for f in m.files] == [
        "config.json",
        "empty.txt",
        "weights/w0.bin",
        "weights/w1.bin",
    ]
    for f in m.files:
        data = (tree / f.path).read_bytes()
        assert f.size == len(data)
        assert f.digest == sha(data)
        assert f.shards is None
    expected_root = hashlib.sha256(
        b"".join(bytes.fromhex(f.digest.split(":")[1]) for f in m.files)
    ).hexdigest()
    assert m.root == "sha256:" + expected_root
    assert m.algorithm == "sha256" and m.shard_size is None
    with pytest.raises(AttributeError):
        m.files[0].path = "x"  # type: ignore[misc]


def test_default_is_64_mib_shards_with_plain_digests_for_small_files(tree):
    m = integrity.manifest(tree)
    assert m.shard_size == integrity.DEFAULT_SHARD_SIZE == 64 * 2**20
    files = integrity.manifest(tree, shard_size=None)
    # Files below the shard size keep their content's digest (what sha256sum prints)...
    assert [(f.path, f.digest) for f in m.files] == [(f.path, f.digest) for f in files.files]
    for f in m.files:
        assert f.shards == (() if f.size == 0 else (f.digest,))
    # ... and the root covers the shards: an empty file has none.
    shard_digests = [d for f in m.files for d in f.shards]
    expected = hashlib.sha256(b"".join(bytes.fromhex(d.split(":")[1]) for d in shard_digests))
    assert m.root == "sha256:" + expected.hexdigest()


def test_manifest_single_file(tree):
    m = integrity.manifest(tree / "config.json")
    assert [(f.path, f.digest) for f in m.files] == [
        ("config.json", sha(b'{"layers": 3}')),
    ]


def test_manifest_shards(tree):
    m = integrity.manifest(tree, shard_size=4096)
    for f in m.files:
        data = (tree / f.path).read_bytes()
        chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
        assert list(f.shards) == [sha(c) for c in chunks]
        raw = b"".join(hashlib.sha256(c).digest() for c in chunks)
        # One shard (or none): the content's digest; several: the digest of theirs.
        assert f.digest == (sha(data) if len(chunks) <= 1 else sha(raw))
    assert any(len(f.shards) > 1 for f in m.files)
    empty = next(f for f in m.files if f.path == "empty.txt")
    assert empty.shards == ()
    back = integrity.Manifest.from_json(m.to_json())
    assert back == m and back.shard_size == 4096


def test_manifest_deterministic_across_thread_counts(tree, monkeypatch):
    a = integrity.manifest(tree, shard_size=1000)
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "1")
    b = integrity.manifest(tree, shard_size=1000)
    assert a == b and a.to_json() == b.to_json()


def test_manifest_bad_arguments(tree):
    with pytest.raises(InvalidInputError, match="shard_size"):
        integrity.manifest(tree, shard_size=0)
    with pytest.raises(InvalidTypeError, match="shard_size"):
        integrity.manifest(tree, shard_size=1.5)
    with pytest.raises(InvalidInputError, match="algorithm"):
        integrity.manifest(tree, algorithm="sha1")
    with pytest.raises(InvalidInputError, match="ignore"):
        integrity.manifest(tree, ignore=["/"])
    with pytest.raises(InvalidTypeError, match="ignore"):
        integrity.manifest(tree, ignore=[1])


def test_leading_slash_anchors_ignore_at_the_top(tree):
    write(tree, "sub/a.tmp2", b"x")
    write(tree, "a.tmp2", b"x")
    anchored = [f.path for f in integrity.manifest(tree, ignore=["/a.tmp2"]).files]
    assert "sub/a.tmp2" in anchored and "a.tmp2" not in anchored


def test_ignore_patterns(tree):
    write(tree, "tmp/a.tmp", b"x")
    write(tree, "b.tmp", b"x")
    write(tree, ".git/objects/ab", b"x")
    write(tree, ".github/workflow.yml", b"keep")
    m = integrity.manifest(tree, ignore=["*.tmp", ".git/**"])
    paths = [f.path for f in m.files]
    assert not any(p.endswith(".tmp") or p.startswith(".git/") for p in paths)
    assert ".github/workflow.yml" in paths
    assert m.ignore == ("*.tmp", ".git/**")
    write(tree, "new.tmp", b"ignored by verify too")
    assert integrity.verify(tree, m).ok
    assert integrity.verify(tree, integrity.Manifest.from_json(m.to_json())).ok


def test_empty_files_and_folders(tmp_path):
    root = tmp_path / "t"
    os.makedirs(root / "a" / "b")
    write(root, "e", b"")
    m = integrity.manifest(root)
    assert [(f.path, f.size, f.digest) for f in m.files] == [("e", 0, sha(b""))]
    empty = integrity.manifest(root / "a")
    assert empty.files == [] and empty.root == sha(b"")
    os.makedirs(root / "c")  # empty folders are not part of a manifest
    assert integrity.verify(root, m).ok


def test_non_utf8_and_unicode_names(tmp_path):
    root = tmp_path / "t"
    nfc = unicodedata.normalize("NFC", "café")
    nfd = unicodedata.normalize("NFD", "café")
    write(root, b"\xff.bin", b"raw bytes name")
    write(root, nfc, b"nfc")
    write(root, nfd, b"nfd")
    if len(os.listdir(root)) != 3:
        pytest.skip("this filesystem normalises Unicode names")
    m = integrity.manifest(root)
    by_path = {f.path: f.digest for f in m.files}
    assert by_path["\udcff.bin"] == sha(b"raw bytes name")
    assert by_path[nfc] == sha(b"nfc") and by_path[nfd] == sha(b"nfd")
    text = m.to_json()
    assert text.isascii() and "\\udcff.bin" in text
    back = integrity.Manifest.from_json(text)
    assert back == m
    m.save(tmp_path / "m.json")
    assert integrity.Manifest.load(tmp_path / "m.json") == m
    assert integrity.verify(os.fsencode(root), tmp_path / "m.json").ok
    write(root, b"\xff.bin", b"changed")
    r = integrity.verify(root, m)
    assert [c.path for c in r.modified] == ["\udcff.bin"]
    assert "\\xff.bin" in r.to_json()  # reports show the raw byte
    r.save(tmp_path / "r.html")


# --- JSON -----------------------------------------------------------------------------


def test_json_format(tree):
    m = integrity.manifest(tree, shard_size=None)
    data = json.loads(m.to_json())
    assert data["schema"] == "mlsentry/manifest/v1"
    assert data["algorithm"] == "sha256"
    assert data["shard_size"] is None
    assert data["root"] == m.root
    assert data["files"][0] == {
        "path": "config.json",
        "size": 13,
        "digest": sha(b'{"layers": 3}'),
    }
    assert integrity.Manifest.from_json(m.to_json()) == m
    assert integrity.Manifest.from_json(m.to_json().encode()) == m


def _edited(m, edit):
    data = json.loads(m.to_json())
    edit(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(schema="other/v1"), "schema"),
        (lambda d: d.pop("root"), "missing field"),
        (lambda d: d.update(extra=1), "unknown field"),
        (lambda d: d.update(algorithm="md5"), "algorithm"),
        (lambda d: d.update(files={}), "files must be a list"),
        (lambda d: d["files"][0].update(size="13"), "size"),
        (lambda d: d["files"][0].update(size=-1), "size"),
        (lambda d: d["files"][0].pop("digest"), "fields"),
        (lambda d: d["files"][0].update(path=3), "path"),
        (lambda d: d["files"][0].update(digest="sha256:xyz"), "not a digest"),
        (lambda d: d["files"][0].update(digest="SHA256:" + "0" * 64), "not a digest"),
        (lambda d: d["files"][0].update(digest="blake3:" + "0" * 64), "algorithm"),
        (lambda d: d["files"][1].update(path="config.json"), "duplicate path"),
        (lambda d: d["files"][0].update(path="../config.json"), "unsafe path"),
        (lambda d: d["files"][0].update(path="/etc/passwd"), "unsafe path"),
        (lambda d: d["files"][0].update(path="a//b"), "unsafe path"),
        (lambda d: d["files"][0].update(digest=sha(b"tampered")), "root"),
        (lambda d: d.update(root=sha(b"x")), "root"),
        (lambda d: d.update(root="nonsense"), "not a digest"),
        (lambda d: d.update(follow_symlinks="no"), "follow_symlinks"),
    ],
)
def test_from_json_rejects(tree, edit, message):
    m = integrity.manifest(tree, shard_size=None)
    with pytest.raises(ManifestError, match=message):
        integrity.Manifest.from_json(_edited(m, edit))


def test_from_json_rejects_shard_edits(tree):
    m = integrity.manifest(tree, shard_size=4096)

    def drop_shard(d):
        d["files"][-1]["shards"].pop()

    with pytest.raises(ManifestError, match="shards"):
        integrity.Manifest.from_json(_edited(m, drop_shard))

    def swap_shards(d):
        s = d["files"][-1]["shards"]
        s[0], s[1] = s[1], s[0]

    with pytest.raises(ManifestError, match="shard digests"):
        integrity.Manifest.from_json(_edited(m, swap_shards))


def test_from_json_rejects_garbage(tmp_path):
    for text in ["", "not json", "[]", "null", '{"schema": "mlsentry/manifest/v1"}']:
        with pytest.raises(ManifestError):
            integrity.Manifest.from_json(text)
    p = tmp_path / "bad.json"
    p.write_bytes(b"\xff\xfe")
    with pytest.raises(ManifestError, match="UTF-8"):
        integrity.Manifest.load(p)
    with pytest.raises(PathNotFoundError):
        integrity.Manifest.load(tmp_path / "missing.json")


def test_reordered_json_is_canonicalised(tree):
    m = integrity.manifest(tree)
    back = integrity.Manifest.from_json(_edited(m, lambda d: d["files"].reverse()))
    assert back == m


# --- verify ---------------------------------------------------------------------------


def test_verify_clean(tree, tmp_path):
    m = integrity.manifest(tree)
    r = integrity.verify(tree, m)
    assert r.ok and r.passed
    assert r.added == r.removed == r.modified == []
    assert r.inputs["manifest"] == m.root
    m.save(tmp_path / "m.json")
    assert integrity.verify(tree, tmp_path / "m.json").ok
    assert integrity.verify(tree, str(tmp_path / "m.json"), strict=True).ok


def test_a_manifest_inside_the_folder_it_covers_is_left_out(tree):
    # Saved inside after it was made: the folder now holds one more file, itself.
    before = integrity.manifest(tree)
    before.save(tree / "release[1].manifest.json")
    r = integrity.verify(tree, tree / "release[1].manifest.json")
    assert r.ok, r.summary()
    assert r.config["ignore_extra"] == ["/release\\[1].manifest.json"]
    # Made again with the old one inside (so it lists it), then overwritten: still ok.
    m = integrity.manifest(tree)
    assert "release[1].manifest.json" in [f.path for f in m.files]
    m.save(tree / "release[1].manifest.json")
    assert integrity.verify(tree, tree / "release[1].manifest.json").ok
    # Only that file: anything else added is still reported, and a manifest given as an
    # object (not the file being verified) leaves nothing out.
    (tree / "weights" / "w2.bin").write_bytes(b"new")
    assert integrity.verify(tree, tree / "release[1].manifest.json").added == ["weights/w2.bin"]
    assert "release[1].manifest.json" in integrity.verify(tree, before).added


def test_verify_ignore_leaves_files_out_on_both_sides(tree):
    m = integrity.manifest(tree)
    (tree / "weights" / "w0.bin").write_bytes(b"changed")
    (tree / "notes.tmp").write_bytes(b"scratch")
    (tree / "cache").mkdir()
    (tree / "cache" / "x.bin").write_bytes(b"x")
    r = integrity.verify(tree, m)
    assert sorted(r.added) == ["cache/x.bin", "notes.tmp"] and r.modified
    r = integrity.verify(tree, m, ignore=["*.tmp", "cache", "/weights/w0.bin"])
    assert r.ok, r.summary()
    assert r.config["ignore_extra"] == ["*.tmp", "cache", "/weights/w0.bin"]
    r = integrity.verify(tree, m, ignore="weights")  # a folder, whole
    assert r.added == ["cache/x.bin", "notes.tmp"] and not r.removed and not r.modified
    with pytest.raises(InvalidTypeError, match="ignore"):
        integrity.verify(tree, m, ignore=[3])
    with pytest.raises(InvalidInputError, match="ignore"):
        integrity.verify(tree, m, ignore=["/"])


@pytest.mark.parametrize(("algorithm", "shard_size"), [("sha256", None), ("blake3", 1000)])
def test_verify_reports_changes(tree, algorithm, shard_size):
    m = integrity.manifest(tree, algorithm, shard_size=shard_size)
    old = (tree / "weights" / "w0.bin").read_bytes()
    new = old[:-1] + bytes([old[-1] ^ 1]) + b"!"
    (tree / "weights" / "w0.bin").write_bytes(new)
    os.remove(tree / "config.json")
    write(tree, "extra/x.bin", b"new")
    r = integrity.verify(tree, m)
    assert not r.ok and not r.passed
    assert r.added == ["extra/x.bin"]
    assert r.removed == ["config.json"]
    assert len(r.modified) == 1
    mod = r.modified[0]
    assert mod.path == "weights/w0.bin"
    assert (mod.expected_size, mod.actual_size) == (len(old), len(new))
    if shard_size is None:
        assert (mod.expected, mod.actual) == (sha(old), sha(new))
    assert mod.actual != mod.expected

    data = json.loads(r.to_json())
    assert data["schema"] == "mlsentry/verify-report/v1"
    assert data["passed"] is False
    assert data["inputs"]["manifest"] == m.root
    assert data["modified"][0]["path"] == "weights/w0.bin"
    html = r.to_html()
    assert "weights/w0.bin" in html and "extra/x.bin" in html and "<table" in html
    assert "FAILED" in r.summary()

    with pytest.raises(IntegrityError) as ei:
        integrity.verify(tree, m, strict=True)
    for path in ("weights/w0.bin", "config.json", "extra/x.bin"):
        assert path in str(ei.value)


def test_manifests_made_every_way_agree(tree):
    # Built, loaded from JSON, and constructed by hand from FileEntry objects: the same
    # entries, equal manifests, and the same verdicts (entries are kept in two forms).
    built = integrity.manifest(tree, shard_size=1000)
    data = json.loads(built.to_json())
    loaded = integrity.Manifest._from_dict(data)
    by_hand = integrity.Manifest(
        root=built.root,
        files=built.files,
        algorithm="sha256",
        shard_size=1000,
    )
    assert loaded.files == built.files == by_hand.files
    assert all(isinstance(f.shards, tuple) for f in loaded.files)
    assert loaded == built == by_hand and len(loaded) == len(built) == len(by_hand)
    # The caller's data, changed after loading, does not change the manifest.
    fresh = integrity.Manifest._from_dict(data)
    data["files"][0]["shards"].append("sha256:" + "0" * 64)
    data["files"][0]["size"] = 0
    assert fresh.to_dict() == built.to_dict()
    path = "weights/w0.bin"
    old = (tree / path).read_bytes()
    (tree / path).write_bytes(bytes([old[0] ^ 1]) + old[1:])  # same size, new content
    for m in (built, loaded, by_hand):
        r = integrity.verify(tree, m)
        assert (r.added, r.removed, [c.path for c in r.modified]) == ([], [], [path])
        assert r.modified[0].expected_size == r.modified[0].actual_size == len(old)


def test_verify_to_pandas(tree):
    pd = pytest.importorskip("pandas")
    m = integrity.manifest(tree)
    (tree / "config.json").write_bytes(b"{}")
    write(tree, "n.bin", b"n")
    df = integrity.verify(tree, m).to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert sorted(df["change"]) == ["added", "modified"]
    assert list(df.columns[:2]) == ["change", "path"]


def test_verify_bad_manifest_argument(tree):
    with pytest.raises(InvalidTypeError, match="manifest"):
        integrity.verify(tree, 42)


def test_permission_denied_as_unprivileged_user():
    """As root mode 000 does not stop reads: fork, drop to ``nobody`` and check there."""
    import shutil
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("covered by test_permission_denied_names_the_file")
    root = tempfile.mkdtemp(prefix="mlsentry-perm-")
    try:
        os.chmod(root, 0o755)
        write(root, "ok.bin", b"ok")
        secret = write(root, "secret.bin", b"secret")
        os.chmod(secret, 0)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never return into pytest
            status = 1
            try:
                os.close(r)
                os.setgid(65534)
                os.setuid(65534)
                lines = []
                for fn, arg in ((integrity.hash_file, secret), (integrity.manifest, root)):
                    try:
                        fn(arg)
                        lines.append("READ")
                    except FilePermissionError as e:
                        lines.append(
                            f"DENIED {os.fsdecode(e.filename)} {isinstance(e, PermissionError)}"
                        )
                os.write(w, "\n".join(lines).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(w)
        with os.fdopen(r) as fh:
            out = fh.read()
        _, status = os.waitpid(pid, 0)
        assert status == 0
        assert out.splitlines() == [f"DENIED {os.fsdecode(secret)} True"] * 2
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_progress_true_and_interruption(tmp_path):
    pytest.importorskip("tqdm")
    p = tmp_path / "f.bin"
    p.write_bytes(b"x" * 100_000)
    assert integrity.hash_file(p, progress=True) == sha(b"x" * 100_000)
    assert integrity.manifest(tmp_path, progress=True).files[0].size == 100_000
    # A callback that raises stops the work (as Ctrl-C does) and its error propagates.
    big = tmp_path / "sparse.bin"
    with open(big, "wb") as fh:
        fh.truncate(4 * 2**30)

    def stop(done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        integrity.manifest(tmp_path, progress=stop)


def test_huge_shard_size_in_json_rejected(tree):
    m = integrity.manifest(tree, shard_size=4096)
    with pytest.raises(ManifestError, match="shard_size"):
        integrity.Manifest.from_json(_edited(m, lambda d: d.update(shard_size=2**64)))
