"""Out-of-distribution scores with conformal p-values: :class:`OODDetector`."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import _core
from .._args import check_int, check_positive
from .._matrix import as_matrix
from ..errors import InvalidInputError

__all__ = ["METHODS", "OODDetector"]

#: The scores :meth:`OODDetector.fit` knows: on features (``knn``, ``mahalanobis``,
#: ``isolation``) and on model outputs (``msp`` on probabilities, ``energy`` on logits).
METHODS = ("knn", "mahalanobis", "isolation", "msp", "energy")


class OODDetector:
    """An out-of-distribution score fitted on training data, with conformal p-values.

    Build it with :meth:`fit`. ``score(X)`` is higher for more unusual rows;
    ``pvalues(X)`` is, for each row, ``(1 + #{calibration scores >= score}) / (n + 1)``
    over the ``n`` held-out calibration rows (split conformal prediction): for an
    in-distribution row it is uniform (super-uniform with ties), so flagging
    ``pvalues(X) < a`` flags a share ``a`` of in-distribution rows at most.

    Methods
    -------
    ``knn``
        Distance to the ``k``-th nearest training row (``k=5``), after standardising
        every feature with the training mean and standard deviation (``normalize=
        "standard"``; ``"l2"`` scales every row to unit length instead, ``None`` leaves
        the features as they are). The same scores as ``pyod.models.knn.KNN(
        n_neighbors=k, method="largest").decision_function`` on the same data.
    ``mahalanobis``
        Squared Mahalanobis distance to the training mean under the training covariance.
    ``isolation``
        Isolation forest (Liu et al. 2008): ``n_trees`` trees on ``max_samples`` rows
        each, seeded; the score ``2^(-E[h] / c(max_samples))``.
    ``msp``
        ``X`` holds class probabilities ``(n, k)``: the score is ``1 - max_j p_j``
        (Hendrycks and Gimpel 2017).
    ``energy``
        ``X`` holds logits ``(n, k)``: the score is the free energy
        ``-T logsumexp(X / T)`` (Liu et al. 2020), ``T = temperature``.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> det = ms.monitor.OODDetector.fit(rng.normal(size=(1000, 3)), method="knn")
    >>> p = det.pvalues(np.array([[0.0, 0.0, 0.0], [8.0, 8.0, 8.0]]))
    >>> bool(p[0] > 0.1), bool(p[1] < 0.01)
    (True, True)
    """

    def __init__(self) -> None:
        raise TypeError("use OODDetector.fit(X_train, method=...)")

    @classmethod
    def fit(
        cls,
        X_train: Any,
        method: str = "knn",
        *,
        k: int = 5,
        normalize: Optional[str] = "standard",
        calibration: float = 0.2,
        n_trees: int = 100,
        max_samples: int = 256,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> OODDetector:
        """Fits the score on ``X_train`` less a seeded share ``calibration`` of its rows,
        whose scores calibrate the p-values (at least 1 row each side)."""
        if method not in METHODS:
            raise InvalidInputError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
        if normalize not in ("standard", "l2", None):
            raise InvalidInputError(
                f'normalize: expected "standard", "l2" or None, got {normalize!r}'
            )
        x = as_matrix(X_train, "X_train")
        calibration = check_positive(calibration, "calibration")
        if calibration >= 1:
            raise InvalidInputError(f"calibration: expected a share in (0, 1), got {calibration}")
        self = object.__new__(cls)
        self.method = method
        self.k = check_int(k, "k", 1)
        self.normalize = normalize
        self.calibration = calibration
        self.n_trees = check_int(n_trees, "n_trees", 1, 100_000)
        self.max_samples = check_int(max_samples, "max_samples", 2)
        self.temperature = check_positive(temperature, "temperature")
        self.seed = check_int(seed, "seed", 0, 2**63 - 1)
        self.X_train = x
        n = len(x)
        n_cal = round(n * calibration)
        if n_cal < 1 or n - n_cal < max(2, self.k if method == "knn" else 2):
            raise InvalidInputError(
                f"X_train: {n} rows are too few to hold out calibration={calibration}"
            )
        order = np.random.default_rng(self.seed).permutation(n)
        #: Rows of ``X_train`` the score is fitted on (the rest calibrate it).
        self.fit_index = np.sort(order[n_cal:])
        self.calibration_index = np.sort(order[:n_cal])
        fit_rows = x[self.fit_index]
        self._mean = fit_rows.mean(axis=0)
        sd = fit_rows.std(axis=0)
        self._sd = np.where(sd > 0, sd, 1.0)
        self._fitted = self._prepare(fit_rows)
        if method == "mahalanobis":
            self._maha = _core.monitor_mahalanobis_fit(self._fitted)
        self.calibration_scores = np.sort(self.score(x[self.calibration_index]))
        return self

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        if self.method != "knn" or self.normalize is None:
            return x
        if self.normalize == "standard":
            return np.ascontiguousarray((x - self._mean) / self._sd)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return np.ascontiguousarray(x / np.where(norms > 0, norms, 1.0))

    def score(self, X: Any) -> np.ndarray:
        """The score of every row of ``X`` (higher = more unusual)."""
        x = as_matrix(X, "X", width=self.X_train.shape[1])
        if self.method == "knn":
            return _core.monitor_knn(self._fitted, self._prepare(x), self.k)
        if self.method == "mahalanobis":
            return _core.monitor_mahalanobis(x, *self._maha)
        if self.method == "isolation":
            return _core.monitor_isolation(
                self._fitted, x, self.n_trees, self.max_samples, self.seed
            )
        if self.method == "msp":
            return 1.0 - x.max(axis=1)
        z = x / self.temperature
        top = z.max(axis=1)
        return -self.temperature * (top + np.log(np.exp(z - top[:, None]).sum(axis=1)))

    def pvalues(self, X: Any) -> np.ndarray:
        """Conformal p-values ``(1 + #{calibration scores >= score}) / (n + 1)``."""
        s = self.score(X)
        cal = self.calibration_scores
        at_least = len(cal) - np.searchsorted(cal, s, side="left")
        return (1.0 + at_least) / (len(cal) + 1.0)

    def config(self) -> dict[str, Any]:
        """The settings, enough with ``X_train`` to fit the same detector again."""
        return {
            "method": self.method,
            "k": self.k,
            "normalize": self.normalize,
            "calibration": self.calibration,
            "n_trees": self.n_trees,
            "max_samples": self.max_samples,
            "temperature": self.temperature,
            "seed": self.seed,
        }

    def __repr__(self) -> str:
        return (
            f"OODDetector(method={self.method!r}, rows={len(self.fit_index)}, "
            f"calibration_rows={len(self.calibration_scores)})"
        )
