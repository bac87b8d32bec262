"""Progress reporting for long work, written once.

Native work reports ``(done, total)`` to a callback about ten times a second (see
``src/py/runtime.rs``). :func:`progress_callback` turns the public ``progress=`` argument
into such a callback: ``True`` draws a tqdm bar (without tqdm: one warning per process,
naming the extra to install, and no bar), a callable is called as
``callable(done, total)``, ``False``/``None`` reports nothing.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from typing import Callable, Optional, Union

from .errors import MlsentryWarning

ProgressArg = Union[bool, None, Callable[[int, int], object]]


@functools.lru_cache(maxsize=1)
def _warn_no_tqdm() -> None:
    """Said once per process: a bar was asked for and cannot be drawn."""
    warnings.warn(
        "progress=True draws a bar with tqdm, which is not installed: "
        "pip install 'mlsentry[progress]' (the work goes on without one)",
        MlsentryWarning,
        stacklevel=4,
    )


@contextlib.contextmanager
def progress_callback(
    progress: ProgressArg, desc: str, unit: str = "B"
) -> Iterator[Optional[Callable[[int, int], None]]]:
    if not progress:
        yield None
        return
    if callable(progress):
        user = progress

        def forward(done: int, total: int) -> None:
            user(done, total)

        yield forward
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:  # progress=True without tqdm: the work goes on without a bar
        _warn_no_tqdm()
        yield None
        return
    bar = tqdm(desc=desc, unit=unit, unit_scale=True, unit_divisor=1024 if unit == "B" else 1000)

    def update(done: int, total: int) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()
