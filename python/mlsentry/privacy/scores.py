"""Reference-model membership scores from precomputed signals: LiRA (Carlini et al. 2022)
and offline RMIA (Zarifzadeh et al. 2024), computed in Rust. Users with their own training
loop (a GPU, another framework) compute the signals there and score and report here."""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

from .. import _core
from ..errors import InvalidInputError, InvalidTypeError

__all__ = ["FIXED_VARIANCE_BELOW", "lira_scores", "rmia_scores"]

#: LiRA uses a fixed (global) variance below this many reference models, as the paper
#: advises for few models, and per-example variances from there on.
FIXED_VARIANCE_BELOW = 64


def _floats(values: Any, name: str, ndim: int) -> np.ndarray:
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise InvalidTypeError(f"{name}: expected numbers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise InvalidInputError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _flags(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise InvalidInputError(f"{name}: expected a 2-D boolean array, got shape {arr.shape}")
    if arr.dtype != np.bool_:
        if arr.dtype.kind in "iu" and np.isin(arr, (0, 1)).all():
            arr = arr.astype(bool)
        else:
            raise InvalidTypeError(f"{name}: expected booleans, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr)


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"{name}: expected True or False, got {type(value).__name__}")
    return bool(value)


def lira_scores(
    target_signal: Any,
    reference_signals: Any,
    reference_in: Any,
    online: bool = True,
    fix_variance: Optional[bool] = False,
) -> np.ndarray:
    """LiRA membership scores (Carlini et al. 2022) from precomputed signals.

    For record ``i`` let ``IN_i`` be the signals of the reference models trained on it and
    ``OUT_i`` those of the others. LiRA fits a Gaussian to each: means are the medians
    ``mu_in_i``, ``mu_out_i``; standard deviations (ddof 0, plus 1e-30) are per example
    (``std(IN_i)``, ``std(OUT_i)``) or, with ``fix_variance``, global (the standard deviation
    of all IN signals of all records pooled, and of all OUT signals), as the paper's code.

    * online: ``log N(s_i; mu_in_i, sd_in) - log N(s_i; mu_out_i, sd_out)``;
    * offline: ``(s_i - mu_out_i) / sd_out``, the statistic of the one-sided test that the
      target's signal is larger than OUT models give (the paper's score
      ``1 - P(Z > s_i)``, ``Z ~ N(mu_out_i, sd_out^2)``, is ``Phi`` of it: same ranking, but
      no rounding to 1 in the tail).

    Higher = more likely a member.

    Parameters
    ----------
    target_signal : array (n,)
        The target model's signal per record: the logit-scaled true-class confidence
        ``log(p_y) - log(sum_{j != y} p_j)`` is what LiRA uses.
    reference_signals : array (m, n)
        The same signal from each of ``m`` reference models.
    reference_in : array (m, n) of bool
        Whether reference model ``j`` trained on record ``i``. Online needs at least one IN
        and one OUT model per record (two each for per-example variance); offline only OUT.
    online : bool
    fix_variance : bool or None
        None chooses as :func:`membership_inference` does: fixed below
        ``FIXED_VARIANCE_BELOW`` (64) reference models.

    Returns
    -------
    ndarray (n,) of float64

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> refs = np.array([[2.0], [4.0], [0.0], [1.0]])
    >>> ins = np.array([[True], [True], [False], [False]])
    >>> float(ms.privacy.lira_scores([2.5], refs, ins, online=False)[0])
    4.0
    """
    online = _check_flag(online, "online")
    t = _floats(target_signal, "target_signal", 1)
    r = _floats(reference_signals, "reference_signals", 2)
    k = _flags(reference_in, "reference_in")
    if fix_variance is None:
        fix_variance = r.shape[0] < FIXED_VARIANCE_BELOW
    fix = _check_flag(fix_variance, "fix_variance")
    return _core.privacy_lira(t, r, k, online, fix)


def rmia_scores(
    target_probs: Any,
    reference_probs: Any,
    reference_in: Any,
    population_target: Any,
    population_reference: Any,
    gamma: float = 1.0,
    a: float = 0.3,
    *,
    population_in: Any = None,
) -> np.ndarray:
    """Offline RMIA membership scores (Zarifzadeh et al. 2024) from true-class
    probabilities.

    ``p(x) = (1 + a) / 2 * mean_OUT(x) + (1 - a) / 2`` approximates the average probability
    of ``x`` over reference models from the OUT models alone; ``r(x) = p(x | target) /
    p(x)``; the score of ``x`` is the share of population records ``z`` (records of the
    same distribution, scored the same way) with ``r(x) / r(z) >= gamma``. Higher = more
    likely a member.

    Parameters
    ----------
    target_probs : array (n,)
        The target model's probability of each record's true class.
    reference_probs : array (m, n)
        The same from ``m`` reference models.
    reference_in : array (m, n) of bool
        Whether reference ``j`` trained on record ``i`` (only OUT models are used; every
        record needs one).
    population_target : array (z,)
    population_reference : array (m, z)
        The target's and the references' true-class probabilities of the population.
    gamma : float
        The likelihood-ratio threshold (> 0).
    a : float
        The offline correction, in [0, 1] (1: no correction).
    population_in : array (m, z) of bool, optional
        Which references trained on each population record (none by default).

    Returns
    -------
    ndarray (n,) of float64, in [0, 1]

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> refs = np.array([[0.9, 0.3], [0.5, 0.3]]); ins = np.array([[True, False], [False, False]])
    >>> pop = np.array([[0.5, 0.4, 0.4], [0.5, 0.4, 0.4]])
    >>> ms.privacy.rmia_scores([0.9, 0.3], refs, ins, [0.5, 0.2, 0.8], pop, a=1.0).round(3).tolist()
    [0.667, 0.667]
    """
    for value, name in ((gamma, "gamma"), (a, "a")):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidTypeError(f"{name}: expected a number, got {type(value).__name__}")
    pin = None if population_in is None else _flags(population_in, "population_in")
    return _core.privacy_rmia(
        _floats(target_probs, "target_probs", 1),
        _floats(reference_probs, "reference_probs", 2),
        _flags(reference_in, "reference_in"),
        _floats(population_target, "population_target", 1),
        _floats(population_reference, "population_reference", 2),
        pin,
        float(gamma),
        float(a),
    )
