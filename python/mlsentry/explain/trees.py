"""Exact Tree SHAP for scikit-learn, XGBoost and LightGBM tree ensembles.

Each library's trees are read into one set of flat node arrays (children, split feature,
threshold, routing flags, training cover, leaf values) and handed to the Rust core, which
computes the values in parallel over rows. XGBoost is read from ``save_raw("json")`` and
LightGBM from its text dump (``model_to_string()``): neither library is needed at run time
beyond the model object itself.

Every node keeps its library's routing: scikit-learn trees and XGBoost compare the feature
as float32 (``<=`` and ``<``), histogram gradient boosting as float64, LightGBM as float64
with its own missing-value types (NaN as missing, NaN as zero, or zero as missing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from .. import _core
from .._progress import ProgressArg, progress_callback
from ..errors import InvalidInputError, InvalidTypeError
from .report import Explanation, explanation_inputs, feature_matrix

__all__ = ["tree_shap"]

# Routing flags, as the core reads them (src/core/explain/shap/trees.rs).
STRICT = 1
DEFAULT_LEFT = 2
ZERO_IS_MISSING = 4
NAN_AS_ZERO = 8


@dataclass
class _Trees:
    """Flat node arrays collected tree by tree, then joined into one core ensemble."""

    n_features: int
    n_outputs: int
    float32_input: bool
    base_offset: np.ndarray
    output_kind: str
    parts: list[dict[str, np.ndarray]] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    def add(
        self,
        *,
        left: Any,
        right: Any,
        feature: Any,
        threshold: Any,
        flags: Any,
        cover: Any,
        values: Any,
        output: int = 0,
    ) -> None:
        left = np.asarray(left, dtype=np.int64)
        leaf = left < 0
        values = np.asarray(values, dtype=np.float64)
        self.parts.append(
            {
                "left": np.where(leaf, -1, left),
                "right": np.where(leaf, -1, np.asarray(right, dtype=np.int64)),
                "feature": np.where(leaf, -1, np.asarray(feature, dtype=np.int64)),
                "threshold": np.where(leaf, 0.0, np.asarray(threshold, dtype=np.float64)),
                "flags": np.where(leaf, 0, np.asarray(flags, dtype=np.uint8)).astype(np.uint8),
                "cover": np.asarray(cover, dtype=np.float64),
                "values": values.reshape(left.size, -1),
            }
        )
        self.outputs.append(output)
        self.sizes.append(left.size)

    def add_joined(self, sizes: np.ndarray, outputs: np.ndarray, **arrays: np.ndarray) -> None:
        """Several trees at once: node arrays already in the core's form (leaves -1, 0),
        the trees one after the other, ``sizes`` nodes each."""
        arrays["values"] = arrays["values"].reshape(int(np.sum(sizes)), -1)
        self.parts.append(arrays)
        self.outputs.extend(int(o) for o in outputs)
        self.sizes.extend(int(n) for n in sizes)

    def build(self) -> Any:
        if not self.parts:
            raise InvalidInputError("model: the ensemble has no trees")
        widths = {p["values"].shape[1] for p in self.parts}
        if len(widths) != 1:
            raise InvalidInputError("model: trees with different numbers of outputs")
        joined = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        starts = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        return _core.TreeEnsemble(
            joined["left"],
            joined["right"],
            joined["feature"],
            np.ascontiguousarray(joined["threshold"]),
            joined["flags"],
            joined["cover"],
            np.ascontiguousarray(joined["values"]),
            starts,
            np.asarray(self.outputs, dtype=np.int64),
            self.n_outputs,
            self.n_features,
            np.asarray(self.base_offset, dtype=np.float64).reshape(-1),
            self.float32_input,
        )


def _sklearn_tree(
    trees: _Trees, tree: Any, *, scale: float, normalize: bool, output: int = 0
) -> None:
    value = np.asarray(tree.value, dtype=np.float64)
    if normalize:
        if value.shape[1] != 1:
            raise InvalidInputError("model: multi-output classifiers are not supported")
        totals = value.sum(axis=2, keepdims=True)
        value = np.divide(value, totals, out=np.zeros_like(value), where=totals != 0)
    missing_left = getattr(tree, "missing_go_to_left", None)
    flags = (
        np.zeros(tree.node_count, dtype=np.uint8)
        if missing_left is None
        else np.where(np.asarray(missing_left) != 0, DEFAULT_LEFT, 0)
    )
    trees.add(
        left=tree.children_left,
        right=tree.children_right,
        feature=tree.feature,
        threshold=tree.threshold,
        flags=flags,
        cover=tree.weighted_n_node_samples,
        values=value.reshape(tree.node_count, -1) * scale,
        output=output,
    )


def _n_features(model: Any) -> int:
    n = getattr(model, "n_features_in_", None)
    if n is None:
        raise InvalidInputError("model: not fitted (no n_features_in_)")
    return int(n)


def _from_sklearn_forest(model: Any, classifier: bool) -> _Trees:
    if hasattr(model, "tree_"):
        estimators = [model]  # a single decision tree
    else:
        estimators = getattr(model, "estimators_", None)
        if estimators is None:
            raise InvalidInputError("model: not fitted (no estimators_)")
    first = estimators[0].tree_
    width = first.value.shape[2] if classifier else first.value.shape[1]
    trees = _Trees(
        _n_features(model),
        width,
        True,
        np.zeros(width),
        "probability" if classifier else "raw",
    )
    for est in estimators:
        _sklearn_tree(trees, est.tree_, scale=1.0 / len(estimators), normalize=classifier)
    return trees


def _from_sklearn_gb(model: Any) -> _Trees:
    estimators = getattr(model, "estimators_", None)
    if estimators is None:
        raise InvalidInputError("model: not fitted (no estimators_)")
    d = _n_features(model)
    k = estimators.shape[1]
    base = np.asarray(model._raw_predict_init(np.zeros((1, d), dtype=np.float32)))
    kind = "log_odds" if hasattr(model, "classes_") else "raw"
    trees = _Trees(d, k, True, base.reshape(-1), kind)
    for row in estimators:
        for c, est in enumerate(row):
            _sklearn_tree(
                trees, est.tree_, scale=float(model.learning_rate), normalize=False, output=c
            )
    return trees


def _from_sklearn_hist_gb(model: Any) -> _Trees:
    predictors = getattr(model, "_predictors", None)
    if predictors is None:
        raise InvalidInputError("model: not fitted")
    base = np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1)
    kind = "log_odds" if hasattr(model, "classes_") else "raw"
    trees = _Trees(_n_features(model), base.size, False, base, kind)
    for iteration in predictors:
        for c, pred in enumerate(iteration):
            nodes = pred.nodes
            if np.any(nodes["is_categorical"] & ~nodes["is_leaf"].astype(bool)):
                raise InvalidInputError(
                    "model: categorical splits of HistGradientBoosting are not supported"
                )
            is_leaf = nodes["is_leaf"].astype(bool)
            trees.add(
                left=np.where(is_leaf, -1, nodes["left"].astype(np.int64)),
                right=np.where(is_leaf, -1, nodes["right"].astype(np.int64)),
                feature=nodes["feature_idx"],
                threshold=nodes["num_threshold"],
                flags=np.where(nodes["missing_go_to_left"] != 0, DEFAULT_LEFT, 0),
                cover=nodes["count"],
                values=nodes["value"],
                output=c,
            )
    return trees


def _number_list(text: Any) -> list[float]:
    if isinstance(text, (int, float)):
        return [float(text)]
    s = str(text).strip().strip("[]")
    return [float(v) for v in s.split(",") if v.strip()]


#: XGBoost objectives whose margin is the log of the mean (the base score is a mean).
_XGB_LOG_LINK = ("reg:gamma", "reg:tweedie", "count:poisson", "survival:cox", "survival:aft")
_XGB_LOGIT_LINK = ("binary:logistic", "reg:logistic", "binary:logitraw")


def _from_xgboost(model: Any) -> _Trees:
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    doc = json.loads(bytes(booster.save_raw(raw_format="json")))
    learner = doc["learner"]
    params = learner["learner_model_param"]
    objective = learner["objective"]["name"]
    gbm = learner["gradient_booster"]
    if gbm.get("name") != "gbtree":
        raise InvalidInputError(
            f"model: XGBoost booster {gbm.get('name')!r} is not supported (gbtree only)"
        )
    k = max(int(params.get("num_class", 0)), int(params.get("num_target", 1)), 1)
    base = np.asarray(_number_list(params["base_score"]), dtype=np.float64)
    base = np.broadcast_to(base, (k,)).copy() if base.size == 1 else base
    if objective in ("binary:logistic", "reg:logistic"):
        base = np.log(base / (1.0 - base))
    elif objective in _XGB_LOG_LINK:
        base = np.log(base)
    kind = "log_odds" if objective in _XGB_LOGIT_LINK else "raw"
    trees = _Trees(int(params["num_feature"]), k, True, base, kind)
    tree_info = gbm["model"]["tree_info"]
    used = _xgboost_trees_used(learner, gbm["model"], k)
    for tree, out in zip(gbm["model"]["trees"][:used], tree_info[:used]):
        if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
            raise InvalidInputError("model: XGBoost vector-leaf trees are not supported")
        if any(int(t) != 0 for t in tree["split_type"]):
            raise InvalidInputError("model: XGBoost categorical splits are not supported")
        left = np.asarray(tree["left_children"], dtype=np.int64)
        cond = np.asarray(tree["split_conditions"], dtype=np.float32).astype(np.float64)
        trees.add(
            left=left,
            right=tree["right_children"],
            feature=tree["split_indices"],
            threshold=cond,
            flags=np.where(np.asarray(tree["default_left"]) != 0, STRICT | DEFAULT_LEFT, STRICT),
            cover=tree["sum_hessian"],
            values=np.where(left < 0, cond, 0.0),
            output=int(out),
        )
    return trees


def _xgboost_trees_used(learner: dict[str, Any], model: dict[str, Any], k: int) -> int:
    """The trees up to the best iteration of a model trained with early stopping (its
    ``best_iteration`` attribute), as ``shap.TreeExplainer`` and the scikit-learn wrapper's
    ``predict`` use them (``iteration_range=(0, best_iteration + 1)``); all trees otherwise.
    (A bare ``Booster.predict`` uses every tree unless given that ``iteration_range``.)"""
    n = len(model["trees"])
    best = (learner.get("attributes") or {}).get("best_iteration")
    if best is None:
        return n
    rounds = int(best) + 1
    indptr = model.get("iteration_indptr")
    if indptr is not None and len(indptr) > rounds:
        return int(indptr[rounds])
    per_round = k * int(model.get("gbtree_model_param", {}).get("num_parallel_tree", "1"))
    return min(n, rounds * per_round)


# LightGBM's decision_type bits: 1 categorical, 2 default left, (>> 2) & 3 the missing type.
_LGB_MISSING = (NAN_AS_ZERO, NAN_AS_ZERO | ZERO_IS_MISSING, 0)  # None, Zero, NaN


def _numbers(fields: dict[str, str], name: str, dtype: Any) -> np.ndarray:
    return np.array(fields.get(name, "").split(), dtype=dtype)


def _lightgbm_flags(kinds: np.ndarray) -> np.ndarray:
    """Routing flags of LightGBM's ``decision_type`` (numeric splits only)."""
    if np.any(kinds & 1):
        raise InvalidInputError("model: LightGBM categorical splits are not supported")
    missing = (kinds >> 2) & 3
    if np.any(missing > 2):
        raise InvalidInputError(f"model: LightGBM missing type {int(missing.max())}")
    return np.asarray(_LGB_MISSING, dtype=np.uint8)[missing] | np.where(
        kinds & 2, DEFAULT_LEFT, 0
    ).astype(np.uint8)


