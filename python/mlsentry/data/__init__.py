"""Data checks before training: is the training data valid, correctly labelled, unpoisoned,
and separate from the test data?

- :class:`Schema` and :func:`validate`: a schema inferred from reference data (types,
  missing-rate bounds, ranges, category domains, unique keys), saved as JSON or TOML, and
  the anomalies of a new batch against it.
- :func:`label_issues`: rows whose given label is probably wrong, by confident learning on
  out-of-sample predicted probabilities (:func:`cross_val_pred_probs` computes them).
- :func:`poisoning`: rows of each class that look planted (spectral signatures, activation
  clustering, label disagreement with the nearest neighbours), on features or activations.
- :func:`leakage`: test rows that are also in the training data, exactly or nearly
  (numeric columns within ``near_threshold`` train standard deviations, the others
  equal); with one table, the rows that repeat an earlier one. A
  :class:`LeakageReport` with one :class:`LeakagePair` per affected test row.

The heavy work runs in Rust without the GIL.
"""

from .backdoors import PoisoningReport, poisoning
from .duplicates import LeakagePair, LeakagePairs, LeakageReport, leakage
from .labels import (
    LABEL_FILTERS,
    LABEL_RANKINGS,
    ClassCounts,
    LabelIssuesReport,
    cross_val_pred_probs,
    label_issues,
)
from .schema import ColumnSchema, Schema, SchemaError
from .validation import Anomaly, ValidationReport, validate

__all__ = [
    "LABEL_FILTERS",
    "LABEL_RANKINGS",
    "Anomaly",
    "ClassCounts",
    "ColumnSchema",
    "LabelIssuesReport",
    "LeakagePair",
    "LeakagePairs",
    "LeakageReport",
    "PoisoningReport",
    "Schema",
    "SchemaError",
    "ValidationReport",
    "cross_val_pred_probs",
    "label_issues",
    "leakage",
    "poisoning",
    "validate",
]


def __dir__() -> list[str]:
    return sorted(__all__)
