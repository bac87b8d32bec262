"""``mlsentry fairness``: CSV and Parquet inputs, bars, exit statuses."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlsentry as ms
from mlsentry.cli import main


@pytest.fixture()
def table(tmp_path):
    rng = np.random.default_rng(0)
    n = 1000
    sex = rng.choice(["f", "m"], n)
    y = rng.integers(0, 2, n)
    pred = (rng.random(n) < np.where(sex == "f", 0.35, 0.5)).astype(int)
    df = pd.DataFrame(
        {
            "label": y,
            "pred": pred,
            "sex": sex,
            "age": rng.choice(["<40", "40+"], n),
            "score": rng.random(n),
        }
    )
    df.to_csv(tmp_path / "preds.csv", index=False)
    df.to_parquet(tmp_path / "preds.parquet")
    return tmp_path, df


def test_csv_and_parquet_give_the_api_report(table, capsys):
    tmp, df = table
    api = ms.fairness.evaluate(
        df["label"], df["pred"], df[["sex", "age"]], y_score=df["score"], n_boot=100, seed=2
    )
    for name in ("preds.csv", "preds.parquet"):
        code = main(
            [
                "fairness",
                str(tmp / name),
                "--y-true",
                "label",
                "--y-pred",
                "pred",
                "--sensitive",
                "sex,age",
                "--y-score",
                "score",
                "--n-boot",
                "100",
                "--seed",
                "2",
                "--json",
            ]
        )
        out = json.loads(capsys.readouterr().out)
        assert code == (0 if api.passed else 1)
        assert out["groupings"] == json.loads(api.to_json())["groupings"]


def test_thresholds_exit_status_and_html(table, capsys):
    tmp, _ = table
    base = [
        "fairness",
        str(tmp / "preds.csv"),
        "--y-true",
        "label",
        "--y-pred",
        "pred",
        "--sensitive",
        "sex",
        "--n-boot",
        "50",
    ]
    assert main([*base, "--threshold", "demographic_parity_difference=0.5"]) == 0
    assert main([*base, "--threshold", "demographic_parity_difference=0.01"]) == 1
    assert main([*base, "--no-bar", "--html", str(tmp / "r.html")]) == 0
    assert "<svg" in (tmp / "r.html").read_text()
    text = capsys.readouterr().out
    assert "demographic_parity_ratio" in text


@pytest.mark.parametrize(
    "extra",
    [
        ["--sensitive", "nope"],
        ["--sensitive", "sex", "--threshold", "demographic_parity_ratio"],
        ["--sensitive", "sex", "--threshold", "nope=0.1"],
        ["--sensitive", "sex", "--threshold", "demographic_parity_ratio=x"],
        ["--sensitive", "sex", "--y-true", "missing"],
        ["--sensitive", "sex", "--n-boot", "-3"],
    ],
)
def test_usage_errors_exit_2(table, extra, capsys):
    tmp, _ = table
    args = ["fairness", str(tmp / "preds.csv"), "--y-true", "label", "--y-pred", "pred", *extra]
    assert main(args) == 2
    assert "error" in capsys.readouterr().err
