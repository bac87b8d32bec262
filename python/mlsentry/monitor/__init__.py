"""Monitoring in production: is the traffic still what the model was built for?

Out-of-distribution scores with conformal p-values (:class:`OODDetector`), an online drift
detector calibrated for a chosen expected run time with per-feature, OOD and prediction
checks (:class:`Monitor`), alerts, and Prometheus metrics for serving (:func:`serve`).
"""

from .metrics import serve
from .monitor import ALERT_KINDS, Alert, Monitor, MonitorReport
from .ood import METHODS, OODDetector

__all__ = ["ALERT_KINDS", "METHODS", "Alert", "Monitor", "MonitorReport", "OODDetector", "serve"]


def __dir__() -> list[str]:
    return sorted(__all__)
