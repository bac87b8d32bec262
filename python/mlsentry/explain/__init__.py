"""Explanations: why does the model decide what it decides?

Permutation importance, Kernel SHAP and exact Tree SHAP, computed in Rust with batched
model calls.
"""

from .importance import ImportanceReport, permutation_importance

__all__: list[str] = ["ImportanceReport", "permutation_importance"]
