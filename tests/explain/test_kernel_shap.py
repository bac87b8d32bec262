"""Kernel SHAP: the closed form of a linear model, shap.KernelExplainer with full
enumeration, sampled mode, batching and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError, ModelError


def _f(rows):
    return np.sin(rows[:, 0]) * rows[:, 1] + rows[:, 2] ** 2 - rows[:, 3] * rows[:, 4]


def _data(n=4, m=10, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(m, d))


def test_linear_model_closed_form():
    X, bg = _data(n=6, m=25, d=7)
    w = np.array([1.0, -2.0, 0.5, 0.0, 3.0, -0.25, 1.5])
    ex = ms.explain.kernel_shap(lambda r: r @ w + 4.0, X, bg)
    np.testing.assert_allclose(ex.values, w * (X - bg.mean(axis=0)), atol=1e-12)
    np.testing.assert_allclose(ex.base_values, (bg @ w + 4.0).mean(), atol=1e-12)
    assert ex.method == "kernel_exact"
    assert ex.efficiency_gap.max() < 1e-12


def test_exact_equals_shap_kernel_explainer():
    shap = pytest.importorskip("shap")
    X, bg = _data()
    ours = ms.explain.kernel_shap(_f, X, bg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = shap.KernelExplainer(_f, bg)
        values = ref.shap_values(X, nsamples=2**5 - 2, l1_reg=False, silent=True)
    np.testing.assert_allclose(ours.values, values, atol=1e-8, rtol=0)
    np.testing.assert_allclose(ours.base_values, ref.expected_value, atol=1e-12)


def test_exact_multi_output_equals_shap():
    shap = pytest.importorskip("shap")
    linear = pytest.importorskip("sklearn.linear_model")
    X, bg = _data(n=3, m=12, d=4, seed=1)
    y = (X[:, 0] + bg[:3, 1] > 0).astype(int)
    rng = np.random.default_rng(2)
    train = rng.normal(size=(200, 4))
    y = np.digitize(train[:, 0] + train[:, 1] * train[:, 2], [-0.5, 0.5])
    model = linear.LogisticRegression(max_iter=500).fit(train, y)
    ours = ms.explain.kernel_shap(model, X, bg)
    assert ours.values.shape == (3, 4, 3)
    assert ours.output_names == ["0", "1", "2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = shap.KernelExplainer(model.predict_proba, bg)
        values = ref.shap_values(X, nsamples=2**4 - 2, l1_reg=False, silent=True)
    np.testing.assert_allclose(ours.values, values, atol=1e-8, rtol=0)


def test_batches_do_not_change_the_result():
    X, bg = _data()
    calls = []

    def f(rows):
        calls.append(len(rows))
        return _f(rows)

    whole = ms.explain.kernel_shap(f, X, bg)
    assert calls[2:] == [4 * 30 * 10]  # X, background, then all 30 coalitions in one call
    calls.clear()
    small = ms.explain.kernel_shap(f, X, bg, batch_bytes=4 * 10 * 5 * 8 * 7)
    assert calls[2:] == [280, 280, 280, 280, 80]
    np.testing.assert_array_equal(whole.values, small.values)


def test_stacked_rows_into_a_buffer():
    from mlsentry import _core

    X, bg = _data(n=3, m=4, d=5)
    masks, _ = _core.kernel_coalitions(5, None, 0)
    batch = np.ascontiguousarray(masks[:7])
    fresh = _core.kernel_stack_rows(X, bg, batch)
    buffer = np.full((3 * 7 * 4, 5), np.nan)
    again = _core.kernel_stack_rows(X, bg, batch, buffer)
    assert again is buffer
    np.testing.assert_array_equal(buffer, fresh)
    # Row 1 of X, coalition 2, background row 3: X's values where the mask is 1.
    want = np.where(batch[2] == 1, X[1], bg[3])
    np.testing.assert_array_equal(buffer[(1 * 7 + 2) * 4 + 3], want)
    with pytest.raises(InvalidInputError, match="out"):
        _core.kernel_stack_rows(X, bg, batch, buffer[1:])
    with pytest.raises(InvalidTypeError, match="out"):
        _core.kernel_stack_rows(X, bg, batch, np.zeros((5, 3 * 7 * 4)).T)
    frozen = np.zeros_like(buffer)
    frozen.flags.writeable = False
    with pytest.raises(InvalidInputError, match="out"):
        _core.kernel_stack_rows(X, bg, batch, frozen)


def test_sampled_mode_is_close_and_seeded():
    rng = np.random.default_rng(3)
    d = 20
    X, bg = rng.normal(size=(3, d)), rng.normal(size=(8, d))
    w = rng.normal(size=d)

    def f(r):
        return r @ w + 0.3 * r[:, 0] * r[:, 1]

    a = ms.explain.kernel_shap(f, X, bg, nsamples=2000, seed=5)
    b = ms.explain.kernel_shap(f, X, bg, nsamples=2000, seed=5)
    assert a.method == "kernel_sampled" and a.seed == 5
    np.testing.assert_array_equal(a.values, b.values)
    # The linear part is recovered closely; the interaction splits between x0 and x1.
    lin = w * (X - bg.mean(axis=0))
    np.testing.assert_allclose(a.values[:, 2:], lin[:, 2:], atol=0.05)
    assert a.efficiency_gap.max() < 1e-9
    # 20 features: the cubic fit would have 1,350 terms; the linear fit is used.
    assert a.config["fit_order"] == 1
    # nsamples at or past 2^d - 2 enumerates every coalition.
    X, bg = _data()
    assert ms.explain.kernel_shap(_f, X, bg, nsamples=100).method == "kernel_exact"


def test_sampled_cubic_fit_is_exact_for_three_way_interactions():
    # A model made of products of at most three features has a game v(S) that is a
    # polynomial of degree 3 in the coalition's indicators (each factor is x_j or the
    # background's z_j): the third-order fit reproduces it from a sample, so the sampled
    # values equal the exact ones; the classic linear fit misses the three-way terms.
    rng = np.random.default_rng(11)
    d = 12
    X, bg = rng.normal(size=(4, d)), rng.normal(size=(15, d))
    w = rng.normal(size=d)

    def f(r):
        return (
            r @ w
            + r[:, 0] * r[:, 1] * r[:, 2]
            - 0.5 * r[:, 3] * r[:, 4] * r[:, 9]
            + r[:, 6] * r[:, 7]
        )

    exact = ms.explain.kernel_shap(f, X, bg, nsamples="exact")
    # 700 coalitions determine every term; 400 do not (the sizes taken whole and the
    # drawn ones leave some three-way terms free), and the small ridge that then keeps
    # those terms near zero costs about 1e-6.
    for n, seed, atol in ((700, 3, 1e-9), (700, 4, 1e-9), (400, 0, 1e-5)):
        sampled = ms.explain.kernel_shap(f, X, bg, nsamples=n, seed=seed)
        assert sampled.method == "kernel_sampled" and sampled.config["fit_order"] == 3
        assert sampled.config["coalitions"] == n
        np.testing.assert_allclose(sampled.values, exact.values, atol=atol)
        assert sampled.efficiency_gap.max() < 1e-9
    # Below 1.25 times the 298 terms the linear fit is used, and it is not exact here.
    few = ms.explain.kernel_shap(f, X, bg, nsamples=300, seed=0)
    assert few.config["fit_order"] == 1
    assert np.abs(few.values - exact.values).max() > 1e-3


def test_sampled_values_approach_the_exact_ones_on_a_smooth_model():
    # A logistic model: interactions of every order, small beyond three features. The
    # error of the sampled values against the exact ones falls as coalitions are added.
    rng = np.random.default_rng(5)
    d = 10
    X, bg = rng.normal(size=(6, d)), rng.normal(size=(20, d))
    w = rng.normal(size=d)

    def f(r):
        return 1.0 / (1.0 + np.exp(-(r @ w)))

    exact = ms.explain.kernel_shap(f, X, bg).values
    errors = [
        np.sqrt(np.mean((ms.explain.kernel_shap(f, X, bg, nsamples=n, seed=1).values - exact) ** 2))
        for n in (300, 600, 1000)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] < 0.01 * np.abs(exact).max()


def test_dataframe_reaches_the_model_as_a_dataframe():
    pd = pytest.importorskip("pandas")
    X, bg = _data(d=3)
    cols = ["a", "b", "c"]

    def f(frame):
        assert list(frame.columns) == cols
        return frame["a"].to_numpy() * 2 - frame["c"].to_numpy()

    ex = ms.explain.kernel_shap(f, pd.DataFrame(X, columns=cols), pd.DataFrame(bg, columns=cols))
    assert ex.feature_names == cols
    want = np.array([2.0, 0.0, -1.0]) * (X - bg.mean(axis=0))
    np.testing.assert_allclose(ex.values, want, atol=1e-12)


def test_bad_input():
    X, bg = _data()
    with pytest.raises(InvalidInputError, match="background: 4 features"):
        ms.explain.kernel_shap(_f, X, bg[:, :4])
    with pytest.raises(InvalidInputError, match="background: no rows"):
        ms.explain.kernel_shap(_f, X, bg[:0])
    with pytest.raises(InvalidInputError, match="X: 1 NaN"):
        bad = X.copy()
        bad[0, 0] = np.nan
        ms.explain.kernel_shap(_f, bad, bg)
    with pytest.raises(InvalidInputError, match="nsamples"):
        ms.explain.kernel_shap(_f, X, bg, nsamples="many")
    with pytest.raises(InvalidTypeError, match="nsamples"):
        ms.explain.kernel_shap(_f, X, bg, nsamples=2.5)
    with pytest.raises(InvalidTypeError, match="model"):
        ms.explain.kernel_shap(object(), X, bg)
    with pytest.raises(ModelError, match="NaN"):
        ms.explain.kernel_shap(lambda r: np.full(len(r), np.nan), X, bg)
    with pytest.raises(ModelError, match="rows gave outputs"):
        ms.explain.kernel_shap(lambda r: np.zeros(3), X, bg)
    with pytest.raises(InvalidInputError, match="X: no rows"):
        ms.explain.kernel_shap(_f, X[:0], bg)
