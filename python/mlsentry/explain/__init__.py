"""Explanations: why does the model decide what it decides?

Permutation importance, Kernel SHAP and exact Tree SHAP, computed in Rust with batched
model calls, and the shift of the mean prediction between two data sets split over the
features.
"""

from .importance import ImportanceReport, permutation_importance
from .kernel import kernel_shap
from .report import Explanation
from .shift import ShiftExplanation, prediction_shift
from .trees import tree_shap

__all__: list[str] = [
    "Explanation",
    "ImportanceReport",
    "ShiftExplanation",
    "kernel_shap",
    "permutation_importance",
    "prediction_shift",
    "tree_shap",
]
