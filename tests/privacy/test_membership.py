"""ms.privacy.membership_inference on scikit-learn and small numpy models, and its
PrivacyReport."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError, ModelError
from mlsentry.privacy import PrivacyReport


def _data(n=600, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n, n_features=20, n_informative=8, flip_y=0.15, random_state=seed
    )
    h = n // 2
    return X[:h], y[:h], X[h:], y[h:]


def _mlp(X, y, seed=0):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(
            (64,), alpha=1e-6, solver="lbfgs", max_iter=300, random_state=seed
        ).fit(X, y)


def _logreg(X, y):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.01).fit(X, y)


class Memoriser:
    """Probabilities from the distance to the nearest training record of each class: a
    model that leaks by construction (numpy only, fast)."""

    def __init__(self, X, y, k=2, sharpness=3.0):
        self.X, self.y, self.k, self.s = np.asarray(X, float), np.asarray(y), k, sharpness

    def __call__(self, X):
        d = ((np.asarray(X)[:, None, :] - self.X[None, :, :]) ** 2).sum(-1)
        logits = np.stack(
            [
                -self.s * d[:, self.y == c].min(axis=1)
                if (self.y == c).any()
                else np.full(len(X), -1e3)
                for c in range(self.k)
            ],
            axis=1,
        )
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def _small(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2 * n, d))
    y = (X[:, 0] + 0.8 * rng.normal(size=2 * n) > 0).astype(int)
    return X[:n], y[:n], X[n:], y[n:]


def test_lira_beats_loss_on_an_overfit_mlp_and_logistic_regression_leaks_less():
    Xm, ym, Xn, yn = _data()
    attacks = ("loss", "lira", "rmia")
    with threadpool_limits(1):
        mlp = _mlp(Xm, ym)
        rep_mlp = ms.privacy.membership_inference(
            mlp, Xm, ym, Xn, yn, attacks=attacks, train_fn=_mlp, n_reference=8
        )
        lr = _logreg(Xm, ym)
        rep_lr = ms.privacy.membership_inference(
            lr, Xm, ym, Xn, yn, attacks=attacks, train_fn=_logreg, n_reference=8
        )
    a = rep_mlp.attacks
    # The overfit MLP is sure of nearly every record, so the loss ties at the top and
    # finds nothing at 1% FPR; LiRA's per-record calibration does.
    assert a["lira"].tpr_at(0.01) > a["loss"].tpr_at(0.01)
    assert a["lira"].tpr > a["loss"].tpr
    for name in ("loss", "rmia"):
        assert rep_mlp.attacks[name].auc > rep_lr.attacks[name].auc
    assert rep_mlp.references["n_reference"] == 8
    assert rep_mlp.references["fix_variance"] is True  # below 64 reference models
    assert len(rep_mlp.references["seeds"]) == 8


def test_the_reference_split_puts_every_record_in_half_the_models():
    from mlsentry.privacy.membership import reference_split

    keep = reference_split(101, 8, seed=3)
    assert keep.shape == (8, 101)
    assert (keep.sum(axis=0) == 4).all()
    assert abs(keep.sum(axis=1).mean() - 101 / 2) < 1
    np.testing.assert_array_equal(keep, reference_split(101, 8, seed=3))
    assert not np.array_equal(keep, reference_split(101, 8, seed=4))


def test_signal_attacks_match_their_definitions():
    Xm, ym, Xn, yn = _small()
    model = Memoriser(Xm, ym)
    rep = ms.privacy.membership_inference(
        model, Xm, ym, Xn, yn, attacks=("loss", "confidence", "entropy", "modified_entropy")
    )
    p = model(np.r_[Xm, Xn])
    y = np.r_[ym, yn]
    py = p[np.arange(y.size), y]
    member = np.r_[np.ones(len(ym), bool), np.zeros(len(yn), bool)]
    want = {
        "loss": np.log(np.maximum(py, 1e-30)),
        "confidence": py,
        "entropy": np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0), axis=1),
        "modified_entropy": (1 - py) * np.log(np.maximum(py, 1e-30))
        + np.sum(
            np.where(np.arange(2)[None, :] != y[:, None], p, 0) * np.log(np.maximum(1 - p, 1e-30)),
            axis=1,
        ),
    }
    for name, scores in want.items():
        r = ms.privacy.roc(scores, member)
        assert rep.attacks[name].auc == pytest.approx(r.auc, abs=1e-12)
        np.testing.assert_array_equal(rep.attacks[name].roc.tp, r.tp)
    assert rep.attacks["loss"].auc > 0.6  # the memoriser leaks


class SureBinary:
    """A binary model that returns ``[1 - q, q]`` as scikit-learn's logistic output does:
    for records it is sure of (``q`` below 1.1e-16) the true class's probability rounds
    to 1.0 and only ``q`` tells the records apart."""

    def __init__(self, q):
        self.q = q

    def __call__(self, X):
        q = self.q[np.asarray(X)[:, 0].astype(int)]
        return np.stack([1.0 - q, q], axis=1)


def test_loss_of_sure_answers_is_computed_from_the_other_classes():
    # Members fitted harder (q ~ 1e-22..1e-19) than non-members (q ~ 1e-19..3e-17): every
    # p_y rounds to 1.0, so log(p_y) would tie all records at 0 (AUC 0.5); the loss from
    # log1p(-q) ranks them exactly.
    rng = np.random.default_rng(0)
    n = 200
    q = np.r_[10 ** rng.uniform(-22, -19, n), 10 ** rng.uniform(-19, -16.5, n)]
    assert (1.0 - q == 1.0).all()
    X = np.arange(2 * n, dtype=float)[:, None]
    y = np.zeros(2 * n, dtype=int)
    rep = ms.privacy.membership_inference(
        SureBinary(q), X[:n], y[:n], X[n:], y[n:], attacks=("loss", "confidence")
    )
    assert rep.attacks["loss"].auc == 1.0
    assert rep.attacks["loss"].tpr_at(0.01) == 1.0
    assert rep.attacks["confidence"].auc == 0.5  # the probability itself is all ties
    top = rep.attacks["loss"].exposed[0]
    assert top["record"] == int(np.argmin(q[:n]))
    assert top["score"] == pytest.approx(-q[:n].min(), rel=1e-12)


def test_report_numbers_match_their_definitions():
    # The one-call summaries against ms.privacy.roc of the whole and of each class, the
    # Clopper-Pearson interval and epsilon of the chosen point, and a stable sort.
    rng = np.random.default_rng(1)
    n1, n0, k = 300, 400, 3
    ym, yn = rng.integers(0, k, n1), rng.integers(0, k, n0)
    scores = np.round(rng.normal(size=n1 + n0) + 0.5 * np.r_[np.ones(n1), np.zeros(n0)], 1)
    member = np.r_[np.ones(n1, bool), np.zeros(n0, bool)]
    labels = np.r_[ym, yn]
    rep = ms.privacy.membership_report(
        {"s": scores, "minus": -scores}, member, labels, at_fpr=0.05, confidence=0.9
    )
    for name, sc in (("s", scores), ("minus", -scores)):
        a = rep.attacks[name]
        r = ms.privacy.roc(sc, member)
        np.testing.assert_array_equal(a.roc.tp, r.tp)
        np.testing.assert_array_equal(a.roc.fp, r.fp)
        np.testing.assert_array_equal(a.roc.thresholds, r.thresholds)
        assert a.auc == r.auc and a.tpr == r.tpr_at(0.05)
        assert a.tpr_interval == r.tpr_interval(0.05, 0.9)
        assert a.epsilon == r.epsilon(0.05, 1e-5, 0.9)
        want = []
        for c in range(k):
            rc = ms.privacy.roc(sc[labels == c], member[labels == c])
            want.append(
                {
                    "label": c,
                    "n_members": rc.n_members,
                    "n_nonmembers": rc.n_nonmembers,
                    "auc": rc.auc,
                    "tpr": rc.tpr_at(0.05),
                }
            )
        assert a.per_class == want
        top = np.flatnonzero(member)[np.argsort(-sc[member], kind="stable")[:10]]
        assert [e["record"] for e in a.exposed] == top.tolist()
        assert [e["label"] for e in a.exposed] == labels[top].tolist()
        assert [e["score"] for e in a.exposed] == sc[top].tolist()


def test_label_only_uses_hop_skip_jump_and_counts_queries():
    Xm, ym, Xn, yn = _small(n=40)
    model = Memoriser(Xm, ym)

    class LabelsOnly:
        def predict(self, X):
            return model(X).argmax(axis=1)

    params = {"max_iter": 5, "max_eval": 60, "init_eval": 20}
    rep = ms.privacy.membership_inference(
        LabelsOnly(), Xm, ym, Xn, yn, attacks=("label_only",), label_only_params=params
    )
    a = rep.attacks["label_only"]
    assert a.queries > 0 and 0 < a.calls < a.queries
    assert a.auc > 0.6
    again = ms.privacy.membership_inference(
        LabelsOnly(), Xm, ym, Xn, yn, attacks=("label_only",), label_only_params=params
    )
    np.testing.assert_array_equal(again.attacks["label_only"].roc.tp, a.roc.tp)
    with pytest.raises(InvalidTypeError, match="label_only"):
        ms.privacy.membership_inference(LabelsOnly(), Xm, ym, Xn, yn, attacks=("loss",))


def test_label_only_scores_are_the_exact_distance_to_a_linear_boundary():
    # A logistic model: the L2 distance of x to its boundary is |w.x + b| / |w|. With the
    # default budget (10 iterations) every score is that distance to within a few percent,
    # never below it; a misclassified record scores 0. ART's HopSkipJump returns the point
    # after its last step, about a third beyond the boundary here.
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=20), 0.3
    X = rng.normal(size=(20, 20))
    y = (X @ w + b > 0).astype(int)
    y[[4, 15]] = 1 - y[[4, 15]]  # one misclassified member, one non-member

    def model(x):
        p1 = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        return np.stack([1.0 - p1, p1], axis=1)

    rep = ms.privacy.membership_inference(
        model, X[:10], y[:10], X[10:], y[10:], attacks=("label_only",)
    )
    exposed = rep.attacks["label_only"].exposed
    assert sorted(e["record"] for e in exposed) == list(range(10))
    exact = np.abs(X @ w + b) / np.linalg.norm(w)
    score = np.array([e["score"] for e in sorted(exposed, key=lambda e: e["record"])])
    assert score[4] == 0.0
    ratio = np.delete(score / exact[:10], 4)
    assert (ratio >= 1 - 1e-9).all(), ratio
    assert ratio.max() < 1.04 and np.median(ratio) < 1.02, ratio


def _train_memoriser(X, y):
    return Memoriser(X, y)


def test_reproducible_with_seed():
    Xm, ym, Xn, yn = _small()
    model = Memoriser(Xm, ym)
    kw = {
        "attacks": ("lira", "lira_offline", "rmia"),
        "train_fn": _train_memoriser,
        "n_reference": 4,
    }
    one = ms.privacy.membership_inference(model, Xm, ym, Xn, yn, seed=5, **kw).to_dict()
    two = ms.privacy.membership_inference(model, Xm, ym, Xn, yn, seed=5, **kw).to_dict()
    three = ms.privacy.membership_inference(model, Xm, ym, Xn, yn, seed=6, **kw).to_dict()
    for d in (one, two, three):
        d.pop("created")
    assert one == two
    assert one["references"]["reference_in"] != three["references"]["reference_in"]


def test_train_fn_gets_a_seed_when_it_takes_one():
    Xm, ym, Xn, yn = _small()
    seen = []

    def train(X, y, seed):
        seen.append(seed)
        return Memoriser(X, y)

    rep = ms.privacy.membership_inference(
        Memoriser(Xm, ym),
        Xm,
        ym,
        Xn,
        yn,
        attacks=("lira_offline",),
        train_fn=train,
        n_reference=4,
    )
    assert seen == rep.references["seeds"] and len(set(seen)) == 4


def test_report_round_trip_html_metrics_and_verdicts(tmp_path):
    Xm, ym, Xn, yn = _small()
    model = Memoriser(Xm, ym)
    rep = ms.privacy.membership_inference(
        model,
        Xm,
        ym,
        Xn,
        yn,
        attacks=("loss", "confidence", "lira"),
        train_fn=_train_memoriser,
        threshold=0.999,
    )
    assert rep.passed is True
    path = tmp_path / "privacy.json"
    rep.save(path)
    back = ms.Report.load(path)
    assert isinstance(back, PrivacyReport)
    assert back.to_dict() == rep.to_dict()
    assert back.attacks["lira"].tpr_at(0.01) == rep.attacks["lira"].tpr_at(0.01)
    page = rep.to_html()
    assert "<svg" in page and "<script" not in page and "lira" in page
    assert "1e-" in page  # log axes
    m = rep.metrics()
    assert m["mlsentry.privacy.passed"] == 1.0
    assert m["mlsentry.privacy.loss.tpr"] == rep.attacks["loss"].tpr
    assert "mlsentry.privacy.lira.epsilon" in m
    json.loads(rep.to_json())
    strict = ms.privacy.membership_inference(
        model, Xm, ym, Xn, yn, attacks=("loss",), threshold=0.0
    )
    worst = strict.attacks["loss"].tpr
    assert strict.passed is (worst <= 0.0)
    none = ms.privacy.membership_inference(model, Xm, ym, Xn, yn, attacks=("loss",))
    assert none.passed is None and "mlsentry.privacy.passed" not in none.metrics()
    a = rep.attacks["loss"]
    assert a.per_class and {c["label"] for c in a.per_class} == {0, 1}
    assert len(a.exposed) == 10
    assert a.exposed[0]["score"] == max(e["score"] for e in a.exposed)
    assert "loss" in rep.summary()
    df = rep.to_pandas()
    assert list(df.index) == ["loss", "confidence", "lira"]


def test_pandas_input():
    pd = pytest.importorskip("pandas")
    Xm, ym, Xn, yn = _small()
    model = Memoriser(Xm, ym)
    cols = ["a", "b", "c"]

    def frame_model(df):
        assert list(df.columns) == cols
        return model(df.to_numpy())

    rep = ms.privacy.membership_inference(
        frame_model,
        pd.DataFrame(Xm, columns=cols),
        ym,
        pd.DataFrame(Xn, columns=cols),
        yn,
        attacks=("loss",),
    )
    assert rep.attacks["loss"].auc > 0.6


def test_bad_inputs():
    Xm, ym, Xn, yn = _small()
    model = Memoriser(Xm, ym)
    mi = ms.privacy.membership_inference
    with pytest.raises(InvalidInputError, match="y_members"):
        mi(model, Xm, ym[:-1], Xn, yn, attacks=("loss",))
    with pytest.raises(InvalidInputError, match="X_members and X_nonmembers"):
        mi(model, Xm, ym, Xn[:, :2], yn, attacks=("loss",))
    with pytest.raises(InvalidInputError, match="both need records"):
        mi(model, Xm, ym, Xn[:0], yn[:0], attacks=("loss",))
    with pytest.raises(InvalidInputError, match="unknown attack"):
        mi(model, Xm, ym, Xn, yn, attacks=("nope",))
    with pytest.raises(InvalidInputError, match="needs reference models"):
        mi(model, Xm, ym, Xn, yn, attacks=("lira",))
    with pytest.raises(InvalidInputError, match="at_fpr"):
        mi(model, Xm, ym, Xn, yn, attacks=("loss",), at_fpr=2.0)
    with pytest.raises(InvalidInputError, match="n_reference"):
        mi(model, Xm, ym, Xn, yn, attacks=("lira",), train_fn=_train_memoriser, n_reference=1)
    with pytest.raises(InvalidTypeError, match="train_fn"):
        mi(model, Xm, ym, Xn, yn, attacks=("lira",), train_fn=3)
    X_nan = Xm.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        mi(model, X_nan, ym, Xn, yn, attacks=("loss",))
    # Probabilities that do not sum to 1 (logits).
    with pytest.raises(ModelError, match="not a probability vector"):
        mi(lambda X: np.log(model(X) + 1e-9), Xm, ym, Xn, yn, attacks=("loss",))
    # One class column only.
    with pytest.raises(ModelError, match="at least 2 class columns"):
        mi(lambda X: np.ones((len(X), 1)), Xm, ym, Xn, yn, attacks=("loss",))

    def failing(X, y):
        raise RuntimeError("out of memory")

    with pytest.raises(ModelError, match=r"train_fn raised RuntimeError.*out of memory"):
        mi(model, Xm, ym, Xn, yn, attacks=("lira",), train_fn=failing)
    with pytest.raises(ModelError, match="returned None"):
        mi(model, Xm, ym, Xn, yn, attacks=("lira",), train_fn=lambda X, y: None)