_LGB_FIELDS = (
    "Tree",
    "num_leaves",
    "split_feature",
    "threshold",
    "decision_type",
    "left_child",
    "right_child",
    "leaf_value",
    "leaf_count",
    "internal_count",
    "is_linear",
)


def _lightgbm_all_trees(text: str, k: int, scale: float, trees: _Trees) -> bool:
    """Every tree of the text dump in one go: each field's lines of all trees joined and
    parsed by numpy once. False (nothing added) when a tree lacks a field or a count
    does not match, for the tree-by-tree reader."""
    fields: dict[str, list[str]] = {name: [] for name in _LGB_FIELDS}
    for line in text.split("\n"):
        name, eq, value = line.partition("=")
        if eq and name in fields:
            fields[name].append(value)
    n_trees = len(fields["Tree"])
    linear = fields.pop("is_linear")  # absent from older dumps
    if n_trees == 0 or any(len(v) != n_trees for v in fields.values()):
        return False
    if len(linear) not in (0, n_trees):
        return False
    if any(v.strip() != "0" for v in linear):
        raise InvalidInputError("model: LightGBM linear trees are not supported")

    def numbers(name: str, dtype: Any) -> np.ndarray:
        return np.array(" ".join(fields[name]).split(), dtype=dtype)

    n_leaves = np.array(fields["num_leaves"], dtype=np.int64)
    if np.any(n_leaves < 1):
        raise InvalidInputError("model: a LightGBM tree's dump is not readable")
    m = n_leaves - 1
    n_internal, n_leaf = int(m.sum()), int(n_leaves.sum())
    internal = {
        name: numbers(name, dtype)
        for name, dtype in (
            ("split_feature", np.int64),
            ("threshold", np.float64),
            ("decision_type", np.int64),
            ("left_child", np.int64),
            ("right_child", np.int64),
            ("internal_count", np.float64),
        )
    }
    leaf = {name: numbers(name, np.float64) for name in ("leaf_value", "leaf_count")}
    if any(a.size != n_internal for a in internal.values()) or any(
        a.size != n_leaf for a in leaf.values()
    ):
        return False
    sizes = m + n_leaves
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # A tree's internal nodes, then its leaves (a child c < 0 in the dump is leaf ~c).
    m_of = np.repeat(m, m)
    at_internal = np.repeat(first, m) + np.arange(n_internal) - np.repeat(np.cumsum(m) - m, m)
    at_leaf = (
        np.repeat(first + m, n_leaves)
        + np.arange(n_leaf)
        - np.repeat(np.cumsum(n_leaves) - n_leaves, n_leaves)
    )
    n = int(sizes.sum())

    def nodes(inner: Any, outer: Any, dtype: Any) -> np.ndarray:
        out = np.empty(n, dtype=dtype)
        out[at_internal] = inner
        out[at_leaf] = outer
        return out

    def child(name: str) -> np.ndarray:
        c = internal[name]
        return np.where(c >= 0, c, m_of + ~c)

    trees.add_joined(
        sizes,
        np.array(fields["Tree"], dtype=np.int64) % k,
        left=nodes(child("left_child"), -1, np.int64),
        right=nodes(child("right_child"), -1, np.int64),
        feature=nodes(internal["split_feature"], -1, np.int64),
        threshold=nodes(internal["threshold"], 0.0, np.float64),
        flags=nodes(_lightgbm_flags(internal["decision_type"]), 0, np.uint8),
        cover=nodes(internal["internal_count"], leaf["leaf_count"], np.float64),
        values=nodes(0.0, leaf["leaf_value"] * scale, np.float64),
    )
    return True


