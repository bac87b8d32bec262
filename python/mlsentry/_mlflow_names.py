"""The names and values under which a report goes to MLflow (or any metrics store).

Pure Python, no MLflow import: the same metrics serve ``mlsentry.mlflow`` and any other
integration that wants stable names for a report's headline numbers.

MLflow accepts metric and tag names made of letters, digits, ``_ - . / :`` and spaces
(``:`` not on Windows; ``/`` must not make the name look like an unusual path). Our
names use only letters, digits, ``_ - .`` and spaces: a robust accuracy at a budget of
0.1 is ``mlsentry.robustness.robust_accuracy.eps_0.1``. A name taken from the data (a
column, an input) keeps its allowed characters; when any character had to change, or the
name is empty or longer than 64 characters, eight hex digits of its SHA-256 are appended,
so two different names never share a metric.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any, Optional

__all__ = ["artifact_stem", "kind", "name_part", "report_metrics", "report_tags"]

#: Characters kept in a name taken from data (``\\w`` is Unicode, as in MLflow's check).
_UNSAFE = re.compile(r"[^\w.\- ]")
_MAX_PART = 64
#: A name the user gives a report in its run (``log_report(..., name=)``).
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def name_part(text: str) -> str:
    """A piece of a metric or tag name made from any text, distinct for distinct texts.

    Examples
    --------
    >>> from mlsentry._mlflow_names import name_part
    >>> name_part("age")
    'age'
    >>> name_part("price/unit")
    'price_unit-...'
    """
    clean = _UNSAFE.sub("_", text)
    if clean == text and text and len(text) <= _MAX_PART:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{clean[:_MAX_PART]}-{digest}"


def _schema_name(report: Any) -> str:
    """``drift-report`` from ``mlsentry/drift-report/v1`` (``report`` if unusual)."""
    parts = str(getattr(report, "schema", "")).split("/")
    name = parts[1] if len(parts) == 3 and parts[0] == "mlsentry" else "report"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "report"


def kind(report: Any) -> str:
    """The report's kind in metric names: ``drift``, ``robustness``, ``scan``, ``verify``."""
    name = _schema_name(report)
    if name.endswith("-report") and name != "-report":
        name = name[: -len("-report")]
    return name.replace("-", "_")


def artifact_stem(report: Any, name: Optional[str] = None) -> str:
    """The artifact file name without suffix: the schema name (``drift-report``), with
    ``-<name>`` when the report has a name in its run."""
    stem = _schema_name(report)
    return stem if name is None else f"{stem}-{name}"


def prefix(report: Any, name: Optional[str] = None) -> str:
    """``mlsentry.<kind>`` or ``mlsentry.<kind>.<name>``."""
    head = f"mlsentry.{kind(report)}"
    return head if name is None else f"{head}.{name}"


def _eps(e: float) -> str:
    # The shortest text that reads back as the same float; "+" is not allowed in names.
    return "eps_" + repr(float(e)).replace("+", "")


def _drift(report: Any, p: str, column_metrics: int) -> dict[str, float]:
    from ._drift_compare import _severity

    tested = [c for c in report.columns if c.tested]
    out = {
        f"{p}.drifted": float(report.drifted),
        f"{p}.share_drifted": float(report.drift_share),
        f"{p}.n_drifted": float(sum(c.drift for c in tested)),
        f"{p}.n_columns": float(len(report.columns)),
        f"{p}.n_tested": float(len(tested)),
        f"{p}.n_schema_problems": float(len(report.schema_problems)),
        f"{p}.n_untested": float(len(report.untested)),
    }
    # Most severe first, so that a cap keeps the columns a person looks at.
    for c in sorted(tested, key=_severity)[:column_metrics]:
        col = f"{p}.column.{name_part(c.name)}"
        out[f"{col}.drift"] = float(c.drift)
        for field, value in (
            ("statistic", c.statistic),
            ("adjusted_pvalue", c.adjusted_pvalue),
            ("effect", c.effect),
        ):
            if value is not None:
                out[f"{col}.{field}"] = float(value)
    return out


