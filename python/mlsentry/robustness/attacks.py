"""The attacks (:func:`noise`, :func:`square`, :func:`hop_skip_jump`, :func:`pgd`), run in
Rust for all samples at once, and their :class:`AttackResult`."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Optional

import numpy as np

from .. import _core
from .._args import check_int, check_positive
from .._progress import ProgressArg, progress_callback
from ..errors import InvalidInputError, ModelError
from .constraints import Constraints, check_constraints
from .model import Data, Model, as_data, to_numpy

#: The attacks, by the names :func:`evaluate` takes (``"hsj"`` is ``"hop_skip_jump"``).
ATTACKS = ("noise", "square", "hop_skip_jump", "pgd")
ALIASES = {"hsj": "hop_skip_jump", "hopskipjump": "hop_skip_jump"}
_NORMS = ("linf", "l2")


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
    adversarial : numpy.ndarray or pandas.DataFrame
        Shaped and typed like ``X`` (a DataFrame for a DataFrame ``X``): the adversarial
        example of each sample, or the sample itself where the attack failed.
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
    features : numpy.ndarray
        The adversarial examples as the attack saw them: float64 rows, one per sample (a
        DataFrame's columns that are not numbers as their category codes).
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
    features: np.ndarray = dataclasses.field(default_factory=lambda: np.empty((0, 0)), repr=False)

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


def _distances(data: Data, adv_flat: np.ndarray, scale: np.ndarray, norm: str, ok: np.ndarray):
    delta = (adv_flat - data.flat) / scale
    dist = np.linalg.norm(delta, axis=1) if norm == "l2" else np.abs(delta).max(axis=1)
    return np.where(ok, dist, np.nan)


def check_norm(norm: Any) -> str:
    if norm not in _NORMS:
        raise InvalidInputError(f'norm: expected "linf" or "l2", got {norm!r}')
    return str(norm)


def check_eps(eps: Any, name: str = "eps") -> float:
    return check_positive(eps, name)


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    return check_int(value, name, minimum, 2**63 - 1)


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise InvalidInputError(f"seed: expected an int in [0, 2**64), got {seed!r}")
    return int(seed)


def _image_layout(data: Data, layout: str) -> Optional[tuple[int, int, int, bool]]:
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
    cons = check_constraints(constraints)
    data = cons._prepare(X if isinstance(X, Data) else as_data(X))
    adapter = model if isinstance(model, Model) else Model(model, data)
    labels = adapter.label_of(y, data.n)
    resolved = cons._resolve(data)
    batch = 0 if batch_size is None else check_count(batch_size, "batch_size")
    grad = None
    if grad_fn is not None:

        def grad(rows: np.ndarray, ys: np.ndarray) -> np.ndarray:
            x = data.unflatten(rows).copy()
            try:
                g = to_numpy(grad_fn(x, ys))
            except Exception as e:
                raise ModelError(f"grad_fn raised {type(e).__name__}: {e}") from e
            if g.shape != x.shape or g.dtype.kind not in "biuf":
                raise ModelError(
                    f"grad_fn returned an array of shape {g.shape} and dtype {g.dtype} for "
                    f"X of shape {x.shape}; it must return the gradient shaped like X"
                )
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
        features=adv,
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
    eps = check_eps(eps)
    trials = check_count(trials, "trials")
    params = {"kind": kind, "eps": eps, "max_queries": trials + 1, "seed": check_seed(seed)}
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
    norm = check_norm(norm)
    eps = check_eps(eps)
    if p_init is None:
        p_init = 0.05 if norm == "linf" else 0.1
    if not (isinstance(p_init, (int, float)) and 0 < p_init <= 1):
        raise InvalidInputError(f"p_init: expected a number in (0, 1], got {p_init!r}")
    data = X if isinstance(X, Data) else as_data(X)
    params = {
        "norm": norm,
        "eps": eps,
        "max_queries": check_count(max_queries, "max_queries", 2),
        "p_init": float(p_init),
        "image": _image_layout(data, layout),
        "seed": check_seed(seed),
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
    norm = check_norm(norm)
    params = {
        "norm": norm,
        "max_iter": check_count(max_iter, "max_iter"),
        "max_eval": check_count(max_eval, "max_eval"),
        "init_eval": check_count(init_eval, "init_eval"),
        "init_size": check_count(init_size, "init_size"),
        "gamma": check_eps(gamma, "gamma"),
        "max_queries": 2**64 - 1
        if max_queries is None
        else check_count(max_queries, "max_queries"),
        "seed": check_seed(seed),
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
    norm = check_norm(norm)
    eps = check_eps(eps)
    if estimator not in ("nes", "spsa"):
        raise InvalidInputError(f'estimator: expected "nes" or "spsa", got {estimator!r}')
    params = {
        "norm": norm,
        "eps": eps,
        "steps": check_count(steps, "steps"),
        "step_size": None if step_size is None else check_eps(step_size, "step_size"),
        "random_start": bool(random_start),
        "estimator": "user" if grad_fn is not None else estimator,
        "samples": check_count(samples, "samples"),
        "sigma": check_eps(sigma, "sigma"),
        "max_queries": 2**64 - 1
        if max_queries is None
        else check_count(max_queries, "max_queries"),
        "seed": check_seed(seed),
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
