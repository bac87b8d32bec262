"""Content fingerprints of arrays and tables (see :func:`fingerprint`)."""

from __future__ import annotations

__all__ = ["fingerprint"]


def fingerprint(obj: object) -> str:
    raise NotImplementedError
