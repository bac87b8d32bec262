"""The one base class of every mlsentry report.

A report answers one check ("is this folder unchanged?", "has this data drifted?") and
records enough to be trusted later: its schema name and version, the mlsentry version, the
time, the seed and configuration, and the fingerprints of its inputs. It renders as JSON
for machines and as one self-contained HTML page (inline CSS and SVG, no script, no
network) for people, and displays itself in notebooks.

Subclasses set ``schema`` and ``title`` and implement ``passed``, ``_payload`` (their own
JSON fields), ``summary`` and ``_html_body``.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Optional

__all__ = ["Report", "html_table"]


def _version() -> str:
    from . import __version__

    return __version__


class Report:
    """Base class: metadata, JSON, HTML, ``save`` and notebook display.

    Parameters
    ----------
    config : mapping, optional
        The settings the check ran with (thresholds, algorithms, options).
    inputs : mapping, optional
        Name to fingerprint (``"sha256:..."``) of each input the report speaks of.
    seed : int, optional
        The seed of a random check; ``None`` for deterministic ones.
    """

    schema: ClassVar[str] = "mlsentry/report/v1"
    title: ClassVar[str] = "mlsentry report"

    def __init__(
        self,
        *,
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
        seed: Optional[int] = None,
        created: Optional[str] = None,
        mlsentry_version: Optional[str] = None,
    ) -> None:
        self.config: dict[str, Any] = dict(config or {})
        self.inputs: dict[str, str] = dict(inputs or {})
        self.seed = seed
        self.created = created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.mlsentry_version = mlsentry_version or _version()

    # -- what subclasses provide -------------------------------------------------------
    @property
    def passed(self) -> bool:
        """Whether the check passed."""
        raise NotImplementedError

    def _payload(self) -> dict[str, Any]:
        """The report's own fields, JSON-ready."""
        return {}

    def summary(self) -> str:
        """A few lines of text for a terminal or a log."""
        return f"{self.title}: {'PASSED' if self.passed else 'FAILED'}"

    def _html_body(self) -> str:
        """The report's own section of the HTML page (escaped HTML)."""
        return f"<pre>{html.escape(self.summary())}</pre>"

    # -- shared rendering --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data, metadata first."""
        out: dict[str, Any] = {
            "schema": self.schema,
            "mlsentry_version": self.mlsentry_version,
            "created": self.created,
            "passed": self.passed,
            "seed": self.seed,
            "config": _json_ready(self.config),
            "inputs": self.inputs,
        }
        out.update(self._payload())
        return out

    def to_json(self, indent: Optional[int] = 2) -> str:
        """The report as JSON text: ASCII (other characters as ``\\uXXXX`` escapes, so file
        names kept with ``surrogateescape`` survive), keys in a stable order."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=True, allow_nan=False)

    def _html_section(self) -> str:
        status = "passed" if self.passed else "failed"
        meta = html_table(
            ["", ""],
            [
                ["schema", self.schema],
                ["created", self.created],
                ["mlsentry", self.mlsentry_version],
                ["seed", "" if self.seed is None else str(self.seed)],
                *[[f"input {k}", v] for k, v in self.inputs.items()],
                *[[f"config {k}", json.dumps(v, default=str)] for k, v in self.config.items()],
            ],
            css_class="meta",
            header=False,
        )
        return (
            f'<section class="mls-report"><h2>{html.escape(self.title)} '
            f'<span class="badge {status}">{status.upper()}</span></h2>'
            f"{self._html_body()}<details><summary>Details</summary>{meta}</details></section>"
        )

    def to_html(self) -> str:
        """One self-contained HTML page: inline CSS, no script, no external resource."""
        return html_page(self.title, self._html_section())

    def _repr_html_(self) -> str:
        return f"<style>{_CSS}</style>{self._html_section()}"

    def save(self, path: os.PathLike[str] | str) -> None:
        """Write the report; the format follows the suffix (``.json``, ``.html``/``.htm``)."""
        p = os.fspath(path)
        suffix = os.path.splitext(p)[1].lower()
        if suffix == ".json":
            text = self.to_json()
        elif suffix in (".html", ".htm"):
            text = self.to_html()
        else:
            from .errors import InvalidInputError

            raise InvalidInputError(
                f"path: cannot tell the report format from {p!r}; use .json or .html"
            )
        # backslashreplace: a lone surrogate (a non-UTF-8 file name) cannot make saving fail.
        with open(p, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} passed={self.passed}>"

    def __str__(self) -> str:
        return self.summary()


_CSS = """
.mls-report{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1b1f24;
max-width:1100px;margin:1em auto;padding:0 1em}
.mls-report h2{font-size:1.25em;border-bottom:1px solid #d0d7de;padding-bottom:.3em}
.mls-report table{border-collapse:collapse;margin:.6em 0;font-size:.9em;max-width:100%}
.mls-report th,.mls-report td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;
vertical-align:top}
.mls-report th{background:#f6f8fa}
.mls-report td.num{text-align:right;font-variant-numeric:tabular-nums}
.mls-report code,.mls-report td.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;
font-size:.85em;word-break:break-all;min-width:12em}
.mls-report .badge{font-size:.7em;padding:.15em .5em;border-radius:1em;vertical-align:middle;
color:#fff}
.mls-report .badge.passed{background:#1a7f37}.mls-report .badge.failed{background:#cf222e}
.mls-report tr.bad td{background:#ffebe9}.mls-report tr.good td{background:#dafbe1}
.mls-report details summary{cursor:pointer;color:#57606a}
"""


def fmt_number(value: Optional[float], digits: int = 3) -> str:
    """A statistic for a table: ``digits`` significant digits, "" for None, "nan"."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.{digits}g}"


def fmt_pvalue(value: Optional[float], digits: int = 3) -> str:
    """A p-value for a table: scientific below 1e-3, else ``digits`` decimals."""
    if value is None:
        return ""
    return f"{value:.2e}" if value < 1e-3 else f"{value:.{digits}f}"


def fmt_share(value: Optional[float]) -> str:
    """A share as a percentage with one decimal, "" for None."""
    return "" if value is None else f"{value:.1%}"


def _json_ready(value: Any) -> Any:
    """`value` with non-finite floats as JSON has no numbers for them: ``"inf"``/``"-inf"``,
    NaN as None (a configuration may hold unbounded limits)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def html_page(title: str, body: str) -> str:
    """Wrap sections into one standalone HTML document."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


_DIGEST = re.compile(r"[a-z0-9-]+:[0-9a-f]{32,}")


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    css_class: str = "",
    header: bool = True,
    row_classes: Optional[Sequence[str]] = None,
) -> str:
    """An escaped HTML table; numbers are right-aligned, cells are text."""
    parts = [f'<table class="{html.escape(css_class)}">']
    if header:
        parts.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in headers) + "</tr>")
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = []
        for v in row:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'<td class="num">{html.escape(str(v))}</td>')
            elif isinstance(v, str) and _DIGEST.fullmatch(v):
                cells.append(f'<td class="mono">{html.escape(v)}</td>')
            else:
                cells.append(f"<td>{html.escape(str(v))}</td>")
        parts.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    return "".join(parts)
