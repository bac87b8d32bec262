"""A model behind a small HTTP server (standard library only) with a Monitor in the
request path and Prometheus metrics on ``/metrics``.

Run it, then::

    curl -s localhost:8000/predict -d '{"rows": [[0.1, -0.3, 0.5]]}'
    curl -s localhost:8000/metrics | grep mlsentry_

``POST /predict`` takes ``{"rows": [[...], ...]}`` and answers ``{"predictions": [...],
"alerts": [...]}``: the alerts the batch raised (drift, feature drift, OOD share,
prediction drift). Needs ``pip install 'mlsentry[monitor]'``.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

import mlsentry as ms


def make_model(rng: np.random.Generator) -> Any:
    """The model being served: a fixed logistic score (stands in for any predictor)."""
    weights = rng.normal(size=3)

    def predict(x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-x @ weights))

    return predict


def make_app(seed: int = 0) -> tuple[type[BaseHTTPRequestHandler], ms.monitor.Monitor]:
    rng = np.random.default_rng(seed)
    model = make_model(rng)
    train = rng.normal(size=(5000, 3))
    monitor = ms.monitor.Monitor(
        train, ert=5000, window=50, reference_predictions=model(train), seed=seed
    )
    registry = CollectorRegistry()
    monitor.register_metrics(registry)
    lock = threading.Lock()  # one update at a time: the monitor's state is a sequence

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/predict":
                self.send_error(404)
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                rows = np.asarray(body["rows"], dtype=np.float64)
                preds = model(rows)
                with lock:
                    alerts = monitor.update(rows, predictions=preds)
            except (KeyError, ValueError, TypeError) as e:
                self.send_error(400, str(e))
                return
            self._send(
                200,
                "application/json",
                json.dumps(
                    {"predictions": preds.tolist(), "alerts": [a.to_dict() for a in alerts]}
                ).encode(),
            )

        def do_GET(self) -> None:
            if self.path != "/metrics":
                self.send_error(404)
                return
            with lock:
                payload = generate_latest(registry)
            self._send(200, CONTENT_TYPE_LATEST, payload)

        def _send(self, code: int, kind: str, payload: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    return Handler, monitor


def main(port: int = 8000) -> None:
    handler, _ = make_app()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    print(f"serving on http://127.0.0.1:{port} (POST /predict, GET /metrics)")
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
