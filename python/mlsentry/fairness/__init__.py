"""Fairness: does the model treat groups alike?

Group metrics with bootstrap intervals and the disparities fairlearn defines, with a
verdict against chosen bars (the four-fifths rule by default).
"""

from .evaluation import DEFAULT_THRESHOLDS, evaluate
from .report import DISPARITIES, GROUP_METRICS, Disparity, FairnessReport, Grouping, GroupRow

__all__: list[str] = [
    "DEFAULT_THRESHOLDS",
    "DISPARITIES",
    "GROUP_METRICS",
    "Disparity",
    "FairnessReport",
    "GroupRow",
    "Grouping",
    "evaluate",
]
