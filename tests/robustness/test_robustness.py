"""Attacks and robustness reports on models whose exact answer is known.

For a linear classifier with scores ``[-s, s]``, ``s = w.x + b``, the smallest L2
adversarial distance of ``x`` is ``|s| / ||w||_2`` and the smallest L-inf one is
``|s| / ||w||_1``: every attack is held against those.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError, ModelError
from mlsentry.robustness import Constraints


class Linear:
    """``scores = [-s, s]`` with ``s = x.w + b``; counts calls and rows."""

    def __init__(self, w, b=0.0):
        self.w = np.asarray(w, dtype=np.float64)
        self.b = b
        self.calls = 0
        self.rows = 0

    def margin(self, x):
        return x.reshape(len(x), -1) @ self.w + self.b

    def __call__(self, x):
        self.calls += 1
        self.rows += len(x)
        s = self.margin(np.asarray(x, dtype=np.float64))
        return np.stack([-s, s], axis=1)

    def exact(self, x, norm):
        s = np.abs(self.margin(x))
        return s / (np.linalg.norm(self.w) if norm == "l2" else np.abs(self.w).sum())


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(0)
    model = Linear(rng.normal(size=20), 0.3)
    X = rng.normal(size=(100, 20))
    y = (model.margin(X) > 0).astype(int)
    return model, X, y


def test_hop_skip_jump_finds_the_exact_l2_distance(linear):
    model, X, y = linear
    model.calls = model.rows = 0
    r = ms.robustness.hop_skip_jump(model, X, y, max_iter=30, max_queries=4000, seed=1)
    exact = model.exact(X, "l2")
    assert r.success.all()
    assert (r.distance >= exact * (1 - 1e-9)).all()  # never below the true minimum
    assert np.mean(r.distance <= 1.1 * exact) >= 0.9
    assert (r.queries <= 4000).all()
    # One model call per round, not per sample; every row is counted.
    assert (r.calls, r.rows) == (model.calls, model.rows)
    assert r.calls * 50 < r.rows
    # The adversarial examples are real: they flip the model.
    assert (np.argmax(model(r.adversarial), axis=1) != y).all()


def test_hop_skip_jump_linf(linear):
    model, X, y = linear
    r = ms.robustness.hop_skip_jump(model, X, y, norm="linf", max_iter=30, max_queries=4000)
    exact = model.exact(X, "linf")
    assert r.success.all() and (r.distance >= exact * (1 - 1e-9)).all()
    assert np.mean(r.distance <= 1.1 * exact) >= 0.9


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_square_succeeds_below_eps_and_never_above(linear, norm):
    model, X, y = linear
    exact = model.exact(X, norm)
    eps = float(np.median(exact))
    r = ms.robustness.square(model, X, y, eps=eps, norm=norm, max_queries=3000, seed=0)
    assert not r.success[exact > eps].any()
    assert r.success[exact < 0.9 * eps].mean() >= 0.9
    assert (r.distance[r.success] <= eps * (1 + 1e-9)).all()
    assert (np.argmax(model(r.adversarial[r.success]), axis=1) != y[r.success]).all()


def test_pgd_with_a_gradient_and_estimated(linear):
    model, X, y = linear
    exact = model.exact(X, "linf")
    eps = float(np.median(exact))
    # The gradient of the margin of the true class, signed to increase the loss.
    sign = np.where(y == 1, -1.0, 1.0)

    def grad_fn(x, labels):
        s = np.where(labels == 1, -1.0, 1.0)
        return s[:, None] * model.w[None, :]

    for kwargs in ({"grad_fn": grad_fn}, {"estimator": "nes"}, {"estimator": "spsa"}):
        r = ms.robustness.pgd(model, X, y, eps=eps, steps=40, max_queries=5000, **kwargs)
        assert not r.success[exact > eps].any(), kwargs
        assert r.success[exact < 0.95 * eps].mean() >= (0.95 if "grad_fn" in kwargs else 0.8)
    assert sign.shape == y.shape


def test_noise_changed_share():
    model = Linear([1.0])
    X = np.array([[0.2], [5.0]])
    r = ms.robustness.noise(model, X, [1, 1], eps=1.0, trials=200, seed=3)
    assert r.success.tolist() == [True, False]
    assert 0.1 < r.changed[0] < 0.6 and r.changed[1] == 0.0
    assert not ms.robustness.noise(model, X, [1, 1], eps=0.1).success.any()


def test_constraints_are_never_violated():
    rng = np.random.default_rng(5)
    w = rng.normal(size=8)
    model = Linear(w)
    X = rng.uniform(0.2, 0.8, size=(40, 8))
    X[:, 2] = rng.integers(0, 5, 40)  # integer feature
    X[:, 5:8] = np.eye(3)[rng.integers(0, 3, 40)]  # one-hot group
    y = (model.margin(X) > 0).astype(int)
    cons = Constraints(
        lower=[0, 0, 0, 0, 0, 0, 0, 0],
        upper=[1, 1, 4, 1, 1, 1, 1, 1],
        mutable=[True, False, True, True, True, True, True, True],
        integer=[False, False, True, False, False, False, False, False],
        one_hot_groups=[[5, 6, 7]],
    )
    for run in (
        lambda: ms.robustness.hop_skip_jump(model, X, y, constraints=cons, max_queries=2000),
        lambda: ms.robustness.square(model, X, y, eps=0.6, constraints=cons, max_queries=500),
        lambda: ms.robustness.pgd(model, X, y, eps=0.6, constraints=cons, estimator="nes"),
        lambda: ms.robustness.noise(model, X, y, eps=0.6, constraints=cons),
    ):
        r = run()
        adv = r.adversarial[r.success]
        assert r.success.any()
        assert ((adv >= 0) & (adv <= np.array(cons.upper))).all()
        assert (adv[:, 1] == X[r.success, 1]).all()  # immutable
        assert (adv[:, 2] == np.round(adv[:, 2])).all()  # integer
        assert (adv[:, 5:8].sum(axis=1) == 1).all() and np.isin(adv[:, 5:8], [0, 1]).all()


def test_scale_std_makes_eps_count_standard_deviations():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3)) * np.array([1.0, 100.0, 0.0])  # the last one constant
    model = Linear([0.0, 1.0, 1.0])
    y = (model.margin(X) > 0).astype(int)
    r = ms.robustness.square(
        model, X, y, eps=0.5, constraints=Constraints(scale="std"), max_queries=300
    )
    delta = np.abs(r.adversarial - X)
    assert (delta[:, 1] <= 0.5 * X[:, 1].std() * (1 + 1e-9)).all()
    assert (delta[:, 2] == 0).all()  # a feature with no spread cannot move


def test_same_seed_same_result_whatever_the_batch_size(linear):
    model, X, y = linear
    runs = [
        ms.robustness.square(model, X, y, eps=0.3, max_queries=200, seed=7, batch_size=b)
        for b in (None, 13)
    ]
    assert np.array_equal(runs[0].adversarial, runs[1].adversarial)
    assert np.array_equal(runs[0].queries, runs[1].queries)
    assert runs[1].calls > runs[0].calls  # the batches were split
    other = ms.robustness.square(model, X, y, eps=0.3, max_queries=200, seed=8)
    assert not np.array_equal(runs[0].adversarial, other.adversarial)


class Proba:
    """A scikit-learn-like classifier with string classes."""

    classes_ = np.array(["cat", "dog"])

    def __init__(self, w):
        self.inner = Linear(w)

    def predict_proba(self, x):
        s = self.inner.margin(np.asarray(x, dtype=np.float64))
        p = 1 / (1 + np.exp(-s))
        return np.stack([1 - p, p], axis=1)


class LabelsOnly:
    classes_ = np.array(["cat", "dog"])

    def __init__(self, w):
        self.inner = Linear(w)

    def predict(self, x):
        return self.classes_[(self.inner.margin(np.asarray(x, np.float64)) > 0).astype(int)]


def test_model_kinds_and_float32_and_images():
    rng = np.random.default_rng(4)
    w = rng.normal(size=12)
    X = rng.normal(size=(20, 12)).astype(np.float32)
    y = np.where(Linear(w).margin(X) > 0, "dog", "cat")
    r = ms.robustness.square(Proba(w), X, y, eps=1.0, max_queries=200)
    assert r.adversarial.dtype == np.float32 and r.success.any()
    r = ms.robustness.hop_skip_jump(LabelsOnly(w), X, y, max_queries=1000)
    assert r.success.all()
    with pytest.raises(InvalidInputError, match="labels only"):
        ms.robustness.square(LabelsOnly(w), X, y, eps=1.0)
    with pytest.raises(InvalidInputError, match="not among the model's classes"):
        ms.robustness.square(Proba(w), X, ["cow"] * 20, eps=1.0)
    # Images: (n, h, w, c) and (n, c, h, w) keep their shape.
    for shape in ((20, 2, 2, 3), (20, 3, 2, 2)):
        imgs = X.reshape(shape)
        seen = []

        def model(x, w=w, seen=seen):
            seen.append(x.shape[1:])
            return Linear(w)(x)

        r = ms.robustness.square(model, imgs, (Linear(w).margin(X) > 0).astype(int), eps=1.0)
        assert r.adversarial.shape == shape and set(seen) == {shape[1:]}


def test_evaluate_report(linear, tmp_path, monkeypatch):
    model, X, y = linear
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MLSENTRY_AUDIT_LOG", str(log))
    rep = ms.robustness.evaluate(
        model,
        X,
        y,
        attacks=("noise", "square", "hsj"),
        eps=[0.05, 0.3, 1.0],
        max_queries=300,
        threshold=0.1,
    )
    assert rep.clean_accuracy == 1.0
    acc = rep.robust_accuracy
    assert acc[0] >= acc[1] >= acc[2]
    # The worst case over attacks is at least as strong as the minimum-norm attack alone.
    exact = model.exact(X, "linf")
    for e, a in zip(rep.eps, acc):
        assert a <= np.mean(exact > e) + 1e-12
    lo, hi = rep.robust_interval[1]
    assert lo <= acc[1] <= hi
    assert {a.attack for a in rep.attacks} == {"noise", "square", "hop_skip_jump"}
    assert len(rep.attacks) == 9 and rep.calls < rep.queries / 20
    assert rep.passed == (rep.robust_interval[-1][0] >= 0.1)
    d = json.loads(rep.to_json())
    assert d["schema"] == "mlsentry/robustness-report/v1" and d["seed"] == 0
    assert d["inputs"]["X"].startswith("sha256:")
    assert len(d["per_class"]) == 2 and len(d["per_class"][0]["robust_accuracy"]) == 3
    assert "<svg" in rep.to_html() and "robust accuracy" in rep.summary()
    assert len(rep.to_pandas()) == 9
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert entries[-1]["event"]["check"] == "robustness.evaluate"
    again = ms.robustness.evaluate(
        model,
        X,
        y,
        attacks=("noise", "square", "hsj"),
        eps=[0.05, 0.3, 1.0],
        max_queries=300,
        threshold=0.1,
    )
    assert again.robust_accuracy == rep.robust_accuracy


def test_evaluate_threshold_and_labels_only():
    rng = np.random.default_rng(9)
    w = rng.normal(size=5)
    X = rng.normal(size=(60, 5))
    y = np.where(Linear(w).margin(X) > 0, "dog", "cat")
    strict = ms.robustness.evaluate(
        LabelsOnly(w), X, y, attacks=["hsj"], eps=2.0, threshold=0.9, max_queries=500
    )
    assert not strict.passed and strict.per_class[0]["class"] in ("cat", "dog")
    assert ms.robustness.evaluate(
        LabelsOnly(w), X, y, attacks=["hsj"], eps=1e-6, threshold=0.5, max_queries=500
    ).passed


def test_without_a_threshold_there_is_no_verdict(tmp_path, monkeypatch):
    """0% robust accuracy and no bar: measured, not judged, never a green PASSED."""
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MLSENTRY_AUDIT_LOG", str(log))
    model = Linear([1.0, -2.0])
    X = np.array([[1.0, 0.0], [0.0, -1.0], [2.0, 0.5]])
    rep = ms.robustness.evaluate(model, X, [1, 1, 1], attacks=["square"], eps=5.0)
    assert rep.robust_accuracy == [0.0]
    assert rep.passed is None and rep.verdict == "NO VERDICT"
    assert rep.summary().startswith("Robustness evaluation: NO VERDICT")
    assert "no threshold set" in rep.summary() and "PASSED" not in rep.summary()
    page = rep.to_html()
    assert 'badge none">NO VERDICT<' in page and "No threshold set" in page
    assert "PASSED" not in page
    assert json.loads(rep.to_json())["passed"] is None
    assert "mlsentry.robustness.passed" not in rep.metrics()
    assert rep.tags()["mlsentry.robustness.passed"] == "none"
    assert json.loads(log.read_text().splitlines()[-1])["event"]["passed"] is None
    # With a bar the report says which budgets missed it and by how much.
    judged = ms.robustness.evaluate(
        model, X, [1, 1, 1], attacks=["square"], eps=[1e-4, 5.0], threshold=0.1
    )
    assert judged.passed is False and judged.metrics()["mlsentry.robustness.passed"] == 0.0
    assert "NOT met at eps 5 (lower bound 0.000)" in judged.summary()
    assert "eps 0.0001" not in judged.summary().splitlines()[-1]
    assert "Threshold 0.1 on the lower 95% bound: NOT met at eps 5" in judged.to_html()


def test_one_class_in_y_is_fine():
    model = Linear([1.0, 1.0])
    X = np.full((5, 2), 3.0)
    rep = ms.robustness.evaluate(model, X, [1] * 5, attacks=["square"], eps=0.5)
    assert rep.robust_accuracy == [1.0]


class Flaky:
    def __init__(self):
        self.rng = np.random.default_rng(0)

    def __call__(self, x):
        s = self.rng.normal(size=len(x))
        return np.stack([-s, s], axis=1)


@pytest.mark.parametrize(
    ("model", "error", "match"),
    [
        (lambda x: np.zeros((len(x), 3, 1)), ModelError, "shape"),
        (lambda x: np.zeros((len(x) + 1, 2)), ModelError, "shape"),
        (lambda x: np.full((len(x), 2), np.nan), ModelError, "NaN"),
        (lambda x: np.zeros((len(x), 1)), ModelError, "at least 2"),
        (Flaky(), ModelError, "not deterministic"),
        (object(), InvalidTypeError, "model"),
    ],
)
def test_misbehaving_models(model, error, match):
    X = np.ones((4, 3))
    with pytest.raises(error, match=match):
        ms.robustness.evaluate(model, X, [0, 1, 0, 1], attacks=["square"], eps=0.1)


def test_a_model_that_raises_keeps_its_exception():
    calls = []

    def model(x):
        calls.append(len(x))
        if len(calls) > 2:
            raise RuntimeError("boom")
        return np.stack([-x[:, 0], x[:, 0]], axis=1)

    with pytest.raises(ModelError) as info:
        ms.robustness.evaluate(model, np.ones((4, 2)), [1] * 4, attacks=["square"], eps=5.0)
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.parametrize("fails_on_call", [1, 3])
def test_a_model_that_raises_gives_model_error_on_any_call(fails_on_call):
    """The clean predictions (the first call) and the attacks' calls fail alike."""
    calls = []

    def model(x):
        calls.append(len(x))
        if len(calls) == fails_on_call:
            raise ValueError("expected 2 features")
        return np.stack([-x[:, 0], x[:, 0]], axis=1)

    with pytest.raises(ModelError, match=r"raised ValueError on \d+ rows shaped") as info:
        ms.robustness.evaluate(model, np.ones((4, 2)), [1] * 4, attacks=["square"], eps=5.0)
    assert isinstance(info.value.__cause__, ValueError)


