"""Reports, datasets and verified models in MLflow runs (see :mod:`mlsentry.mlflow`)."""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import tempfile
import time
import urllib.parse
import warnings
from collections.abc import Callable
from typing import Any, Optional, Union

import mlflow
from mlflow.entities import Dataset as _DatasetEntity
from mlflow.entities import DatasetInput, InputTag, Metric, RunTag
from mlflow.exceptions import MlflowException

from .._args import check_int
from ..errors import (
    IntegrityError,
    InvalidInputError,
    InvalidTypeError,
    MlsentryError,
    ScanError,
    SignatureError,
    UnsignedWarning,
)
from ..report import Report, name_part

#: The manifest written beside a model's files by :func:`log_model_manifest`.
MANIFEST_FILE = "mlsentry.manifest.json"
#: The DSSE envelope signing that manifest, when a key was given.
SIGNATURE_FILE = "mlsentry.manifest.dsse.json"
# The only files a model manifest leaves out: itself and its signature (anchored at the
# top of the model folder, so any other added file is reported).
_MANIFEST_IGNORE = ("/" + MANIFEST_FILE, "/" + SIGNATURE_FILE)
# Written by MLflow into downloads of logged and registered models (see _download).
_REGISTRY_META = "registered_model_meta"
# MLflow's batch limits: 1000 metrics, 100 tags per log_batch call.
_METRICS_PER_BATCH = 1000
_TAGS_PER_BATCH = 100
# The longest digest MLflow keeps for a dataset (its MAX_DATASET_DIGEST_SIZE is 36).
_DATASET_DIGEST_HEX = 32

