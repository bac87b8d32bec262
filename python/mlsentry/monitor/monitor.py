"""The production monitor: :class:`Monitor`, its :class:`Alert` and :class:`MonitorReport`."""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Optional, Union

import numpy as np

from .. import _core
from .._args import check_int, check_positive
from .._matrix import as_matrix
from .._tables import table_columns
from ..drift import Profile, compare, ks
from ..errors import InvalidInputError, InvalidTypeError
from ..integrity import fingerprint
from ..report import Report, count_of, html_table
from .ood import OODDetector

__all__ = ["ALERT_KINDS", "Alert", "Monitor", "MonitorReport"]

#: What an alert can be about.
ALERT_KINDS = ("drift", "feature_drift", "ood", "prediction_drift")

#: Rows of the reference the online detector compares windows with, and held-out rows
#: its thresholds are simulated from, at most (seeded samples when there are more).
DETECTOR_ROWS = 2000
HELD_OUT_ROWS = 5000
#: The timeline keeps this many statistics (the latest).
TIMELINE = 5000
#: From a profile: values drawn per feature for the reference sample and for the
#: simulated no-drift streams (each feature's simulation holds a square kernel matrix
#: of the held-out draws).
PROFILE_HELD_OUT_ROWS = 3000


@dataclass(frozen=True)
class Alert:
    """One alert: ``kind`` (``drift``, ``feature_drift``, ``ood``, ``prediction_drift``),
    ``index`` (rows seen when it fired) and ``reason``."""

    kind: str
    index: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _level(value: Any, name: str) -> float:
    """A false-alarm level in (0, 1)."""
    level = check_positive(value, name)
    if level >= 1:
        raise InvalidInputError(f"{name}: expected a number in (0, 1), got {value!r}")
    return level


def _binomial_sf(count: int, n: int, p: float) -> float:
    """``P(X >= count)`` for ``X ~ Binomial(n, p)`` (a sum over counts, not rows)."""
    if count <= 0:
        return 1.0
    terms = [math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(count, n + 1)]
    return float(min(1.0, sum(terms)))


def _median_distance(x: np.ndarray, seed: int) -> float:
    rng = np.random.default_rng(seed)
    if len(x) > 1000:
        x = x[np.sort(rng.choice(len(x), 1000, replace=False))]
    sq = (x * x).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    med = float(np.sqrt(np.median(d2[np.triu_indices(len(x), 1)])))
    if not med > 0:
        raise InvalidInputError("reference: most rows are equal; pass a positive bandwidth")
    return med


