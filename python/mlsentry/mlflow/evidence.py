"""Evidence bundles in MLflow: :func:`log_evidence` (see :mod:`mlsentry.mlflow`)."""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any, Optional, Union

import mlflow

from ..errors import IntegrityError, InvalidInputError, InvalidTypeError
from ..evidence import Bundle, verify
from ..integrity import PublicKey, hash_file
from .runs import _log_batches, _run_id

#: Where the bundle goes in the run's artifacts.
EVIDENCE_DIR = "mlsentry"


def _bundle_path(bundle: Any) -> str:
    if isinstance(bundle, Bundle):
        if bundle.path is None:
            raise InvalidInputError("bundle: save it first (Bundle.save(path, key))")
        return bundle.path
    if not isinstance(bundle, (str, os.PathLike)):
        raise InvalidTypeError(
            f"bundle: expected a saved Bundle or the path of one, got {type(bundle).__name__}"
        )
    path = os.fspath(bundle)
    if not os.path.isfile(path):
        raise InvalidInputError(f"bundle: {path!r} is not a file")
    return path


def _release_verdict(path: str) -> tuple[str, int]:
    """FAILED when a check of the bundle failed, else PASSED; and the number of checks."""
    try:
        with zipfile.ZipFile(path) as z:
            index = json.loads(z.read("index.json"))
        verdicts = [c["verdict"] for c in index["checks"]]
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as e:
        raise InvalidInputError(f"bundle: {path} is not an evidence bundle ({e!r})") from None
    return ("FAILED" if "FAILED" in verdicts else "PASSED"), len(verdicts)


def log_evidence(
    bundle: Union[Bundle, str, os.PathLike[str]],
    run_id: Optional[str] = None,
    *,
    model_name: Optional[str] = None,
    model_version: Union[str, int, None] = None,
    public_key: Optional[PublicKey] = None,
) -> dict[str, str]:
    """Logs a release's evidence bundle to an MLflow run and tags the registered model
    version it speaks for.

    Parameters
    ----------
    bundle : Bundle or path
        A saved bundle (:meth:`mlsentry.evidence.Bundle.save`, ``mlsentry check
        --evidence``).
    run_id : str, optional
        The run to log to; by default the active run (or ``MLFLOW_RUN_ID``).
    model_name, model_version : optional
        A registered model version to tag with the bundle's digest and verdict.
    public_key : PublicKey, optional
        Verify the bundle first; one that does not verify raises
        :class:`~mlsentry.errors.IntegrityError` and nothing is logged.

    Returns
    -------
    dict
        The tags set: ``mlsentry.evidence.digest`` (``sha256:`` of the file),
        ``mlsentry.evidence.verdict`` (``PASSED``, or ``FAILED`` when a check of the
        release failed), ``mlsentry.evidence.checks``, ``mlsentry.evidence.artifact`` and,
        with ``public_key``, ``mlsentry.evidence.verified`` and ``.key_id``.

    Examples
    --------
    >>> import mlflow, numpy as np, mlsentry as ms, mlsentry.mlflow as msm
    >>> mlflow.set_tracking_uri("sqlite:///mlflow.db")
    >>> key = ms.integrity.SigningKey.generate()
    >>> drift = ms.drift.compare({"x": np.arange(80.0)}, {"x": np.arange(80.0)})
    >>> _ = ms.evidence.build([drift], environment_info=False).save("r.evidence", key)
    >>> with mlflow.start_run():
    ...     tags = msm.log_evidence("r.evidence", public_key=key.public_key)
    >>> tags["mlsentry.evidence.verdict"], tags["mlsentry.evidence.verified"]
    ('PASSED', 'true')
    >>> mlflow.set_tracking_uri(None)
    """
    path = _bundle_path(bundle)
    if (model_name is None) != (model_version is None):
        raise InvalidInputError("model_name and model_version: give both or neither")
    run = _run_id(run_id)
    tags: dict[str, str] = {}
    if public_key is not None:
        if not isinstance(public_key, PublicKey):
            raise InvalidTypeError(
                f"public_key: expected a PublicKey, got {type(public_key).__name__}"
            )
        report = verify(path, public_key)
        if not report.passed:
            raise IntegrityError(report.summary())
        tags["mlsentry.evidence.verified"] = "true"
        tags["mlsentry.evidence.key_id"] = public_key.key_id
    verdict, n_checks = _release_verdict(path)
    tags["mlsentry.evidence.digest"] = hash_file(path)
    tags["mlsentry.evidence.verdict"] = verdict
    tags["mlsentry.evidence.checks"] = str(n_checks)
    tags["mlsentry.evidence.artifact"] = f"{EVIDENCE_DIR}/{os.path.basename(path)}"
    client = mlflow.MlflowClient()
    client.log_artifact(run, path, EVIDENCE_DIR)
    _log_batches(client, run, {}, tags)
    if model_name is not None:
        for key, value in tags.items():
            client.set_model_version_tag(model_name, str(model_version), key, value)
    return tags
