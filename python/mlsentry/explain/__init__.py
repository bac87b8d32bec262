"""Explanations: why does the model decide what it decides?

Permutation importance, Kernel SHAP and exact Tree SHAP, computed in Rust with batched
model calls.
"""

__all__: list[str] = []
