"""Fixtures shared by the tests of every capability."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's top folder (README.md, examples/, notebooks/)."""
    return REPO


@pytest.fixture(scope="session")
def readme_blocks() -> Callable[..., list[str]]:
    """``readme_blocks("Drift")``: the code blocks (```python by default, or ``lang``) of
    the README section headed ``## Drift``, in order; fails when there are none."""
    text = (REPO / "README.md").read_text(encoding="utf-8")

    def blocks(heading: str, lang: str = "python") -> list[str]:
        start = text.find(f"\n## {heading}\n")
        assert start >= 0, f"README.md has no section '## {heading}'"
        section = text[start + 1 :]
        end = section.find("\n## ")
        section = section if end < 0 else section[:end]
        found = re.findall(rf"```{lang}\n(.*?)```", section, re.S)
        assert found, f"README.md section '## {heading}' has no {lang} block"
        return found

    return blocks
