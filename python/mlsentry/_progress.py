"""Progress reporting for long work, written once.

Native work reports ``(done, total)`` to a callback about ten times a second (see
``src/py/runtime.rs``). :func:`progress_callback` turns the public ``progress=`` argument
into such a callback: ``True`` draws a tqdm bar when tqdm is installed, a callable is
called as ``callable(done, total)``, ``False``/``None`` reports nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Callable, Optional, Union

ProgressArg = Union[bool, None, Callable[[int, int], object]]


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
    except ImportError:  # progress=True without tqdm: quietly no bar
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
