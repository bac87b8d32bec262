"""Monitor: the online detector's mean run length under no drift is within 10 % of ``ert``
over 200 alarms (ert 200, window 40); it finds a change; its state survives save/load
exactly; the report round-trips; Prometheus metrics are scraped over loopback."""

from __future__ import annotations

import socket
import urllib.request

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.errors import InvalidInputError

Monitor = ms.monitor.Monitor


@pytest.fixture(scope="module")
def reference():
    return np.random.default_rng(0).normal(size=(6000, 2))


@pytest.fixture(scope="module")
def mon_null(reference):
    return Monitor(reference, ert=200, window=40, ood=None, feature_window=10_000, seed=0)


def test_mean_run_length_matches_ert(mon_null):
    """The detector restarts after each alarm, so the gaps between alarms on one long
    no-drift stream are independent run lengths (the first counted from row 0)."""
    rng = np.random.default_rng(1)
    alerts = [a for a in mon_null.update(rng.normal(size=(60_000, 2))) if a.kind == "drift"]
    assert len(alerts) >= 200
    idx = np.array([a.index for a in alerts[:200]])
    runs = np.diff(np.concatenate([[0], idx]))
    assert runs.min() >= 40  # no alarm before a window is full
    assert abs(runs.mean() - 200) <= 20, runs.mean()


def test_drift_half_way_raises_an_alert(reference):
    rng = np.random.default_rng(2)
    mon = Monitor(reference, ert=2000, window=40, seed=1)
    stream = np.vstack([rng.normal(size=(500, 2)), rng.normal(1.0, 1.0, size=(500, 2))])
    alerts = mon.update(stream)
    drift = [a for a in alerts if a.kind == "drift"]
    assert drift and 500 < drift[0].index <= 560, drift
    assert {"feature_drift", "ood"} & {a.kind for a in alerts}
    assert mon.rows_seen == 1000


@pytest.mark.parametrize("change", ["variance", "correlation"])
def test_online_detector_sees_a_variance_and_a_correlation_change(reference, change):
    """Power beside the mean shift above (ert 500, window 40): one feature's deviation
    x1.8, or a correlation 0 -> 0.9 with unchanged standard normal marginals, raises a
    drift alert within 200 rows (measured: 40-91 rows over 10 streams of each)."""
    rng = np.random.default_rng(7)
    if change == "variance":
        stream = rng.normal(size=(300, 2)) * np.array([1.8, 1.0])
    else:
        u, v = rng.normal(size=300), rng.normal(size=300)
        stream = np.column_stack([u, 0.9 * u + np.sqrt(1 - 0.9**2) * v])
    mon = Monitor(reference, ert=500, window=40, ood=None, feature_window=10_000, seed=0)
    drift = [a.index for a in mon.update(stream) if a.kind == "drift"]
    assert drift and drift[0] <= 200, drift


def test_drift_alerts_state_the_threshold_they_crossed(reference):
    """Each drift alert names its statistic and the threshold of its row (rows since the
    last restart), the same whether the stream comes in one batch or in pieces that split
    the windows."""
    import re

    rng = np.random.default_rng(5)
    stream = np.vstack([rng.normal(size=(300, 2)), rng.normal(1.0, 1.0, size=(400, 2))])
    whole = Monitor(reference, ert=300, window=20, ood=None, seed=2)
    one = [a for a in whole.update(stream) if a.kind == "drift"]
    assert len(one) >= 3
    pieces = Monitor(reference, ert=300, window=20, ood=None, seed=2)
    split = []
    for part in np.array_split(stream, [7, 150, 333, 334, 500]):
        split += [a for a in pieces.update(part) if a.kind == "drift"]
    assert [(a.index, a.reason) for a in split] == [(a.index, a.reason) for a in one]
    thresholds = whole.thresholds
    for prev, a in zip([0] + [b.index for b in one], one):
        found = re.search(r"statistic (\S+) above its threshold (\S+) ", a.reason)
        assert found, a.reason
        stat, bar = float(found.group(1)), float(found.group(2))
        assert stat > bar
        # The threshold of the row's place after the restart (the last one once settled).
        want = thresholds[min(a.index - prev - whole.window, len(thresholds) - 1)]
        assert found.group(2) == f"{want:.4g}"


