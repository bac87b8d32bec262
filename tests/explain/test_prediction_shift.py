"""prediction_shift: the change of the mean prediction split over features. Efficiency
(the contributions add up to the change of the model's own mean output), the linear and
additive-tree closed forms, sampling, intervals, the report, and bad input; attached to
drift.compare and Monitor.report."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError

W = np.array([1.5, -2.0, 0.0, 0.75])


def _sides(n_ref=400, n_cur=300, d=4, seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.normal(size=(n_ref, d))
    cur = rng.normal(size=(n_cur, d)) * 1.3 + np.linspace(0.5, -0.5, d)
    return ref, cur


def _nonlinear(rows):
    return np.sin(rows[:, 0]) * rows[:, 1] + rows[:, 2] ** 2 - rows[:, 3] * rows[:, 0]


def test_linear_closed_form_and_efficiency():
    ref, cur = _sides()
    sh = ms.explain.prediction_shift(lambda r: r @ W + 3.0, ref, cur)
    np.testing.assert_allclose(sh.contributions, W * (cur.mean(0) - ref.mean(0)), atol=1e-12)
    want = (cur @ W).mean() - (ref @ W).mean()
    np.testing.assert_allclose(sh.shift, [want], atol=1e-12)
    assert abs(sh.contributions.sum() - want) < 1e-9
    np.testing.assert_allclose(sh.mean_reference, [(ref @ W + 3.0).mean()], atol=1e-12)
    assert sh.method == "kernel_exact" and sh.passed is None
    assert sh.config["rows_reference"] == [400, 400] and sh.config["background_rows"] == 100


def test_efficiency_of_a_nonlinear_model_against_its_own_outputs():
    ref, cur = _sides()
    sh = ms.explain.prediction_shift(_nonlinear, ref, cur, max_rows=150, seed=4)
    # The rows explained are a seeded sample; the identity holds on them.
    rng_ref, rng_cur, _ = (np.random.default_rng(s) for s in np.random.SeedSequence(4).spawn(3))
    r = ref[np.sort(rng_ref.choice(400, 150, replace=False))]
    c = cur[np.sort(rng_cur.choice(300, 150, replace=False))]
    want = _nonlinear(c).mean() - _nonlinear(r).mean()
    assert abs(sh.contributions.sum() - want) < 1e-9
    np.testing.assert_allclose(sh.shift, [want], atol=1e-9)
    assert sh.config["rows_current"] == [150, 300]
    # Against kernel_shap with the same (reference-sampled) background, feature by feature.
    bg = ref[
        np.sort(
            np.random.default_rng(np.random.SeedSequence(4).spawn(3)[2]).choice(
                400, 100, replace=False
            )
        )
    ]
    a = ms.explain.kernel_shap(_nonlinear, r, bg).values.mean(0)
    b = ms.explain.kernel_shap(_nonlinear, c, bg).values.mean(0)
    np.testing.assert_allclose(sh.contributions, b - a, atol=1e-12)


def test_sampled_coalitions_keep_efficiency():
    ref, cur = _sides(n_ref=60, n_cur=50, d=18, seed=2)
    w = np.linspace(-1, 1, 18)

    def f(rows):
        return rows @ w + rows[:, 0] * rows[:, 1]

    sh = ms.explain.prediction_shift(f, ref, cur, background_rows=20, nsamples=200, seed=1)
    assert sh.method == "kernel_sampled"
    assert abs(sh.contributions.sum() - (f(cur).mean() - f(ref).mean())) < 1e-9


def test_classifier_probabilities_add_up():
    linear = pytest.importorskip("sklearn.linear_model")
    ref, cur = _sides(n_ref=200, n_cur=150)
    y = (ref[:, 0] - ref[:, 1] + 0.3 * ref[:, 3] > 0).astype(int)
    model = linear.LogisticRegression().fit(ref, y)
    sh = ms.explain.prediction_shift(model, ref, cur, max_rows=80)
    assert sh.contributions.shape == (4, 2) and sh.output_names == ["0", "1"]
    assert sh.config["output"] == "predict_proba"
    # All rows of the current side are not used: compare with the rows that were.
    assert sh.config["rows_current"] == [80, 150]
    np.testing.assert_allclose(sh.contributions.sum(axis=0), sh.shift, atol=1e-12)
    np.testing.assert_allclose(sh.contributions[:, 0], -sh.contributions[:, 1], atol=1e-12)
    full = ms.explain.prediction_shift(model, ref, cur, max_rows=1000)
    p = model.predict_proba
    np.testing.assert_allclose(full.shift, p(cur).mean(0) - p(ref).mean(0), atol=1e-9)
    df = full.to_pandas()
    assert list(df.columns) == ["output", "feature", "contribution", "low", "high"]
    assert len(df) == 8


@pytest.mark.parametrize("with_background", [False, True], ids=["path", "interventional"])
def test_additive_trees_closed_form(with_background):
    ensemble = pytest.importorskip("sklearn.ensemble")
    ref, cur = _sides(n_ref=300, n_cur=200)
    y = np.sin(ref[:, 0]) + ref[:, 1] ** 2 - ref[:, 3]
    model = ensemble.GradientBoostingRegressor(n_estimators=25, max_depth=1).fit(ref, y)
    bg = ref[:50] if with_background else None
    sh = ms.explain.prediction_shift(model, ref, cur, background=bg)
    assert sh.method == ("tree_interventional" if with_background else "tree_path_dependent")
    # Stumps: f = c + sum_j g_j(x_j), so feature j's share is mean g_j(cur) - mean g_j(ref).
    want = np.zeros(4)
    for est in model.estimators_[:, 0]:  # a loop over trees
        j = est.tree_.feature[0]
        if j >= 0:
            lr = model.learning_rate
            want[j] += lr * (est.predict(cur).mean() - est.predict(ref).mean())
    np.testing.assert_allclose(sh.contributions, want, atol=1e-9)
    shift = model.predict(cur).mean() - model.predict(ref).mean()
    assert abs(sh.contributions.sum() - shift) < 1e-9


def test_auto_picks_tree_shap_and_method_can_force_kernel():
    ensemble = pytest.importorskip("sklearn.ensemble")
    ref, cur = _sides(n_ref=120, n_cur=100)
    model = ensemble.RandomForestRegressor(n_estimators=5, max_depth=3, random_state=0)
    model.fit(ref, ref[:, 0])
    assert ms.explain.prediction_shift(model, ref, cur).method == "tree_path_dependent"
    sh = ms.explain.prediction_shift(model, ref, cur, method="kernel", max_rows=30)
    assert sh.method == "kernel_exact"
    want = model.predict(cur).mean() - model.predict(ref).mean()
    full = ms.explain.prediction_shift(model, ref, cur, method="kernel", background_rows=20)
    assert abs(full.contributions.sum() - want) < 1e-9


def test_intervals_are_normal_intervals_of_a_difference_of_means():
    ref, cur = _sides()
    sh = ms.explain.prediction_shift(lambda r: r @ W, ref, cur, confidence=0.9)
    # phi_j = w_j (x_j - mean_bg x_j): the spread of phi_j is |w_j| times that of x_j.
    se = np.abs(W) * np.sqrt(ref.var(0, ddof=1) / len(ref) + cur.var(0, ddof=1) / len(cur))
    z = statistics.NormalDist().inv_cdf(0.95)
    np.testing.assert_allclose(sh.low, sh.contributions - z * se, atol=1e-12)
    np.testing.assert_allclose(sh.high, sh.contributions + z * se, atol=1e-12)
    assert abs(sh.low[2]) < 1e-12 and abs(sh.high[2]) < 1e-12  # w = 0: no share, no spread


def test_seeded_sampling_is_reproducible():
    ref, cur = _sides()
    a = ms.explain.prediction_shift(_nonlinear, ref, cur, max_rows=50, seed=7)
    b = ms.explain.prediction_shift(_nonlinear, ref, cur, max_rows=50, seed=7)
    c = ms.explain.prediction_shift(_nonlinear, ref, cur, max_rows=50, seed=8)
    np.testing.assert_array_equal(a.contributions, b.contributions)
    assert not np.allclose(a.contributions, c.contributions)
    assert a.seed == 7
    assert set(a.inputs) == {"reference", "current", "background"}
    assert a.inputs["current"] == c.inputs["current"]
    assert a.inputs["background"] != c.inputs["background"]  # another seeded sample


def test_dataframes_reach_the_model_with_its_columns():
    pd = pytest.importorskip("pandas")
    linear = pytest.importorskip("sklearn.linear_model")
    ref, cur = _sides(n_ref=150, n_cur=120)
    cols = ["a", "b", "c", "d"]
    ref_df, cur_df = pd.DataFrame(ref, columns=cols), pd.DataFrame(cur, columns=cols)
    model = linear.LinearRegression().fit(ref_df[["b", "d"]], ref @ W)
    ref_df["label"], cur_df["label"] = "x", "y"  # not a feature of the model
    sh = ms.explain.prediction_shift(model, ref_df, cur_df)
    assert sh.feature_names == ["b", "d"]
    want = model.coef_ * (cur[:, [1, 3]].mean(0) - ref[:, [1, 3]].mean(0))
    np.testing.assert_allclose(sh.contributions, want, atol=1e-12)
    as_dict = {c: ref_df[c].to_numpy() for c in cols}
    cur_dict = {c: cur_df[c].to_numpy() for c in cols}
    again = ms.explain.prediction_shift(model, as_dict, cur_dict)
    np.testing.assert_allclose(again.contributions, want, atol=1e-12)
    chosen = ms.explain.prediction_shift(lambda r: r @ W[:2], ref_df, cur_df, columns=["a", "b"])
    assert chosen.feature_names == ["a", "b"]


def test_report_round_trip_and_html(tmp_path):
    ref, cur = _sides()
    sh = ms.explain.prediction_shift(lambda r: r @ W, ref, cur)
    path = tmp_path / "shift.json"
    sh.save(path)
    again = ms.Report.load(path)
    assert isinstance(again, ms.explain.ShiftExplanation)
    assert again.to_dict() == sh.to_dict()
    page = sh.to_html()
    assert "<svg" in page and "<script" not in page and "x1" in page
    metrics = sh.metrics()
    assert metrics["mlsentry.prediction_shift.shift"] == pytest.approx(float(sh.shift[0]))
    assert "x1" in sh.summary()


def test_bad_input():
    ref, cur = _sides()
    f = lambda r: r @ W  # noqa: E731
    with pytest.raises(InvalidInputError, match="method"):
        ms.explain.prediction_shift(f, ref, cur, method="fast")
    with pytest.raises(InvalidInputError, match="current: 3 features"):
        ms.explain.prediction_shift(f, ref, cur[:, :3])
    with pytest.raises(InvalidInputError, match="reference: at least 2 rows"):
        ms.explain.prediction_shift(f, ref[:1], cur)
    with pytest.raises(InvalidInputError, match="confidence"):
        ms.explain.prediction_shift(f, ref, cur, confidence=1.0)
    with pytest.raises(InvalidInputError, match="max_rows"):
        ms.explain.prediction_shift(f, ref, cur, max_rows=1)
    bad = cur.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InvalidInputError, match="current: 1 NaN"):
        ms.explain.prediction_shift(f, ref, bad)
    with pytest.raises(InvalidTypeError, match="reference"):
        ms.explain.prediction_shift(f, np.array([["a", "b"], ["c", "d"]]), cur[:, :2])
    with pytest.raises(InvalidInputError, match="columns"):
        ms.explain.prediction_shift(f, ref, cur, columns=["a"])
    with pytest.raises(InvalidInputError, match="background: 3 features"):
        ms.explain.prediction_shift(f, ref, cur, background=ref[:, :3])


def test_drift_compare_attaches_the_explanation(tmp_path):
    pd = pytest.importorskip("pandas")
    ref, cur = _sides(n_ref=300, n_cur=300)
    cols = ["a", "b", "c", "d"]
    ref_df, cur_df = pd.DataFrame(ref, columns=cols), pd.DataFrame(cur, columns=cols)
    plain = ms.drift.compare(ref_df, cur_df)
    assert plain.explanation is None and "explanation" not in plain.to_dict()
    rep = ms.drift.compare(ref_df, cur_df, model=lambda r: r @ W, explain={"max_rows": 200})
    ex = rep.explanation
    assert isinstance(ex, ms.explain.ShiftExplanation)
    assert ex.config["rows_reference"] == [200, 300]
    assert ex.feature_names == cols
    assert abs(ex.contributions.sum() - float(ex.shift[0])) < 1e-9
    assert [c.name for c in rep.columns] == [c.name for c in plain.columns]
    path = tmp_path / "drift.json"
    rep.save(path)
    again = ms.Report.load(path)
    assert again.to_dict() == rep.to_dict()
    assert isinstance(again.explanation, ms.explain.ShiftExplanation)
    page = rep.to_html()
    assert "Prediction shift by feature" in page and "<script" not in page
    assert "Prediction shift" in rep.summary()
    assert "mlsentry.drift.explanation.shift" in rep.metrics()
    with pytest.raises(InvalidInputError, match="profile"):
        ms.drift.compare(ms.drift.Profile.fit(ref_df), cur_df, model=lambda r: r @ W)
    with pytest.raises(InvalidInputError, match="explain"):
        ms.drift.compare(ref_df, cur_df, explain={"max_rows": 10})
    with pytest.raises(InvalidTypeError, match="explain"):
        ms.drift.compare(ref_df, cur_df, model=lambda r: r @ W, explain=5)


def test_monitor_report_explains_the_latest_rows(tmp_path):
    rng = np.random.default_rng(0)
    mon = ms.monitor.Monitor(rng.normal(size=(600, 4)), ert=400, window=20, ood=None, streams=200)
    with pytest.raises(InvalidInputError, match="current"):
        mon.report(model=lambda r: r @ W)
    moved = rng.normal(size=(70, 4)) + np.array([0.0, 1.5, 0.0, 0.0])
    mon.update(moved)
    assert mon.report().explanation is None
    rep = mon.report(model=lambda r: r @ W)
    ex = rep.explanation
    # The open feature window (70 rows, shorter than 100) holds the latest rows.
    assert ex.config["rows_current"] == [70, 70]
    np.testing.assert_allclose(
        ex.contributions, W * (moved.mean(0) - mon.reference.mean(0)), atol=1e-9
    )
    given = mon.report(model=lambda r: r @ W, current=moved[-10:], explain={"seed": 3})
    assert given.explanation.config["rows_current"] == [10, 10]
    rep.save(tmp_path / "mon.json")
    again = ms.Report.load(tmp_path / "mon.json")
    assert again.to_dict() == rep.to_dict()
    assert "Prediction shift" in rep.to_html() and "Prediction shift" in rep.summary()
    assert "mlsentry.monitor.explanation.shift" in rep.metrics()


# --- from the command line: `mlsentry drift --model` and `mlsentry monitor --model` ---


@pytest.fixture
def model_files(tmp_path):
    """Reference and current tables (three features and a string column the model does not
    use) and two joblib models fitted on DataFrames: a tree ensemble and a logistic model."""
    pd = pytest.importorskip("pandas")
    joblib = pytest.importorskip("joblib")
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    ref = pd.DataFrame(rng.normal(size=(600, 3)), columns=["a", "b", "c"])
    cur = pd.DataFrame(rng.normal(size=(500, 3)), columns=["a", "b", "c"])
    cur["a"] += 1.0
    target = 2 * ref["a"] + ref["b"]
    tree = GradientBoostingRegressor(n_estimators=15, random_state=0).fit(ref, target)
    logistic = LogisticRegression().fit(ref, target > 0)
    ref["s"] = rng.choice(["x", "y"], len(ref))
    cur["s"] = rng.choice(["x", "y"], len(cur))
    paths = {name: tmp_path / f"{name}.parquet" for name in ("ref", "cur")}
    ref.to_parquet(paths["ref"])
    cur.to_parquet(paths["cur"])
    for name, m in (("tree", tree), ("logistic", logistic)):
        joblib.dump(m, tmp_path / f"{name}.joblib")
    return tmp_path, ref, cur, {"tree": tree, "logistic": logistic}


def test_drift_cli_attaches_the_explanation_of_the_model(model_files, capsys):
    import json

    from mlsentry.cli import main

    tmp, ref, cur, models = model_files
    base = ["drift", str(tmp / "ref.parquet"), str(tmp / "cur.parquet")]
    assert main([*base, "--json"]) == 1
    plain = json.loads(capsys.readouterr().out)
    assert "explanation" not in plain or plain["explanation"] is None
    for name, rows in (("tree", None), ("logistic", 200)):
        extra = [] if rows is None else ["--explain-rows", str(rows)]
        args = [*base, "--model", str(tmp / f"{name}.joblib"), "--seed", "4", *extra, "--json"]
        # The explanation is information: the verdict stays the data's.
        assert main(args) == 1
        out = json.loads(capsys.readouterr().out)
        assert out["drifted_columns"] == plain["drifted_columns"]
        options = {"seed": 4} if rows is None else {"seed": 4, "max_rows": rows}
        want = ms.explain.prediction_shift(models[name], ref, cur, **options)
        got = out["explanation"]
        assert got["schema"] == "mlsentry/prediction-shift/v1"
        assert got["feature_names"] == ["a", "b", "c"]  # the model's columns, not "s"
        np.testing.assert_allclose(got["contributions"], want.contributions.tolist(), atol=1e-12)
        assert got["config"]["max_rows"] == (1000 if rows is None else rows)
    html = tmp / "r.html"
    assert main([*base, "--model", str(tmp / "tree.joblib"), "--html", str(html)]) == 1
    assert "Prediction shift" in capsys.readouterr().out
    assert "prediction" in html.read_text(encoding="utf-8").lower()


def test_drift_cli_model_flags_refuse_what_they_cannot_use(model_files, tmp_path, capsys):
    import pickle

    from mlsentry.cli import main

    tmp, *_ = model_files
    base = ["drift", str(tmp / "ref.parquet"), str(tmp / "cur.parquet")]
    assert main([*base, "--explain-rows", "10"]) == 2
    assert "only with --model" in capsys.readouterr().err

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(Evil()))
    assert main([*base, "--model", str(evil)]) == 2
    err = capsys.readouterr()
    assert "refusing to load" in err.err and "owned" not in err.out
    profile = tmp_path / "ref.profile"
    assert main(["profile", str(tmp / "ref.parquet"), "-o", str(profile)]) == 0
    capsys.readouterr()
    assert main(["drift", str(profile), base[2], "--model", str(tmp / "tree.joblib")]) == 2
    assert "rows" in capsys.readouterr().err


def test_monitor_cli_explains_with_the_model_s_own_column_names(model_files, capsys):
    """A model fitted on a DataFrame gets DataFrames with its columns (no feature-name
    warning, which pytest turns into an error here)."""
    import json

    from mlsentry.cli import main

    tmp, *_ = model_files
    base = ["monitor", str(tmp / "ref.parquet"), str(tmp / "cur.parquet"), "--columns", "a,b,c"]
    base += ["--ert", "300", "--window", "30"]
    assert main([*base, "--model", str(tmp / "logistic.joblib"), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    got = out["explanation"]
    assert got["feature_names"] == ["a", "b", "c"]
    # The current side is the monitor's latest rows; the shift of the True-class
    # probability is positive (feature a moved up and drives the model) and a carries it.
    contrib = np.asarray(got["contributions"])
    assert contrib.shape == (3, 2) and contrib[0, 1] > 0.1
    assert np.argmax(np.abs(contrib[:, 1])) == 0
    profile = tmp / "ref.profile"
    assert main(["profile", str(tmp / "ref.parquet"), "-o", str(profile)]) == 0
    capsys.readouterr()
    args = ["monitor", str(profile), str(tmp / "cur.parquet"), "--model", str(tmp / "tree.joblib")]
    assert main(args) == 2
    assert "not a profile" in capsys.readouterr().err


def test_numpy_rows_reach_a_dataframe_fitted_model_with_its_column_names(model_files):
    _, ref, cur, models = model_files
    cols = ["a", "b", "c"]
    from_arrays = ms.explain.prediction_shift(
        models["logistic"], ref[cols].to_numpy(), cur[cols].to_numpy()
    )
    from_frames = ms.explain.prediction_shift(models["logistic"], ref, cur)
    assert from_arrays.feature_names == cols
    np.testing.assert_allclose(from_arrays.contributions, from_frames.contributions, atol=1e-12)
