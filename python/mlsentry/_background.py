"""Input fingerprints computed in a thread beside the work that reads the same inputs.

A check records the fingerprints of its inputs in its report. The hashing reads every value
once more; it releases the GIL and runs on the package's thread pool, so it runs beside the
check's own computation (which releases the GIL too) instead of after it. Leaving the
``with`` block (normally or by an exception) waits for the thread: no work outlives the
call. The caller passes the function that fingerprints one input (``mlsentry.fingerprint``
belongs to the integrity capability, which this shared layer does not import).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Callable, Optional

__all__ = ["THREAD_NAME", "Fingerprints"]

#: The name of the thread (tests look for it to check none is left behind).
THREAD_NAME = "mlsentry-fingerprint"

#: Fingerprints one input: ``(fingerprint, None)``, or ``(None, why there is none)``.
FingerprintSide = Callable[[Any], tuple[Optional[str], Optional[str]]]


class Fingerprints:
    """The inputs' fingerprints, computed in a thread while the caller goes on.

    ``sides``: ``(name, object)`` pairs, fingerprinted in that order by
    ``fingerprint_side``; ``enabled=False`` starts no thread and records nothing."""

    def __init__(
        self,
        sides: Sequence[tuple[str, Any]],
        *,
        enabled: bool,
        fingerprint_side: FingerprintSide,
    ) -> None:
        self._sides = tuple(sides) if enabled else ()
        self._side = fingerprint_side
        self._out: dict[str, tuple[Optional[str], Optional[str]]] = {}
        self._error: Optional[BaseException] = None
        self._thread: Optional[threading.Thread] = None

    def _work(self) -> None:
        try:
            for side_name, obj in self._sides:
                self._out[side_name] = self._side(obj)
        except BaseException as e:  # re-raised in the caller's thread by result()
            self._error = e

    def __enter__(self) -> Fingerprints:
        if self._sides:
            self._thread = threading.Thread(target=self._work, name=THREAD_NAME)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._join()

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def of(self, obj: Any) -> tuple[Optional[str], Optional[str]]:
        """The fingerprint of one of the sides (by identity), as ``fingerprint_side``
        gives it; an object not given to the thread is fingerprinted here."""
        self._join()
        if self._error is not None:
            raise self._error
        for side_name, side in self._sides:
            if side is obj:
                return self._out[side_name]
        return self._side(obj)

    def result(self) -> tuple[dict[str, str], dict[str, str]]:
        """``(inputs, skipped)``: the fingerprints by side, and why a side has none."""
        self._join()
        if self._error is not None:
            raise self._error
        inputs: dict[str, str] = {}
        skipped: dict[str, str] = {}
        for side_name, (fp, why) in self._out.items():
            if fp is not None:
                inputs[side_name] = fp
            else:
                skipped[side_name] = why or "unknown"
        return inputs, skipped
