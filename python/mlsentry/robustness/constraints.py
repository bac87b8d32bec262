"""Tabular constraints on adversarial examples: :class:`Constraints`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from ..errors import InvalidInputError, InvalidTypeError
from .model import Data


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
    clip : bool
        Clip the rows of ``X`` into ``[lower, upper]`` before attacking them (default:
        a row outside its bounds is an error, since no adversarial example of it could
        satisfy them).

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
    clip: bool = False

    def _resolve(self, data: Data) -> tuple[list, list, list, list, list, list]:
        d = data.d
        lower = _per_feature(self.lower, d, "lower", -np.inf, np.float64)
        upper = _per_feature(self.upper, d, "upper", np.inf, np.float64)
        mutable = _per_feature(self.mutable, d, "mutable", True, bool) & ~data.frozen()
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

    def _prepare(self, data: Data) -> Data:
        """``data`` with its rows clipped into the bounds when ``clip`` is set."""
        if not self.clip:
            return data
        lower, upper = self._resolve(data)[:2]
        flat = np.clip(data.flat, np.asarray(lower), np.asarray(upper))
        return dataclasses.replace(data, flat=np.ascontiguousarray(flat))

    def _scale(self, data: Data) -> np.ndarray:
        return np.asarray(self._resolve(data)[5])


def check_constraints(constraints: Optional[Constraints]) -> Constraints:
    if constraints is None:
        return Constraints()
    if not isinstance(constraints, Constraints):
        raise InvalidTypeError(
            f"constraints: expected ms.robustness.Constraints, got {type(constraints).__name__}"
        )
    return constraints
