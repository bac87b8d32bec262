"""The Prometheus model-server example in ``examples/``: requests pass through the
monitor, a drifted batch raises alerts, ``/metrics`` shows them."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import threading
import urllib.request
from http.server import ThreadingHTTPServer

import numpy as np
import pytest

pytest.importorskip("prometheus_client")
EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "monitor_server.py"


def test_example_server_monitors_requests():
    spec = importlib.util.spec_from_file_location("monitor_server", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler, monitor = module.make_app(seed=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    rng = np.random.default_rng(1)

    def post(rows):
        req = urllib.request.Request(
            f"{base}/predict", data=json.dumps({"rows": rows.tolist()}).encode()
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    try:
        quiet = post(rng.normal(size=(30, 3)))
        assert len(quiet["predictions"]) == 30
        moved = post(rng.normal(2.5, 1.0, size=(200, 3)))
        assert "drift" in {a["kind"] for a in moved["alerts"]}
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        assert "mlsentry_monitor_rows_total 230.0" in text
        assert monitor.rows_seen == 230
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
