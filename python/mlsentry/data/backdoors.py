"""Poisoning and backdoor scores on features or activations: :func:`poisoning` and its
:class:`PoisoningReport`.

The scores run in Rust without the GIL (``src/core/data/poisoning.rs``); this module
normalises the arguments and builds the report.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Optional

import numpy as np

from .. import _core
from .._args import check_int, check_positive
from .._progress import ProgressArg, progress_callback
from ..errors import InvalidInputError, InvalidTypeError, MlsentryError, require
from ..integrity import fingerprint, record_check
from ..report import Report, count_of, fmt_number, html_table, name_part

__all__ = ["METHODS", "PoisoningReport", "poisoning"]

#: The most classes :func:`poisoning` accepts (``n_classes``).
MAX_CLASSES = 1 << 24
#: The scoring methods :func:`poisoning` accepts.
METHODS = ("spectral", "activation_clustering", "knn")


def poisoning(
    features: Any,
    labels: Any,
    method: str = "spectral",
    *,
    expected_fraction: float = 0.05,
    multiplier: float = 1.5,
    centered: bool = True,
    nb_dims: int = 10,
    n_init: int = 4,
    cluster_analysis: str = "smaller",
    k: int = 10,
    n_classes: Optional[int] = None,
    seed: int = 0,
    progress: ProgressArg = False,
) -> PoisoningReport:
    """Score every row for how planted it looks within its class, and name the suspects.

    Parameters
    ----------
    features : array-like, shape (n, d) or (n, ...)
        Features or a layer's activations, one row per training sample (more than two
        axes are flattened per row, as ART does). Any real dtype; NaN and infinities are
        refused.
    labels : array-like, shape (n,) or one-hot (n, k)
        The training label of each row: any values (ints, strings), or class indices in
        ``0..n_classes-1`` when ``n_classes`` is given, or one-hot rows.
    method : {"spectral", "activation_clustering", "knn"}
        ``"spectral"`` (Tran, Li and Madry 2018): per class, the squared projection of the
        centred row on the top singular vector of the centred class; with
        ``centered=False`` ART's ``SpectralSignatureDefense`` score ``|v . x|`` on the
        uncentred row. ``"activation_clustering"`` (Chen et al. 2018): per class, PCA to
        ``nb_dims`` dimensions (ART uses FastICA), 2-means (k-means++ starts, ``n_init``
        runs, seeded); the smaller cluster is suspect and a row scores
        ``|p - c_other| - |p - c_suspect|`` (positive exactly inside the suspect cluster).
        ``"knn"``: the share of the ``k`` nearest other rows (features standardised by
        column, Euclidean, ties to the lower index) whose label differs.
    expected_fraction : float, default 0.05
        The share of poisoned rows expected in each class, in (0, 1].
    multiplier : float, default 1.5
        The suspects of a class are its ``floor(expected_fraction * multiplier * n_class)``
        highest-scoring rows (ties: the lower index), as ART's ``eps_multiplier``.
    centered : bool, default True
        Spectral only: the paper's centred score (True) or ART's uncentred one (False).
    nb_dims, n_init : int
        Activation clustering only: the PCA dimensions (ART's ``nb_dims``) and the k-means
        runs.
    cluster_analysis : {"smaller", "less_cohesive"}
        Activation clustering only: the suspect cluster of a class is the one with fewer
        rows (ART's default), or the one whose rows lie farther from its centre on average
        (``suspect_cluster_spread`` and ``other_cluster_spread`` in ``per_class``).
    k : int, default 10
        kNN only: neighbours per row (at most ``n - 1`` are used).
    n_classes : int, optional
        The number of classes when ``labels`` are class indices; labels outside
        ``0..n_classes-1`` are an error, classes without rows are listed with 0 rows.
    seed : int, default 0
        Seed of the k-means starts (the other methods are not random).
    progress : bool or callable, optional
        ``True`` shows a tqdm bar; a callable is called as ``progress(done, total)`` rows.

    Returns
    -------
    PoisoningReport
        ``.scores`` (one per row, larger = more suspect), ``.suspects`` (sorted row
        indices), ``.per_class``; no verdict (``passed`` is None): it finds rows to
        inspect, it does not judge the data.

    Notes
    -----
    When the top two singular values of a class are equal (``sigma_ratio`` 1 in
    ``per_class``) its top direction is not determined and no two SVD codes need agree on
    it; the scores of such a class mean little.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 8)); y = np.repeat([0, 1], 200)
    >>> X[:10, 0] += 6.0                          # ten planted rows in class 0
    >>> rep = ms.data.poisoning(X, y, "spectral", expected_fraction=0.05)
    >>> rep.suspects[:10].tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> len(rep.suspects), rep.passed             # floor(0.075 * 200) per class
    (30, None)
    """
    if not isinstance(method, str) or method not in METHODS:
        raise InvalidInputError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    fraction = check_positive(expected_fraction, "expected_fraction")
    if fraction > 1:
        raise InvalidInputError(f"expected_fraction: expected a number in (0, 1], got {fraction}")
    mult = check_positive(multiplier, "multiplier")
    if not isinstance(centered, (bool, np.bool_)):
        raise InvalidTypeError(f"centered: expected a bool, got {type(centered).__name__}")
    if cluster_analysis not in ("smaller", "less_cohesive"):
        raise InvalidInputError(
            f"cluster_analysis: expected smaller or less_cohesive, got {cluster_analysis!r}"
        )
    nb_dims = check_int(nb_dims, "nb_dims", 1)
    n_init = check_int(n_init, "n_init", 1, 1000)
    k = check_int(k, "k", 1)
    seed = check_int(seed, "seed", 0, 2**64 - 1)
    X = _features(features)
    codes, classes = _labels(labels, n_classes)
    with progress_callback(progress, "poisoning", unit="row") as cb:
        out = _core.data_poisoning(
            X, codes, len(classes), method, fraction, mult, bool(centered), nb_dims, n_init,
            seed, k, cluster_analysis, cb,
        )  # fmt: skip
    scores = out["scores"]
    # One stable sort by class, then each class's scores are a slice of it.
    by_class = scores[np.argsort(codes, kind="stable")]
    ends = np.cumsum(np.bincount(codes, minlength=len(classes)))
    starts = ends - np.bincount(codes, minlength=len(classes))
    per_class = [
        _class_summary(c, info, by_class[lo:hi])
        for c, info, lo, hi in zip(classes, out["classes"], starts, ends)
    ]
    config: dict[str, Any] = {
        "method": method,
        "expected_fraction": fraction,
        "multiplier": mult,
    }
    if method == "spectral":
        config["centered"] = bool(centered)
    elif method == "activation_clustering":
        config.update(nb_dims=nb_dims, n_init=n_init, cluster_analysis=cluster_analysis)
    else:
        config.update(k=k, standardised=True)
    report = PoisoningReport(
        method=method,
        scores=scores,
        suspects=out["suspects"],
        per_class=per_class,
        config=config,
        inputs={"features": _digest(features, X), "labels": _digest(labels, codes)},
        seed=seed if method == "activation_clustering" else None,
    )
    record_check(
        "data.poisoning",
        None,
        report.inputs,
        method=method,
        rows=report.n_rows,
        suspects=len(report.suspects),
    )
    return report


def _digest(original: Any, converted: np.ndarray) -> str:
    """The fingerprint of an input as given, or of its array form when that cannot be
    fingerprinted (a list of mixed objects)."""
    try:
        return fingerprint(original)
    except (MlsentryError, TypeError, ValueError):
        return fingerprint(converted)


def _features(features: Any) -> np.ndarray:
    """A float64 (n, d) array from an array, a DataFrame or nested lists."""
    obj = features
    if hasattr(obj, "to_numpy") and not isinstance(obj, np.ndarray):
        obj = obj.to_numpy()
    elif hasattr(obj, "to_pandas") and not isinstance(obj, np.ndarray):  # pyarrow
        obj = obj.to_pandas().to_numpy()
    try:
        arr = np.asarray(obj)
    except (TypeError, ValueError) as e:
        raise InvalidTypeError(f"features: cannot be read as an array ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise InvalidTypeError(
            f"features: expected real numbers (a numeric array), got dtype {arr.dtype}"
        )
    if arr.ndim < 2:
        raise InvalidInputError(
            f"features: expected a 2-D array (rows, features), got shape {arr.shape}"
        )
    if arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    return np.ascontiguousarray(arr, dtype=np.float64)


def _labels(labels: Any, n_classes: Optional[int]) -> tuple[np.ndarray, list[Any]]:
    """int64 class codes and the class of each code."""
    obj = labels.to_numpy() if hasattr(labels, "to_numpy") else labels
    try:
        y = np.asarray(obj)
    except (TypeError, ValueError) as e:
        raise InvalidTypeError(f"labels: cannot be read as an array ({e})") from None
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
        if y.dtype.kind not in "biuf":
            raise InvalidTypeError(f"labels: one-hot labels must be numeric, got {y.dtype}")
        k = y.shape[1] if n_classes is None else check_int(n_classes, "n_classes", 1, MAX_CLASSES)
        if y.shape[1] != k:
            raise InvalidInputError(f"labels: {y.shape[1]} one-hot columns for {k} classes")
        return np.ascontiguousarray(np.argmax(y, axis=1), dtype=np.int64), list(range(k))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise InvalidInputError(f"labels: expected one label per row, got shape {y.shape}")
    if n_classes is not None:
        k = check_int(n_classes, "n_classes", 1, MAX_CLASSES)
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                raise InvalidInputError("labels: with n_classes, labels are whole class indices")
        elif y.dtype.kind not in "biu" and y.size:
            raise InvalidTypeError(
                f"labels: with n_classes, labels are class indices, got dtype {y.dtype}"
            )
        return np.ascontiguousarray(y, dtype=np.int64), list(range(k))
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise InvalidInputError("labels: NaN or infinite label")
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError as e:
        raise InvalidTypeError(f"labels: labels cannot be ordered ({e})") from None
    return np.ascontiguousarray(codes, dtype=np.int64), [_plain(c) for c in classes]


def _plain(value: Any) -> Any:
    """A class label as a JSON-ready Python value."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return str(value)


