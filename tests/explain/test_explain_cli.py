"""``mlsentry explain``: a scanned model file and a data file in, an explanation out."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from mlsentry.cli import main

pd = pytest.importorskip("pandas")
ensemble = pytest.importorskip("sklearn.ensemble")
linear = pytest.importorskip("sklearn.linear_model")


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    df["y"] = df["a"] - 2 * df["b"] + 0.1 * rng.normal(size=120)
    path = tmp_path / "rows.csv"
    df.to_csv(path, index=False)
    return df, path


def test_tree_model_explained(tmp_path, data, capsys):
    df, path = data
    model = ensemble.RandomForestRegressor(n_estimators=5, random_state=0)
    model.fit(df[["a", "b", "c"]], df["y"])
    mpath = tmp_path / "model.pkl"
    mpath.write_bytes(pickle.dumps(model))
    html = tmp_path / "ex.html"
    code = main(
        [
            "explain",
            str(mpath),
            str(path),
            "--drop",
            "y",
            "--rows",
            "10",
            "--json",
            "--html",
            str(html),
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["schema"] == "mlsentry/explanation/v1" and out["passed"] is None
    assert out["method"] == "tree_path_dependent"
    assert np.asarray(out["values"]).shape == (10, 3)
    assert "<svg" in html.read_text()


def test_other_model_uses_kernel_shap(tmp_path, data, capsys):
    df, path = data
    model = linear.LinearRegression().fit(df[["a", "b", "c"]], df["y"])
    mpath = tmp_path / "model.pkl"
    mpath.write_bytes(pickle.dumps(model))
    code = main(
        [
            "explain",
            str(mpath),
            str(path),
            "--drop",
            "y",
            "--rows",
            "5",
            "--json",
            "--background-rows",
            "50",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "kernel_exact"
    X = df[["a", "b", "c"]].to_numpy()
    want = model.coef_ * (X[:5] - X[:50].mean(axis=0))
    np.testing.assert_allclose(np.asarray(out["values"]), want, atol=1e-10)


def test_unsafe_file_refused(tmp_path, data, capsys):
    _, path = data

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    mpath = tmp_path / "model.pkl"
    mpath.write_bytes(pickle.dumps(Evil()))
    assert main(["explain", str(mpath), str(path)]) == 2
    err = capsys.readouterr()
    assert "refusing to load" in err.err and "owned" not in err.out


def test_unknown_classes_need_a_policy(tmp_path, data, capsys):
    lgb = pytest.importorskip("lightgbm")
    df, path = data
    model = lgb.LGBMRegressor(n_estimators=5, verbose=-1, n_jobs=1)
    model.fit(df[["a", "b", "c"]], df["y"])
    mpath = tmp_path / "model.pkl"
    mpath.write_bytes(pickle.dumps(model))
    assert main(["explain", str(mpath), str(path), "--drop", "y"]) == 2
    assert "--policy" in capsys.readouterr().err
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"allow": {"globals": ["lightgbm.*"]}}))
    code = main(
        ["explain", str(mpath), str(path), "--drop", "y", "--rows", "4", "--policy", str(policy)]
    )
    assert code == 0
    assert "tree_path_dependent" in capsys.readouterr().out


def test_usage_errors(tmp_path, data, capsys):
    _, path = data
    assert main(["explain", str(tmp_path / "missing.pkl"), str(path)]) == 2
    assert main(["explain", "m.pkl", str(path), "--method", "magic"]) == 2
