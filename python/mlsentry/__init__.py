"""mlsentry: security and trust checks for machine-learning pipelines.

>>> import numpy as np, mlsentry as ms
>>> ms.fingerprint(np.arange(3)).startswith("sha256:")
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import drift, errors, integrity
from ._core import num_threads
from .errors import (
    IntegrityError,
    InvalidInputError,
    InvalidTypeError,
    MlsentryError,
    ScanError,
    SignatureError,
)
from .integrity import fingerprint
from .report import Report

__all__ = [
    "IntegrityError",
    "InvalidInputError",
    "InvalidTypeError",
    "MlsentryError",
    "Report",
    "ScanError",
    "SignatureError",
    "__version__",
    "drift",
    "errors",
    "fingerprint",
    "integrity",
    "num_threads",
]
