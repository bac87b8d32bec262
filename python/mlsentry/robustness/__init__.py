"""Robustness: how easily is this model fooled?

Black-box adversarial attacks on any model, run in Rust for all samples at once: every
round of an attack sends one batch with the rows all still-active samples need, so the
model is called a few hundred times where per-sample tools call it tens of thousands of
times. The GIL is held only while the model runs. Every attack is seeded and bounded by
``max_queries`` rows per sample, counts every row it sends, projects each candidate onto
the :class:`Constraints`, and counts an adversarial example only after a fresh model call
confirms it.

The model
---------
Any of: a callable ``X -> scores`` of shape ``(n, k)`` (probabilities or logits); an
object with ``predict_proba`` (scikit-learn); an object with ``predict`` returning labels
(then only the decision-based attacks apply: :func:`hop_skip_jump` and :func:`noise`).
It receives rows shaped and typed like ``X`` (``float32`` stays ``float32``). Labels
``y`` are class indices ``0..k-1``, or the model's own labels when it has ``classes_``.

Budgets
-------
``eps`` bounds ``||(x_adv - x) / scale||`` in the ``norm`` (``"linf"`` or ``"l2"``), with
``scale`` from the constraints (1 by default; ``scale="std"``: each feature's standard
deviation, so ``eps`` counts standard deviations).

>>> import numpy as np, mlsentry as ms
>>> w = np.array([1.0, -2.0])
>>> def model(x):  # a linear classifier: class 1 when w.x > 0
...     s = x @ w
...     return np.stack([-s, s], axis=1)
>>> X = np.array([[1.0, 0.0], [0.0, -1.0]]); y = np.array([1, 1])
>>> res = ms.robustness.square(model, X, y, eps=0.5, max_queries=200)
>>> res.success.tolist()   # w.x = 1 and 2; the exact L-inf distances are 1/3 and 2/3
[True, False]
"""

from .attacks import ATTACKS, AttackResult, hop_skip_jump, noise, pgd, square
from .constraints import Constraints
from .evaluation import evaluate
from .report import AttackSummary, RobustnessReport, wilson_interval

__all__ = [
    "ATTACKS",
    "AttackResult",
    "AttackSummary",
    "Constraints",
    "RobustnessReport",
    "evaluate",
    "hop_skip_jump",
    "noise",
    "pgd",
    "square",
    "wilson_interval",
]


def __dir__() -> list[str]:
    return sorted(__all__)