def test_save_load_continues_exactly(reference, tmp_path):
    rng = np.random.default_rng(3)
    stream = np.vstack([rng.normal(size=(333, 2)), rng.normal(0.8, 1.0, size=(400, 2))])
    preds_ref = rng.uniform(size=2000)
    preds = np.concatenate([rng.uniform(size=333), rng.uniform(size=400) ** 3])

    def fresh():
        return Monitor(
            reference, ert=500, window=30, reference_predictions=preds_ref, streams=2000, seed=4
        )

    whole = fresh()
    whole.update(stream, predictions=preds)
    part = fresh()
    part.update(stream[:333], predictions=preds[:333])
    part.save(tmp_path / "mon.npz")
    back = Monitor.load(tmp_path / "mon.npz")
    np.testing.assert_array_equal(back.thresholds, part.thresholds)
    back.update(stream[333:], predictions=preds[333:])
    assert back.alerts == whole.alerts
    assert back.rows_seen == whole.rows_seen == 733
    np.testing.assert_array_equal(back.timeline, whole.timeline)
    assert "prediction_drift" in {a.kind for a in whole.alerts}


def test_single_rows_and_report(reference):
    rng = np.random.default_rng(5)
    mon = Monitor(reference, ert=300, window=20, ood="mahalanobis", streams=1000, seed=2)
    for row in rng.normal(size=(25, 2)):
        mon.update(row)
    assert mon.rows_seen == 25 and len(mon.timeline) >= 1
    mon.update(rng.normal(3.0, 1.0, size=(60, 2)))
    rep = mon.report()
    assert isinstance(rep, ms.monitor.MonitorReport) and rep.passed is False
    assert rep.to_dict()["schema"] == "mlsentry/monitor/v1"
    back = ms.report.Report.from_dict(rep.to_dict())
    assert back.to_dict() == rep.to_dict()
    page = rep.to_html()
    assert "<svg" in page and "<script" not in page
    assert "drift" in rep.summary()
    assert rep.metrics()["mlsentry.monitor.alerts.drift"] >= 1


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prometheus_scrape_over_loopback(reference):
    prom = pytest.importorskip("prometheus_client")
    rng = np.random.default_rng(6)
    mon = Monitor(reference, ert=300, window=20, ood=None, streams=1000, seed=3)
    mon.update(rng.normal(size=(50, 2)))
    registry = prom.CollectorRegistry()
    mon.register_metrics(registry)
    assert registry.get_sample_value("mlsentry_monitor_rows_total") == 50
    port = _free_port()
    server, thread = ms.monitor.serve(mon, port)
    try:
        mon.update(rng.normal(3.0, 1.0, size=(50, 2)))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        assert "mlsentry_monitor_rows_total 100.0" in text
        assert 'mlsentry_monitor_alerts_total{kind="drift"}' in text
        assert "mlsentry_monitor_drift_threshold" in text
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda r: Monitor(r, ert=30, window=40), "ert"),
        (lambda r: Monitor(r, window=1), "window"),
        (lambda r: Monitor(r[:50], window=40), "too few"),
        (lambda r: Monitor(r, ood="lof", streams=500), "method"),
        (lambda r: Monitor(r, bandwidth="mean"), "bandwidth"),
        (lambda r: Monitor(np.where(r > 2, np.nan, r)), "reference"),
    ],
)
def test_bad_arguments(reference, call, match):
    with pytest.raises(InvalidInputError, match=match):
        call(reference[:1000])


def test_bad_batches(mon_null):
    with pytest.raises(InvalidInputError, match="features"):
        mon_null.update(np.zeros((3, 5)))
    with pytest.raises(InvalidInputError, match="reference_predictions"):
        mon_null.update(np.zeros((3, 2)), predictions=np.zeros(3))
    with pytest.raises(InvalidInputError, match="batch"):
        mon_null.update(np.full((3, 2), np.nan))


def test_load_refuses_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", meta=np.array('{"format": "other"}'))
    with pytest.raises(InvalidInputError, match="not a saved monitor"):
        Monitor.load(tmp_path / "x.npz")
