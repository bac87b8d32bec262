"""Prometheus metrics of a :class:`~mlsentry.monitor.Monitor` (extra ``monitor``)."""

from __future__ import annotations

import math
from typing import Any

from ..errors import require

__all__ = ["register", "serve"]


def register(mon: Any, registry: Any = None) -> Any:
    """Registers a collector reading ``mon`` at each scrape; returns the registry."""
    prom = require("prometheus_client", "monitor", "Monitor.register_metrics")
    core = require("prometheus_client.core", "monitor", "Monitor.register_metrics")
    registry = prom.REGISTRY if registry is None else registry

    class _Collector:
        def collect(self) -> Any:
            rows = core.CounterMetricFamily("mlsentry_monitor_rows", "Rows the monitor has seen.")
            rows.add_metric([], float(mon.rows_seen))
            yield rows
            alerts = core.CounterMetricFamily(
                "mlsentry_monitor_alerts", "Alerts raised, by kind.", labels=["kind"]
            )
            for kind in ("drift", "feature_drift", "ood", "prediction_drift"):
                alerts.add_metric([kind], float(sum(a.kind == kind for a in mon.alerts)))
            yield alerts
            stat = mon.statistic
            for name, doc, value in (
                (
                    "drift_statistic",
                    "The online MMD detector's last statistic.",
                    math.nan if stat is None else stat,
                ),
                ("drift_threshold", "The threshold the detector is held to.", mon.threshold),
                (
                    "ood_share",
                    "Share of rows out of distribution.",
                    math.nan if mon.ood_share is None else mon.ood_share,
                ),
            ):
                g = core.GaugeMetricFamily(f"mlsentry_monitor_{name}", doc)
                g.add_metric([], float(value))
                yield g

        def describe(self) -> list[Any]:
            return []

    registry.register(_Collector())
    return registry


def serve(mon: Any, port: int, addr: str = "127.0.0.1", registry: Any = None) -> Any:
    """Starts the Prometheus HTTP endpoint for ``mon`` on ``addr:port`` in a background
    thread (its own registry unless one is given); returns ``(server, thread)`` as
    ``prometheus_client.start_http_server`` does (call ``server.shutdown()`` to stop)."""
    prom = require("prometheus_client", "monitor", "mlsentry.monitor.serve")
    if registry is None:
        registry = prom.CollectorRegistry()
    register(mon, registry)
    return prom.start_http_server(port, addr=addr, registry=registry)