class Monitor:
    """Watches a stream of production rows against reference data.

    It keeps four detectors, each with a documented false-alarm rate under no drift:

    * ``drift``: the online MMD detector of Cobb et al. (2021) on windows of ``window``
      rows (features standardised by the reference), with thresholds simulated so that
      the expected number of rows between false alarms, counted from the first row and
      restarting after each alarm, is ``ert`` (see :mod:`mlsentry._core` and
      ``src/core/monitor/online.rs``). The reference is split (seeded): up to 2,000 rows
      are compared with; up to 5,000 held-out rows (half the reference) simulate
      ``streams`` no-drift streams. The run length's mean depends on how well the held-out
      rows represent the reference distribution: give a few thousand reference rows.
    * ``feature_drift``: every ``feature_window`` rows (tumbling windows), a KS test of each
      feature against the reference, Bonferroni over features: false alarms in at most a
      share ``feature_alpha`` of windows.
    * ``ood``: per ``feature_window`` rows, the count of rows whose
      :class:`OODDetector` p-value is below ``ood_alpha`` (conformal, so at most a share
      ``ood_alpha`` in distribution); an alert when the binomial tail of that count is below
      ``feature_alpha``.
    * ``prediction_drift``: when ``reference_predictions`` are given and ``update`` gets
      predictions, a KS test of each window's predictions at level ``feature_alpha``.

    ``reference`` is a numeric table or (n, d) array, or a :class:`~mlsentry.drift.Profile`
    (or the path of a profile file); ``ood="auto"`` means ``"knn"`` for rows.

    **From a profile.** A profile keeps each column's distribution (exact counts on a
    0.1 %-wide grid), not the joint one and no rows, so a monitor built from it watches
    the profile's numeric columns (or ``columns``) one by one, and ``update`` takes tables
    with those columns (by name) or (n, d) arrays in that order:

    * ``drift``: one univariate online MMD detector per feature (window ``window``, each
      feature standardised by the profile's mean and deviation, bandwidth the median
      distance of its draws unless given, one per feature or shared). Each feature's
      reference sample (2,000 values) and its simulated no-drift streams (from 3,000
      more) are drawn, seeded, from that column of the profile; with ``H = 1/(ert -
      window + 1)``, each feature's thresholds are calibrated for the hazard ``H/d`` on
      ``streams * d`` simulated streams (the window's sums slide, so this costs about what
      ``streams`` multivariate ones do, and each threshold rests on as many crossings). The
      monitor alarms when any feature passes its threshold, and every feature restarts.
      Guarantees under no drift: for **any** dependence between features, the chance of a
      false alarm within ``k`` rows of the first full window is at most ``k H`` (union
      bound); for **independent** features the expected run time is
      ``window - 1 + 1 / (1 - (1 - H/d)^d)``, between ``ert`` and ``ert (1 + H)``;
      features that move together alarm together, which makes the run time longer. The
      time line records the largest excess of a feature's statistic over its threshold
      (an alarm above 0).
    * ``feature_drift``: every ``feature_window`` rows, :func:`~mlsentry.drift.compare` of
      the window with the profile: the KS test from profiles with its grid error bound
      (a column drifts only when its whole p-value interval is below the level),
      Bonferroni over features: false alarms in at most a share ``feature_alpha`` of
      windows, as from rows.
    * ``ood``: needs rows; ``ood="auto"`` means no OOD detector, any other value raises.
    * ``prediction_drift``: when the profile has the predictions' column
      (``prediction_column``, left out of the features), each window's predictions
      (``update(..., predictions=)`` or that column of a table batch) are compared with it
      the same way, at level ``feature_alpha``; or with ``reference_predictions`` as from
      rows.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> mon = ms.monitor.Monitor(rng.normal(size=(2000, 3)), ert=500, window=30, ood=None)
    >>> alerts = mon.update(rng.normal(2.0, 1.0, size=(100, 3)))
    >>> alerts[0].kind, alerts[0].index
    ('drift', 30)

    From a profile:

    >>> prof = ms.drift.Profile.fit({"a": rng.normal(size=5000), "b": rng.normal(size=5000)})
    >>> mon = ms.monitor.Monitor(prof, ert=500, window=30, streams=1000)
    >>> mon.update({"a": rng.normal(size=100), "b": rng.normal(3.0, 1.0, size=100)})[0].kind
    'drift'
    """

    def __init__(
        self,
        reference: Any,
        *,
        ert: float = 1000,
        window: int = 50,
        ood: Optional[str] = "auto",
        ood_alpha: float = 0.01,
        feature_window: Optional[int] = None,
        feature_alpha: float = 0.01,
        reference_predictions: Any = None,
        bandwidth: Union[str, float, Sequence[float]] = "median",
        streams: int = 5000,
        seed: int = 0,
        columns: Optional[Sequence[str]] = None,
        prediction_column: Optional[str] = None,
        _state: Optional[Mapping[str, Any]] = None,
    ) -> None:
        if isinstance(reference, Profile) or Profile.is_file(reference):
            profile = reference if isinstance(reference, Profile) else Profile.load(reference)
        else:
            profile = None
            if columns is not None or prediction_column is not None:
                raise InvalidInputError(
                    "columns, prediction_column: only for a monitor built from a Profile"
                )
        self.profile = profile
        self.window = check_int(window, "window", 2, 100_000)
        self.ert = check_positive(ert, "ert")
        if self.ert <= self.window:
            raise InvalidInputError(f"ert: expected more than window={self.window}, got {ert}")
        self.seed = check_int(seed, "seed", 0, 2**63 - 1)
        self.streams = check_int(streams, "streams", 100, 10_000_000)
        self.ood_alpha = _level(ood_alpha, "ood_alpha")
        self.feature_alpha = _level(feature_alpha, "feature_alpha")
        self.feature_window = check_int(
            feature_window if feature_window is not None else max(100, 2 * self.window),
            "feature_window",
            10,
        )
        self.reference_predictions = (
            None
            if reference_predictions is None
            else as_matrix(reference_predictions, "reference_predictions")[:, 0]
        )
        self.horizon = 2 * self.window
        if profile is not None:
            self._init_profile(profile, ood, bandwidth, columns, prediction_column, _state)
        else:
            self._init_rows(as_matrix(reference, "reference"), ood, bandwidth, _state)
        # The stream state.
        self.rows_seen = 0
        self.alerts: list[Alert] = []
        d = len(self.features)
        self._rows = np.zeros((0, d))
        self._means = np.zeros((0, d)) if profile is not None else np.zeros(0)
        self._t = 0
        self._buffer = np.zeros((0, d))
        self._pred_buffer = np.zeros(0)
        self._ood_count = 0
        self._ood_rows = 0
        self._ood_total = 0
        self.timeline = np.zeros((0, 2))
        if _state is not None:
            self._restore(_state)

    def _init_rows(
        self,
        x: np.ndarray,
        ood: Optional[str],
        bandwidth: Union[str, float, Sequence[float]],
        _state: Optional[Mapping[str, Any]],
    ) -> None:
        self.reference = x
        self.features = [str(j) for j in range(x.shape[1])]
        self.prediction_column = None
        self.inputs = {"reference": fingerprint(x)}
        self._mean = x.mean(axis=0)
        sd = x.std(axis=0)
        self._sd = np.where(sd > 0, sd, 1.0)
        z = (x - self._mean) / self._sd
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(z))
        need = self.window + self.horizon
        n_held = min(HELD_OUT_ROWS, max(need, len(z) // 2))
        if len(z) - n_held < self.window:
            raise InvalidInputError(
                f"reference: {len(z)} rows are too few for window={self.window} "
                f"(at least {need + self.window} needed)"
            )
        self._held = np.ascontiguousarray(z[np.sort(order[:n_held])])
        self._ref = np.ascontiguousarray(z[np.sort(order[n_held:][:DETECTOR_ROWS])])
        if isinstance(bandwidth, str):
            if bandwidth != "median":
                raise InvalidInputError(
                    f'bandwidth: expected "median" or a number, got {bandwidth!r}'
                )
            self.bandwidth: Union[float, list[float]] = _median_distance(self._ref, self.seed)
        else:
            self.bandwidth = check_positive(bandwidth, "bandwidth")
        if _state is not None:
            self.thresholds = np.asarray(_state["thresholds"], dtype=np.float64)
        else:
            self.thresholds = _core.monitor_online_configure(
                self._ref,
                self._held,
                self.bandwidth,
                self.window,
                self.ert,
                self.horizon,
                self.streams,
                self.seed,
            )
        self.ood = "knn" if ood == "auto" else ood
        self.detector = (
            None if self.ood is None else OODDetector.fit(x, method=self.ood, seed=self.seed)
        )

    def _init_profile(
        self,
        profile: Profile,
        ood: Optional[str],
        bandwidth: Union[str, float, Sequence[float]],
        columns: Optional[Sequence[str]],
        prediction_column: Optional[str],
        _state: Optional[Mapping[str, Any]],
    ) -> None:
        """The detectors a profile supports (see the class)."""
        if ood not in (None, "auto"):
            raise InvalidInputError(
                f"ood: {ood!r} needs reference rows to fit on, and a profile has none; "
                "pass ood=None (or leave the default) or build the monitor from rows"
            )
        self.ood, self.detector = None, None
        info = {c["name"]: c for c in profile.describe()}
        if prediction_column is not None:
            pc = str(prediction_column)
            if info.get(pc, {}).get("kind") != "numeric":
                raise InvalidInputError(
                    f"prediction_column: the profile has no numeric column {pc!r}"
                )
            if self.reference_predictions is not None:
                raise InvalidInputError(
                    "reference_predictions: give either them or prediction_column"
                )
        self.prediction_column = None if prediction_column is None else str(prediction_column)
        if columns is None:
            names = [
                n for n, c in info.items() if c["kind"] == "numeric" and n != prediction_column
            ]
            if not names:
                raise InvalidInputError("reference: the profile has no numeric column to watch")
        else:
            if isinstance(columns, str) or not isinstance(columns, Sequence):
                raise InvalidTypeError("columns: expected a list of column names")
            names = [str(n) for n in columns]
            if not names:
                raise InvalidInputError("columns: expected at least one column")
            for n in names:
                if n not in info:
                    raise InvalidInputError(f"columns: the profile has no column {n!r}")
                if info[n]["kind"] != "numeric":
                    raise InvalidInputError(
                        f"columns: column {n!r} is categorical; the monitor watches numbers"
                    )
        self.features = names
        self.reference = None
        self.inputs = {"reference": profile.fingerprint}
        d = len(names)
        mean = np.array([info[n]["mean"] if info[n]["mean"] is not None else 0.0 for n in names])
        sd = np.array([info[n]["std"] or 0.0 for n in names], dtype=np.float64)
        self._mean, self._sd = mean, np.where(sd > 0, sd, 1.0)
        ref = np.empty((DETECTOR_ROWS, d))
        held = np.empty((PROFILE_HELD_OUT_ROWS, d))
        for j, n in enumerate(names):  # a loop over features
            try:
                draws = profile._inner.sample(
                    n, DETECTOR_ROWS + PROFILE_HELD_OUT_ROWS, (self.seed + j) % 2**64
                )
            except InvalidInputError as e:
                raise InvalidInputError(f"reference: {e}") from None
            z = (draws - mean[j]) / self._sd[j]
            ref[:, j], held[:, j] = z[:DETECTOR_ROWS], z[DETECTOR_ROWS:]
        self._ref, self._held = ref, held
        if isinstance(bandwidth, str):
            if bandwidth != "median":
                raise InvalidInputError(
                    f'bandwidth: expected "median", a number or one number per feature, '
                    f"got {bandwidth!r}"
                )
            bws = []
            for j, n in enumerate(names):
                try:
                    bws.append(_median_distance(ref[:, j : j + 1], self.seed))
                except InvalidInputError:
                    raise InvalidInputError(
                        f"reference: column {n!r} holds mostly one value; leave it out "
                        "(columns=) or pass a positive bandwidth"
                    ) from None
        elif isinstance(bandwidth, Sequence):
            if len(bandwidth) != d:
                raise InvalidInputError(
                    f"bandwidth: expected {d} numbers (one per feature), got {len(bandwidth)}"
                )
            bws = [check_positive(b, "bandwidth") for b in bandwidth]
        else:
            bws = [check_positive(bandwidth, "bandwidth")] * d
        self.bandwidth = bws
        if _state is not None:
            self.thresholds = np.asarray(_state["thresholds"], dtype=np.float64).reshape(-1, d)
        else:
            self.thresholds = _core.monitor_features_configure(
                self._ref,
                self._held,
                bws,
                self.window,
                self.ert,
                self.horizon,
                self.streams,
                self.seed,
            )

    # -- the stream ------------------------------------------------------------------
    def update(self, batch: Any, predictions: Any = None) -> list[Alert]:
        """Feeds rows (a batch, or one row as a 1-D vector) in time order; returns the
        alerts they raised (also kept in ``alerts``). A monitor built from a profile also
        takes a table with its feature columns by name (other columns are ignored; the
        ``prediction_column``, when there, gives the predictions)."""
        d = len(self.features)
        if self.profile is not None:
            batch, predictions = self._profile_batch(batch, predictions)
        if np.ndim(batch) == 1 and len(batch) == d:
            batch = np.asarray(batch).reshape(1, d)
        x = as_matrix(batch, "batch", width=d)
        preds = None
        if predictions is not None:
            if self.reference_predictions is None and self.prediction_column is None:
                raise InvalidInputError(
                    "predictions: the monitor has no reference_predictions to compare with"
                )
            preds = as_matrix(predictions, "predictions")[:, 0]
            if len(preds) != len(x):
                raise InvalidInputError(f"predictions: {len(preds)} values for {len(x)} rows")
        start = self.rows_seen
        new: list[Alert] = []
        z = np.ascontiguousarray((x - self._mean) / self._sd)
        if self.profile is not None:
            out = _core.monitor_features_step(
                self._ref,
                self.bandwidth,
                self.thresholds,
                self.window,
                self._rows,
                self._means,
                self._t,
                z,
            )
            stats = out["margins"]
            for pos, moved in out["alarms"]:
                names = ", ".join(repr(self.features[j]) for j in moved)
                new.append(
                    Alert(
                        "drift",
                        start + pos + 1,
                        f"online MMD of feature {names} above its threshold (by "
                        f"{stats[pos]:.4g}; per-feature detectors, window {self.window}, ert "
                        f"{self.ert:g} over {d} features); detector restarted",
                    )
                )
        else:
            out = _core.monitor_online_step(
                self._ref,
                self.bandwidth,
                self.thresholds,
                self.window,
                self._rows,
                self._means,
                self._t,
                z,
            )
            stats = out["statistics"]
            # Rows since the last (re)start at each alarm: the threshold the row was held to.
            t, seen = self._t, 0
            for pos in out["alarms"]:
                t += pos + 1 - seen
                seen = pos + 1
                bar = self.thresholds[min(t - self.window, len(self.thresholds) - 1)]
                t = 0
                new.append(
                    Alert(
                        "drift",
                        start + pos + 1,
                        f"online MMD statistic {stats[pos]:.4g} above its threshold "
                        f"{bar:.4g} (window {self.window}, ert {self.ert:g}; the statistic "
                        "leaves out the reference's constant term, so both may be below 0); "
                        "detector restarted",
                    )
                )
        self._rows, self._means, self._t = out["rows"], out["means"], int(out["t"])
        idx = np.arange(start + 1, start + len(x) + 1, dtype=np.float64)
        line = np.column_stack([idx, stats])
        self.timeline = np.vstack([self.timeline, line[~np.isnan(stats)]])[-TIMELINE:]
        pvals = None if self.detector is None else self.detector.pvalues(x)
        new.extend(self._windows(x, preds, pvals, start))
        new.sort(key=lambda a: a.index)  # stable: the same order whatever the batching
        self.rows_seen += len(x)
        self.alerts.extend(new)
        return new

    def _profile_batch(self, batch: Any, predictions: Any) -> tuple[Any, Any]:
        """A table batch as an (n, d) array of the features (and its predictions)."""
        if isinstance(batch, (np.ndarray, list, tuple)):
            return batch, predictions
        try:
            cols = dict(table_columns(batch, "batch"))
        except (InvalidInputError, InvalidTypeError):
            return batch, predictions
        missing = [n for n in self.features if n not in cols]
        if missing:
            raise InvalidInputError(f"batch: no column {missing[0]!r}")
        if predictions is None and self.prediction_column in cols:
            predictions = cols[self.prediction_column]
        x = np.column_stack([as_matrix(cols[n], f"batch column {n!r}") for n in self.features])
        return x, predictions

    def _windows(
        self, x: np.ndarray, preds: Optional[np.ndarray], pvals: Optional[np.ndarray], start: int
    ) -> list[Alert]:
        """The tumbling-window checks (a loop over windows, not rows)."""
        alerts: list[Alert] = []
        fw = self.feature_window
        pos = 0
        while pos < len(x):
            take = min(len(x) - pos, fw - len(self._buffer))
            self._buffer = np.vstack([self._buffer, x[pos : pos + take]])
            if preds is not None:
                self._pred_buffer = np.concatenate([self._pred_buffer, preds[pos : pos + take]])
            if pvals is not None:
                flagged = int((pvals[pos : pos + take] < self.ood_alpha).sum())
                self._ood_count += flagged
                self._ood_total += flagged
                self._ood_rows += take
            pos += take
            if len(self._buffer) == fw:
                alerts.extend(self._close_window(start + pos))
        return alerts

    def _close_window(self, index: int) -> list[Alert]:
        alerts = []
        if self.profile is not None:
            moved = self._profile_drift(self.features, self._buffer, self.feature_alpha)
        else:
            d = len(self.features)
            level = self.feature_alpha / d
            moved = []
            for j in range(d):
                r = ks(self.reference[:, j], self._buffer[:, j])
                if r.pvalue is not None and r.pvalue < level:
                    moved.append((str(j), r.pvalue))
        if moved:
            names = ", ".join(f"{j} (p={p:.2g})" for j, p in moved)
            alerts.append(
                Alert(
                    "feature_drift",
                    index,
                    f"KS drift in features {names} over the last "
                    f"{self.feature_window} rows (Bonferroni, alpha {self.feature_alpha:g})",
                )
            )
        if self.detector is not None:
            tail = _binomial_sf(self._ood_count, self.feature_window, self.ood_alpha)
            if tail < self.feature_alpha:
                alerts.append(
                    Alert(
                        "ood",
                        index,
                        f"{self._ood_count} of the last {self.feature_window} "
                        f"rows out of distribution (p < {self.ood_alpha:g}; binomial tail "
                        f"{tail:.2g})",
                    )
                )
        if len(self._pred_buffer) and self.prediction_column is not None:
            if self._profile_drift(
                [self.prediction_column], self._pred_buffer[:, None], self.feature_alpha
            ):
                alerts.append(
                    Alert(
                        "prediction_drift",
                        index,
                        f"KS drift (from the profile's column {self.prediction_column!r}) of "
                        f"the predictions over the last {len(self._pred_buffer)} rows",
                    )
                )
        elif len(self._pred_buffer) and self.reference_predictions is not None:
            r = ks(self.reference_predictions, self._pred_buffer)
            if r.pvalue is not None and r.pvalue < self.feature_alpha:
                alerts.append(
                    Alert(
                        "prediction_drift",
                        index,
                        f"KS drift of the predictions over the "
                        f"last {len(self._pred_buffer)} rows (p={r.pvalue:.2g})",
                    )
                )
        self._buffer = self._buffer[:0]
        self._pred_buffer = self._pred_buffer[:0]
        self._ood_count = 0
        return alerts

    def _profile_drift(
        self, names: list[str], values: np.ndarray, alpha: float
    ) -> list[tuple[str, float]]:
        """The columns of a window that drift from the profile: KS from profiles with its
        grid error bound, Bonferroni over ``names``."""
        assert self.profile is not None
        rep = compare(
            self.profile,
            {n: values[:, j] for j, n in enumerate(names)},
            tests="ks",
            alpha=alpha,
            correction="bonferroni",
            columns=names,
            fingerprint=False,
        )
        return [(c.name, float(c.pvalue or 0.0)) for c in rep.columns if c.drift]

    @property
    def ood_share(self) -> Optional[float]:
        """Share of rows seen whose OOD p-value was below ``ood_alpha``."""
        return (
            None
            if self.detector is None or not self._ood_rows
            else self._ood_total / self._ood_rows
        )

    @property
    def statistic(self) -> Optional[float]:
        """The online detector's last statistic (None while its window fills)."""
        return (
            float(self.timeline[-1, 1]) if len(self.timeline) and self._t >= self.window else None
        )

    @property
    def threshold(self) -> float:
        """The threshold the next full window is held to."""
        i = max(0, min(self._t + 1 - self.window, len(self.thresholds) - 1))
        return float(self.thresholds[i])

    def config(self) -> dict[str, Any]:
        source = {}
        if self.profile is not None:
            source = {
                "source": "profile",
                "columns": list(self.features),
                "prediction_column": self.prediction_column,
                "detector": "per-feature online MMD, union bound over features",
            }
        return {
            **source,
            "ert": self.ert,
            "window": self.window,
            "ood": self.ood,
            "ood_alpha": self.ood_alpha,
            "feature_window": self.feature_window,
            "feature_alpha": self.feature_alpha,
            "bandwidth": self.bandwidth,
            "streams": self.streams,
            "horizon": self.horizon,
        }

    def report(
        self, model: Any = None, current: Any = None, explain: Optional[Mapping[str, Any]] = None
    ) -> MonitorReport:
        """The alerts and the detector's time line so far.

        With a ``model``, also ``explanation``: the shift of its mean prediction from the
        reference to ``current``, split over the features by
        :func:`mlsentry.explain.prediction_shift` (options in ``explain``). ``current``
        defaults to the latest rows the monitor holds: the online detector's window since
        its last restart or the open feature window, whichever is longer (both are the
        stream's most recent rows)."""
        explanation = None
        if model is not None:
            from ..explain import prediction_shift

            if current is None:
                # Both are suffixes of the stream: the longer holds the other.
                window = self._rows * self._sd + self._mean
                current = self._buffer if len(self._buffer) > len(window) else window
                if len(current) < 2:
                    raise InvalidInputError(
                        "current: the monitor holds fewer than 2 recent rows to explain; "
                        "update it first or pass current"
                    )
            explanation = prediction_shift(model, self.reference, current, **dict(explain or {}))
        return MonitorReport(
            rows_seen=self.rows_seen,
            alerts=list(self.alerts),
            timeline=[(int(i), float(s)) for i, s in self.timeline],
            final_threshold=0.0 if self.profile is not None else float(self.thresholds[-1]),
            ood_share=self.ood_share,
            config=self.config(),
            inputs=self.inputs,
            seed=self.seed,
            explanation=explanation,
        )

    # -- persistence -----------------------------------------------------------------
    def save(self, path: Union[str, os.PathLike[str]]) -> None:
        """Writes the whole state (reference, thresholds, windows, alerts) to one ``.npz``
        file; :meth:`load` continues exactly where this monitor stands."""
        meta = {
            "format": "mlsentry/monitor-state/v1",
            "config": {**self.config(), "seed": self.seed},
            "rows_seen": self.rows_seen,
            "t": self._t,
            "ood_count": self._ood_count,
            "ood_rows": self._ood_rows,
            "ood_total": self._ood_total,
            "alerts": [a.to_dict() for a in self.alerts],
        }
        arrays = {
            "thresholds": self.thresholds,
            "rows": self._rows,
            "means": self._means,
            "buffer": self._buffer,
            "pred_buffer": self._pred_buffer,
            "timeline": self.timeline,
        }
        if self.profile is not None:
            arrays["profile"] = np.frombuffer(self.profile.to_bytes(), dtype=np.uint8)
        else:
            arrays["reference"] = self.reference
        if self.reference_predictions is not None:
            arrays["reference_predictions"] = self.reference_predictions
        with open(os.fspath(path), "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path: Union[str, os.PathLike[str]]) -> Monitor:
        """The monitor :meth:`save` wrote."""
        with np.load(os.fspath(path), allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
        meta = json.loads(str(data.pop("meta")))
        if meta.get("format") != "mlsentry/monitor-state/v1":
            raise InvalidInputError(f"path: {os.fspath(path)!r} is not a saved monitor")
        c = meta["config"]
        if "profile" in data:
            reference: Any = Profile.from_bytes(data.pop("profile").tobytes())
            extra = {"columns": c["columns"], "prediction_column": c["prediction_column"]}
        else:
            reference, extra = data["reference"], {}
        return cls(
            reference,
            ert=c["ert"],
            window=c["window"],
            ood=c["ood"],
            ood_alpha=c["ood_alpha"],
            feature_window=c["feature_window"],
            feature_alpha=c["feature_alpha"],
            reference_predictions=data.get("reference_predictions"),
            bandwidth=c["bandwidth"],
            streams=c["streams"],
            seed=c["seed"],
            **extra,
            _state={**meta, **data},
        )

    def _restore(self, s: Mapping[str, Any]) -> None:
        self.rows_seen = int(s["rows_seen"])
        self._t = int(s["t"])
        d = len(self.features)
        self._rows = np.asarray(s["rows"], dtype=np.float64).reshape(-1, d)
        self._means = np.asarray(s["means"], dtype=np.float64)
        if self.profile is not None:
            self._means = self._means.reshape(-1, d)
        self._buffer = np.asarray(s["buffer"], dtype=np.float64).reshape(-1, d)
        self._pred_buffer = np.asarray(s["pred_buffer"], dtype=np.float64)
        self.timeline = np.asarray(s["timeline"], dtype=np.float64).reshape(-1, 2)
        self._ood_count = int(s["ood_count"])
        self._ood_rows = int(s["ood_rows"])
        self._ood_total = int(s["ood_total"])
        self.alerts = [Alert(**a) for a in s["alerts"]]

    # -- Prometheus --------------------------------------------------------------------
    def register_metrics(self, registry: Any = None) -> Any:
        """Adds this monitor's collector to a Prometheus ``registry`` (the default one when
        None) and returns it. Metrics (read at each scrape):

        * ``mlsentry_monitor_rows_total`` (counter): rows seen;
        * ``mlsentry_monitor_alerts_total{kind}`` (counter): alerts by kind;
        * ``mlsentry_monitor_drift_statistic`` (gauge): the online detector's last statistic
          (NaN while its window fills);
        * ``mlsentry_monitor_drift_threshold`` (gauge): the threshold it is held to;
        * ``mlsentry_monitor_ood_share`` (gauge): share of rows flagged out of distribution.

        Needs the ``monitor`` extra (``prometheus-client``).
        """
        from .metrics import register

        return register(self, registry)


class MonitorReport(Report):
    """What a :class:`Monitor` saw: alerts and the online detector's time line.

    ``passed`` is False when any alert fired, True otherwise (the bar is the configured
    false-alarm rates)."""

    schema: ClassVar[str] = "mlsentry/monitor/v1"
    title: ClassVar[str] = "Production monitor"

    def __init__(
        self,
        *,
        rows_seen: int,
        alerts: list[Alert],
        timeline: list[tuple[int, float]],
        final_threshold: float,
        ood_share: Optional[float],
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
        seed: Optional[int] = None,
        created: Optional[str] = None,
        mlsentry_version: Optional[str] = None,
        explanation: Optional[Report] = None,
    ) -> None:
        super().__init__(
            config=config,
            inputs=inputs,
            seed=seed,
            created=created,
            mlsentry_version=mlsentry_version,
        )
        self.rows_seen = int(rows_seen)
        self.alerts = list(alerts)
        self.timeline = [(int(i), float(s)) for i, s in timeline]
        self.final_threshold = float(final_threshold)
        self.ood_share = ood_share
        #: The prediction shift split over features (``report(model=m)``), if asked for.
        self.explanation = explanation

    @property
    def passed(self) -> bool:
        return not self.alerts

    def _payload(self) -> dict[str, Any]:
        return {
            "rows_seen": self.rows_seen,
            "alerts": [a.to_dict() for a in self.alerts],
            "timeline": [list(p) for p in self.timeline],
            "final_threshold": self.final_threshold,
            "ood_share": self.ood_share,
            **({"explanation": self.explanation.to_dict()} if self.explanation else {}),
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> MonitorReport:
        return cls(
            rows_seen=data["rows_seen"],
            alerts=[Alert(**a) for a in data["alerts"]],
            timeline=[tuple(p) for p in data["timeline"]],
            final_threshold=data["final_threshold"],
            ood_share=data["ood_share"],
            seed=data.get("seed"),
            explanation=None
            if data.get("explanation") is None
            else Report.from_dict(data["explanation"]),
            **meta,
        )

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        out = {f"{p}.rows_seen": float(self.rows_seen), f"{p}.alerts": float(len(self.alerts))}
        for kind in ALERT_KINDS:
            out[f"{p}.alerts.{kind}"] = float(sum(a.kind == kind for a in self.alerts))
        if self.explanation is not None:
            out.update(self.explanation._metrics(f"{p}.explanation", column_metrics))
        return out

    def summary(self) -> str:
        lines = [
            f"{self.title}: {self.verdict}: {count_of(len(self.alerts), 'alert')} in "
            f"{count_of(self.rows_seen, 'row')}"
        ]
        if self.config.get("source") == "profile":
            lines[0] += (
                f" (built from a profile: per-feature drift detectors on "
                f"{', '.join(map(str, self.config.get('columns', [])))})"
            )
        lines += [f"  row {a.index}: {a.kind}: {a.reason}" for a in self.alerts]
        if self.explanation is not None:
            lines.extend("  " + line for line in self.explanation.summary().splitlines())
        return "\n".join(lines)

    def _html_body(self) -> str:
        parts = [f"<p>{html.escape(self.summary().splitlines()[0])}.</p>", _timeline_svg(self)]
        if self.alerts:
            parts.append(
                html_table(
                    ["row", "kind", "reason"],
                    [[str(a.index), a.kind, a.reason] for a in self.alerts],
                    row_classes=["bad"] * len(self.alerts),
                )
            )
        if self.explanation is not None:
            parts.append(f"<h3>{html.escape(self.explanation.title)}</h3>")
            parts.append(self.explanation._html_body())
        return "".join(parts)


def _timeline_svg(r: MonitorReport, width: int = 640, height: int = 160) -> str:
    """The detector statistic against rows seen, its final threshold dashed, alerts as
    red marks."""
    if not r.timeline:
        return "<p>No full window yet.</p>"
    xs = np.array([p[0] for p in r.timeline], dtype=float)
    ys = np.array([p[1] for p in r.timeline], dtype=float)
    x0, x1 = 0.0, max(float(xs.max()), float(r.rows_seen), 1.0)
    y0 = float(min(ys.min(), r.final_threshold))
    y1 = float(max(ys.max(), r.final_threshold))
    y1 = y1 if y1 > y0 else y0 + 1.0

    def px(x: float) -> float:
        return 30 + (x - x0) / (x1 - x0) * (width - 40)

    def py(y: float) -> float:
        return 10 + (1 - (y - y0) / (y1 - y0)) * (height - 30)

    step = max(1, len(xs) // 800)
    xs, ys = xs[::step], ys[::step]
    # One line per run of the detector: after an alarm it restarts and refills its window,
    # so the rows in between have no statistic and are not joined.
    breaks = np.flatnonzero(np.diff(xs) > step) + 1
    lines = "".join(
        (
            '<polyline fill="none" stroke="#1565c0" points="'
            + " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(sx, sy))
            + '"/>'
        )
        if len(sx) > 1
        else f'<circle cx="{px(sx[0]):.1f}" cy="{py(sy[0]):.1f}" r="2.5" fill="#1565c0"/>'
        for sx, sy in zip(np.split(xs, breaks), np.split(ys, breaks))
    )
    marks = "".join(
        f'<line x1="{px(a.index):.1f}" x2="{px(a.index):.1f}" y1="10" y2="{height - 20}" '
        f'stroke="#c62828"><title>{html.escape(a.kind)} at row {a.index}</title></line>'
        for a in r.alerts
    )
    ty = py(r.final_threshold)
    what = (
        "the largest excess of a feature's online statistic over its threshold after each "
        "row; dashed: 0 (an alarm above it)"
        if r.config.get("source") == "profile"
        else "the online statistic after each row; dashed: its threshold once settled"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="online drift statistic">'
        f"{lines}"
        f'<line x1="30" x2="{width - 10}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#888" '
        f'stroke-dasharray="4 3"/>{marks}</svg>'
        f'<p class="muted" style="font-size:0.85em;margin-top:0">rows seen: 0 to {int(x1)}; '
        f"blue: {html.escape(what)}; red: alerts</p>"
    )
