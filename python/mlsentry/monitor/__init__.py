"""Monitoring in production: is the traffic still what the model was built for?

Out-of-distribution scores with conformal p-values, online drift detectors calibrated for a
chosen expected run time, alerts, and Prometheus metrics for serving.
"""

__all__: list[str] = []
