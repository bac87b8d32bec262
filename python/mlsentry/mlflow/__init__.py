"""MLflow: reports, datasets and verified models in the runs people already track.

Install with ``pip install mlsentry[mlflow]`` (``mlflow-skinny``; a SQLite tracking store
also needs ``sqlalchemy`` and ``alembic``, and ``mlflow.models.evaluate`` needs
``matplotlib``, as with MLflow itself).

* :func:`log_report` logs any mlsentry report to a run: its headline numbers as metrics
  under stable names (``mlsentry.drift.share_drifted``,
  ``mlsentry.robustness.robust_accuracy.eps_0.1``, ``mlsentry.scan.safe``, ...), the JSON
  and the HTML report as artifacts (``mlsentry/drift-report.json``, ``.html``), and tags
  with the fingerprints of its inputs.
* :func:`log_dataset` logs a dataset input whose tags carry the full
  :func:`mlsentry.fingerprint` of the data (MLflow's own digest reads the first 10,000
  rows only).
* :func:`log_model_manifest` puts a manifest of a model's files (and a DSSE signature when
  given a key) beside the model's artifacts; :func:`load_verified` downloads a model,
  refuses it with :class:`~mlsentry.errors.IntegrityError` if any file changed, appeared or
  disappeared (or :class:`~mlsentry.errors.SignatureError` if the signature fails), scans
  it with :func:`mlsentry.scan.scan` (:class:`~mlsentry.errors.ScanError` when unsafe), and
  only then loads it.
* :func:`log_evidence` logs a release's signed evidence bundle to the run and tags the
  registered model version with the bundle's digest and verdict.
* :class:`MlsentryEvaluator` is the ``mlsentry`` evaluator of ``mlflow.models.evaluate``
  (registered through the ``mlflow.model_evaluator`` entry point): it adds robustness
  metrics to a classifier's evaluation.

Nothing here starts a run or creates a tracking database: without an active run (or the
``MLFLOW_RUN_ID`` environment variable) and without ``run_id``, the logging functions raise
:class:`NoActiveRunError`.

>>> import mlflow, numpy as np, mlsentry as ms
>>> import mlsentry.mlflow as msm
>>> mlflow.set_tracking_uri("sqlite:///mlflow.db")
>>> rng = np.random.default_rng(0)
>>> report = ms.drift.compare({"x": rng.normal(size=500)}, {"x": rng.normal(1, 1, 500)})
>>> with mlflow.start_run() as run:
...     metrics = msm.log_report(report)
>>> metrics["mlsentry.drift.share_drifted"]
1.0
>>> sorted(a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "mlsentry"))
['mlsentry/drift-report.html', 'mlsentry/drift-report.json']
>>> mlflow.set_tracking_uri(None)
"""

from ..errors import require

require("mlflow", "mlflow", "mlsentry.mlflow")

# After the check of the extra, so that a missing MLflow is named with the extra to install.
from .evaluator import MlsentryEvaluator  # noqa: E402
from .evidence import log_evidence  # noqa: E402
from .runs import (  # noqa: E402
    MANIFEST_FILE,
    SIGNATURE_FILE,
    NoActiveRunError,
    load_verified,
    log_dataset,
    log_model_manifest,
    log_report,
    report_metrics,
)

__all__ = [
    "MANIFEST_FILE",
    "SIGNATURE_FILE",
    "MlsentryEvaluator",
    "NoActiveRunError",
    "load_verified",
    "log_dataset",
    "log_evidence",
    "log_model_manifest",
    "log_report",
    "report_metrics",
]


def __dir__() -> list[str]:
    return sorted(__all__)
