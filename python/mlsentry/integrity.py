"""Integrity: prove that a dataset or a model is exactly the one that was validated."""

from __future__ import annotations

from ._fingerprint import fingerprint

__all__ = ["fingerprint"]
