"""The control mapping: which checks support which clause of a regulation or standard,
shipped as versioned data (``controls.toml`` beside this module)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from .. import _core
from ..errors import InvalidInputError, InvalidTypeError

CONTROLS_FILE = os.path.join(os.path.dirname(__file__), "controls.toml")
#: Frameworks a bundle maps to when ``controls`` is not given (DESIGN.md §3).
DEFAULT_FRAMEWORKS = ("eu-ai-act", "nist-ai-rmf")


@dataclass(frozen=True)
class Control:
    """One clause: its framework, identifier, title (paraphrased) and the check kinds
    whose reports support it."""

    framework: str
    id: str
    title: str
    checks: tuple[str, ...]


@dataclass(frozen=True)
class ControlMapping:
    """The mapping file: its version, the frameworks (id -> title) and the controls."""

    version: str
    frameworks: dict[str, str]
    controls: tuple[Control, ...]
    text: str

    def select(self, frameworks: Union[str, Sequence[str]]) -> list[str]:
        """The framework ids ``frameworks`` names (``"all"`` for every one)."""
        if isinstance(frameworks, str):
            frameworks = list(self.frameworks) if frameworks == "all" else [frameworks]
        if not isinstance(frameworks, (list, tuple)):
            raise InvalidTypeError(
                f"controls: expected framework ids or 'all', got {type(frameworks).__name__}"
            )
        for f in frameworks:
            if f not in self.frameworks:
                raise InvalidInputError(
                    f"controls: unknown framework {f!r} (known: {', '.join(self.frameworks)})"
                )
        return list(dict.fromkeys(frameworks))

    def coverage(
        self, frameworks: Iterable[str], checks: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Per control of ``frameworks``: the checks (``{"name", "kind", "verdict"}``)
        whose kind supports it; ``covered`` is false when none does."""
        chosen = set(frameworks)
        out = []
        for c in self.controls:
            if c.framework not in chosen:
                continue
            supporting = [
                {"name": k["name"], "kind": k["kind"], "verdict": k["verdict"]}
                for k in checks
                if k["kind"] in c.checks
            ]
            out.append(
                {
                    "framework": c.framework,
                    "id": c.id,
                    "title": c.title,
                    "checks": supporting,
                    "covered": bool(supporting),
                }
            )
        return out


def parse_controls(text: str) -> ControlMapping:
    """A mapping from the text of a ``controls.toml``."""
    try:
        data = json.loads(_core.schema_toml_to_json(text))
        frameworks = {str(f["id"]): str(f["title"]) for f in data["framework"]}
        controls = tuple(
            Control(str(c["framework"]), str(c["id"]), str(c["title"]), tuple(c["checks"]))
            for c in data["control"]
        )
        version = str(data["version"])
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInputError(f"controls.toml: not a control mapping ({e})") from None
    for c in controls:
        if c.framework not in frameworks:
            raise InvalidInputError(f"controls.toml: {c.id} names unknown framework {c.framework}")
    return ControlMapping(version, frameworks, controls, text)


def load_controls() -> ControlMapping:
    """The mapping shipped with this version of mlsentry.

    Examples
    --------
    >>> from mlsentry.evidence import load_controls
    >>> mapping = load_controls()
    >>> sorted(mapping.frameworks)[:3]
    ['eu-ai-act', 'gdpr', 'hipaa']
    >>> [c.id for c in mapping.controls if "scan" in c.checks][:2]
    ['Art. 15(5)', 'MEASURE 2.7']
    """
    with open(CONTROLS_FILE, encoding="utf-8") as fh:
        return parse_controls(fh.read())
