"""Structure, not only globals (issue 15, class 6): a PyTorch checkpoint that names only
allowed globals but rebuilds a tensor over too small a storage (``unknown``:
``torch.tensor-out-of-bounds``), or writes into a rebuilt tensor (``SETITEM``: dangerous,
GHSA-63cw-57p8-fm3p; ``BUILD``: unknown; ``torch.tensor-write``). The pickles are built
opcode by opcode and put in a zip as ``torch.save`` lays it out; the real torch files stay
safe (``test_scan``'s benign corpus)."""

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


def scan(tmp_path, data_pkl: bytes, storage: int = 16):
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
    rep = scan(tmp_path, state_dict(binunicode("w") + tensor(numel, offset, size, stride)))
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
    rep = scan(tmp_path, state_dict(binunicode("w") + tensor(numel, offset, size, stride)))
    assert not rep.safe
    assert rules(rep).get("torch.tensor-out-of-bounds") == "unknown"


def test_writes_into_a_rebuilt_tensor(tmp_path):
    t = tensor(4, 0, (4,), (1,))
    setitem = pickle_bytes(2, t + integer(0) + integer(7) + SETITEM)
    rep = scan(tmp_path, setitem)
    assert rules(rep).get("torch.tensor-write") == "dangerous"
    build = pickle_bytes(2, t + EMPTY_DICT + BUILD)
    rep = scan(tmp_path, build)
    assert not rep.safe
    assert rules(rep).get("torch.tensor-write") == "unknown"


def test_real_torch_files_have_no_structure_finding():
    files = sorted(TORCH_FILES.glob("*.pt")) + sorted(TORCH_FILES.glob("*.pth"))
    assert files
    for f in files:
        rep = ms.scan.scan(f, digests=False)
        bad = [x for x in rep.findings if x.rule.startswith("torch.tensor")]
        assert not bad, (f.name, [str(x) for x in bad])
