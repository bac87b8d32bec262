"""Our manifest roots equal those of the real OpenSSF ``model-signing`` package.

The root of model-signing is the SHA-256 of the concatenated raw digests of the
resources (files, or shards), ordered by path, which its in-toto ``Payload`` puts in the
statement subject. We compare with what the package itself computes, never with our own
output.
"""

from __future__ import annotations

import os
import random
import unicodedata

import pytest

import mlsentry as ms

model_signing = pytest.importorskip("model_signing")
from model_signing._signing.signing import Payload  # noqa: E402


def ms_manifest(folder, shard_size=None, algorithm="sha256"):
    config = model_signing.hashing.Config()
    if shard_size is None:
        config.use_file_serialization(hashing_algorithm=algorithm)
    else:
        config.use_shard_serialization(hashing_algorithm=algorithm, shard_size=shard_size)
    return config.hash(folder)


def ms_root(folder, shard_size=None):
    """The root digest model-signing signs for ``folder`` (always SHA-256)."""
    payload = Payload(ms_manifest(folder, shard_size))
    return "sha256:" + payload.statement.pb.subject[0].digest["sha256"]


def write(root, rel, data: bytes):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


@pytest.fixture
def sample_folder(tmp_path):
    """model-signing's own test fixture: d0/f00..f02, d1/f10..f12, f0..f3."""
    root = tmp_path / "sample_model"
    for i in range(2):
        for j in range(3):
            write(root, f"d{i}/f{i}{j}", f"This is file f{i}{j} in d{i}.".encode())
    for i in range(4):
        write(root, f"f{i}", f"This is file f{i} in root.".encode())
    return root


def random_tree(root, seed):
    rng = random.Random(seed)
    names = [
        "a",
        "b",
        "a.b",
        "a-c",
        "A",
        "with space",
        "ünïcödé",
        unicodedata.normalize("NFD", "café"),
        unicodedata.normalize("NFC", "café"),
        "日本",
        ".hidden",
        "z",
        "0",
        "x.bin",
    ]
    os.makedirs(root, exist_ok=True)
    for _ in range(rng.randint(5, 25)):
        depth = rng.randint(0, 3)
        rel = "/".join(rng.choice(names) for _ in range(depth + 1))
        full = os.path.join(root, rel)
        parts = rel.split("/")
        # Skip a name that would need an existing file to be a folder (or vice versa).
        prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
        if any(os.path.isfile(os.path.join(root, p)) for p in prefixes[:-1]):
            continue
        if os.path.isdir(full):
            continue
        size = rng.choice([0, 0, 1, 5, 100, 4096, 10_000])
        write(root, rel, rng.randbytes(size))
    os.makedirs(os.path.join(root, "empty", "nested"), exist_ok=True)
    return root


def test_fixture_root_files_mode(sample_folder):
    m = ms.integrity.manifest(sample_folder)
    assert m.root == ms_root(sample_folder)
    assert [f.path for f in m.files] == [
        "d0/f00",
        "d0/f01",
        "d0/f02",
        "d1/f10",
        "d1/f11",
        "d1/f12",
        "f0",
        "f1",
        "f2",
        "f3",
    ]


@pytest.mark.parametrize("shard_size", [1, 7, 23, 1000])
def test_fixture_root_shards_mode(sample_folder, shard_size):
    m = ms.integrity.manifest(sample_folder, shard_size=shard_size)
    assert m.root == ms_root(sample_folder, shard_size)


@pytest.mark.parametrize("seed", range(8))
def test_random_trees_files_and_shards(tmp_path, seed):
    root = random_tree(tmp_path / f"tree{seed}", seed)
    assert ms.integrity.manifest(root, shard_size=None).root == ms_root(root)
    for shard_size in (3, 4096, ms.integrity.DEFAULT_SHARD_SIZE):
        assert ms.integrity.manifest(root, shard_size=shard_size).root == ms_root(root, shard_size)


@pytest.mark.parametrize("seed", range(3))
def test_random_trees_resources_match(tmp_path, seed):
    """Same files, same per-file digests, same order as model-signing's resources."""
    root = random_tree(tmp_path / f"tree{seed}", seed)
    theirs = [(d.identifier, d.digest.digest_hex) for d in ms_manifest(root).resource_descriptors()]
    ours = [(f.path, f.digest.split(":", 1)[1]) for f in ms.integrity.manifest(root).files]
    assert ours == theirs


def test_blake3_file_digests_match(tmp_path):
    # model-signing's root is always SHA-256; ours uses the manifest's algorithm, so here
    # only the per-file BLAKE3 digests and the order are comparable.
    root = random_tree(tmp_path / "t", 42)
    theirs = [
        (d.identifier, d.digest.digest_hex)
        for d in ms_manifest(root, algorithm="blake3").resource_descriptors()
    ]
    m = ms.integrity.manifest(root, "blake3")
    assert m.root.startswith("blake3:")
    assert [(f.path, f.digest.removeprefix("blake3:")) for f in m.files] == theirs


def test_shard_resources_match(sample_folder):
    theirs = [
        (d.identifier, d.digest.digest_hex)
        for d in ms_manifest(sample_folder, shard_size=10).resource_descriptors()
    ]
    m = ms.integrity.manifest(sample_folder, shard_size=10)
    ours = []
    for f in m.files:
        for i, s in enumerate(f.shards):
            start, end = i * 10, min((i + 1) * 10, f.size)
            ours.append((f"{f.path}:{start}:{end}", s.split(":", 1)[1]))
    assert ours == theirs


def test_single_file(sample_folder):
    f = sample_folder / "f0"
    assert ms.integrity.manifest(f).root == ms_root(f)


def test_non_utf8_name_orders_like_model_signing(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    for name in (b"\xff.bin", b"\xef\xbf\xbf", b"a", b"\xc3\xa9"):
        with open(os.path.join(os.fsencode(root), name), "wb") as fh:
            fh.write(name)
    # Its Payload cannot put such a name in a protobuf, so apply its root construction
    # (as in Payload.__init__) to the resources it orders.
    import hashlib

    descriptors = list(ms_manifest(root).resource_descriptors())
    theirs = hashlib.sha256(b"".join(d.digest.digest_value for d in descriptors)).hexdigest()
    m = ms.integrity.manifest(root)
    assert m.root == "sha256:" + theirs
    assert [f.path for f in m.files] == [d.identifier for d in descriptors]


def test_git_files_ignored_like_model_signing(sample_folder):
    # model-signing skips .git/, .github/, .gitignore and .gitattributes at the top by
    # default; the same patterns give the same root.
    write(sample_folder, ".git/HEAD", b"ref: refs/heads/main\n")
    write(sample_folder, ".github/workflows/ci.yml", b"on: push\n")
    write(sample_folder, ".gitignore", b"*.tmp\n")
    write(sample_folder, ".gitattributes", b"* text=auto\n")
    ignore = [".git/**", ".github/**", ".gitignore", ".gitattributes"]
    assert ms.integrity.manifest(sample_folder, ignore=ignore).root == ms_root(sample_folder)
    assert ms.integrity.manifest(sample_folder).root != ms_root(sample_folder)
