"""Explanations: why does the model decide what it decides?

Permutation importance, Kernel SHAP and exact Tree SHAP, computed in Rust with batched
model calls.
"""

from .importance import ImportanceReport, permutation_importance
from .kernel import kernel_shap
from .report import Explanation
from .trees import tree_shap

__all__: list[str] = [
    "Explanation",
    "ImportanceReport",
    "kernel_shap",
    "permutation_importance",
    "tree_shap",
]
