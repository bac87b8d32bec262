"""mlsentry: security and trust checks for machine-learning pipelines.

>>> import numpy as np, mlsentry as ms
>>> ms.fingerprint(np.arange(3)).startswith("sha256:")
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import errors
from ._core import num_threads
from ._version import __version__
from .errors import (
    IntegrityError,
    InvalidInputError,
    InvalidTypeError,
    MlsentryError,
    MlsentryWarning,
    ModelError,
    ScanError,
    SignatureError,
)
from .report import Report

if TYPE_CHECKING:
    from . import (
        data,
        drift,
        evidence,
        explain,
        fairness,
        integrity,
        monitor,
        privacy,
        robustness,
        scan,
    )
    from .integrity import fingerprint

# The capabilities load on first use: the command line (and a program that needs one of
# them) does not pay for numpy and the rest at start-up.
_LAZY = {
    "data": ("mlsentry.data", None),
    "drift": ("mlsentry.drift", None),
    "evidence": ("mlsentry.evidence", None),
    "explain": ("mlsentry.explain", None),
    "fairness": ("mlsentry.fairness", None),
    "integrity": ("mlsentry.integrity", None),
    "monitor": ("mlsentry.monitor", None),
    "privacy": ("mlsentry.privacy", None),
    "robustness": ("mlsentry.robustness", None),
    "scan": ("mlsentry.scan", None),
    "fingerprint": ("mlsentry.integrity", "fingerprint"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        module = importlib.import_module(module_name)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mlsentry' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "IntegrityError",
    "InvalidInputError",
    "ModelError",
    "InvalidTypeError",
    "MlsentryError",
    "MlsentryWarning",
    "Report",
    "ScanError",
    "SignatureError",
    "__version__",
    "data",
    "drift",
    "errors",
    "evidence",
    "explain",
    "fairness",
    "fingerprint",
    "integrity",
    "monitor",
    "num_threads",
    "privacy",
    "robustness",
    "scan",
]
