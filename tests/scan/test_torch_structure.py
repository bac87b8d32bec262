"""Structure, not only globals (issue 15, class 6): a PyTorch checkpoint that names only
allowed globals but rebuilds a tensor over too small a storage (``unknown``:
``torch.tensor-out-of-bounds``, ``_rebuild_tensor_v2`` over typed storages counted in
elements, ``_rebuild_tensor_v3`` over untyped ones counted in bytes), holds storage bytes of
another size than its persistent ids give (``torch.storage-size-mismatch``,
``torch.storage-missing``, ``torch.storage-truncated``: zip members and the raw storages
of legacy files), or writes into a rebuilt tensor (``SETITEM``: dangerous,
GHSA-63cw-57p8-fm3p; ``BUILD``: unknown; ``torch.tensor-write``). The pickles are built
opcode by opcode and put in a zip (or a legacy file) as ``torch.save`` lays it out; the
real torch files stay safe (``test_scan``'s benign corpus, and the last test here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import scan_corpus as corpus
from scan_corpus import (
    BINPERSID,
    BUILD,
    EMPTY_DICT,
    MARK,
    SETITEMS,
    binunicode,
    call,
    global_,
    integer,
    pickle_bytes,
    tup,
)

import mlsentry as ms

SETITEM = b"s"
TORCH_FILES = Path(__file__).resolve().parent / "torch_files"


def tensor(numel: int, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> bytes:
    """``_rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', numel), offset, size,
    stride, False, OrderedDict())``."""
    pid = tup(
        binunicode("storage"),
        global_("torch", "FloatStorage"),
        binunicode("0"),
        binunicode("cpu"),
        integer(numel),
    )
    return call(
        global_("torch._utils", "_rebuild_tensor_v2"),
        pid + BINPERSID,
        integer(offset),
        tup(*(integer(i) for i in size)),
        tup(*(integer(i) for i in stride)),
        corpus.NEWFALSE,
        global_("collections", "OrderedDict") + corpus.EMPTY_TUPLE + corpus.REDUCE,
    )


def state_dict(*items: bytes) -> bytes:
    od = global_("collections", "OrderedDict") + corpus.EMPTY_TUPLE + corpus.REDUCE
    return pickle_bytes(2, od + MARK + b"".join(items) + SETITEMS)


def scan(tmp_path, data_pkl: bytes, storage: int):
    """``data_pkl`` in a PyTorch zip whose storage ``data/0`` holds ``storage`` bytes."""
    path = corpus.write_pytorch_zip(
        tmp_path / "model.pt",
        [corpus.TensorSpec("w", "float32", (storage // 4,), "0")],
        {"0": bytes(storage)},
        data_pkl=data_pkl,
    )
    return ms.scan.scan(path, digests=False)


def rules(rep) -> dict[str, str]:
    return {f.rule: f.severity for f in rep.findings}


@pytest.mark.parametrize(
    ("numel", "offset", "size", "stride"),
    [
        (4, 0, (4,), (1,)),
        (12, 0, (3, 4), (4, 1)),
        (12, 0, (4, 3), (1, 4)),
        (13, 1, (3, 4), (4, 1)),
        (0, 0, (0, 5), (5, 1)),
    ],
)
def test_tensors_that_fit_are_safe(tmp_path, numel, offset, size, stride):
    data_pkl = state_dict(binunicode("w") + tensor(numel, offset, size, stride))
    rep = scan(tmp_path, data_pkl, 4 * numel)
    assert rep.safe, [str(f) for f in rep.findings]


@pytest.mark.parametrize(
    ("numel", "offset", "size", "stride"),
    [
        (4, 0, (5,), (1,)),
        (11, 0, (3, 4), (4, 1)),
        (12, 1, (3, 4), (4, 1)),
        (4, 0, (2, 2), (4, 1)),
        (4, 0, (2, 2), (1,)),
    ],
)
def test_tensors_past_their_storage_are_unknown(tmp_path, numel, offset, size, stride):
    data_pkl = state_dict(binunicode("w") + tensor(numel, offset, size, stride))
    rep = scan(tmp_path, data_pkl, 4 * numel)
    assert not rep.safe
    assert rules(rep) == {"torch.tensor-out-of-bounds": "unknown"}


def test_writes_into_a_rebuilt_tensor(tmp_path):
    t = tensor(4, 0, (4,), (1,))
    setitem = pickle_bytes(2, t + integer(0) + integer(7) + SETITEM)
    rep = scan(tmp_path, setitem, 16)
    assert rules(rep).get("torch.tensor-write") == "dangerous"
    build = pickle_bytes(2, t + EMPTY_DICT + BUILD)
    rep = scan(tmp_path, build, 16)
    assert not rep.safe
    assert rules(rep).get("torch.tensor-write") == "unknown"


#: dtype, bytes per element, typed storage class (what ``torch.save`` names for the dtype).
DTYPES = [
    ("float32", 4, "FloatStorage"),
    ("float16", 2, "HalfStorage"),
    ("int8", 1, "CharStorage"),
    ("bool", 1, "BoolStorage"),
    ("complex128", 16, "ComplexDoubleStorage"),
]


def storage_pid(storage_type: bytes, key: str, numel: int, legacy: bool = False) -> bytes:
    """``('storage', storage_type, key, 'cpu', numel[, None])`` BINPERSID."""
    items = [binunicode("storage"), storage_type, binunicode(key), binunicode("cpu")]
    items += [integer(numel)] + ([corpus.NONE] if legacy else [])
    return tup(*items) + BINPERSID


def v3(pid: bytes, offset: int, size: tuple[int, ...], stride: tuple[int, ...], dtype: str):
    """``_rebuild_tensor_v3(storage, offset, size, stride, False, OrderedDict(),
    torch.<dtype>)``: how torch 2 saves the dtypes without a typed storage, over
    ``torch.storage.UntypedStorage`` counted in bytes (see torch_files/tensors_all_dtypes.pt)."""
    return call(
        global_("torch._utils", "_rebuild_tensor_v3"),
        pid,
        integer(offset),
        tup(*(integer(i) for i in size)),
        tup(*(integer(i) for i in stride)),
        corpus.NEWFALSE,
        global_("collections", "OrderedDict") + corpus.EMPTY_TUPLE + corpus.REDUCE,
        global_("torch", dtype),
    )


UNTYPED = global_("torch.storage", "UntypedStorage")


@pytest.mark.parametrize(("dtype", "item", "typed"), DTYPES)
def test_v3_views_an_untyped_storage_in_bytes(tmp_path, dtype, item, typed):
    # Six elements (2 x 3) need 6 * item bytes; offset 1 needs one element more.
    fits = v3(storage_pid(UNTYPED, "0", 6 * item), 0, (2, 3), (3, 1), dtype)
    rep = scan(tmp_path, state_dict(binunicode("w") + fits), 6 * item)
    assert rep.safe, [str(f) for f in rep.findings]
    for nbytes, offset in [(6 * item - 1, 0), (7 * item - 1, 1)]:
        short = v3(storage_pid(UNTYPED, "0", nbytes), offset, (2, 3), (3, 1), dtype)
        rep = scan(tmp_path, state_dict(binunicode("w") + short), nbytes)
        assert rules(rep) == {"torch.tensor-out-of-bounds": "unknown"}, dtype
        (f,) = rep.findings
        assert f.global_name == "torch._utils._rebuild_tensor_v3"


@pytest.mark.parametrize(("dtype", "item", "typed"), DTYPES)
def test_zip_storage_members_are_measured(tmp_path, dtype, item, typed):
    t = corpus.TensorSpec("w", dtype, (2, 3), "0")
    assert t.nbytes == 6 * item
    path = tmp_path / "model.pt"
    corpus.write_pytorch_zip(path, [t])
    assert ms.scan.scan(path, digests=False).safe
    # A member a byte short or long, and an element long, of what the id gives.
    for have in [6 * item - 1, 6 * item + 1, 7 * item]:
        corpus.write_pytorch_zip(path, [t], {"0": bytes(have)})
        rep = ms.scan.scan(path, digests=False)
        assert rules(rep) == {"torch.storage-size-mismatch": "unknown"}, have
        assert rep.findings[0].member == "archive/data.pkl"
    # No member for the id's key.
    other = corpus.TensorSpec("w", dtype, (2, 3), "1")
    data_pkl = corpus.torch_data_pkl([t])
    corpus.write_pytorch_zip(path, [other], data_pkl=data_pkl)
    assert rules(ms.scan.scan(path, digests=False)) == {"torch.storage-missing": "unknown"}


def legacy_file(tmp_path, tensors, cut: int = 0):
    """A legacy ``torch.save`` file of ``tensors``, less its last ``cut`` bytes."""
    data = corpus.legacy_torch_bytes(tensors)
    path = tmp_path / "legacy.pt"
    path.write_bytes(data[: len(data) - cut])
    return ms.scan.scan(path, digests=False)


def test_legacy_storages_are_measured(tmp_path):
    tensors = [
        corpus.TensorSpec(f"t{i}", dtype, (3,), str(10 + i))
        for i, (dtype, _, _) in enumerate(DTYPES)
    ]
    rep = legacy_file(tmp_path, tensors)
    assert rep.safe, [str(f) for f in rep.findings]
    assert rep.files[0].format == "torch-legacy"
    # Cut in the last storage's bytes, or in its count.
    for cut in [1, 16 * 3, 16 * 3 + 4]:
        assert rules(legacy_file(tmp_path, tensors, cut)) == {"torch.storage-truncated": "unknown"}
    # A count other than the id's (3 elements recorded as 4).
    count = (3).to_bytes(8, "little")
    data = corpus.legacy_torch_bytes(tensors)
    at = data.rindex(count)
    path = tmp_path / "legacy.pt"
    path.write_bytes(data[:at] + (4).to_bytes(8, "little") + data[at + 8 :])
    rep = ms.scan.scan(path, digests=False)
    assert rules(rep) == {"torch.storage-size-mismatch": "unknown"}
    # A tensor past its storage: legacy ids are bounds-checked too.
    small = corpus.TensorSpec("w", "float32", (4,), "0")
    pkl = corpus.torch_data_pkl([small], legacy=True)
    big = pkl.replace(tup(integer(4)), tup(integer(5)), 1)
    assert big != pkl
    path.write_bytes(corpus.legacy_torch_bytes([small], object_pickle=big))
    rep = ms.scan.scan(path, digests=False)
    assert rules(rep) == {"torch.tensor-out-of-bounds": "unknown"}


def test_real_torch_files_have_no_structure_finding():
    files = sorted(TORCH_FILES.glob("*.pt")) + sorted(TORCH_FILES.glob("*.pth"))
    assert files
    for f in files:
        rep = ms.scan.scan(f, digests=False)
        bad = [x for x in rep.findings if x.rule.startswith(("torch.tensor", "torch.storage"))]
        assert not bad, (f.name, [str(x) for x in bad])