def _class_summary(label: Any, info: Mapping[str, Any], scores: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {
        "class": label,
        "rows": int(info["rows"]),
        "suspects": int(info["suspects"]),
    }
    if scores.size:
        q = np.quantile(scores, [0.0, 0.5, 0.95, 1.0])
        out.update(
            score_min=float(q[0]),
            score_median=float(q[1]),
            score_q95=float(q[2]),
            score_max=float(q[3]),
        )
    for name, v in info["details"].items():
        if name == "converged":
            out[name] = bool(v)
        elif name.endswith(("rows", "dims")) or name == "iterations":
            out[name] = int(v)
        else:
            out[name] = float(v)
    return out


class PoisoningReport(Report):
    """What :func:`poisoning` found.

    Attributes
    ----------
    method : str
        ``spectral``, ``activation_clustering`` or ``knn``.
    scores : numpy.ndarray of float64
        One score per row, larger = more suspect (comparable within a class).
    suspects : numpy.ndarray of int64
        The suspect rows, ascending: the top ``floor(expected_fraction * multiplier *
        n_class)`` rows of each class by score.
    per_class : list of dict
        Per class: ``class``, ``rows``, ``suspects``, score quantiles (``score_min``,
        ``score_median``, ``score_q95``, ``score_max``) and the method's own numbers
        (spectral: ``sigma_1``, ``sigma_ratio`` = sigma_2 / sigma_1, ``converged``,
        ``iterations``; activation clustering: also ``suspect_cluster_rows``,
        ``other_cluster_rows``, their mean distances to their centres
        ``suspect_cluster_spread`` and ``other_cluster_spread``, ``dims``).
    """

    schema: ClassVar[str] = "mlsentry/poisoning/v1"
    title: ClassVar[str] = "Poisoning scores"

    def __init__(
        self,
        *,
        method: str,
        scores: Any,
        suspects: Any,
        per_class: Sequence[Mapping[str, Any]],
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
        seed: Optional[int] = None,
    ) -> None:
        super().__init__(config=config, inputs=inputs, seed=seed)
        self.method = method
        self.scores = np.asarray(scores, dtype=np.float64)
        self.suspects = np.asarray(suspects, dtype=np.int64)
        self.per_class = [dict(c) for c in per_class]

    @property
    def passed(self) -> Optional[bool]:
        """Always ``None``: the scores name rows to inspect; there is no bar to pass."""
        return None

    @property
    def n_rows(self) -> int:
        return int(self.scores.size)

    @property
    def expected_fraction(self) -> float:
        return float(self.config.get("expected_fraction", math.nan))

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> PoisoningReport:
        return cls(
            method=str(data["method"]),
            scores=np.asarray(data["scores"], dtype=np.float64),
            suspects=np.asarray(data["suspects"], dtype=np.int64),
            per_class=data["per_class"],
            **meta,
        )

    def _payload(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rows": self.n_rows,
            "per_class": self.per_class,
            "suspects": self.suspects.tolist(),
            "scores": self.scores.tolist(),
        }

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``rows``, ``suspects``, ``suspect_share`` and ``class.<class>.suspects`` for
        the first ``column_metrics`` classes."""
        out = {
            f"{p}.rows": float(self.n_rows),
            f"{p}.suspects": float(self.suspects.size),
            f"{p}.suspect_share": float(self.suspects.size / max(self.n_rows, 1)),
        }
        for c in self.per_class[:column_metrics]:
            out[f"{p}.class.{name_part(str(c['class']))}.suspects"] = float(c["suspects"])
        return out

    def to_pandas(self) -> Any:
        """The per-class summary, one row per class."""
        pd = require("pandas", "pandas", f"{type(self).__name__}.to_pandas()")
        return pd.DataFrame(self.per_class)

    def _headline(self) -> str:
        n = len(self.per_class)
        classes = f"{n} class" if n == 1 else f"{n} classes"
        share = self.expected_fraction * float(self.config.get("multiplier", math.nan))
        return (
            f"{count_of(int(self.suspects.size), 'suspect')} in "
            f"{count_of(self.n_rows, 'row')} of {classes} by {self.method} "
            f"(the top {share:.1%} of each class)"
        )

    def summary(self) -> str:
        lines = [f"{self.title}: {self.verdict}: {self._headline()}"]
        for c in self.per_class[:50]:
            extra = ""
            if "sigma_ratio" in c:
                extra = f", sigma_2/sigma_1 {c['sigma_ratio']:.3f}"
            if "suspect_cluster_rows" in c:
                extra += (
                    f", clusters {c['suspect_cluster_rows']} (suspect) / {c['other_cluster_rows']}"
                )
            median = fmt_number(c.get("score_median"))
            top = fmt_number(c.get("score_max"))
            lines.append(
                f"  class {c['class']}: {c['suspects']} of {c['rows']} rows suspect, "
                f"score median {median} max {top}{extra}"
            )
        if len(self.per_class) > 50:
            lines.append(f"  ... and {len(self.per_class) - 50} more classes")
        return "\n".join(lines)

    def _html_body(self) -> str:
        headers = ["class", "rows", "suspects", "score median", "score q95", "score max"]
        extra = [
            key
            for key in ("sigma_ratio", "suspect_cluster_rows", "other_cluster_rows")
            if any(key in c for c in self.per_class)
        ]
        rows = [
            [str(c["class"]), c["rows"], c["suspects"]]
            + [fmt_number(c.get(k)) for k in ("score_median", "score_q95", "score_max")]
            + [fmt_number(c.get(k)) if isinstance(c.get(k), float) else c.get(k, "") for k in extra]
            for c in self.per_class
        ]
        return (
            f'<p class="lead">{html.escape(self._headline())}. Scores rank the rows of '
            "each class for inspection; they do not judge the data (no verdict).</p>"
            + _histogram_svg(self.scores, self.suspects)
            + html_table(headers + extra, rows)
        )


def _histogram_svg(scores: np.ndarray, suspects: np.ndarray, bins: int = 40) -> str:
    """The scores of all rows in ``bins`` bins, suspects stacked in red over the others
    (inline SVG, counts on a square-root scale so a few suspects stay visible)."""
    finite = scores[np.isfinite(scores)]
    if finite.size == 0:
        return ""
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    mask = np.zeros(scores.size, dtype=bool)
    mask[suspects] = True
    sus = np.histogram(scores[mask], edges)[0]
    rest = np.histogram(scores[~mask], edges)[0]
    top = math.sqrt(max(int((sus + rest).max()), 1))
    width, height, left, bottom, pad = 640.0, 200.0, 48.0, 36.0, 12.0
    plot_w, plot_h = width - left - pad, height - bottom - pad
    bw = plot_w / bins
    font = 'font-family="system-ui,sans-serif" font-size="11" fill="#1b1f24"'
    parts = [f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>']
    for b in range(bins):
        x = left + b * bw
        total_h = plot_h * math.sqrt(int(sus[b] + rest[b])) / top
        sus_h = total_h * (sus[b] / (sus[b] + rest[b])) if sus[b] + rest[b] else 0.0
        y0 = pad + plot_h
        if total_h > sus_h:
            parts.append(
                f'<rect x="{x:.1f}" y="{y0 - total_h:.1f}" width="{bw - 1:.1f}" '
                f'height="{total_h - sus_h:.1f}" fill="#8c959f"><title>{int(rest[b])} rows'
                "</title></rect>"
            )
        if sus_h > 0:
            parts.append(
                f'<rect x="{x:.1f}" y="{y0 - sus_h:.1f}" width="{bw - 1:.1f}" '
                f'height="{sus_h:.1f}" fill="#cf222e"><title>{int(sus[b])} suspects'
                "</title></rect>"
            )
    axis_y = pad + plot_h
    parts.append(
        f'<line x1="{left}" y1="{axis_y:.1f}" x2="{width - pad}" y2="{axis_y:.1f}" '
        'stroke="#57606a"/>'
        f'<text x="{left}" y="{axis_y + 14:.1f}" {font}>{html.escape(fmt_number(lo))}</text>'
        f'<text x="{width - pad}" y="{axis_y + 14:.1f}" text-anchor="end" {font}>'
        f"{html.escape(fmt_number(hi))}</text>"
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6:.1f}" text-anchor="middle" {font}>'
        "score (red: suspects; bar height: square root of the row count)</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img"><title>scores of all rows</title>'
        f"{''.join(parts)}</svg>"
    )