def _lightgbm_tree(fields: dict[str, str]) -> dict[str, np.ndarray]:
    """A LightGBM tree of the text dump as node arrays: its internal nodes, then its
    leaves (a child ``c < 0`` in the dump is leaf ``~c``)."""
    n_leaves = int(fields["num_leaves"])
    values = _numbers(fields, "leaf_value", np.float64)
    leaf_count = _numbers(fields, "leaf_count", np.float64)
    if values.size != n_leaves:
        raise InvalidInputError("model: a LightGBM tree's dump is not readable")
    m = n_leaves - 1
    kinds = _numbers(fields, "decision_type", np.int64)
    if kinds.size != m:
        raise InvalidInputError("model: a LightGBM tree's dump is not readable")
    flags = _lightgbm_flags(kinds)

    def child(name: str) -> np.ndarray:
        c = _numbers(fields, name, np.int64)
        return np.where(c >= 0, c, m + ~c)

    leaves = np.full(n_leaves, -1, dtype=np.int64)
    internal_count = _numbers(fields, "internal_count", np.float64)
    return {
        "l": np.concatenate([child("left_child"), leaves]),
        "r": np.concatenate([child("right_child"), leaves]),
        "f": np.concatenate([_numbers(fields, "split_feature", np.int64), leaves]),
        "t": np.concatenate([_numbers(fields, "threshold", np.float64), np.zeros(n_leaves)]),
        "g": np.concatenate([flags, np.zeros(n_leaves, np.uint8)]),
        "c": np.concatenate(
            [
                internal_count if internal_count.size == m else np.zeros(m),
                leaf_count if leaf_count.size == n_leaves else np.zeros(n_leaves),
            ]
        ),
        "v": np.concatenate([np.zeros(m), values]),
    }


