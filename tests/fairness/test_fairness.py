"""ms.fairness.evaluate against fairlearn 0.15 (MetricFrame and its disparity functions)."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError, ModelError

fm = pytest.importorskip("fairlearn.metrics")
skm = pytest.importorskip("sklearn.metrics")

TOL = 1e-12


def data(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["f", "m"], size=n, p=[0.4, 0.6])
    race = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    y = rng.integers(0, 2, n)
    bias = np.where(sex == "f", -0.6, 0.3) + np.where(race == "c", -0.4, 0.0)
    score = 1.0 / (1.0 + np.exp(-(1.5 * (2 * y - 1) + bias + rng.normal(size=n))))
    pred = (score > 0.5).astype(int)
    return y, pred, score, pd.DataFrame({"sex": sex, "race": race})


def metric_frame(y, pred, sf, **kw):
    metrics = {
        "selection_rate": fm.selection_rate,
        "accuracy": skm.accuracy_score,
        "tpr": fm.true_positive_rate,
        "fpr": fm.false_positive_rate,
        "precision": skm.precision_score,
    }
    return fm.MetricFrame(metrics=metrics, y_true=y, y_pred=pred, sensitive_features=sf, **kw)


def disparities_of(y, pred, sf):
    return {
        "demographic_parity_difference": fm.demographic_parity_difference(
            y, pred, sensitive_features=sf
        ),
        "demographic_parity_ratio": fm.demographic_parity_ratio(y, pred, sensitive_features=sf),
        "equalized_odds_difference": fm.equalized_odds_difference(
            y, pred, sensitive_features=sf, agg="worst_case"
        ),
        "equalized_odds_difference_mean": fm.equalized_odds_difference(
            y, pred, sensitive_features=sf, agg="mean"
        ),
        "equal_opportunity_difference": fm.equal_opportunity_difference(
            y, pred, sensitive_features=sf
        ),
    }


@pytest.mark.parametrize("columns", [["sex"], ["race"], ["sex", "race"]])
def test_group_metrics_and_disparities_equal_fairlearn(columns):
    y, pred, score, sf = data()
    rep = ms.fairness.evaluate(y, pred, sf[columns], y_score=score, n_boot=0)
    mf = metric_frame(y, pred, sf[columns])
    by = mf.by_group
    for g in rep.groupings:
        for row in g.rows:
            key = row.group[0] if len(row.group) == 1 else row.group
            ref = by.loc[key] if len(g.columns) == len(columns) else None
            if ref is None:
                continue
            for m in ms.fairness.GROUP_METRICS:
                assert row.values[m] == pytest.approx(ref[m], abs=TOL), (m, key)
            mask = np.all([sf[c].to_numpy() == v for c, v in zip(columns, row.group)], axis=0)
            assert row.count == int(mask.sum())
            assert row.values["auc"] == pytest.approx(
                skm.roc_auc_score(y[mask], score[mask]), abs=TOL
            )
            assert row.values["brier"] == pytest.approx(
                skm.brier_score_loss(y[mask], score[mask]), abs=TOL
            )
    assert len(rep.by_group) == len(by)
    for name, value in disparities_of(y, pred, sf[columns]).items():
        assert rep.disparities[name].value == pytest.approx(value, abs=TOL), name


def test_each_single_column_grouping_equals_fairlearn_on_that_column():
    y, pred, _, sf = data()
    rep = ms.fairness.evaluate(y, pred, sf, n_boot=0)
    assert [g.name for g in rep.groupings] == ["sex", "race", "sex & race"]
    for col in ("sex", "race"):
        ref = disparities_of(y, pred, sf[col])
        got = rep.disparities_by[col]
        for name, value in ref.items():
            assert got[name].value == pytest.approx(value, abs=TOL)
        by = metric_frame(y, pred, sf[col]).by_group
        for row in next(g for g in rep.groupings if g.name == col).rows:
            for m in ms.fairness.GROUP_METRICS:
                assert row.values[m] == pytest.approx(by.loc[row.group[0], m], abs=TOL), m


def fairlearn_resamples(n, n_boot, seed):
    """The row indices fairlearn 0.15's bootstrap draws: per resample a uint32 seed from
    default_rng(seed), then DataFrame.sample(frac=1, replace=True, random_state=that)."""
    seeds = np.random.default_rng(seed).integers(
        0, np.iinfo(np.uint32).max, size=n_boot, dtype=np.uint32
    )
    return np.stack([np.random.RandomState(s).randint(0, n, n) for s in seeds])


def test_fairlearn_resample_indices_are_reproduced():
    idx = fairlearn_resamples(50, 3, 7)
    df = pd.DataFrame({"row": np.arange(50)})
    seeds = np.random.default_rng(7).integers(0, np.iinfo(np.uint32).max, size=3, dtype=np.uint32)
    for b in range(3):
        ref = df.sample(frac=1, replace=True, random_state=seeds[b], ignore_index=True)
        assert np.array_equal(ref["row"].to_numpy(), idx[b])


def test_bootstrap_intervals_equal_fairlearn_given_the_same_resamples():
    y, pred, _, sf = data(n=800, seed=3)
    n_boot, seed = 10, 11
    mf = metric_frame(
        y, pred, sf[["sex", "race"]], n_boot=n_boot, ci_quantiles=[0.025, 0.975], random_state=seed
    )
    rep = ms.fairness.evaluate(
        y, pred, sf[["sex", "race"]], resamples=fairlearn_resamples(y.size, n_boot, seed)
    )
    lo, hi = mf.by_group_ci
    for row in rep.by_group:
        for m in ms.fairness.GROUP_METRICS:
            assert row.intervals[m][0] == pytest.approx(lo.loc[row.group, m], abs=TOL)
            assert row.intervals[m][1] == pytest.approx(hi.loc[row.group, m], abs=TOL)
    dlo, dhi = mf.difference_ci()
    rlo, rhi = mf.ratio_ci()
    d = rep.disparities
    assert d["demographic_parity_difference"].interval == pytest.approx(
        (dlo["selection_rate"], dhi["selection_rate"]), abs=TOL
    )
    assert d["demographic_parity_ratio"].interval == pytest.approx(
        (rlo["selection_rate"], rhi["selection_rate"]), abs=TOL
    )
    assert d["equal_opportunity_difference"].interval == pytest.approx(
        (dlo["tpr"], dhi["tpr"]), abs=TOL
    )
    # fairlearn has no interval for equalized odds: the quantiles of its value per resample.
    idx = fairlearn_resamples(y.size, n_boot, seed)
    worst, mean = [], []
    for b in range(n_boot):
        r = idx[b]
        sfb = sf[["sex", "race"]].iloc[r].reset_index(drop=True)
        worst.append(fm.equalized_odds_difference(y[r], pred[r], sensitive_features=sfb))
        mean.append(fm.equalized_odds_difference(y[r], pred[r], sensitive_features=sfb, agg="mean"))
    assert d["equalized_odds_difference"].interval == pytest.approx(
        tuple(np.quantile(worst, [0.025, 0.975])), abs=TOL
    )
    assert d["equalized_odds_difference_mean"].interval == pytest.approx(
        tuple(np.quantile(mean, [0.025, 0.975])), abs=TOL
    )


def test_drawn_bootstrap_agrees_with_row_resampling_in_law():
    y, pred, _, sf = data(n=2000, seed=5)
    drawn = ms.fairness.evaluate(y, pred, sf["sex"], n_boot=2000, seed=1)
    rows = ms.fairness.evaluate(
        y, pred, sf["sex"], resamples=np.random.default_rng(2).integers(0, 2000, (2000, 2000))
    )
    for name in ms.fairness.DISPARITIES:
        a, b = drawn.disparities[name].interval, rows.disparities[name].interval
        width = b[1] - b[0]
        # Two Monte Carlo estimates of the same quantiles: within a tenth of the width.
        assert abs(a[0] - b[0]) < 0.1 * width and abs(a[1] - b[1]) < 0.1 * width, name


def test_deterministic_per_seed_and_thread_count(monkeypatch):
    y, pred, _, sf = data(n=1000)
    a = ms.fairness.evaluate(y, pred, sf, n_boot=300, seed=4)
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "1")
    b = ms.fairness.evaluate(y, pred, sf, n_boot=300, seed=4)
    c = ms.fairness.evaluate(y, pred, sf, n_boot=300, seed=5)
    assert a.to_dict()["groupings"] == b.to_dict()["groupings"]
    assert a.to_dict()["groupings"] != c.to_dict()["groupings"]


def test_verdict_four_fifths_thresholds_and_small_groups():
    g = np.array(["a"] * 100 + ["b"] * 100 + ["c"] * 10)
    y = np.tile([0, 1], 105)
    pred = np.r_[np.ones(50), np.zeros(50), np.ones(35), np.zeros(65), np.ones(5), np.zeros(5)]
    rep = ms.fairness.evaluate(y, pred.astype(int), g, n_boot=50)
    assert rep.disparities["demographic_parity_ratio"].value == pytest.approx(0.7)
    assert rep.four_fifths and rep.passed is False
    assert rep.small_groups == ["sensitive=c"]
    ok = ms.fairness.evaluate(
        y, pred.astype(int), g, n_boot=0, thresholds={"demographic_parity_difference": 0.2}
    )
    assert ok.passed is True and ok.four_fifths
    none = ms.fairness.evaluate(y, pred.astype(int), g, n_boot=0, thresholds={})
    assert none.passed is None and none.verdict == "NO VERDICT"
    bad = ms.fairness.evaluate(
        y, pred.astype(int), g, n_boot=0, thresholds={"equalized_odds_difference": 0.01}
    )
    assert bad.passed is False


def test_model_and_X_form_predicts_first():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=600) > 0).astype(int)
    g = np.where(X[:, 1] > 0, "p", "q")
    m = LogisticRegression().fit(X, y)
    rep = ms.fairness.evaluate(y, sensitive=g, model=m, X=X, n_boot=0)
    ref = ms.fairness.evaluate(y, m.predict(X), g, y_score=m.predict_proba(X)[:, 1], n_boot=0)
    assert rep.to_dict()["groupings"] == ref.to_dict()["groupings"]
    with pytest.raises(ModelError):
        ms.fairness.evaluate(y, sensitive=g, model=lambda X: np.zeros((len(X), 3)), X=X)


def test_report_round_trip_pandas_html_metrics(tmp_path):
    y, pred, score, sf = data(n=800)
    rep = ms.fairness.evaluate(y, pred, sf, y_score=score, n_boot=100, seed=3)
    path = tmp_path / "fair.json"
    rep.save(path)
    again = ms.Report.load(path)
    assert isinstance(again, ms.fairness.FairnessReport)
    assert again.to_dict() == json.loads(rep.to_json())
    df = rep.to_pandas()
    assert set(df["grouping"]) == {"sex", "race", "sex & race"}
    assert {"selection_rate_low", "auc", "small"} <= set(df.columns)
    page = rep.to_html()
    assert "<svg" in page and "<script" not in page and "demographic_parity_ratio" in page
    m = rep.metrics()
    assert (
        m["mlsentry.fairness.demographic_parity_ratio"]
        == rep.disparities["demographic_parity_ratio"].value
    )
    assert "mlsentry.fairness.grouping.sex.equalized_odds_difference" in m
    assert rep.inputs["y_true"].startswith("sha256:") and rep.seed == 3
    assert "demographic_parity_ratio" in rep.summary()


def test_polars_pyarrow_and_dict_sensitive_inputs():
    pl = pytest.importorskip("polars")
    y, pred, _, sf = data(n=500)
    ref = ms.fairness.evaluate(y, pred, sf, n_boot=0).to_dict()["groupings"]
    for form in (pl.from_pandas(sf), {"sex": sf["sex"].tolist(), "race": sf["race"].to_numpy()}):
        assert ms.fairness.evaluate(y, pred, form, n_boot=0).to_dict()["groupings"] == ref
    assert (
        ms.fairness.evaluate(y.astype(bool), pred.astype(float), sf, n_boot=0).to_dict()[
            "groupings"
        ]
        == ref
    )


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"y_true": [0, 1, 2]}, InvalidInputError, "y_true"),
        ({"y_true": [0.0, np.nan, 1.0]}, InvalidInputError, "y_true"),
        ({"y_true": ["a", "b", "a"]}, InvalidTypeError, "y_true"),
        ({"y_pred": [0, 1]}, InvalidInputError, "y_pred"),
        ({"y_true": []}, InvalidInputError, "y_true"),
        ({"sensitive": ["a", None, "b"]}, InvalidInputError, "missing"),
        ({"sensitive": [1.0, np.nan, 2.0]}, InvalidInputError, "missing"),
        ({"sensitive": ["a", "b"]}, InvalidInputError, "sensitive"),
        ({"sensitive": None}, InvalidInputError, "sensitive"),
        ({"y_score": [0.1, np.inf, 0.3]}, InvalidInputError, "y_score"),
        ({"y_score": [0.1, 0.2]}, InvalidInputError, "y_score"),
        ({"n_boot": -1}, InvalidInputError, "n_boot"),
        ({"n_boot": 1.5}, InvalidTypeError, "n_boot"),
        ({"confidence": 1.0}, InvalidInputError, "confidence"),
        ({"thresholds": {"nope": 0.1}}, InvalidInputError, "nope"),
        ({"thresholds": {"demographic_parity_ratio": "x"}}, InvalidTypeError, "thresholds"),
        ({"thresholds": [0.8]}, InvalidTypeError, "thresholds"),
        ({"resamples": [[0, 1, 5]]}, InvalidInputError, "resamples"),
        ({"resamples": [0, 1, 2]}, InvalidInputError, "resamples"),
        ({"resamples": [[0.0, 1.0, 2.0]]}, InvalidTypeError, "resamples"),
        ({"y_pred": None}, InvalidInputError, "y_pred"),
    ],
)
def test_bad_inputs(kwargs, error, words):
    args = {"y_true": [0, 1, 1], "y_pred": [0, 1, 0], "sensitive": ["a", "b", "a"]}
    args.update(kwargs)
    with pytest.raises(error, match=words):
        ms.fairness.evaluate(**args)


def test_no_warnings_on_degenerate_groups():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = ms.fairness.evaluate([1, 1, 0, 0], [1, 1, 0, 0], ["a", "a", "b", "b"], n_boot=20)
    # Group a has no negatives and b no positives: rates 0 as scikit-learn gives them.
    rows = {r.group[0]: r.values for r in rep.by_group}
    assert rows["a"]["fpr"] == 0.0 and rows["b"]["tpr"] == 0.0 and rows["b"]["precision"] == 0.0
