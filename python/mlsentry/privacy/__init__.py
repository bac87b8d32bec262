"""Privacy: does the model leak its training set, or can it be copied?

Membership-inference attacks reported as the true-positive rate at a low false-positive
rate with exact intervals, reference-model attacks (LiRA, RMIA) from signals, extraction
risk and the empirical differential-privacy bound a measured attack proves.

- :func:`membership_inference`: attacks on a model (``loss``, ``confidence``,
  ``entropy``, ``modified_entropy``, ``label_only``; with ``train_fn``: ``lira``,
  ``lira_offline``, ``rmia``) in a :class:`PrivacyReport`.
- :func:`lira_scores`, :func:`rmia_scores`: the reference-model scores from signals a
  user computed elsewhere (a GPU training loop); :func:`membership_report`: the report of
  any scores.
- :func:`roc`: a :class:`MembershipROC` of any scores: ``.auc``, ``.tpr_at(fpr)``,
  ``.tpr_interval(fpr)``.
- :func:`epsilon_lower_bound`: the epsilon an attack proves, to check a DP claim.
- :func:`extraction`: how well a surrogate trained on N of the model's answers agrees with
  it, per budget, in an :class:`ExtractionReport`.

The signals, scores and curves are computed in Rust without the GIL.
"""

from .extraction import SURROGATES, ExtractionReport, extraction
from .membership import ATTACKS, REFERENCE_ATTACKS, membership_inference, membership_report
from .report import MembershipAttack, PrivacyReport
from .roc import MembershipROC, clopper_pearson, epsilon_lower_bound, roc
from .scores import FIXED_VARIANCE_BELOW, lira_scores, rmia_scores

__all__ = [
    "ATTACKS",
    "SURROGATES",
    "ExtractionReport",
    "FIXED_VARIANCE_BELOW",
    "REFERENCE_ATTACKS",
    "MembershipAttack",
    "MembershipROC",
    "PrivacyReport",
    "clopper_pearson",
    "epsilon_lower_bound",
    "extraction",
    "lira_scores",
    "membership_inference",
    "membership_report",
    "rmia_scores",
    "roc",
]


def __dir__() -> list[str]:
    return sorted(__all__)