def _robustness(report: Any, p: str) -> dict[str, float]:
    out = {
        f"{p}.clean_accuracy": float(report.clean_accuracy),
        f"{p}.n_samples": float(report.n_samples),
    }
    for e, acc, (low, _) in zip(report.eps, report.robust_accuracy, report.robust_interval):
        out[f"{p}.robust_accuracy.{_eps(e)}"] = float(acc)
        out[f"{p}.robust_accuracy_lower.{_eps(e)}"] = float(low)
    for a in report.attacks:
        if a.eps is not None:
            out[f"{p}.attack.{name_part(a.attack)}.success_rate.{_eps(a.eps)}"] = float(
                a.success_rate
            )
    out[f"{p}.queries"] = float(report.queries)
    out[f"{p}.seconds"] = float(report.seconds)
    return out


def _scan(report: Any, p: str) -> dict[str, float]:
    return {
        f"{p}.safe": float(report.safe),
        f"{p}.n_dangerous": float(len(report.dangerous)),
        f"{p}.n_unknown": float(len(report.unknown)),
        f"{p}.n_findings": float(len(report.findings)),
        f"{p}.files_scanned": float(len(report.files)),
    }


def _verify(report: Any, p: str) -> dict[str, float]:
    return {
        f"{p}.ok": float(report.ok),
        f"{p}.n_added": float(len(report.added)),
        f"{p}.n_removed": float(len(report.removed)),
        f"{p}.n_modified": float(len(report.modified)),
        f"{p}.files_checked": float(report.files_checked),
    }


def _audit_verify(report: Any, p: str) -> dict[str, float]:
    return {
        f"{p}.ok": float(report.ok),
        f"{p}.entries": float(report.entries),
        f"{p}.n_problems": float(len(report.problems)),
    }


def report_metrics(
    report: Any, name: Optional[str] = None, column_metrics: int = 100
) -> dict[str, float]:
    """The headline numbers of a report under stable names (see the module docstring).

    Every report gives ``mlsentry.<kind>.passed`` (1.0 or 0.0); with a ``name`` (one of
    several reports of a kind in a run) the names are ``mlsentry.<kind>.<name>.*``. Drift
    reports add ``drifted``, ``share_drifted``, ``n_drifted``, ``n_columns``, ``n_tested``,
    ``n_schema_problems``, ``n_untested`` and, for at most ``column_metrics`` tested
    columns (the most severe first), ``column.<column>.drift``, ``.statistic``,
    ``.adjusted_pvalue`` and ``.effect``. Robustness reports add ``clean_accuracy``,
    ``n_samples``, ``robust_accuracy.eps_<e>`` and its lower confidence bound
    ``robust_accuracy_lower.eps_<e>`` per budget, ``attack.<attack>.success_rate.eps_<e>``,
    ``queries`` and ``seconds``. Scan reports add ``safe``, ``n_dangerous``, ``n_unknown``,
    ``n_findings``, ``files_scanned``; verification reports ``ok``, ``n_added``,
    ``n_removed``, ``n_modified``, ``files_checked``; audit-log checks ``ok``, ``entries``,
    ``n_problems``. Values that are not finite are left out (a metric store may refuse
    them).

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> from mlsentry.mlflow import report_metrics
    >>> rng = np.random.default_rng(0)
    >>> report = ms.drift.compare({"age": rng.normal(size=300)}, {"age": rng.normal(2, 1, 300)})
    >>> m = report_metrics(report)
    >>> m["mlsentry.drift.share_drifted"], m["mlsentry.drift.column.age.drift"]
    (1.0, 1.0)
    """
    p = prefix(report, name)
    out = {f"{p}.passed": float(report.passed)}
    schema = str(getattr(report, "schema", ""))
    if schema.startswith("mlsentry/drift-report/"):
        out.update(_drift(report, p, column_metrics))
    elif schema.startswith("mlsentry/robustness-report/"):
        out.update(_robustness(report, p))
    elif schema.startswith("mlsentry/scan-report/"):
        out.update(_scan(report, p))
    elif schema.startswith("mlsentry/verify-report/"):
        out.update(_verify(report, p))
    elif schema.startswith("mlsentry/audit-verify-report/"):
        out.update(_audit_verify(report, p))
    return {k: v for k, v in out.items() if math.isfinite(v)}


def report_tags(report: Any, name: Optional[str] = None) -> dict[str, str]:
    """``mlsentry.<kind>.schema``, ``.passed`` (``"true"``/``"false"``) and
    ``.input.<input>`` with the fingerprint of each input the report speaks of."""
    p = prefix(report, name)
    tags = {f"{p}.schema": str(report.schema), f"{p}.passed": str(bool(report.passed)).lower()}
    for key, digest in report.inputs.items():
        tags[f"{p}.input.{name_part(str(key))}"] = str(digest)
    return tags
