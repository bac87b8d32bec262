"""ms.explain.permutation_importance: closed form and scikit-learn's definition."""

import json

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError, ModelError

sk_inspection = pytest.importorskip("sklearn.inspection")


class Linear:
    def __init__(self, w):
        self.w = np.asarray(w, dtype=float)
        self.calls = 0

    def fit(self, X, y):
        return self

    def predict(self, X):
        self.calls += 1
        return np.asarray(X, dtype=float) @ self.w


def sklearn_permutations(n, n_repeats, seed):
    """The column orders sklearn's permutation_importance uses: one int32 seed drawn from
    RandomState(seed), the same for every feature; the index array is shuffled in place
    each repeat and the already permuted column is permuted again."""
    random_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    rs = np.random.RandomState(random_seed)
    idx = np.arange(n)
    current = np.arange(n)
    out = []
    for _ in range(n_repeats):
        rs.shuffle(idx)
        current = current[idx]
        out.append(current.copy())
    return np.array(out)


def test_squared_error_closed_form_on_a_linear_model():
    rng = np.random.default_rng(0)
    n = 4000
    X = rng.normal(size=(n, 3)) * np.array([1.0, 2.0, 0.8])
    w = np.array([1.5, -0.5, 3.0])
    m = Linear(w)
    rep = ms.explain.permutation_importance(
        m, X, X @ w, scoring="neg_mean_squared_error", n_repeats=30, seed=1
    )
    # Exactly, per repeat: w_j^2 * mean((x_j[perm] - x_j)^2); its mean over permutations
    # is 2 w_j^2 Var(x_j).
    perms = ms._core.importance_permutations(n, 30, 1)
    for j in range(3):
        exact = w[j] ** 2 * np.mean((X[perms, j] - X[:, j]) ** 2, axis=1)
        np.testing.assert_allclose(rep.importances[j], exact, rtol=1e-10)
        closed = 2 * w[j] ** 2 * X[:, j].var()
        assert rep.importances_mean[j] == pytest.approx(closed, rel=0.03)
        lo, hi = rep.intervals[j]
        assert lo < rep.importances_mean[j] < hi
    assert m.calls == 1 + 3  # baseline, then one call per feature for all repeats
    assert rep.ranked == ["2", "0", "1"]


@pytest.mark.parametrize("scoring", ["accuracy", "neg_mean_squared_error"])
def test_equal_to_sklearn_given_the_same_permutations(scoring):
    from sklearn.linear_model import LinearRegression, LogisticRegression

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    if scoring == "accuracy":
        y = (X[:, 0] - X[:, 2] + 0.5 * rng.normal(size=300) > 0).astype(int)
        model = LogisticRegression().fit(X, y)
    else:
        y = X @ np.array([1.0, 0.2, -2.0, 0.0]) + 0.3 * rng.normal(size=300)
        model = LinearRegression().fit(X, y)
    ref = sk_inspection.permutation_importance(
        model, X, y, scoring=scoring, n_repeats=6, random_state=7
    )
    rep = ms.explain.permutation_importance(
        model, X, y, scoring=scoring, permutations=sklearn_permutations(300, 6, 7)
    )
    np.testing.assert_allclose(rep.importances, ref.importances, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rep.importances_mean, ref.importances_mean, atol=1e-12)
    np.testing.assert_allclose(rep.importances_std, ref.importances_std, atol=1e-12)


def test_callable_scoring_dataframe_and_proba_callable():
    pd = pytest.importorskip("pandas")
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    y = (X["a"] > 0).astype(int).to_numpy()
    model = LogisticRegression().fit(X, y)
    a = ms.explain.permutation_importance(model, X, y, scoring=accuracy_score, seed=2)
    b = ms.explain.permutation_importance(model, X, y, seed=2)
    c = ms.explain.permutation_importance(model.predict_proba, X, y, seed=2)
    np.testing.assert_array_equal(a.importances, b.importances)
    np.testing.assert_array_equal(b.importances, c.importances)
    assert a.feature_names == ["a", "b"] and a.ranked[0] == "a"
    assert b.importances_mean[0] > 0.3 and abs(b.importances_mean[1]) < 0.05


def test_deterministic_report_round_trip_html(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    m = Linear([1.0, 0.0, 2.0])
    a = ms.explain.permutation_importance(m, X, X @ m.w, scoring="neg_mean_squared_error")
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "1")
    b = ms.explain.permutation_importance(m, X, X @ m.w, scoring="neg_mean_squared_error")
    np.testing.assert_array_equal(a.importances, b.importances)
    assert a.importances.shape == (3, 5) and a.passed is None
    path = tmp_path / "imp.json"
    a.save(path)
    again = ms.Report.load(path)
    assert isinstance(again, ms.explain.ImportanceReport)
    assert again.to_dict() == json.loads(a.to_json())
    page = a.to_html()
    assert "<svg" in page and "<script" not in page
    assert list(a.to_pandas()["feature"]) == ["2", "0", "1"]
    assert "mlsentry.permutation_importance.feature.2" in a.metrics()


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"scoring": "r2"}, InvalidInputError, "scoring"),
        ({"scoring": 3}, InvalidTypeError, "scoring"),
        ({"n_repeats": 0}, InvalidInputError, "n_repeats"),
        ({"y": np.zeros(5)}, InvalidInputError, "y"),
        ({"X": np.zeros(10)}, InvalidInputError, "X"),
        ({"X": np.full((10, 2), np.nan)}, InvalidInputError, "X"),
        ({"permutations": np.zeros((2, 10), dtype=int)}, InvalidInputError, "permutations"),
        ({"permutations": np.zeros((2, 3), dtype=int)}, InvalidInputError, "permutations"),
        ({"confidence": 2.0}, InvalidInputError, "confidence"),
        ({"model": object()}, InvalidTypeError, "model"),
    ],
)
def test_bad_inputs(kwargs, error, words):
    args = {
        "model": Linear([1.0, 1.0]),
        "X": np.ones((10, 2)),
        "y": np.ones(10),
        "scoring": "neg_mean_squared_error",
    }
    args.update(kwargs)
    with pytest.raises(error, match=words):
        ms.explain.permutation_importance(**args)


def test_model_errors_are_model_errors():
    def broken(X):
        raise RuntimeError("boom")

    with pytest.raises(ModelError, match="boom"):
        ms.explain.permutation_importance(broken, np.ones((5, 2)), np.ones(5))
    with pytest.raises(ModelError):
        ms.explain.permutation_importance(lambda X: np.ones(3), np.ones((5, 2)), np.ones(5))