def test_a_model_that_works_in_place_changes_nothing_of_ours():
    X = np.array([[1.0, 0.0], [0.0, -1.0], [2.0, 0.5]])
    kept = X.copy()

    def vandal(x):
        s = x @ np.array([1.0, -2.0])
        x[:] = 1e6  # overwrites whatever it is given
        return np.stack([-s, s], axis=1)

    rep = ms.robustness.evaluate(vandal, X, [1, 1, 1], attacks=["square", "noise"], eps=0.1)
    np.testing.assert_array_equal(X, kept)
    assert rep.clean_accuracy == 1.0 and rep.robust_accuracy == [1.0]  # w.x >= 1 > 0.1 * 3


def test_a_wrong_gradient_is_named():
    model = Linear([1.0, -1.0])
    X = np.ones((3, 2))
    with pytest.raises(ModelError, match=r"grad_fn returned an array of shape \(3, 5\)"):
        ms.robustness.pgd(model, X, [1, 1, 1], eps=0.1, grad_fn=lambda x, y: np.ones((3, 5)))
    with pytest.raises(ModelError, match="grad_fn raised KeyError") as info:
        ms.robustness.pgd(model, X, [1, 1, 1], eps=0.1, grad_fn=lambda x, y: {}["k"])
    assert isinstance(info.value.__cause__, KeyError)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_queries": 2**70}, InvalidInputError, "max_queries: expected an int from 2 to"),
        ({"batch_size": 2**64}, InvalidInputError, "batch_size: expected an int from 1"),
        ({"eps": 0}, InvalidInputError, "eps"),
        ({"eps": -1.0}, InvalidInputError, "eps"),
        ({"eps": float("nan")}, InvalidInputError, "eps"),
        ({"eps": []}, InvalidInputError, "eps"),
        ({"norm": "l1"}, InvalidInputError, "norm"),
        ({"attacks": ["fgsm"]}, InvalidInputError, "unknown attack"),
        ({"max_queries": 1}, InvalidInputError, "max_queries"),
        ({"threshold": 2}, InvalidInputError, "threshold"),
        ({"X": np.array([[np.nan, 1.0]] * 4)}, InvalidInputError, "NaN"),
        ({"X": np.empty((0, 2))}, InvalidInputError, "no samples"),
        ({"X": np.array(["a"] * 4)}, InvalidTypeError, "numbers"),
        ({"y": [0, 1, 5, 1]}, InvalidInputError, "class index 5"),
        ({"y": [0, 1]}, InvalidInputError, "y"),
        ({"constraints": Constraints(upper=[1.0])}, InvalidInputError, "upper"),
        ({"constraints": Constraints(lower=2.0)}, InvalidInputError, "outside its bounds"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = {"model": Linear([1.0, -1.0]), "X": np.ones((4, 2)), "y": [0, 1, 0, 1]}
    args.update({k: kwargs.pop(k) for k in list(kwargs) if k in args})
    with pytest.raises(error, match=match):
        ms.robustness.evaluate(args["model"], args["X"], args["y"], **kwargs)


def test_readme_robustness_section_runs(tmp_path, monkeypatch, readme_blocks):
    blocks = readme_blocks("Robustness")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert (tmp_path / "robustness.html").exists()
    assert namespace["report"].calls < namespace["report"].queries


def test_a_dataframe_reaches_the_model_as_a_dataframe():
    """A scikit-learn pipeline keyed by column names: numbers attacked, text frozen."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "city": rng.choice(["a", "b", "c"], n),
            "income": rng.normal(50, 15, n),
        }
    )
    y = ((X["age"] - 40) / 10 + (X["income"] - 50) / 15 + (X["city"] == "a") > 0.5).astype(int)
    columns = ColumnTransformer(
        [("num", StandardScaler(), ["income", "age"]), ("cat", OneHotEncoder(), ["city"])]
    )
    pipe = make_pipeline(columns, LogisticRegression()).fit(X, y)
    kept = X.copy()
    res = ms.robustness.square(pipe, X[:40], y[:40], eps=8.0, max_queries=200)
    assert isinstance(res.adversarial, pd.DataFrame)
    assert list(res.adversarial.columns) == ["age", "city", "income"]
    assert (res.adversarial["city"].to_numpy() == X["city"][:40].to_numpy()).all()  # frozen
    assert res.success.any()
    fooled = res.adversarial[res.success]
    assert (pipe.predict(fooled) != y[:40][res.success].to_numpy()).all()
    pd.testing.assert_frame_equal(X, kept)
    rep = ms.robustness.evaluate(pipe, X[:40], y[:40], attacks=["noise"], eps=8.0)
    assert rep.clean_accuracy > 0.9 and rep.attacks[0].successes > 0
    # A model that cannot take the frame fails with ModelError on the first call.
    with pytest.raises(ModelError, match=r"raised .* on 40 rows shaped \(40, 3\) \(DataFrame\)"):
        ms.robustness.evaluate(lambda df: df.to_numpy() @ np.ones(3), X[:40], y[:40])


def test_clip_brings_rows_into_the_bounds():
    model = Linear([1.0, -1.0])
    X = np.array([[1.5, 0.2], [0.3, -0.4], [0.9, 0.1]])
    y = (model.margin(np.clip(X, 0, 1)) > 0).astype(int)
    with pytest.raises(InvalidInputError, match="outside its bounds"):
        ms.robustness.square(model, X, y, eps=0.1, constraints=Constraints(lower=0, upper=1))
    res = ms.robustness.square(
        model, X, y, eps=0.1, constraints=Constraints(lower=0, upper=1, clip=True)
    )
    assert res.adversarial.min() >= 0 and res.adversarial.max() <= 1
    assert res.features[0, 0] <= 1.0  # the row was clipped before the attack
