"""Robustness: how easily is this model fooled?

Black-box adversarial attacks on any model, run in Rust for all samples at once: every
round of an attack sends one batch with the rows all still-active samples need, so the
model is called a few hundred times where per-sample tools call it tens of thousands of
times. The GIL is held only while the model runs. Every attack is seeded and bounded by
``max_queries`` rows per sample, counts every row it sends, projects each candidate onto
the :class:`Constraints`, and counts an adversarial example only after a fresh model call
confirms it.

The model
---------
Any of: a callable ``X -> scores`` of shape ``(n, k)`` (probabilities or logits); an
object with ``predict_proba`` (scikit-learn); an object with ``predict`` returning labels
(then only the decision-based attacks apply: :func:`hop_skip_jump` and :func:`noise`).
It receives rows shaped and typed like ``X`` (``float32`` stays ``float32``). Labels
``y`` are class indices ``0..k-1``, or the model's own labels when it has ``classes_``.

Budgets
-------
``eps`` bounds ``||(x_adv - x) / scale||`` in the ``norm`` (``"linf"`` or ``"l2"``), with
``scale`` from the constraints (1 by default; ``scale="std"``: each feature's standard
deviation, so ``eps`` counts standard deviations).

>>> import numpy as np, mlsentry as ms
>>> w = np.array([1.0, -2.0])
>>> def model(x):  # a linear classifier: class 1 when w.x > 0
...     s = x @ w
...     return np.stack([-s, s], axis=1)
>>> X = np.array([[1.0, 0.0], [0.0, -1.0]]); y = np.array([1, 1])
>>> res = ms.robustness.square(model, X, y, eps=0.5, max_queries=200)
>>> res.success.tolist()   # w.x = 1 and 2; the exact L-inf distances are 1/3 and 2/3
[True, False]
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional

import numpy as np

from . import _core
from ._args import check_int, check_positive
from ._progress import ProgressArg, progress_callback
from .errors import InvalidInputError, InvalidTypeError, ModelError

__all__ = [
    "ATTACKS",
    "AttackResult",
    "Constraints",
    "RobustnessReport",
    "evaluate",
    "hop_skip_jump",
    "noise",
    "pgd",
    "square",
]

#: The attacks, by the names :func:`evaluate` takes (``"hsj"`` is ``"hop_skip_jump"``).
ATTACKS = ("noise", "square", "hop_skip_jump", "pgd")
_ALIASES = {"hsj": "hop_skip_jump", "hopskipjump": "hop_skip_jump"}
_NORMS = ("linf", "l2")


# --------------------------------------------------------------------------- inputs


@dataclasses.dataclass(frozen=True)
class _Data:
    """``X`` as the core takes it: float64 rows, flattened; and how to give rows back."""

    flat: np.ndarray  # (n, d) float64, C-contiguous
    shape: tuple[int, ...]  # one sample's shape
    dtype: np.dtype

    @property
    def n(self) -> int:
        return self.flat.shape[0]

    @property
    def d(self) -> int:
        return self.flat.shape[1]

    def unflatten(self, rows: np.ndarray) -> np.ndarray:
        return rows.reshape((rows.shape[0], *self.shape)).astype(self.dtype, copy=False)


def _as_data(X: Any) -> _Data:
    try:
        arr = np.asarray(X)
    except Exception as e:
        raise InvalidTypeError(f"X: cannot convert to an array ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise InvalidTypeError(f"X: expected numbers, got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise InvalidInputError(
            f"X: expected one row per sample (n, features) or images (n, ...), got shape "
            f"{arr.shape}"
        )
    if arr.shape[0] == 0:
        raise InvalidInputError("X: no samples")
    flat = np.ascontiguousarray(arr.reshape(arr.shape[0], -1), dtype=np.float64)
    if flat.shape[1] == 0:
        raise InvalidInputError(f"X: samples have no features (shape {arr.shape})")
    bad = ~np.isfinite(flat)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InvalidInputError(
            f"X: {int(bad.sum())} NaN or infinite value(s), the first at sample {i}, "
            f"feature {j}; attacks need finite inputs"
        )
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
    return _Data(flat, tuple(arr.shape[1:]), dtype)


def _to_numpy(out: Any) -> np.ndarray:
    if hasattr(out, "detach") and hasattr(out, "cpu"):  # a torch tensor
        out = out.detach().cpu().numpy()
    return np.asarray(out)


class _Model:
    """The user's model as the core calls it: float64 rows in; float64 scores ``(n, k)``
    or int64 class indices ``(n,)`` out."""

    def __init__(self, model: Any, data: _Data) -> None:
        self.data = data
        self.classes = getattr(model, "classes_", None)
        if hasattr(model, "predict_proba"):
            self.fn, self.kind = model.predict_proba, "predict_proba"
        elif callable(model):
            self.fn, self.kind = model, "callable"
        elif hasattr(model, "predict"):
            self.fn, self.kind = model.predict, "predict"
        else:
            raise InvalidTypeError(
                "model: expected a callable X -> scores, or an object with predict_proba or "
                f"predict, got {type(model).__name__}"
            )
        if self.classes is not None:
            self.classes = np.asarray(self.classes)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        n = rows.shape[0]
        out = _to_numpy(self.fn(self.data.unflatten(rows)))
        if out.ndim == 2 and out.shape[0] == n and out.dtype.kind in "biuf":
            return np.ascontiguousarray(out, dtype=np.float64)
        if out.ndim == 1 and out.shape[0] == n:
            return self._label_indices(out)
        raise ModelError(
            f"the model ({self.kind}) returned an array of shape {out.shape} and dtype "
            f"{out.dtype} for {n} rows; expected scores of shape ({n}, k) or {n} labels"
        )

    def _label_indices(self, labels: np.ndarray) -> np.ndarray:
        if self.classes is not None:
            idx = np.searchsorted(self.classes, labels)
            idx = np.clip(idx, 0, len(self.classes) - 1)
            known = self.classes[idx] == labels
            return np.where(known, idx, -1).astype(np.int64)
        if labels.dtype.kind in "iu" or (
            labels.dtype.kind == "f" and np.all(labels == np.round(labels))
        ):
            return labels.astype(np.int64)
        raise ModelError(
            f"the model returned {labels.dtype} values of shape {labels.shape}: labels must be "
            "class indices (or the model needs classes_), scores must be (n, k)"
        )

    def label_of(self, y: Any, n: int) -> np.ndarray:
        """``y`` as class indices."""
        arr = np.asarray(y)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise InvalidInputError(
                f"y: expected {n} labels (one per sample), got shape {arr.shape}"
            )
        if self.classes is not None:
            idx = self._label_indices(arr)
            unknown = arr[idx < 0]
            if unknown.size:
                raise InvalidInputError(
                    f"y: labels {sorted(set(unknown.tolist()))[:5]} are not among the model's "
                    f"classes {self.classes.tolist()[:20]}"
                )
            return idx
        if arr.dtype.kind not in "iu" and not (
            arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
        ):
            raise InvalidInputError(
                "y: expected class indices 0..k-1 (the model has no classes_), got dtype "
                f"{arr.dtype}"
            )
        if (arr < 0).any():
            raise InvalidInputError(f"y: negative class index {int(arr.min())}")
        return arr.astype(np.int64)


def _predict(model: _Model, rows: np.ndarray, batch_size: int) -> tuple[np.ndarray, int]:
    """Predicted class indices of ``rows`` (in batches) and the number of classes seen."""
    step = batch_size or rows.shape[0]
    preds, k = [], 0
    for start in range(0, rows.shape[0], step):
        out = model(rows[start : start + step])
        if out.ndim == 2:
            if out.shape[1] < 2:
                raise ModelError(
                    f"the model returned {out.shape[1]} score column(s); a classifier needs "
                    "at least 2 (one per class)"
                )
            if not np.all(np.isfinite(out)):
                raise ModelError("the model returned NaN or infinite scores")
            k = max(k, out.shape[1])
            preds.append(np.argmax(out, axis=1))
        else:
            if (out < 0).any():
                raise ModelError("the model returned labels outside its classes")
            preds.append(out)
    return np.concatenate(preds).astype(np.int64), k


# --------------------------------------------------------------------------- constraints


def _per_feature(value: Any, d: int, name: str, default: Any, dtype: Any) -> np.ndarray:
    if value is None:
        return np.full(d, default, dtype=dtype)
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        return np.full(d, arr.item(), dtype=dtype)
    arr = arr.reshape(-1)
    if arr.size != d:
        raise InvalidInputError(f"constraints: {name} has {arr.size} values for {d} features")
    return arr


@dataclasses.dataclass(frozen=True)
class Constraints:
    """What an adversarial row may look like: bounds, fixed, integer and one-hot features.

    Parameters
    ----------
    lower, upper : float or array-like, optional
        Bounds per feature (a scalar applies to all); default unbounded. Image pixels in
        [0, 1]: ``Constraints(lower=0, upper=1)``.
    mutable : array-like of bool, optional
        Features an attack may change (default all). Immutable ones never move.
    integer : array-like of bool, optional
        Features that stay whole numbers (default none).
    one_hot_groups : sequence of sequences of int
        Groups of feature indices that encode one category (one-hot); they stay one-hot,
        and switch category only when the switch fits in the budget.
    scale : "std", float or array-like, optional
        The unit of ``eps`` per feature. ``"std"``: each feature's standard deviation in
        ``X`` (a feature with none cannot move). Default 1.

    Every candidate is projected onto the constraints (immutable features reset,
    budget, bounds, integers rounded, one-hot groups settled) before the model sees it,
    and an adversarial example counts only if it satisfies them.

    Examples
    --------
    >>> import mlsentry as ms
    >>> c = ms.robustness.Constraints(lower=0, upper=1, mutable=[True, False, True])
    >>> c.mutable
    [True, False, True]
    """

    lower: Any = None
    upper: Any = None
    mutable: Any = None
    integer: Any = None
    one_hot_groups: Sequence[Sequence[int]] = ()
    scale: Any = None

    def _resolve(self, data: _Data) -> tuple[list, list, list, list, list, list]:
        d = data.d
        lower = _per_feature(self.lower, d, "lower", -np.inf, np.float64)
        upper = _per_feature(self.upper, d, "upper", np.inf, np.float64)
        mutable = _per_feature(self.mutable, d, "mutable", True, bool)
        integer = _per_feature(self.integer, d, "integer", False, bool)
        if isinstance(self.scale, str):
            if self.scale != "std":
                raise InvalidInputError(
                    f'constraints: scale must be "std" or numbers, got {self.scale!r}'
                )
            scale = data.flat.std(axis=0)
            constant = scale == 0
            scale[constant] = 1.0
            mutable = mutable & ~constant
        else:
            scale = _per_feature(self.scale, d, "scale", 1.0, np.float64)
        groups = []
        for g in self.one_hot_groups:
            idx = [int(j) for j in g]
            if any(j < 0 or j >= d for j in idx):
                raise InvalidInputError(
                    f"constraints: one-hot group {idx} names a feature outside 0..{d - 1}"
                )
            groups.append(idx)
        return (
            lower.tolist(),
            upper.tolist(),
            mutable.tolist(),
            integer.tolist(),
            groups,
            scale.tolist(),
        )

    def _scale(self, data: _Data) -> np.ndarray:
        return np.asarray(self._resolve(data)[5])


def _constraints(constraints: Optional[Constraints]) -> Constraints:
    if constraints is None:
        return Constraints()
    if not isinstance(constraints, Constraints):
        raise InvalidTypeError(
            f"constraints: expected ms.robustness.Constraints, got {type(constraints).__name__}"
        )
    return constraints


# --------------------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True)
class AttackResult:
    """One attack on a set of samples.

    Attributes
    ----------
    attack : str
        ``"noise"``, ``"square"``, ``"hop_skip_jump"`` or ``"pgd"``.
    norm : str
        ``"linf"`` or ``"l2"``.
    eps : float or None
        The budget (``None`` for the minimum-norm :func:`hop_skip_jump`).
    adversarial : numpy.ndarray
        Shaped and typed like ``X``: the adversarial example of each sample, or the
        sample itself where the attack failed.
    success : numpy.ndarray of bool
        Whether a feasible adversarial example was found and confirmed by a fresh call.
    distance : numpy.ndarray of float
        ``||(adversarial - x) / scale||`` in ``norm`` (NaN where it failed).
    queries : numpy.ndarray of int
        Rows sent per sample, the confirmation included.
    calls, rows : int
        Model calls and rows sent in all.
    seconds : float
        Wall time.
    changed : numpy.ndarray of float or None
        :func:`noise` only: the share of each sample's noisy copies whose prediction
        differs from its label.
    params : dict
        The settings the attack ran with (seed included).
    """

    attack: str
    norm: str
    eps: Optional[float]
    adversarial: np.ndarray
    success: np.ndarray
    distance: np.ndarray
    queries: np.ndarray
    calls: int
    rows: int
    seconds: float
    params: dict[str, Any]
    changed: Optional[np.ndarray] = None

    @property
    def success_rate(self) -> float:
        """Share of the attacked samples with a confirmed adversarial example."""
        return float(self.success.mean()) if self.success.size else 0.0

    def __repr__(self) -> str:
        return (
            f"AttackResult({self.attack}, {self.norm}, eps={self.eps}, "
            f"success {int(self.success.sum())}/{self.success.size}, calls={self.calls}, "
            f"rows={self.rows})"
        )


def _distances(data: _Data, adv_flat: np.ndarray, scale: np.ndarray, norm: str, ok: np.ndarray):
    delta = (adv_flat - data.flat) / scale
    dist = np.linalg.norm(delta, axis=1) if norm == "l2" else np.abs(delta).max(axis=1)
    return np.where(ok, dist, np.nan)


def _check_norm(norm: Any) -> str:
    if norm not in _NORMS:
        raise InvalidInputError(f'norm: expected "linf" or "l2", got {norm!r}')
    return str(norm)


def _check_eps(eps: Any, name: str = "eps") -> float:
    return check_positive(eps, name)


def _check_count(value: Any, name: str, minimum: int = 1) -> int:
    return check_int(value, name, minimum)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise InvalidInputError(f"seed: expected an int in [0, 2**64), got {seed!r}")
    return int(seed)


def _image_layout(data: _Data, layout: str) -> Optional[tuple[int, int, int, bool]]:
    shape = data.shape
    if layout == "flat" or len(shape) == 1:
        return None
    if len(shape) == 2:  # (h, w) grayscale
        return (shape[0], shape[1], 1, True)
    if len(shape) != 3:
        raise InvalidInputError(f"X: images must be (n, h, w, c) or (n, c, h, w), got {shape}")
    if layout == "auto":
        last, first = shape[2] in (1, 3, 4), shape[0] in (1, 3, 4)
        if last == first:
            raise InvalidInputError(
                f"X: cannot tell the channel axis of images of shape {shape}; pass "
                'layout="nhwc" or "nchw"'
            )
        layout = "nhwc" if last else "nchw"
    if layout == "nhwc":
        return (shape[0], shape[1], shape[2], True)
    if layout == "nchw":
        return (shape[1], shape[2], shape[0], False)
    raise InvalidInputError(f'layout: expected "auto", "nhwc", "nchw" or "flat", got {layout!r}')


def _run(
    attack: str,
    model: Any,
    X: Any,
    y: Any,
    *,
    norm: str,
    eps: Optional[float],
    params: dict[str, Any],
    constraints: Optional[Constraints],
    batch_size: Optional[int],
    progress: ProgressArg,
    grad_fn: Optional[Callable[..., Any]] = None,
) -> AttackResult:
    data = X if isinstance(X, _Data) else _as_data(X)
    adapter = model if isinstance(model, _Model) else _Model(model, data)
    labels = adapter.label_of(y, data.n)
    cons = _constraints(constraints)
    resolved = cons._resolve(data)
    batch = 0 if batch_size is None else _check_count(batch_size, "batch_size")
    grad = None
    if grad_fn is not None:

        def grad(rows: np.ndarray, ys: np.ndarray) -> np.ndarray:
            g = _to_numpy(grad_fn(data.unflatten(rows), ys))
            return np.ascontiguousarray(g.reshape(rows.shape[0], -1), dtype=np.float64)

    start = time.perf_counter()
    with progress_callback(progress, attack, unit="rows") as cb:
        raw = _core.robustness_attack(
            attack, adapter, data.flat, labels, resolved, params, grad, batch, cb
        )
    seconds = time.perf_counter() - start
    ok = np.asarray(raw["success"], dtype=bool)
    adv = np.asarray(raw["adversarial"])
    changed = None
    if "changed" in raw:
        changed = np.asarray(raw["changed"]) / np.maximum(np.asarray(raw["trials"]), 1)
    return AttackResult(
        attack=attack,
        norm=norm,
        eps=eps,
        adversarial=data.unflatten(adv),
        success=ok,
        distance=_distances(data, adv, np.asarray(resolved[5]), norm, ok),
        queries=np.asarray(raw["queries"], dtype=np.int64),
        calls=int(raw["calls"]),
        rows=int(raw["rows"]),
        seconds=seconds,
        params=dict(params),
        changed=changed,
    )


# --------------------------------------------------------------------------- attacks


def noise(
    model: Any,
    X: Any,
    y: Any,
    eps: float,
    *,
    kind: str = "uniform",
    trials: int = 100,
    constraints: Optional[Constraints] = None,
    seed: int = 0,
    batch_size: Optional[int] = None,
    progress: ProgressArg = False,
) -> AttackResult:
    """Random noise: does the prediction survive perturbations nobody chose?

    Parameters
    ----------
    model, X, y
        The model (see the module), the samples and their labels.
    eps : float
        ``kind="uniform"``: L-inf radius (uniform in the ball); ``"gaussian"``: L2 radius
        (Gaussian noise of standard deviation ``eps / sqrt(d)`` per feature, projected on
        the ball); ``"relative"``: each feature times ``1 + U(-eps, eps)``.
    trials : int
        Noisy copies per sample (all in one batch per round).
    constraints, seed, batch_size, progress
        See :func:`square`.

    Returns
    -------
    AttackResult
        ``success`` where at least one copy was misclassified; ``changed``: the share of
        copies whose prediction differs from the label (an invariance measure).

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> model = lambda x: np.stack([-x[:, 0], x[:, 0]], axis=1)   # class 1 when x0 > 0
    >>> r = ms.robustness.noise(model, np.array([[0.05], [2.0]]), [1, 1], eps=0.1)
    >>> r.success.tolist(), float(r.changed[1])
    ([True, False], 0.0)
    """
    if kind not in ("uniform", "gaussian", "relative"):
        raise InvalidInputError(f'kind: expected "uniform", "gaussian" or "relative", got {kind!r}')
    norm = "l2" if kind == "gaussian" else "linf"
    eps = _check_eps(eps)
    trials = _check_count(trials, "trials")
    params = {"kind": kind, "eps": eps, "max_queries": trials + 1, "seed": _check_seed(seed)}
    return _run(
        "noise",
        model,
        X,
        y,
        norm=norm,
        eps=eps,
        params=params,
        constraints=constraints,
        batch_size=batch_size,
        progress=progress,
    )


def square(
    model: Any,
    X: Any,
    y: Any,
    eps: float,
    *,
    norm: str = "linf",
    max_queries: int = 1000,
    p_init: Optional[float] = None,
    layout: str = "auto",
    constraints: Optional[Constraints] = None,
    seed: int = 0,
    batch_size: Optional[int] = None,
    progress: ProgressArg = False,
) -> AttackResult:
    """The Square Attack (Andriushchenko et al., ECCV 2020): score-based random search.

    Parameters
    ----------
    model : callable or object
        Needs scores (a callable or ``predict_proba``).
    X : array-like
        Samples: rows ``(n, d)`` (tabular: each step changes a random subset of
        features) or images ``(n, h, w, c)`` / ``(n, c, h, w)`` / ``(n, h, w)`` (square
        windows).
    y : array-like
        Their labels.
    eps : float
        The budget in ``norm``, in units of ``constraints.scale``.
    norm : {"linf", "l2"}
    max_queries : int
        Rows per sample at most (one per iteration, plus the confirmation).
    p_init : float, optional
        Initial share of features (pixels) changed per step; default 0.05 (L-inf) and
        0.1 (L2), as in the paper.
    layout : {"auto", "nhwc", "nchw", "flat"}
        Where the channels of 4-D input are (``"auto"``: the axis of size 1, 3 or 4).
    constraints : Constraints, optional
    seed : int
        Same seed, same result (whatever the batch size).
    batch_size : int, optional
        Largest batch the model is given (default: one batch per round).
    progress : bool or callable, optional
        ``True``: a tqdm bar of rows sent; a callable gets ``(rows_done, rows_total)``.

    Returns
    -------
    AttackResult

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> model = lambda x: np.stack([-x.sum(axis=1), x.sum(axis=1)], axis=1)
    >>> r = ms.robustness.square(model, np.full((2, 4), 0.1), [1, 1], eps=0.2)
    >>> bool(r.success.all()), float(np.abs(r.adversarial - 0.1).max()) <= 0.2
    (True, True)
    """
    norm = _check_norm(norm)
    eps = _check_eps(eps)
    if p_init is None:
        p_init = 0.05 if norm == "linf" else 0.1
    if not (isinstance(p_init, (int, float)) and 0 < p_init <= 1):
        raise InvalidInputError(f"p_init: expected a number in (0, 1], got {p_init!r}")
    data = X if isinstance(X, _Data) else _as_data(X)
    params = {
        "norm": norm,
        "eps": eps,
        "max_queries": _check_count(max_queries, "max_queries", 2),
        "p_init": float(p_init),
        "image": _image_layout(data, layout),
        "seed": _check_seed(seed),
    }
    return _run(
        "square",
        model,
        data,
        y,
        norm=norm,
        eps=eps,
        params=params,
        constraints=constraints,
        batch_size=batch_size,
        progress=progress,
    )


def hop_skip_jump(
    model: Any,
    X: Any,
    y: Any,
    *,
    norm: str = "l2",
    max_iter: int = 50,
    max_eval: int = 10_000,
    init_eval: int = 100,
    init_size: int = 100,
    gamma: float = 1.0,
    max_queries: Optional[int] = None,
    constraints: Optional[Constraints] = None,
    seed: int = 0,
    batch_size: Optional[int] = None,
    progress: ProgressArg = False,
) -> AttackResult:
    """HopSkipJump (Chen, Jordan & Wainwright, IEEE S&P 2020): decision-based, minimum norm.

    Needs only the model's labels. Returns each sample's smallest adversarial
    perturbation found (``distance``); a budget ``eps`` is then met where
    ``distance <= eps``. Parameters as ART's ``HopSkipJump`` (same defaults); see
    :func:`square` for the others. ``max_queries`` (rows per sample) is unbounded by
    default.

    Returns
    -------
    AttackResult
        ``eps`` is None; ``success`` where an adversarial example was found.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> model = lambda x: np.stack([-x.sum(axis=1), x.sum(axis=1)], axis=1)
    >>> X = np.array([[1.0, 1.0]])           # exact L2 distance: 2 / sqrt(2)
    >>> r = ms.robustness.hop_skip_jump(model, X, [1], max_iter=20)
    >>> bool(abs(r.distance[0] - np.sqrt(2)) < 0.05 * np.sqrt(2))
    True
    """
    norm = _check_norm(norm)
    params = {
        "norm": norm,
        "max_iter": _check_count(max_iter, "max_iter"),
        "max_eval": _check_count(max_eval, "max_eval"),
        "init_eval": _check_count(init_eval, "init_eval"),
        "init_size": _check_count(init_size, "init_size"),
        "gamma": _check_eps(gamma, "gamma"),
        "max_queries": 2**64 - 1
        if max_queries is None
        else _check_count(max_queries, "max_queries"),
        "seed": _check_seed(seed),
    }
    return _run(
        "hop_skip_jump",
        model,
        X,
        y,
        norm=norm,
        eps=None,
        params=params,
        constraints=constraints,
        batch_size=batch_size,
        progress=progress,
    )


def pgd(
    model: Any,
    X: Any,
    y: Any,
    eps: float,
    *,
    norm: str = "linf",
    steps: int = 40,
    step_size: Optional[float] = None,
    grad_fn: Optional[Callable[[np.ndarray, np.ndarray], Any]] = None,
    estimator: str = "nes",
    samples: int = 20,
    sigma: float = 1e-3,
    random_start: bool = True,
    max_queries: Optional[int] = None,
    constraints: Optional[Constraints] = None,
    seed: int = 0,
    batch_size: Optional[int] = None,
    progress: ProgressArg = False,
) -> AttackResult:
    """Projected gradient descent (Madry et al., 2018) on the margin loss.

    With ``grad_fn(X, y) -> gradient`` (shaped like ``X``, the gradient of a loss the
    attack should increase), PGD uses it; without, the gradient is estimated from scores
    with ``estimator="nes"`` (antithetic Gaussian directions, Ilyas et al. 2018) or
    ``"spsa"`` (Rademacher directions, Uesato et al. 2018), ``samples`` directions of
    size ``sigma`` per step. The step size defaults to ``2.5 * eps / steps``.

    Returns
    -------
    AttackResult

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> model = lambda x: np.stack([-x.sum(axis=1), x.sum(axis=1)], axis=1)
    >>> grad = lambda x, y: -np.ones_like(x)            # lowers the class-1 score
    >>> r = ms.robustness.pgd(model, np.full((1, 3), 0.1), [1], eps=0.2, grad_fn=grad)
    >>> r.success.tolist()
    [True]
    """
    norm = _check_norm(norm)
    eps = _check_eps(eps)
    if estimator not in ("nes", "spsa"):
        raise InvalidInputError(f'estimator: expected "nes" or "spsa", got {estimator!r}')
    params = {
        "norm": norm,
        "eps": eps,
        "steps": _check_count(steps, "steps"),
        "step_size": None if step_size is None else _check_eps(step_size, "step_size"),
        "random_start": bool(random_start),
        "estimator": "user" if grad_fn is not None else estimator,
        "samples": _check_count(samples, "samples"),
        "sigma": _check_eps(sigma, "sigma"),
        "max_queries": 2**64 - 1
        if max_queries is None
        else _check_count(max_queries, "max_queries"),
        "seed": _check_seed(seed),
    }
    return _run(
        "pgd",
        model,
        X,
        y,
        norm=norm,
        eps=eps,
        params=params,
        constraints=constraints,
        batch_size=batch_size,
        progress=progress,
        grad_fn=grad_fn,
    )


from ._robustness_report import RobustnessReport, evaluate  # noqa: E402  (uses this module)
