"""Data checks before training: is the training data valid, correctly labelled, unpoisoned,
and separate from the test data?

- :class:`Schema` and :func:`validate`: a schema inferred from reference data (types,
  missing-rate bounds, ranges, category domains, unique keys), saved as JSON or TOML, and
  the anomalies of a new batch against it.
- :func:`label_issues`: rows whose given label is probably wrong, by confident learning on
  out-of-sample predicted probabilities (:func:`cross_val_pred_probs` computes them).
- :func:`poisoning`: rows of each class that look planted (spectral signatures, activation
  clustering, label disagreement with the nearest neighbours), on features or activations.
- :func:`leakage`: test rows that are also in the training data, exactly or nearly.

The heavy work runs in Rust without the GIL.
"""

from .labels import (
    LABEL_FILTERS,
    LABEL_RANKINGS,
    ClassCounts,
    LabelIssuesReport,
    cross_val_pred_probs,
    label_issues,
)

__all__: list[str] = [
    "LABEL_FILTERS",
    "LABEL_RANKINGS",
    "ClassCounts",
    "LabelIssuesReport",
    "cross_val_pred_probs",
    "label_issues",
]


def __dir__() -> list[str]:
    return sorted(__all__)
