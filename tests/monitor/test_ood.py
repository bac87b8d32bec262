"""OODDetector: kNN scores equal PyOD's KNN to 1e-9; conformal p-values give the target
false-positive rate on held-out in-distribution rows (within 1 point at 1, 5, 10 %)."""

from __future__ import annotations

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError

OOD = ms.monitor.OODDetector


def test_knn_equals_pyod():
    knn = pytest.importorskip("pyod.models.knn")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 6))
    q = rng.normal(size=(400, 6)) * 1.5
    det = OOD.fit(x, "knn", k=7)
    fit_rows = x[det.fit_index]
    mu, sd = fit_rows.mean(axis=0), fit_rows.std(axis=0)
    peer = knn.KNN(n_neighbors=7, method="largest").fit((fit_rows - mu) / sd)
    want = peer.decision_function((q - mu) / sd)
    np.testing.assert_allclose(det.score(q), want, rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["knn", "mahalanobis", "isolation"])
def test_conformal_false_positive_rate(method):
    """Conformal p-values are uniform over draws of the training data: the false-positive
    rate on 5,000 held-out rows, averaged over 8 draws of 5,000 training rows (1,000 of
    them calibrating), is within 1 point of the target (its standard error is about 0.4
    points at 10 %)."""
    rng = np.random.default_rng(1)
    rates = []
    for s in range(8):
        x, held = rng.normal(size=(5000, 4)), rng.normal(size=(5000, 4))
        p = OOD.fit(x, method, seed=s).pvalues(held)
        rates.append([(p < a).mean() for a in (0.01, 0.05, 0.1)])
    np.testing.assert_allclose(np.mean(rates, axis=0), [0.01, 0.05, 0.1], atol=0.01)


@pytest.mark.parametrize("method", ["knn", "mahalanobis", "isolation"])
def test_outliers_get_small_pvalues(method):
    rng = np.random.default_rng(2)
    det = OOD.fit(rng.normal(size=(2000, 3)), method)
    p = det.pvalues(rng.normal(size=(50, 3)) + 6.0)
    assert (p < 0.01).all()
    assert p.min() >= 1 / (len(det.calibration_scores) + 1)


def test_msp_and_energy_from_model_outputs():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(3000, 4)) + np.array([4.0, 0, 0, 0])
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    msp = OOD.fit(probs, "msp")
    np.testing.assert_allclose(msp.score(probs[:5]), 1 - probs[:5].max(axis=1))
    flat = np.full((10, 4), 0.25)
    assert (msp.pvalues(flat) < 0.05).all()
    en = OOD.fit(logits, "energy", temperature=2.0)
    want = -2.0 * np.log(np.exp(logits[:5] / 2.0).sum(axis=1))
    np.testing.assert_allclose(en.score(logits[:5]), want, rtol=1e-12)
    assert (en.pvalues(np.zeros((10, 4))) < 0.05).all()


def test_l2_normalisation_and_determinism():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(500, 3))
    a = OOD.fit(x, "knn", normalize="l2", seed=3)
    b = OOD.fit(x, "knn", normalize="l2", seed=3)
    np.testing.assert_array_equal(a.score(x[:20]), b.score(x[:20]))
    assert a.score(x[:1] * 10.0)[0] == pytest.approx(a.score(x[:1])[0], abs=1e-12)


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda x: OOD.fit(x, "lof"), InvalidInputError, "method"),
        (lambda x: OOD.fit(x, normalize="minmax"), InvalidInputError, "normalize"),
        (lambda x: OOD.fit(x, calibration=1.5), InvalidInputError, "calibration"),
        (lambda x: OOD.fit(x[:3]), InvalidInputError, "too few"),
        (lambda x: OOD.fit(np.where(x > 1, np.nan, x)), InvalidInputError, "X_train"),
        (lambda x: OOD.fit(x.astype(str)), InvalidTypeError, "X_train"),
        (lambda x: OOD.fit(x).score(x[:, :2]), InvalidInputError, "3 features"),
        (lambda x: OOD.fit(x, k=0), InvalidInputError, "k"),
        (lambda x: OOD(), TypeError, "fit"),
    ],
)
def test_bad_input(call, err, match):
    x = np.random.default_rng(5).normal(size=(100, 3))
    with pytest.raises(err, match=match):
        call(x)
