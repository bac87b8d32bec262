"""``mlsentry label-issues``: tables and .npy inputs, options, exit statuses."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlsentry as ms
from mlsentry.cli import main


def _data(n=800, k=3, seed=0):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), true] += 2.5
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = true.copy()
    flip = rng.random(n) < 0.1
    labels[flip] = rng.integers(0, k, flip.sum())
    return labels, p


@pytest.fixture()
def files(tmp_path):
    labels, p = _data()
    frame = pd.DataFrame({"label": labels, **{f"p_{j}": p[:, j] for j in range(3)}})
    frame["note"] = "x"
    frame.to_csv(tmp_path / "preds.csv", index=False)
    frame.to_parquet(tmp_path / "preds.parquet")
    np.save(tmp_path / "labels.npy", labels)
    np.save(tmp_path / "probs.npy", p)
    return tmp_path, labels, p


def test_csv_parquet_and_npy_give_the_api_result(files, capsys):
    tmp, labels, p = files
    expected = ms.data.label_issues(labels, p, "both", "normalized_margin")
    for args in (
        [str(tmp / "preds.csv")],
        [str(tmp / "preds.parquet"), "--probs", "p_0,p_1,p_2"],
        [str(tmp / "labels.npy"), str(tmp / "probs.npy")],
    ):
        code = main(
            ["label-issues", *args, "--method", "both", "--rank-by", "normalized_margin", "--json"]
        )
        out = json.loads(capsys.readouterr().out)
        assert code == 0
        assert out["ranked"] == expected.ranked.tolist()
        assert out["passed"] is None and out["method"] == "both"


def test_max_share_sets_the_exit_status_and_html(files, capsys):
    tmp, labels, p = files
    share = ms.data.label_issues(labels, p).share
    page = tmp / "labels.html"
    assert (
        main(["label-issues", str(tmp / "preds.csv"), "--max-share", "0.5", "--html", str(page)])
        == 0
    )
    assert "PASSED" in capsys.readouterr().out
    assert "Noise matrix" in page.read_text()
    assert main(["label-issues", str(tmp / "preds.csv"), "--max-share", str(share / 2)]) == 1
    assert "FAILED" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["preds.csv", "--label", "target"], "no column 'target'"),
        (["preds.csv", "--prefix", "prob_"], "no column starting with 'prob_'"),
        (["preds.csv", "--probs", "p_0,p_9"], "no column 'p_9'"),
        (["labels.npy"], "second .npy"),
        (["labels.npy", "preds.csv"], "both are .npy"),
        (["missing.csv"], "No such file"),
        (["preds.csv", "--probs", "p_0,p_1"], "out of range"),
        (["preds.csv", "--max-share", "2"], "max_share"),
    ],
)
def test_bad_input_exits_2(files, capsys, args, message):
    tmp = files[0]
    args = [str(tmp / a) if a.endswith((".csv", ".npy")) else a for a in args]
    assert main(["label-issues", *args]) == 2
    assert message in capsys.readouterr().err


def test_unknown_method_is_a_usage_error(files, capsys):
    assert main(["label-issues", str(files[0] / "preds.csv"), "--method", "nope"]) == 2
