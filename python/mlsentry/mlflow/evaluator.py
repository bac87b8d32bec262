"""The ``mlsentry`` evaluator of ``mlflow.models.evaluate``: robustness metrics.

Registered through the ``mlflow.model_evaluator`` entry point (see ``pyproject.toml``), so
``evaluators=["default", "mlsentry"]`` adds the robust accuracy of a classifier to the
usual evaluation. Its settings come from ``evaluator_config`` (``{"mlsentry": {...}}``):

``eps`` (float or list, default 0.1), ``attacks`` (default ``("noise", "square", "hsj")``),
``norm`` (``"linf"``), ``max_queries`` (1000), ``max_samples`` (500: rows attacked, drawn
with ``seed``), ``seed`` (0), ``threshold``, ``confidence``, ``batch_size``,
``constraints`` (a :class:`mlsentry.robustness.Constraints`), as for
:func:`mlsentry.robustness.evaluate`; and ``label_list``, the classes of a model that
only predicts labels (default: those of the targets and of the clean predictions).
Other keys are ignored: MLflow gives every evaluator the same config unless it is keyed by
evaluator name.
"""

from __future__ import annotations

from typing import Any, Optional

from mlflow.models.evaluation.base import EvaluationResult, ModelEvaluator

from .._args import check_int
from ..errors import InvalidInputError, InvalidTypeError
from .runs import log_report

__all__ = ["MlsentryEvaluator"]

_PASSED_ON = (
    "eps",
    "attacks",
    "norm",
    "max_queries",
    "seed",
    "threshold",
    "confidence",
    "batch_size",
    "constraints",
)
DEFAULT_MAX_SAMPLES = 500


def _numeric(features: Any) -> Any:
    """Features as a float64 array ``(n, d)``, or a clear error naming the bad columns."""
    import numpy as np

    if hasattr(features, "dtypes") and hasattr(features, "columns"):
        from pandas.api.types import is_numeric_dtype

        bad = [str(c) for c in features.columns if not is_numeric_dtype(features[c])]
        if bad:
            raise InvalidTypeError(
                f"the mlsentry evaluator perturbs numeric features; column(s) {bad[:10]} "
                "are not numeric (encode them in the model's pipeline input first)"
            )
        return features.to_numpy(dtype=np.float64)
    arr = np.asarray(features)
    if arr.dtype.kind not in "biuf":
        raise InvalidTypeError(
            f"the mlsentry evaluator perturbs numeric features, got dtype {arr.dtype}"
        )
    return arr.astype(np.float64, copy=False)


def _labels_out(out: Any) -> Any:
    """A pyfunc prediction as an array: one column of labels, or a score matrix."""
    import numpy as np

    if hasattr(out, "columns") and len(out.columns) == 1:
        out = out.iloc[:, 0]
    return np.asarray(out)


class _Classifier:
    """The model as :func:`mlsentry.robustness.evaluate` calls it: rows in, scores or
    labels out, with ``classes_`` to map labels to class indices."""

    def __init__(self, fn: Any, columns: Optional[list[Any]], classes: Any) -> None:
        self._fn = fn
        self._columns = columns
        self.classes_ = classes

    def __call__(self, rows: Any) -> Any:
        if self._columns is not None:
            import pandas as pd

            rows = pd.DataFrame(rows, columns=self._columns)
        return _labels_out(self._fn(rows))


def _classifier(model: Any, features: Any, labels: Any, label_list: Any) -> _Classifier:
    import numpy as np

    columns = list(features.columns) if hasattr(features, "columns") else None
    try:
        raw = model.get_raw_model()
    except (AttributeError, NotImplementedError):
        raw = None
    if raw is not None and hasattr(raw, "predict_proba") and hasattr(raw, "classes_"):
        return _Classifier(raw.predict_proba, columns, np.asarray(raw.classes_))
    if label_list is not None:
        classes = np.unique(np.asarray(label_list))
    else:
        clean = _labels_out(model.predict(features))
        seen = [np.asarray(labels)] + ([clean] if clean.ndim == 1 else [])
        classes = np.unique(np.concatenate(seen))
    return _Classifier(model.predict, columns, classes)


class MlsentryEvaluator(ModelEvaluator):
    """Adds robustness metrics to ``mlflow.models.evaluate`` for classifiers.

    The model is attacked through ``predict_proba`` of the underlying model when MLflow
    exposes one (scikit-learn and similar flavours), else through the pyfunc ``predict``
    (labels, or scores when it returns a matrix). The metrics, JSON and HTML report are
    logged to the evaluation's run as :func:`mlsentry.mlflow.log_report` logs them
    (``mlsentry.robustness.robust_accuracy.eps_0.1``, ...); the result's artifacts include
    ``mlsentry_robustness_report``.
    """

    name = "mlsentry"

    @classmethod
    def can_evaluate(cls, *, model_type: Any, evaluator_config: Any, **kwargs: Any) -> bool:
        return bool(model_type == "classifier")

    def evaluate(
        self,
        *,
        model_type: Any,
        dataset: Any,
        run_id: str,
        evaluator_config: Any,
        model: Any = None,
        extra_metrics: Any = None,
        custom_artifacts: Any = None,
        predictions: Any = None,
        **kwargs: Any,
    ) -> EvaluationResult:
        import mlflow
        import numpy as np
        from mlflow.models.evaluation.artifacts import JsonEvaluationArtifact

        from ..robustness import evaluate

        if model is None:
            raise InvalidInputError(
                "the mlsentry evaluator attacks the model: give mlflow.models.evaluate a "
                "model, not only a column of predictions"
            )
        config = dict(evaluator_config or {})
        labels = dataset.labels_data
        if labels is None:
            raise InvalidInputError("the mlsentry evaluator needs targets (targets=...)")
        features = dataset.features_data
        X = _numeric(features)
        y = np.asarray(labels)
        max_samples = check_int(config.get("max_samples", DEFAULT_MAX_SAMPLES), "max_samples", 1)
        seed = check_int(config.get("seed", 0), "seed", 0)
        config["seed"] = seed
        if X.shape[0] > max_samples:
            rows = np.sort(np.random.default_rng(seed).choice(X.shape[0], max_samples, False))
            X, y = X[rows], y[rows]
            features = features.iloc[rows] if hasattr(features, "iloc") else features[rows]
        clf = _classifier(model, features, y, config.get("label_list"))
        options = {k: config[k] for k in _PASSED_ON if k in config}
        report = evaluate(clf, X, y, **options)
        report.config["max_samples"] = max_samples
        report.config["rows_in_dataset"] = int(dataset.features_data.shape[0])
        metrics = log_report(report, run_id=run_id)
        root = mlflow.MlflowClient().get_run(run_id).info.artifact_uri
        artifact = JsonEvaluationArtifact(
            uri=f"{root}/mlsentry/robustness-report.json", content=report.to_dict()
        )
        return EvaluationResult(
            metrics=metrics, artifacts={"mlsentry_robustness_report": artifact}, run_id=run_id
        )
