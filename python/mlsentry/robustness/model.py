"""The model as the attacks see it: inputs turned into rows (:class:`Data`), any model
turned into one batched, checked call (:class:`Model`) and the prediction of many rows
in batches (:func:`predict`)."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np

from ..errors import InvalidInputError, InvalidTypeError, ModelError


@dataclasses.dataclass(frozen=True)
class Frame:
    """How the rows of a pandas DataFrame ``X`` are given back to the model: a DataFrame
    with the same columns, numbers as float64, every other column (strings, categories,
    booleans, dates) from the integer codes it was stored as, which the attacks never
    change (the column is immutable)."""

    columns: list[Any]
    categories: dict[int, np.ndarray]  # position -> the values of the codes 0..k-1

    def rebuild(self, rows: np.ndarray) -> Any:
        import pandas as pd

        out: dict[Any, Any] = {}
        for j, name in enumerate(self.columns):
            if j in self.categories:
                codes = rows[:, j].astype(np.int64)
                values = self.categories[j].take(np.maximum(codes, 0))
                out[name] = pd.Series(values).where(codes >= 0, None).to_numpy()
            else:
                out[name] = rows[:, j]
        return pd.DataFrame(out, columns=pd.Index(self.columns))

    def frozen(self) -> np.ndarray:
        mask = np.zeros(len(self.columns), dtype=bool)
        mask[list(self.categories)] = True
        return mask


@dataclasses.dataclass(frozen=True)
class Data:
    """``X`` as the core takes it: float64 rows, flattened; and how to give rows back."""

    flat: np.ndarray  # (n, d) float64, C-contiguous
    shape: tuple[int, ...]  # one sample's shape
    dtype: np.dtype
    frame: Optional[Frame] = None  # X was a pandas DataFrame

    @property
    def n(self) -> int:
        return self.flat.shape[0]

    @property
    def d(self) -> int:
        return self.flat.shape[1]

    def unflatten(self, rows: np.ndarray) -> Any:
        if self.frame is not None:
            return self.frame.rebuild(rows)
        return rows.reshape((rows.shape[0], *self.shape)).astype(self.dtype, copy=False)

    def frozen(self) -> np.ndarray:
        """Features no attack may change (a DataFrame's columns that are not numbers)."""
        return np.zeros(self.d, dtype=bool) if self.frame is None else self.frame.frozen()

    def rows(self, idx: np.ndarray) -> Data:
        """The same data restricted to the samples ``idx``."""
        return dataclasses.replace(self, flat=np.ascontiguousarray(self.flat[idx]))


def _frame_data(X: Any) -> Data:
    """A pandas DataFrame as rows: numeric columns as they are, the others as codes."""
    import pandas as pd

    if X.shape[0] == 0:
        raise InvalidInputError("X: no samples")
    if X.shape[1] == 0:
        raise InvalidInputError(f"X: samples have no features (shape {X.shape})")
    columns, categories = [], {}
    for j in range(X.shape[1]):
        col = X.iloc[:, j]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            columns.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            categories[j] = np.asarray(uniques, dtype=object)
            columns.append(codes.astype(np.float64))
    flat = np.ascontiguousarray(np.column_stack(columns), dtype=np.float64)
    _check_finite(flat)
    frame = Frame(list(X.columns), categories)
    return Data(flat, (X.shape[1],), np.dtype(np.float64), frame)


def _check_finite(flat: np.ndarray) -> None:
    bad = ~np.isfinite(flat)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InvalidInputError(
            f"X: {int(bad.sum())} NaN or infinite value(s), the first at sample {i}, "
            f"feature {j}; attacks need finite inputs"
        )


def as_data(X: Any) -> Data:
    if type(X).__module__.split(".")[0] == "pandas" and hasattr(X, "iloc") and X.ndim == 2:
        return _frame_data(X)
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
    _check_finite(flat)
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
    return Data(flat, tuple(arr.shape[1:]), dtype)


def to_numpy(out: Any) -> np.ndarray:
    if hasattr(out, "detach") and hasattr(out, "cpu"):  # a torch tensor
        out = out.detach().cpu().numpy()
    return np.asarray(out)


class Model:
    """The user's model as the core calls it: float64 rows in; float64 scores ``(n, k)``
    or int64 class indices ``(n,)`` out."""

    def __init__(self, model: Any, data: Data) -> None:
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
        # The model gets its own copy: one that works in place must not change the
        # caller's X or the rows the attack keeps.
        x = self.data.unflatten(rows).copy()
        try:
            out = to_numpy(self.fn(x))
        except Exception as e:
            kind = "DataFrame" if self.data.frame is not None else str(x.dtype)
            raise ModelError(
                f"the model ({self.kind}) raised {type(e).__name__} on {n} rows shaped "
                f"{x.shape} ({kind}): {e}"
            ) from e
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


def predict(model: Model, rows: np.ndarray, batch_size: int) -> tuple[np.ndarray, int]:
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