def _from_lightgbm(model: Any) -> _Trees:
    """A LightGBM model read from its text dump (``model_to_string``: one line of numbers
    per node field and tree, parsed by numpy; ``dump_model``'s JSON takes longer to make
    than the whole explanation of a few rows)."""
    booster = model.booster_ if hasattr(model, "booster_") else model
    text = booster.model_to_string()
    head, sep, body = text.partition("\nTree=")
    header = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
    k = int(header.get("num_tree_per_iteration", "1"))
    d = int(header["max_feature_idx"]) + 1
    objective = header.get("objective", "")
    kind = (
        "log_odds" if objective.startswith(("binary", "multiclassova", "cross_entropy")) else "raw"
    )
    blocks = body.split("end of trees", 1)[0].split("\nTree=") if sep else []
    scale = 1.0
    if "average_output" in head.splitlines():
        scale = 1.0 / max(len(blocks) // max(k, 1), 1)
    trees = _Trees(d, k, False, np.zeros(k), kind)
    if sep and _lightgbm_all_trees("Tree=" + body.split("end of trees", 1)[0], k, scale, trees):
        return trees
    for block in blocks:
        index, _, fields_text = block.partition("\n")
        fields = dict(line.split("=", 1) for line in fields_text.splitlines() if "=" in line)
        if fields.get("is_linear", "0") != "0":
            raise InvalidInputError("model: LightGBM linear trees are not supported")
        c = _lightgbm_tree(fields)
        trees.add(
            left=c["l"],
            right=c["r"],
            feature=c["f"],
            threshold=c["t"],
            flags=c["g"],
            cover=c["c"],
            values=c["v"] * scale,
            output=int(index) % k,
        )
    return trees


_SKLEARN_FORESTS = {
    "DecisionTreeClassifier": True,
    "DecisionTreeRegressor": False,
    "ExtraTreeClassifier": True,
    "ExtraTreeRegressor": False,
    "RandomForestClassifier": True,
    "RandomForestRegressor": False,
    "ExtraTreesClassifier": True,
    "ExtraTreesRegressor": False,
}


def _reader(model: Any) -> Optional[Callable[[], _Trees]]:
    """How to read ``model``'s trees, or None when it is not a supported tree model."""
    cls = type(model)
    module = cls.__module__.split(".")[0]
    name = cls.__name__
    reader: Optional[Callable[[], _Trees]] = None
    if module == "sklearn" and name in _SKLEARN_FORESTS:
        reader = lambda: _from_sklearn_forest(model, _SKLEARN_FORESTS[name])  # noqa: E731
    elif module == "sklearn" and name in (
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
    ):
        reader = lambda: _from_sklearn_gb(model)  # noqa: E731
    elif module == "sklearn" and name.startswith("HistGradientBoosting"):
        reader = lambda: _from_sklearn_hist_gb(model)  # noqa: E731
    elif module == "xgboost":
        reader = lambda: _from_xgboost(model)  # noqa: E731
    elif module == "lightgbm":
        reader = lambda: _from_lightgbm(model)  # noqa: E731
    return reader


def is_tree_model(model: Any) -> bool:
    """True when :func:`tree_shap` reads ``model`` (a supported tree ensemble)."""
    return _reader(model) is not None


def read_trees(model: Any) -> tuple[Any, str, Optional[Sequence[Any]]]:
    """The core ensemble of a fitted tree model, the space of its raw output
    (``"probability"``, ``"log_odds"`` or ``"raw"``) and its output names (classes)."""
    cls = type(model)
    name = cls.__name__
    classes = getattr(model, "classes_", None)
    reader = _reader(model)
    if reader is None:
        raise InvalidTypeError(
            f"model: {cls.__module__}.{name} is not a supported tree model (scikit-learn "
            "decision trees, random forests, extra trees, (histogram) gradient boosting, "
            "XGBoost, LightGBM); use kernel_shap for other models"
        )
    trees = reader()
    ensemble = trees.build()
    names = None
    if classes is not None and ensemble.n_outputs == len(classes):
        names = list(classes)
    return ensemble, trees.output_kind, names


def tree_shap(
    model: Any,
    X: Any,
    background: Any = None,
    *,
    feature_names: Optional[Sequence[str]] = None,
    progress: ProgressArg = False,
) -> Explanation:
    """Exact Tree SHAP values of a tree ensemble's raw output.

    Parameters
    ----------
    model : fitted tree model
        scikit-learn ``DecisionTree*``, ``RandomForest*``, ``ExtraTrees*``,
        ``GradientBoosting*``, ``HistGradientBoosting*`` (numeric splits), XGBoost
        (``XGBClassifier``, ``XGBRegressor``, ``Booster``; gbtree) or LightGBM
        (``LGBM*``, ``Booster``; numeric splits).
    X : array-like (n, d)
        Rows to explain; NaN is a missing value, routed as the model's library routes it.
    background : array-like (m, d), optional
        None: path-dependent Tree SHAP (the expectation over left-out features follows the
        training covers of the nodes). Given: interventional Tree SHAP, the exact values
        against each background row averaged over the background.
    feature_names : sequence of str, optional
        Defaults to the DataFrame's columns, the model's ``feature_names_in_``, or
        ``x0..x{d-1}``.

    Returns
    -------
    Explanation
        ``values`` shaped ``(n, d)`` for one output, ``(n, d, k)`` for ``k`` (scikit-learn
        classifiers: one per class, probabilities; boosting: log-odds for binary
        classification, one margin per class for multi-class), ``base_values`` and the
        additivity gap of every row against the float64 sum of the trees.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X[:, 0] + 2 * X[:, 1]
    >>> m = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
    >>> ex = ms.explain.tree_shap(m, X[:5])
    >>> ex.values.shape, bool(ex.efficiency_gap.max() < 1e-9)
    ((5, 3), True)
    """
    ensemble, kind, output_names = read_trees(model)
    x, names = feature_matrix(X, "X", feature_names, model, allow_nan=True)
    d = ensemble.n_features
    if x.shape[1] != d:
        raise InvalidInputError(f"X: {x.shape[1]} features per row, the model has {d}")
    bg = None
    if background is not None:
        bg, _ = feature_matrix(background, "background", None, model, allow_nan=True)
        if bg.shape[1] != d:
            raise InvalidInputError(
                f"background: {bg.shape[1]} features per row, the model has {d}"
            )
        if bg.shape[0] == 0:
            raise InvalidInputError("background: no rows")
    with progress_callback(progress, "tree_shap", unit="row") as callback:
        values, base = ensemble.shap(x, bg, callback)
    pred = ensemble.predict(x)
    gap = (
        np.abs(values.sum(axis=1) + base[None, :] - pred).max(axis=1) if x.shape[0] else np.zeros(0)
    )
    k = ensemble.n_outputs
    base_values = np.broadcast_to(base, (x.shape[0], k)).copy()
    if k == 1:
        values, base_values = values[:, :, 0], base_values[:, 0]
    method = "tree_path_dependent" if bg is None else "tree_interventional"
    config = {
        "method": method,
        "model": f"{type(model).__module__}.{type(model).__name__}",
        "n_trees": int(ensemble.n_trees),
        "output": kind,
    }
    inputs = explanation_inputs(x, bg)
    return Explanation(
        values=values,
        base_values=base_values,
        data=x,
        feature_names=names,
        output_names=None if output_names is None else [str(c) for c in output_names],
        efficiency_gap=gap,
        method=method,
        config=config,
        inputs=inputs,
    )
