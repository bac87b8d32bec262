"""Scan: will loading this model file run someone's code?

:func:`scan` reads model files without loading them: a pickle reader in Rust that never
executes anything follows every opcode of every pickle (protocols 0 to 5) and names each
global the pickle would import or call, whatever opcodes built the names. Files are
recognised by their content, never by their name: pickles, PyTorch zips and legacy
files, TorchScript archives and torch.package files (never safe: loading runs the code
they carry), joblib (raw and compressed), gzip/bz2/xz/lzma/zstd/LZ4 streams,
``.npy``/``.npz`` object arrays, nested zip, tar and 7z archives, Keras archives and
HDF5 files, GGUF (header and chat templates), ONNX, TensorFlow SavedModels and
safetensors; a folder is scanned file by file. Whatever
magic number a file starts with, content that CPython's unpickler would import from is
also read as a pickle. What cannot be read (encrypted members, unknown compression, zip
flags the reader does not implement, rar) is ``unknown``, never safe. PyTorch checkpoints
are checked for structure too: tensor views past their storage, storage bytes (zip members,
the raw storages of legacy files) of another size than their persistent ids give, and
writes into rebuilt tensors (``torch.tensor-*``, ``torch.storage-*`` findings).

The policy is an allow-list first: globals known to be plain data constructors (numpy,
PyTorch, pandas, scikit-learn, scipy, collections, ...) are fine; known-dangerous ones
(code execution, imports, attribute walks, file, process and network access) are
``dangerous``; anything else is ``unknown``. A file is ``safe`` only when every opcode of
every pickle in it was read and no finding is above ``info``: unreadable, truncated or
unknown content, and a file changed by another process while it was scanned
(``container.changed``), are never a silent pass.

>>> import pickle, mlsentry as ms
>>> with open("weights.pkl", "wb") as fh:
...     pickle.dump({"w": [1.0, 2.0]}, fh)
>>> ms.scan.scan("weights.pkl").safe
True
>>> with open("evil.bin", "wb") as fh:  # GLOBAL os system; the pickle is never run here
...     _ = fh.write(b"cos\\nsystem\\n(S'true'\\ntR.")
>>> report = ms.scan.scan("evil.bin")
>>> report.safe, report.findings[0].global_name, report.findings[0].severity
(False, 'os.system', 'dangerous')
"""

from .report import SEVERITIES, FileSummary, Finding, ScanReport
from .scanner import scan

__all__ = ["SEVERITIES", "FileSummary", "Finding", "ScanReport", "scan"]


def __dir__() -> list[str]:
    return sorted(__all__)
