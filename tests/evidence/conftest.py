"""A small release project: a model folder and its manifest, reference and current data,
a schema, labels with predicted probabilities, and a model module for robustness."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlsentry as ms

MODEL_MODULE = textwrap.dedent(
    """
    import numpy as np

    W = np.array([1.0, -1.0, 0.5])

    def scores(x):
        s = np.asarray(x, dtype=np.float64) @ W
        return np.stack([-s, s], axis=1)
    """
)

GATES = {
    "scan": 'check = "scan"\npaths = ["model/"]',
    "verify": 'check = "verify"\npath = "model"\nmanifest = "model.manifest.json"',
    "drift": 'check = "drift"\nreference = "ref.csv"\ncurrent = "cur.csv"\nmin_effect = 0.1',
    "robustness": (
        'check = "robustness"\nmodel = "evidence_toy_model:scores"\ndata = "X.npy"\n'
        'labels = "y.npy"\neps = [0.05]\nattacks = "noise"\nmax_queries = 20\nthreshold = 0.5'
    ),
    "validate": 'check = "validate"\ndata = "cur.csv"\nschema = "schema.json"',
    "label-issues": 'check = "label-issues"\nfile = "labels.csv"\nmax_share = 0.5',
}


def write_config(project: Path, gates, head: str = 'report_dir = "reports"\n') -> Path:
    text = head
    for name in gates:
        text += f'\n[[gate]]\nname = "{name} gate"\n{GATES[name]}\n'
    path = project / "mlsentry.toml"
    path.write_text(text)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.pkl").write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    (tmp_path / "model" / "config.json").write_text('{"layers": 2}')
    ms.integrity.manifest(tmp_path / "model").save(tmp_path / "model.manifest.json")
    ref = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    cur = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    shifted = cur.assign(a=cur["a"] + 2)
    shifted.to_csv(tmp_path / "shifted.csv", index=False)
    ms.data.Schema.infer(ref).save(tmp_path / "schema.json")
    X = rng.normal(size=(20, 3))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", (X @ np.array([1.0, -1.0, 0.5]) > 0).astype(np.int64))
    labels = rng.integers(0, 2, 200)
    p1 = np.where(labels == 1, 0.9, 0.1)
    pd.DataFrame({"label": labels, "p_0": 1 - p1, "p_1": p1}).to_csv(
        tmp_path / "labels.csv", index=False
    )
    (tmp_path / "evidence_toy_model.py").write_text(MODEL_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ms.integrity.AUDIT_LOG_ENV, raising=False)
    return tmp_path