#: A name the user gives a report in its run (``log_report(..., name=)``).
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def report_metrics(
    report: Report, name: Optional[str] = None, column_metrics: int = 100
) -> dict[str, float]:
    """The metrics :func:`log_report` logs for ``report``: :meth:`mlsentry.Report.metrics`.

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
    return report.metrics(name, column_metrics)


class NoActiveRunError(MlsentryError, RuntimeError):
    """There is no MLflow run to log to: no active run, no ``MLFLOW_RUN_ID`` and no
    ``run_id`` argument. mlsentry never starts a run (nor creates a tracking database) on
    its own."""


def _run_id(run_id: Optional[str]) -> str:
    if run_id is not None:
        if not isinstance(run_id, str) or not run_id:
            raise InvalidTypeError(f"run_id: expected a run id (str) or None, got {run_id!r}")
        return run_id
    active = mlflow.active_run()
    if active is not None:
        return str(active.info.run_id)
    # Set by `mlflow run` and by MLflow's own subprocesses: a run the user chose.
    env = os.environ.get("MLFLOW_RUN_ID")
    if env:
        return env
    raise NoActiveRunError(
        "no active MLflow run: start one (`with mlflow.start_run(): ...`) or pass run_id=...; "
        "mlsentry does not start runs or create tracking stores on its own"
    )


def _check_name(name: Any) -> Optional[str]:
    if name is None:
        return None
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidInputError(
            f"name: expected 1 to 64 letters, digits, '_', '-' or '.', got {name!r}"
        )
    return name


def _log_batches(client: Any, run_id: str, metrics: dict[str, float], tags: dict[str, str]) -> None:
    now = int(time.time() * 1000)
    items = [Metric(k, v, now, 0) for k, v in metrics.items()]
    for i in range(0, len(items), _METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=items[i : i + _METRICS_PER_BATCH])
    run_tags = [RunTag(k, v) for k, v in tags.items()]
    for i in range(0, len(run_tags), _TAGS_PER_BATCH):
        client.log_batch(run_id, tags=run_tags[i : i + _TAGS_PER_BATCH])


def log_report(
    report: Report,
    run_id: Optional[str] = None,
    *,
    name: Optional[str] = None,
    column_metrics: int = 100,
) -> dict[str, float]:
    """Logs a report to an MLflow run: metrics, JSON and HTML artifacts, tags.

    Parameters
    ----------
    report : Report
        Any mlsentry report (drift, robustness, scan, verification, ...).
    run_id : str, optional
        The run to log to; by default the active run (or ``MLFLOW_RUN_ID``).
    name : str, optional
        A label for several reports of one kind in one run (``"features"``,
        ``"predictions"``): metrics become ``mlsentry.drift.<name>.share_drifted`` and the
        artifacts ``mlsentry/drift-report-<name>.json``. Letters, digits, ``_ - .``.
    column_metrics : int
        Drift reports: per-column metrics for at most this many columns, the most severe
        first (0: none). Every column is in the JSON artifact whatever this is.

    Returns
    -------
    dict
        The metrics logged, name to value (see :func:`report_metrics` for the names).

    Raises
    ------
    NoActiveRunError
        No run to log to (nothing is created).

    Notes
    -----
    Tags: ``mlsentry.<kind>.schema``, ``.passed`` (``"true"``/``"false"``),
    ``.input.<name>`` (each input's fingerprint) and ``.report_digest`` (SHA-256 of the
    JSON artifact as logged). Logging the same kind twice without ``name`` replaces the
    artifacts and adds a second value to each metric's history.

    Examples
    --------
    >>> import mlflow, numpy as np, mlsentry as ms, mlsentry.mlflow as msm
    >>> mlflow.set_tracking_uri("sqlite:///mlflow.db")
    >>> def model(x):
    ...     return np.stack([-x[:, 0], x[:, 0]], axis=1)
    >>> X = np.random.default_rng(0).normal(size=(50, 2)); y = (X[:, 0] > 0).astype(int)
    >>> report = ms.robustness.evaluate(model, X, y, attacks="noise", eps=0.1, max_queries=20)
    >>> with mlflow.start_run():
    ...     metrics = msm.log_report(report)
    >>> metrics["mlsentry.robustness.clean_accuracy"]
    1.0
    >>> "mlsentry.robustness.robust_accuracy.eps_0.1" in metrics
    True
    >>> mlflow.set_tracking_uri(None)
    """
    if not isinstance(report, Report):
        raise InvalidTypeError(
            f"report: expected an mlsentry Report, got {type(report).__module__}."
            f"{type(report).__qualname__}"
        )
    name = _check_name(name)
    column_metrics = check_int(column_metrics, "column_metrics", 0)
    run = _run_id(run_id)
    metrics = report.metrics(name, column_metrics)
    tags = report.tags(name)
    text = report.to_json()
    # The digest of the bytes MLflow stores (log_text writes UTF-8; to_json is ASCII).
    tags[f"{report.metric_prefix(name)}.report_digest"] = (
        "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    )
    stem = report.schema_name() if name is None else f"{report.schema_name()}-{name}"
    client = mlflow.MlflowClient()
    client.log_text(run, text, f"mlsentry/{stem}.json")
    client.log_text(run, report.to_html(), f"mlsentry/{stem}.html")
    _log_batches(client, run, metrics, tags)
    return metrics


# --------------------------------------------------------------------------- datasets


def _mlflow_dataset(
    data: Any, name: str, digest: str, targets: Any, source: Any
) -> tuple[Any, Optional[str]]:
    """The MLflow dataset object for ``data`` and the fingerprint of numpy targets."""
    import numpy as np

    module = (type(data).__module__ or "").split(".")[0]
    if isinstance(data, np.ndarray):
        target_fp = None
        if targets is not None:
            from ..integrity import fingerprint

            if not isinstance(targets, np.ndarray):
                raise InvalidTypeError(
                    f"targets: with numpy features, expected a numpy array, "
                    f"got {type(targets).__name__}"
                )
            target_fp = fingerprint(targets)
        from mlflow.data.numpy_dataset import from_numpy

        ds = from_numpy(data, source=source, targets=targets, name=name, digest=digest)
        return ds, target_fp
    if targets is not None and not isinstance(targets, str):
        raise InvalidTypeError(
            f"targets: with a data frame, expected the name of its target column (str), "
            f"got {type(targets).__name__}"
        )
    if module == "pandas":
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            from mlflow.data.pandas_dataset import from_pandas

            return from_pandas(data, source=source, targets=targets, name=name, digest=digest), None
    elif module == "polars":
        import polars as pl

        if isinstance(data, pl.DataFrame):
            from mlflow.data.polars_dataset import from_polars

            return from_polars(data, source=source, targets=targets, name=name, digest=digest), None
    raise InvalidTypeError(
        "data: expected a numpy array, a pandas DataFrame or a polars DataFrame (what "
        f"mlflow.data can log), got {type(data).__module__}.{type(data).__qualname__}"
    )


def log_dataset(
    data: Any,
    name: str,
    context: Optional[str] = None,
    *,
    targets: Any = None,
    source: Any = None,
    run_id: Optional[str] = None,
) -> str:
    """Logs a dataset as an input of a run, tagged with its full fingerprint.

    The dataset is logged the MLflow way (``mlflow.data.from_numpy``, ``from_pandas`` or
    ``from_polars``, with its schema and profile), but its ``digest`` is the first 32 hex
    digits of :func:`mlsentry.fingerprint`, computed over every row (MLflow's own digest
    reads only the first 10,000), and the input carries the whole fingerprint in the tag
    ``mlsentry.fingerprint`` (``mlsentry.fingerprint.targets`` for numpy targets). The
    run also gets the tag ``mlsentry.dataset.<name>.fingerprint``, so runs can be searched
    by the exact data they used.

    Parameters
    ----------
    data : numpy.ndarray, pandas.DataFrame or polars.DataFrame
        The data (features, or a frame holding features and targets).
    name : str
        The dataset's name in MLflow.
    context : str, optional
        How the run used it: ``"training"``, ``"evaluation"``, ...
    targets : numpy.ndarray or str, optional
        Numpy targets beside numpy features, or the target column of a frame.
    source : str or mlflow DatasetSource, optional
        Where the data came from (a path or URI); MLflow's default otherwise.
    run_id : str, optional
        The run; by default the active run (or ``MLFLOW_RUN_ID``).

    Returns
    -------
    str
        The fingerprint of ``data`` (``"sha256:..."``).

    Raises
    ------
    NoActiveRunError
        No run to log to (nothing is created).
    InvalidTypeError
        ``data`` of a type mlflow.data cannot log (convert pyarrow tables to pandas).

    Examples
    --------
    >>> import mlflow, numpy as np, mlsentry as ms, mlsentry.mlflow as msm
    >>> mlflow.set_tracking_uri("sqlite:///mlflow.db")
    >>> X = np.arange(30_000.0).reshape(-1, 3)
    >>> with mlflow.start_run() as run:
    ...     fp = msm.log_dataset(X, "train", context="training")
    >>> fp == ms.fingerprint(X)
    True
    >>> inputs = mlflow.MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    >>> {t.key: t.value for t in inputs[0].tags}["mlsentry.fingerprint"] == fp
    True
    >>> mlflow.set_tracking_uri(None)
    """
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    from ..integrity import fingerprint

    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"name: expected a non-empty str, got {name!r}")
    if context is not None and not isinstance(context, str):
        raise InvalidTypeError(f"context: expected a str or None, got {type(context).__name__}")
    run = _run_id(run_id)
    fp = fingerprint(data)
    digest = fp.partition(":")[2][:_DATASET_DIGEST_HEX]
    dataset, target_fp = _mlflow_dataset(data, name, digest, targets, source)
    tags = [InputTag("mlsentry.fingerprint", fp)]
    if target_fp is not None:
        tags.append(InputTag("mlsentry.fingerprint.targets", target_fp))
    if context:
        tags.append(InputTag(MLFLOW_DATASET_CONTEXT, context))
    d = dataset.to_dict()
    entity = _DatasetEntity(
        name=d["name"],
        digest=d["digest"],
        source_type=d["source_type"],
        source=d["source"],
        schema=d.get("schema"),
        profile=d.get("profile"),
    )
    client = mlflow.MlflowClient()
    client.log_inputs(run, datasets=[DatasetInput(entity, tags=tags)])
    client.set_tag(run, f"mlsentry.dataset.{name_part(name)}.fingerprint", fp)
    return fp


# --------------------------------------------------------------------------- models


def _model_source(model: Any) -> tuple[str, bool]:
    """``(uri or path, is_local_folder)`` for a ModelInfo, a model URI or a folder."""
    uri = getattr(model, "model_uri", None)
    if isinstance(uri, str):
        return uri, False
    if isinstance(model, os.PathLike):
        return os.path.abspath(os.fspath(model)), True
    if isinstance(model, str) and model:
        scheme = urllib.parse.urlparse(model).scheme
        if len(scheme) <= 1 and os.path.isdir(model):  # "C:\..." is a path too
            return os.path.abspath(model), True
        return model, False
    raise InvalidTypeError(
        "model: expected a model URI (str), a ModelInfo from log_model, or a local folder, "
        f"got {type(model).__name__}"
    )


def _download(source: str, local: bool, dst: str) -> str:
    """Downloads a model and returns its local folder.

    MLflow writes a ``registered_model_meta`` file (the registered name and version) into
    every folder it downloads through a ``models:`` repository, ``runs:/`` URIs of logged
    models included; the file is not in the store, no loader here reads it, and it is
    removed, so manifests list exactly the stored files.
    """
    folder = mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=dst)
    meta = os.path.join(folder, _REGISTRY_META)
    if not local and os.path.isfile(meta):
        os.remove(meta)
    return str(folder)


def _write_manifest(model_dir: str, key: Any, out_dir: str) -> tuple[Any, list[str]]:
    from ..integrity import SigningKey, manifest, sign

    if key is not None and not isinstance(key, SigningKey):
        raise InvalidTypeError(
            f"key: expected a mlsentry.integrity.SigningKey or None, got {type(key).__name__}"
        )
    m = manifest(model_dir, ignore=_MANIFEST_IGNORE)
    written = [os.path.join(out_dir, MANIFEST_FILE)]
    m.save(written[0])
    if key is not None:
        written.append(os.path.join(out_dir, SIGNATURE_FILE))
        sign(m, key).save(written[1])
    return m, written


def _mlmodel_id(model_dir: str) -> Optional[str]:
    """The ``model_id`` an MLmodel file names (MLflow 3 logged models), if any."""
    import yaml

    path = os.path.join(model_dir, "MLmodel")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        meta = yaml.safe_load(fh)
    model_id = meta.get("model_id") if isinstance(meta, dict) else None
    return model_id if isinstance(model_id, str) and model_id else None


def _upload(uri: str, model_dir: str, files: list[str]) -> None:
    """Puts ``files`` at the top of the folder where the model at ``uri`` is stored."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

    client = mlflow.MlflowClient()
    model_id = _mlmodel_id(model_dir)
    if model_id is not None:
        try:
            client.get_logged_model(model_id)
        except MlflowException:
            model_id = None  # copied from elsewhere: write where the URI points
    if model_id is not None:
        for f in files:
            client.log_model_artifact(model_id, f)
        return
    if urllib.parse.urlparse(uri).scheme == "models":
        # A registered version without a logged model: its files live at the source.
        uri = ModelsArtifactRepository.get_underlying_uri(uri)
    repo = get_artifact_repository(uri)
    for f in files:
        repo.log_artifact(f)


