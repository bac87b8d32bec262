"""Monitor built from a Profile: per-feature online detectors whose mean run length under
no drift is within 10 % of ``ert`` for independent features (400 alarms, ert 200, window
40) and at least ``ert`` for correlated ones; a mean shift is found in the right feature;
feature and prediction drift against the profile; save/load continues exactly; the CLI
takes a profile file; bad arguments raise."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.cli import main
from mlsentry.errors import InvalidInputError

Monitor = ms.monitor.Monitor
Profile = ms.drift.Profile


def independent(rng, n):
    """Three independent features of different shapes."""
    return {
        "a": rng.normal(size=n),
        "b": rng.exponential(2.0, size=n),
        "c": rng.uniform(-1, 3, size=n),
    }


def rows(table):
    return np.column_stack([table[k] for k in ("a", "b", "c")])


@pytest.fixture(scope="module")
def profile():
    return Profile.fit(independent(np.random.default_rng(0), 20_000))


@pytest.fixture(scope="module")
def mon_null(profile):
    return Monitor(profile, ert=200, window=40, feature_window=200_000, seed=0)


def runs_of(alerts):
    idx = np.array([a.index for a in alerts if a.kind == "drift"])
    return np.diff(np.concatenate([[0], idx]))


def test_mean_run_length_matches_ert_for_independent_features(mon_null):
    """The stream is drawn from the true distributions (not from the profile); all
    features restart after an alarm, so the gaps between alarms are independent run
    lengths. Mean W - 1 + 1/(1 - (1 - H/3)^3) = 200.4 with H = 1/161."""
    stream = rows(independent(np.random.default_rng(1), 110_000))
    runs = runs_of(mon_null.update(stream))
    assert len(runs) >= 400
    runs = runs[:400]
    assert runs.min() >= 40  # no alarm before a window is full
    assert abs(runs.mean() - 200) <= 20, runs.mean()


def test_mean_run_length_is_at_least_ert_for_correlated_features():
    rng = np.random.default_rng(2)
    cov = np.full((3, 3), 0.8) + 0.2 * np.eye(3)
    ref = rng.multivariate_normal(np.zeros(3), cov, size=20_000)
    prof = Profile.fit({"x": ref[:, 0], "y": ref[:, 1], "z": ref[:, 2]})
    mon = Monitor(prof, ert=200, window=40, feature_window=200_000, seed=1)
    runs = runs_of(mon.update(rng.multivariate_normal(np.zeros(3), cov, size=60_000)))
    assert len(runs) >= 100
    assert runs.mean() >= 200, runs.mean()


def test_mean_shift_is_found_in_its_feature(profile):
    rng = np.random.default_rng(3)
    mon = Monitor(profile, ert=2000, window=40, streams=2000, seed=2)
    stream = rows(independent(rng, 1000))
    stream[500:, 2] += 1.0  # c moves by about 0.9 of its deviation
    alerts = mon.update(stream)
    drift = [a for a in alerts if a.kind == "drift"]
    assert drift and 500 < drift[0].index <= 580, drift
    assert "'c'" in drift[0].reason and "'a'" not in drift[0].reason
    feature = [a for a in alerts if a.kind == "feature_drift"]
    assert feature and all(a.index > 500 for a in feature)
    assert all("c (p=" in a.reason and "a (p=" not in a.reason for a in feature)
    assert mon.ood is None and mon.ood_share is None


def test_tables_by_name_and_prediction_column(tmp_path):
    rng = np.random.default_rng(4)
    ref = independent(rng, 5000)
    ref["pred"] = rng.uniform(size=5000)
    ref["plan"] = rng.choice(["x", "y"], size=5000)  # categorical: not watched
    path = tmp_path / "ref.profile"
    Profile.fit(ref).save(path)
    mon = Monitor(path, ert=1000, window=30, streams=1000, prediction_column="pred", seed=3)
    assert mon.features == ["a", "b", "c"]
    quiet = independent(rng, 300)
    # Columns in another order, an extra column, predictions read from the table.
    batch = {"c": quiet["c"], "zz": np.zeros(300), "a": quiet["a"], "b": quiet["b"]}
    batch["pred"] = rng.uniform(size=300)
    assert [a for a in mon.update(batch) if a.kind != "drift"] == []
    moved = independent(rng, 300)
    mon.update(rows(moved), predictions=rng.uniform(size=300) ** 3)
    kinds = [a.kind for a in mon.alerts]
    assert "prediction_drift" in kinds and "feature_drift" not in kinds
    rep = mon.report()
    assert rep.config["source"] == "profile" and rep.config["prediction_column"] == "pred"
    assert "built from a profile" in rep.summary()
    assert rep.inputs["reference"] == Profile.load(path).fingerprint
    back = ms.report.Report.from_dict(rep.to_dict())
    assert back.to_dict() == rep.to_dict()
    page = rep.to_html()
    assert "<svg" in page and "<script" not in page and "excess" in page


def test_profile_object_and_file_agree(profile, tmp_path):
    profile.save(tmp_path / "p.profile")
    a = Monitor(profile, ert=500, window=20, streams=500, seed=5)
    b = Monitor(str(tmp_path / "p.profile"), ert=500, window=20, streams=500, seed=5)
    np.testing.assert_array_equal(a.thresholds, b.thresholds)
    assert a.thresholds.shape == (40, 3) and a.bandwidth == b.bandwidth


def test_save_load_continues_exactly(tmp_path):
    rng = np.random.default_rng(6)
    ref = independent(rng, 5000)
    ref["pred"] = rng.uniform(size=5000)
    prof = Profile.fit(ref)
    stream = rows(independent(rng, 733))
    stream[333:, 0] += 0.8
    preds = np.concatenate([rng.uniform(size=333), rng.uniform(size=400) ** 3])

    def fresh():
        return Monitor(prof, ert=500, window=30, streams=1000, prediction_column="pred", seed=4)

    whole = fresh()
    whole.update(stream, predictions=preds)
    part = fresh()
    part.update(stream[:333], predictions=preds[:333])
    part.save(tmp_path / "mon.npz")
    back = Monitor.load(tmp_path / "mon.npz")
    assert back.profile == prof and back.features == ["a", "b", "c"]
    np.testing.assert_array_equal(back.thresholds, part.thresholds)
    assert back.bandwidth == part.bandwidth
    back.update(stream[333:], predictions=preds[333:])
    assert back.alerts == whole.alerts
    assert back.rows_seen == whole.rows_seen == 733
    np.testing.assert_allclose(back.timeline, whole.timeline, rtol=0, atol=1e-9)
    assert {"drift", "prediction_drift"} <= {a.kind for a in whole.alerts}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ood": "knn"}, "ood: 'knn' needs reference rows"),
        ({"columns": ["a", "plan"]}, "categorical"),
        ({"columns": ["a", "nope"]}, "no column 'nope'"),
        ({"columns": []}, "at least one"),
        ({"prediction_column": "nope"}, "prediction_column"),
        ({"prediction_column": "a", "reference_predictions": [0.1, 0.2]}, "either"),
        ({"columns": ["k"]}, "column 'k' holds mostly one value"),
        ({"columns": ["a"], "bandwidth": [1.0, 2.0]}, "one per feature"),
        ({"columns": ["inf"]}, "infinite"),
    ],
)
def test_bad_arguments(kwargs, match):
    rng = np.random.default_rng(7)
    inf = rng.normal(size=500)
    inf[0] = np.inf
    prof = Profile.fit(
        {
            "a": rng.normal(size=500),
            "k": np.r_[np.zeros(490), rng.normal(size=10)],
            "inf": inf,
            "plan": rng.choice(["x", "y"], size=500),
        }
    )
    with pytest.raises(InvalidInputError, match=match):
        Monitor(prof, window=20, streams=500, **kwargs)


def test_bad_batches_and_row_only_arguments(profile):
    mon = Monitor(profile, ert=500, window=20, streams=500, seed=8)
    with pytest.raises(InvalidInputError, match="batch: no column 'b'"):
        mon.update({"a": np.zeros(3), "c": np.zeros(3)})
    with pytest.raises(InvalidInputError, match="features"):
        mon.update(np.zeros((3, 2)))
    with pytest.raises(InvalidInputError, match="reference_predictions"):
        mon.update(np.zeros((3, 3)), predictions=np.zeros(3))
    with pytest.raises(InvalidInputError, match="only for a monitor built from a Profile"):
        Monitor(np.zeros((500, 2)), columns=["a"])


@pytest.fixture
def files(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(9)

    def table(shift, n):
        x = rng.normal(size=(n, 2)) + shift
        return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "name": ["r"] * n})

    Profile.fit(table(0.0, 5000)).save(tmp_path / "ref.profile")
    paths = {"ref": tmp_path / "ref.profile"}
    for name, shift in (("s1", 0.0), ("s2", 1.5)):
        paths[name] = tmp_path / f"{name}.csv"
        table(shift, 200).to_csv(paths[name], index=False)
    return paths


def test_cli_monitor_from_a_profile_file(files, capsys):
    args = ["--window", "20"]
    code = main(["monitor", str(files["ref"]), str(files["s1"]), str(files["s2"]), "--json", *args])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["config"]["source"] == "profile" and out["config"]["columns"] == ["a", "b"]
    first = next(a for a in out["alerts"] if a["kind"] == "drift")
    assert first["index"] > 200
    code = main(["monitor", str(files["ref"]), str(files["s1"]), "--ert", "5000", *args])
    assert code == 0 and "built from a profile" in capsys.readouterr().out
    assert main(["monitor", str(files["ref"]), str(files["s1"]), "--ood", "knn"]) == 2
