"""ms.privacy.extraction: a Rust softmax-regression surrogate trained on a model's answers."""

from __future__ import annotations

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError, ModelError
from mlsentry.privacy import ExtractionReport

W = np.array([[1.0, -1.0, 0.5], [-0.5, 2.0, 0.0], [0.0, 0.5, -1.5], [1.5, 0.0, 0.3]])


def linear_model(x):
    z = np.asarray(x) @ W
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_softmax_model_is_copied_and_agreement_grows_with_the_budget():
    X = np.random.default_rng(0).normal(size=(3000, 4))
    rep = ms.privacy.extraction(linear_model, X, budgets=(10, 100, 2000), seed=1)
    assert rep.budgets == [10, 100, 2000]
    assert rep.agreement[-1] > 0.97 and rep.probability_agreement[-1] > 0.97
    assert rep.agreement[0] < rep.agreement[-1]
    assert rep.probability_agreement[0] < rep.probability_agreement[-1]
    assert rep.n_eval == 600 and rep.passed is None


def test_the_surrogate_matches_scikit_learn_on_hard_labels():
    # Fitted to one-hot answers, the surrogate is an L2-penalised multinomial logistic
    # regression: its probabilities approach scikit-learn's on the same standardised rows.
    from sklearn.linear_model import LogisticRegression

    from mlsentry import _core

    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3)) * [1.0, 3.0, 0.5] + [0.0, 1.0, -2.0]
    y = (X @ [1.0, -0.3, 2.0] + rng.normal(size=400) > 0).astype(int)
    onehot = np.eye(2)[y]
    l2 = 0.01
    ours = _core.privacy_surrogate(X, onehot, X, l2, 3000)
    Xs = (X - X.mean(0)) / X.std(0)
    # scikit-learn's binary objective is C * sum(loss) + ||w||^2 / 2 on one weight vector;
    # ours is mean(loss) + l2 / 2 * (||w_0||^2 + ||w_1||^2), whose optimum has w_1 = -w_0,
    # i.e. a penalty l2 / 4 * ||w_1 - w_0||^2: the same optimum for C = 2 / (l2 * n).
    sk = LogisticRegression(C=2.0 / (l2 * 400), tol=1e-10, max_iter=10_000).fit(Xs, y)
    np.testing.assert_allclose(ours, sk.predict_proba(Xs), atol=1e-5)


def test_reproducible_report_round_trip_and_bar(tmp_path):
    X = np.random.default_rng(3).normal(size=(1000, 4))
    a = ms.privacy.extraction(linear_model, X, budgets=(50, 400), seed=4, threshold=0.5)
    b = ms.privacy.extraction(linear_model, X, budgets=(50, 400), seed=4, threshold=0.5)
    assert a.agreement == b.agreement and a.passed is False
    path = tmp_path / "x.json"
    a.save(path)
    back = ms.Report.load(path)
    assert isinstance(back, ExtractionReport) and back.to_dict() == a.to_dict()
    assert "<table" in a.to_html() and "<script" not in a.to_html()
    m = a.metrics()
    assert m["mlsentry.extraction.agreement.budget_400"] == a.agreement[1]
    assert list(a.to_pandas().index) == [50, 400]
    capped = ms.privacy.extraction(linear_model, X, budgets=(10_000,), seed=4)
    assert capped.budgets == [800]


def test_bad_inputs():
    X = np.random.default_rng(0).normal(size=(100, 4))
    ext = ms.privacy.extraction
    with pytest.raises(InvalidInputError, match="budgets"):
        ext(linear_model, X, budgets=(0,))
    with pytest.raises(InvalidTypeError, match="budgets"):
        ext(linear_model, X, budgets="many")
    with pytest.raises(InvalidInputError, match="surrogate"):
        ext(linear_model, X, surrogate="forest")
    with pytest.raises(InvalidInputError, match="eval_share"):
        ext(linear_model, X, eval_share=1.0)
    with pytest.raises(InvalidInputError, match="X_pool"):
        ext(linear_model, X[:, 0])
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        ext(linear_model, X_nan)
    with pytest.raises(InvalidInputError, match="not a probability vector"):
        ext(lambda x: np.asarray(x) @ W, X)
    with pytest.raises(ModelError, match="raised"):
        ext(lambda x: 1 / 0, X)


def ring_model(x):
    """Class 1 inside a ring: no linear surrogate can copy it."""
    x = np.asarray(x)
    p1 = 1 / (1 + np.exp(4 * ((x[:, :2] ** 2).sum(axis=1) - 1.5)))
    return np.stack([1 - p1, p1], axis=1)


def test_the_network_surrogate_copies_a_nonlinear_model():
    X = np.random.default_rng(5).normal(size=(2500, 3))
    kw = {"budgets": (2000,), "seed": 2, "iterations": 400}
    linear = ms.privacy.extraction(ring_model, X, **kw)
    net = ms.privacy.extraction(ring_model, X, surrogate="mlp", hidden=16, **kw)
    assert net.agreement[0] > 0.95 > linear.agreement[0] + 0.1
    again = ms.privacy.extraction(ring_model, X, surrogate="mlp", hidden=16, **kw)
    assert again.agreement == net.agreement and again.probability_agreement == (
        net.probability_agreement
    )
    assert net.config["hidden"] == 16 and net.surrogate == "mlp"
    with pytest.raises(InvalidInputError, match="hidden"):
        ms.privacy.extraction(ring_model, X, surrogate="mlp", hidden=0)
