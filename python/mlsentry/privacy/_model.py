"""The target and reference models as the membership attacks query them: records as rows
(a DataFrame stays a DataFrame, so a pipeline keyed by column names works), probabilities
asked for in batches, labels as class indices."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError, InvalidTypeError, ModelError


def is_frame(X: Any) -> bool:
    return type(X).__module__.split(".")[0] == "pandas" and hasattr(X, "iloc") and X.ndim == 2


def pool(X_members: Any, X_nonmembers: Any) -> Any:
    """Members then non-members, as one table of records (checked: numbers, finite)."""
    if is_frame(X_members) and is_frame(X_nonmembers):
        import pandas as pd

        if list(X_members.columns) != list(X_nonmembers.columns):
            raise InvalidInputError("X_members and X_nonmembers: the columns differ")
        return pd.concat([X_members, X_nonmembers], ignore_index=True)
    try:
        a, b = np.asarray(X_members), np.asarray(X_nonmembers)
    except Exception as e:
        raise InvalidTypeError(
            f"X_members / X_nonmembers: cannot convert to arrays ({e})"
        ) from None
    if a.ndim < 2 or b.ndim < 2 or a.shape[1:] != b.shape[1:]:
        raise InvalidInputError(
            f"X_members and X_nonmembers: expected samples of one shape, got {a.shape} and "
            f"{b.shape}"
        )
    out = np.concatenate([a, b])
    if out.dtype.kind not in "biuf":
        raise InvalidTypeError(f"X_members / X_nonmembers: expected numbers, got {out.dtype}")
    bad = ~np.isfinite(out.reshape(out.shape[0], -1))
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise InvalidInputError(
            f"X_members / X_nonmembers: NaN or infinite value in record {i} of the pooled "
            "records (members first)"
        )
    return out


def take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if is_frame(X) else X[idx]


def label_indices(model: Any, y: np.ndarray) -> np.ndarray:
    """``y`` as class indices: through the model's ``classes_`` when it has them."""
    classes = getattr(model, "classes_", None)
    if classes is not None:
        classes = np.asarray(classes)
        idx = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
        unknown = y[classes[idx] != y]
        if unknown.size:
            raise InvalidInputError(
                f"y: labels {sorted(set(unknown.tolist()))[:5]} are not among the model's "
                f"classes {classes.tolist()[:20]}"
            )
        return idx.astype(np.int64)
    if y.dtype.kind in "iu" or (
        y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))
    ):
        if (y < 0).any():
            raise InvalidInputError(f"y: negative class index {int(y.min())}")
        return y.astype(np.int64)
    raise InvalidInputError(
        f"y: expected class indices 0..k-1 (the model has no classes_), got dtype {y.dtype}"
    )


def probabilities(model: Any, X: Any, batch_size: int, who: str) -> np.ndarray:
    """The model's class probabilities of every record, in batches of ``batch_size`` rows
    (all at once for 0)."""
    if hasattr(model, "predict_proba"):
        fn = model.predict_proba
    elif callable(model):
        fn = model
    elif hasattr(model, "predict"):
        raise InvalidTypeError(
            f"{who}: only predicts labels (no predict_proba); the probability-based attacks "
            'need probabilities: use attacks=("label_only",)'
        )
    else:
        raise InvalidTypeError(
            f"{who}: expected a callable X -> probabilities, or an object with predict_proba, "
            f"got {type(model).__name__}"
        )
    n = len(X)
    step = batch_size or n
    parts = []
    for start in range(0, n, step):
        rows = X.iloc[start : start + step] if is_frame(X) else X[start : start + step]
        try:
            out = fn(rows)
        except Exception as e:
            raise ModelError(f"{who} raised {type(e).__name__} on {len(rows)} rows: {e}") from e
        if hasattr(out, "detach") and hasattr(out, "cpu"):  # a torch tensor
            out = out.detach().cpu().numpy()
        out = np.asarray(out)
        if out.ndim != 2 or out.shape[0] != len(rows) or out.dtype.kind not in "biuf":
            raise ModelError(
                f"{who} returned an array of shape {out.shape} and dtype {out.dtype} for "
                f"{len(rows)} rows; expected probabilities of shape ({len(rows)}, k)"
            )
        parts.append(out)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float64)
