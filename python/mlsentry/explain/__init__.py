"""Explanations: why does the model decide what it decides?

Permutation importance, Kernel SHAP and exact Tree SHAP, computed in Rust with batched
model calls.
"""

from .kernel import kernel_shap
from .report import Explanation
from .trees import tree_shap

__all__: list[str] = ["Explanation", "kernel_shap", "tree_shap"]
