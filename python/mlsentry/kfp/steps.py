"""What the Kubeflow Pipelines components of :mod:`mlsentry.kfp` do, inside the container.

This module does not import kfp: a component's step runs under kfp's executor, where only
the runtime part of the SDK is there (``_KFP_RUNTIME=true``). Each step reads its inputs
from local paths, runs one check, writes the headline metrics, the HTML page and the JSON
report to its output artifacts, prints the summary to the task log, and raises
:class:`GateFailedError` when the check failed (unless ``fail=False``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, Optional

from ..errors import InvalidInputError, MlsentryError, PathNotFoundError, SignatureError
from ..report import Report

__all__ = [
    "GateFailedError",
    "COLUMN_METRICS",
    "drift_step",
    "privacy_step",
    "robustness_step",
    "scan_step",
    "verify_step",
]


class GateFailedError(MlsentryError):
    """A gate's check failed; the message is the report's summary, ``report`` the report."""

    def __init__(self, report: Report) -> None:
        super().__init__(report.summary())
        self.report = report


#: Per-column drift metrics kept in the Metrics output: the most severe columns only, so
#: that the pipeline UI's table stays readable (the JSON report has every column).
COLUMN_METRICS = 10


def _finish(report: Any, metrics: Any, html: Any, report_out: Any, fail: bool) -> tuple:
    """Writes the outputs of a step (``metrics``, ``html``, ``report_out`` are kfp output
    artifacts: ``log_metric`` and ``path``), then raises when the check failed and
    ``fail`` is set, else prints the summary to the task log and returns ``(passed,)``."""
    # The names MLflow runs get too.
    for name, value in report.metrics(column_metrics=COLUMN_METRICS).items():
        metrics.log_metric(name, value)
    with open(html.path, "w", encoding="utf-8") as fh:
        fh.write(report.to_html())
    with open(report_out.path, "w", encoding="utf-8") as fh:
        fh.write(report.to_json())
    if fail and report.passed is False:
        raise GateFailedError(report)  # its message is the summary, in the task log
    print(report.summary(), flush=True)
    return (report.passed is True,)


def _existing(path: str, what: str) -> str:
    if not os.path.exists(path):
        raise PathNotFoundError(2, f"{what}: no such file or directory", path)
    return path


def _read_table(path: str, data_format: str, what: str) -> Any:
    """A CSV or Parquet file (or a folder of Parquet files) as a pandas DataFrame."""
    if data_format not in ("auto", "csv", "parquet"):
        raise InvalidInputError(f"data_format: expected auto, csv or parquet, got {data_format!r}")
    _existing(path, what)
    if data_format == "auto":
        if os.path.isdir(path):
            data_format = "parquet"
        else:
            with open(path, "rb") as fh:
                data_format = "parquet" if fh.read(4) == b"PAR1" else "csv"
    try:
        import pandas as pd
    except ImportError:
        raise InvalidInputError(
            f"{what}: reading CSV or Parquet needs pandas and pyarrow: "
            "pip install 'mlsentry[pandas]'"
        ) from None
    try:
        if data_format == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InvalidInputError(f"{what}: {path} is empty (no CSV header)") from None
    except (ValueError, OSError) as e:
        raise InvalidInputError(f"{what}: cannot read {path} as {data_format}: {e}") from None


def scan_step(
    model_path: str,
    metrics: Any,
    html: Any,
    report_out: Any,
    *,
    policy: Optional[dict] = None,
    fail: bool = True,
) -> tuple:
    from ..scan import scan

    report = scan(_existing(model_path, "model"), policy)
    return _finish(report, metrics, html, report_out, fail)


def verify_step(
    model_path: str,
    manifest_path: str,
    metrics: Any,
    html: Any,
    report_out: Any,
    *,
    public_key: str = "",
    fail: bool = True,
) -> tuple:
    from ..integrity import Envelope, Manifest, PublicKey, verify, verify_model

    _existing(model_path, "model")
    with open(_existing(manifest_path, "manifest"), "rb") as fh:
        text = fh.read()
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError(
            f"manifest: {manifest_path} is not JSON (expected a manifest, a DSSE envelope "
            "or a Model Signing bundle)"
        ) from None
    kind = "manifest"
    if isinstance(data, dict) and "mediaType" in data:
        kind = "Model Signing bundle"
    elif isinstance(data, dict) and "payloadType" in data and "signatures" in data:
        kind = "signed envelope"
    if kind == "manifest":
        if public_key:
            raise SignatureError(
                "manifest: a public key was given but the manifest is not signed; "
                "pass a signed envelope or Model Signing bundle, or no key"
            )
        report = verify(model_path, Manifest.from_json(text))
    else:
        if not public_key:
            raise InvalidInputError(
                f"public_key: the manifest is a {kind}; pass the signer's public key (PEM)"
            )
        key = PublicKey.from_pem(public_key)
        if kind == "signed envelope":
            report = verify(model_path, Envelope.from_json(text), key)
        else:
            report = verify_model(model_path, manifest_path, key)
    return _finish(report, metrics, html, report_out, fail)


def drift_step(
    reference_path: str,
    current_path: str,
    metrics: Any,
    html: Any,
    report_out: Any,
    *,
    alpha: float = 0.05,
    correction: str = "bh",
    tests: str = "auto",
    drift_share: Optional[float] = None,
    columns: Optional[Sequence[str]] = None,
    categorical: Optional[Sequence[str]] = None,
    data_format: str = "auto",
    fail: bool = True,
) -> tuple:
    from ..drift import Profile, compare

    # A profile file (``mlsentry profile``) is passed on as its path: compare reads it.
    reference: Any = reference_path
    if not Profile.is_file(reference_path):
        reference = _read_table(reference_path, data_format, "reference")
    current = _read_table(current_path, data_format, "current")
    report = compare(
        reference,
        current,
        tests=tests,
        alpha=alpha,
        correction=correction,
        columns=columns or None,
        categorical=categorical or None,
        drift_share=drift_share,
    )
    return _finish(report, metrics, html, report_out, fail)


_MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle")


def _model_file(path: str, model_file: str) -> str:
    """The file to load inside a model artifact."""
    if os.path.isfile(path):
        if model_file:
            raise InvalidInputError(
                f"model_file: the model artifact {path} is a single file; leave model_file empty"
            )
        return path
    if model_file:
        root = os.path.realpath(path)
        target = os.path.realpath(os.path.join(path, model_file))
        if os.path.commonpath([root, target]) != root:
            raise InvalidInputError(f"model_file: {model_file!r} leaves the model folder")
        if not os.path.isfile(target):
            raise PathNotFoundError(2, "model_file: no such file in the model folder", target)
        return target
    found = sorted(f for f in os.listdir(path) if f.lower().endswith(_MODEL_SUFFIXES))
    if len(found) != 1:
        raise InvalidInputError(
            f"model: expected one {', '.join(_MODEL_SUFFIXES)} file in {path}, found "
            f"{len(found)} ({', '.join(found) or 'none'}); name it with model_file"
        )
    return os.path.join(path, found[0])


class _NamedColumns:
    """A fitted model that wants the pandas column names it was fitted on: the attacks
    send numpy rows, this gives them back their names."""

    def __init__(self, model: Any, names: Sequence[str]) -> None:
        import pandas as pd

        self._frame = lambda x: pd.DataFrame(x, columns=list(names))
        self.classes_ = getattr(model, "classes_", None)
        if hasattr(model, "predict_proba"):
            self.predict_proba = lambda x: model.predict_proba(self._frame(x))
        else:
            self.predict = lambda x: model.predict(self._frame(x))


def robustness_step(
    model_path: str,
    data_path: str,
    metrics: Any,
    html: Any,
    report_out: Any,
    *,
    label_column: str = "label",
    threshold: float = 0.5,
    eps: Optional[Sequence[float]] = None,
    attacks: Optional[Sequence[str]] = None,
    norm: str = "linf",
    max_queries: int = 1000,
    constraints: Optional[dict] = None,
    seed: int = 0,
    confidence: float = 0.95,
    model_file: str = "",
    policy: Optional[dict] = None,
    data_format: str = "auto",
    fail: bool = True,
) -> tuple:
    from ..robustness import Constraints, evaluate
    from ..scan import scan

    try:
        limits = Constraints(**({"scale": "std"} if constraints is None else dict(constraints)))
    except TypeError as e:
        raise InvalidInputError(f"constraints: {e}") from None
    file = _model_file(_existing(model_path, "model"), model_file)
    table = _read_table(data_path, data_format, "data")
    if label_column not in table.columns:
        raise InvalidInputError(
            f"label_column: {label_column!r} is not a column of data "
            f"({', '.join(map(str, table.columns[:20]))})"
        )
    checked = scan(model_path, policy)
    if not checked.safe:
        # Never unpickle what the scan did not clear: the scan report is the step's report.
        print(f"refusing to load {file}: the scan found it unsafe", flush=True)
        return _finish(checked, metrics, html, report_out, fail)
    import joblib

    model = joblib.load(file)
    fitted_names = getattr(model, "feature_names_in_", None)
    if fitted_names is not None:
        features = [str(n) for n in fitted_names]
        missing = [n for n in features if n not in table.columns]
        if missing:
            raise InvalidInputError(
                f"data: the model was fitted on columns missing from data: {missing[:20]}"
            )
        model = _NamedColumns(model, features)
    else:
        features = [c for c in table.columns if c != label_column]
    try:
        X = table[features].to_numpy(dtype="float64")
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"data: the feature columns must be numbers ({e})") from None
    report = evaluate(
        model,
        X,
        table[label_column].to_numpy(),
        attacks=tuple(attacks) if attacks else ("noise", "square", "hsj"),
        eps=list(eps) if eps else 0.1,
        norm=norm,
        max_queries=max_queries,
        constraints=limits,
        seed=seed,
        threshold=threshold,
        confidence=confidence,
    )
    return _finish(report, metrics, html, report_out, fail)


def privacy_step(
    model_path: str,
    members_path: str,
    nonmembers_path: str,
    metrics: Any,
    html: Any,
    report_out: Any,
    *,
    label_column: str = "label",
    threshold: float = 0.1,
    at_fpr: float = 0.01,
    attacks: Optional[Sequence[str]] = None,
    seed: int = 0,
    confidence: float = 0.95,
    model_file: str = "",
    policy: Optional[dict] = None,
    data_format: str = "auto",
    fail: bool = True,
) -> tuple:
    """The privacy gate: membership inference on a scanned, then loaded, model."""
    from ..privacy import membership_inference
    from ..scan import scan

    file = _model_file(_existing(model_path, "model"), model_file)
    tables = {}
    for what, path in (("members", members_path), ("nonmembers", nonmembers_path)):
        table = _read_table(path, data_format, what)
        if label_column not in table.columns:
            raise InvalidInputError(
                f"label_column: {label_column!r} is not a column of {what} "
                f"({', '.join(map(str, table.columns[:20]))})"
            )
        tables[what] = table
    checked = scan(model_path, policy)
    if not checked.safe:
        print(f"refusing to load {file}: the scan found it unsafe", flush=True)
        return _finish(checked, metrics, html, report_out, fail)
    import joblib

    model = joblib.load(file)
    fitted_names = getattr(model, "feature_names_in_", None)
    if fitted_names is not None:
        features = [str(n) for n in fitted_names]
        model = _NamedColumns(model, features)
    else:
        features = [c for c in tables["members"].columns if c != label_column]
    arrays = []
    for what, table in tables.items():
        missing = [n for n in features if n not in table.columns]
        if missing:
            raise InvalidInputError(
                f"{what}: the model's feature columns are missing: {missing[:20]}"
            )
        try:
            arrays.append(table[features].to_numpy(dtype="float64"))
        except (TypeError, ValueError) as e:
            raise InvalidInputError(f"{what}: the feature columns must be numbers ({e})") from None
    report = membership_inference(
        model,
        arrays[0],
        tables["members"][label_column].to_numpy(),
        arrays[1],
        tables["nonmembers"][label_column].to_numpy(),
        attacks=tuple(attacks)
        if attacks
        else ("loss", "confidence", "entropy", "modified_entropy"),
        seed=seed,
        at_fpr=at_fpr,
        threshold=threshold,
        confidence=confidence,
    )
    return _finish(report, metrics, html, report_out, fail)