def log_model_manifest(model: Any, key: Any = None) -> Any:
    """Puts a manifest of a model's files (and a signature) beside the model.

    The manifest lists every file of the model with its size and SHA-256 (see
    :func:`mlsentry.integrity.manifest`); it is written as ``mlsentry.manifest.json`` at
    the top of the model's folder, and with a ``key`` a DSSE envelope signing it as
    ``mlsentry.manifest.dsse.json``. :func:`load_verified` checks a model against them.

    Parameters
    ----------
    model : str, ModelInfo or path
        The ``ModelInfo`` that ``mlflow.<flavor>.log_model`` returned, a model URI
        (``models:/<model_id>``, ``models:/<name>/<version>``, ``runs:/<run_id>/<name>``,
        an artifact URI), or a local model folder (written into directly).
    key : mlsentry.integrity.SigningKey, optional
        Signs the manifest.

    Returns
    -------
    mlsentry.integrity.Manifest
        The manifest logged.

    Notes
    -----
    A logged model's files are downloaded and hashed here, then the manifest is uploaded
    to the model's own artifact location (``client.log_model_artifact`` for MLflow 3
    logged models, the artifact repository of the URI otherwise). Run it right after
    logging the model, from the process that produced it: the manifest vouches for the
    files as they are when it runs.

    Examples
    --------
    >>> import mlflow, numpy as np, mlsentry as ms, mlsentry.mlflow as msm
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> clf = LogisticRegression().fit(X, y)
    >>> mlflow.sklearn.save_model(clf, "clf", serialization_format="pickle", pip_requirements=[])
    >>> key = ms.integrity.SigningKey.generate()
    >>> m = msm.log_model_manifest("clf", key=key)
    >>> [f.path for f in m.files]
    ['MLmodel', 'conda.yaml', 'model.pkl', 'python_env.yaml', 'requirements.txt']
    >>> model = msm.load_verified("clf", "sklearn", public_key=key.public_key)
    >>> model.predict(np.array([[2.5]]))
    array([1])
    """
    source, local = _model_source(model)
    if local:
        return _write_manifest(source, key, source)[0]
    with tempfile.TemporaryDirectory(prefix="mlsentry-manifest-") as tmp:
        model_dir = _download(source, local, os.path.join(tmp, "model"))
        if not os.path.isdir(model_dir):
            raise InvalidInputError(f"model: {source!r} is a single file, not a model folder")
        staging = os.path.join(tmp, "manifest")
        os.mkdir(staging)
        manifest, files = _write_manifest(model_dir, key, staging)
        _upload(source, model_dir, files)
    return manifest


def _loader(flavor: Any) -> Callable[[str], Any]:
    if callable(flavor):
        return flavor  # type: ignore[no-any-return]
    if not isinstance(flavor, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", flavor):
        raise InvalidInputError(
            f"flavor: expected an MLflow flavour name ('pyfunc', 'sklearn', ...) or a "
            f"loader callable, got {flavor!r}"
        )
    try:
        module = importlib.import_module(f"mlflow.{flavor}")
    except ModuleNotFoundError:
        raise InvalidInputError(f"flavor: MLflow has no flavour {flavor!r}") from None
    load = getattr(module, "load_model", None)
    if not callable(load):
        raise InvalidInputError(f"flavor: mlflow.{flavor} has no load_model")
    return load  # type: ignore[no-any-return]


def _public_key(public_key: Any) -> Any:
    from ..integrity import PublicKey

    if public_key is None or isinstance(public_key, PublicKey):
        return public_key
    if isinstance(public_key, (str, os.PathLike)):
        return PublicKey.load(public_key)
    raise InvalidTypeError(
        "public_key: expected a mlsentry.integrity.PublicKey, the path of a PEM public key, "
        f"or None, got {type(public_key).__name__}"
    )


def _fail(cls: type[MlsentryError], message: str, report: Any) -> MlsentryError:
    err = cls(message)
    err.report = report  # type: ignore[attr-defined]
    return err


def _verify_folder(model_dir: str, source: str, public_key: Any) -> Any:
    from ..integrity import Envelope, Manifest, verify

    if public_key is not None:
        path = os.path.join(model_dir, SIGNATURE_FILE)
        if not os.path.isfile(path):
            raise SignatureError(
                f"{source}: no {SIGNATURE_FILE} beside the model, so nothing vouches for it "
                "(log one with mlsentry.mlflow.log_model_manifest(model, key=...))"
            )
        expected: Any = Envelope.load(path)
    else:
        path = os.path.join(model_dir, MANIFEST_FILE)
        if not os.path.isfile(path):
            raise IntegrityError(
                f"{source}: no {MANIFEST_FILE} beside the model, so it cannot be checked "
                "(log one with mlsentry.mlflow.log_model_manifest(model))"
            )
        expected = Manifest.load(path)
    report = verify(model_dir, expected, public_key)
    if report.config.get("ignore") != list(_MANIFEST_IGNORE):
        raise _fail(
            IntegrityError,
            f"{source}: the manifest leaves out files ({report.config.get('ignore')}); "
            "a model manifest may leave out only itself and its signature",
            report,
        )
    if not report.ok:
        raise _fail(IntegrityError, f"{source}: the model changed\n{report.summary()}", report)
    return report


def load_verified(
    model_uri: Any,
    flavor: Union[str, Callable[[str], Any]] = "pyfunc",
    public_key: Any = None,
    *,
    policy: Any = None,
    dst_path: Optional[str] = None,
) -> Any:
    """Downloads a model, checks it against its manifest, scans it, then loads it.

    1. The model's files are downloaded to a private folder (``dst_path``, or a new
       temporary folder that is kept, as MLflow keeps its own downloads).
    2. They are compared with ``mlsentry.manifest.json`` (with ``public_key``: with the
       manifest signed in ``mlsentry.manifest.dsse.json``, whose signature is checked
       first). Any file modified, added or removed refuses the model. Without
       ``public_key`` the manifest comes from the same store as the model: it catches
       corruption and accidental changes, not whoever can write the model's artifacts
       (who can rewrite the manifest too); the load then warns
       (:class:`~mlsentry.errors.UnsignedWarning`). Only a signature checked with a key
       you hold protects against that.
    3. Every file is scanned (:func:`mlsentry.scan.scan`): pickles, joblib and PyTorch
       files of pickle-based flavours are read opcode by opcode without being run; any
       finding above ``info`` refuses the model.
    4. The checked copy is loaded with ``mlflow.<flavor>.load_model`` (or ``flavor`` when
       it is a callable taking the local folder).

    Parameters
    ----------
    model_uri : str, ModelInfo or path
        A model URI (``models:/...``, ``runs:/...``, an artifact URI) or a local folder.
    flavor : str or callable
        ``"pyfunc"`` (default), ``"sklearn"``, ... or a loader ``path -> model``.
    public_key : mlsentry.integrity.PublicKey or path, optional
        Require a valid signature by this key (recommended: without one, a loaded model
        is only as trustworthy as the store it came from).
    policy : path or dict, optional
        Extends the scan's allow-list (see :func:`mlsentry.scan.scan`).
    dst_path : str, optional
        Where to download the model.

    Returns
    -------
    object
        What the loader returns.

    Raises
    ------
    IntegrityError
        No manifest, or the files differ from it (``err.report`` is the
        :class:`~mlsentry.integrity.VerifyReport`).
    SignatureError
        With ``public_key``: no signature, or one that does not verify.
    ScanError
        The scan found something unsafe (``err.report`` is the
        :class:`~mlsentry.scan.ScanReport`).

    Examples
    --------
    A manifest, then a file changed behind its back (signed models: see
    :func:`log_model_manifest`):

    >>> import mlflow, mlsentry.mlflow as msm
    >>> from sklearn.dummy import DummyClassifier
    >>> clf = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
    >>> mlflow.sklearn.save_model(clf, "dummy", serialization_format="pickle", pip_requirements=[])
    >>> _ = msm.log_model_manifest("dummy")
    >>> with open("dummy/model.pkl", "ab") as fh:
    ...     _ = fh.write(b"!")
    >>> msm.load_verified("dummy", "sklearn")
    Traceback (most recent call last):
    ...
    mlsentry.errors.IntegrityError: ...: the model changed
    Integrity verification: FAILED (1 modified, 0 added, 0 removed)
      modified model.pkl: ...
    """
    from ..scan import scan

    load = _loader(flavor)
    key = _public_key(public_key)
    source, local = _model_source(model_uri)
    if dst_path is None:
        dst_path = tempfile.mkdtemp(prefix="mlsentry-model-")
    model_dir = _download(source, local, dst_path)
    if not os.path.isdir(model_dir):
        raise InvalidInputError(f"model_uri: {source!r} is a single file, not a model folder")
    _verify_folder(model_dir, source, key)
    scanned = scan(model_dir, policy, digests=False)
    if not scanned.safe:
        raise _fail(ScanError, f"{source}: unsafe to load\n{scanned.summary()}", scanned)
    if key is None:
        warnings.warn(
            f"{source}: checked against the {MANIFEST_FILE} stored beside the model, which "
            "whoever can write the model can rewrite too; pass public_key= to require the "
            "signature of log_model_manifest(model, key=...)",
            UnsignedWarning,
            stacklevel=2,
        )
    return load(model_dir)
