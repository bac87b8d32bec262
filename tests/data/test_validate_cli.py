"""`mlsentry schema` / `mlsentry validate` and `mlsentry.testing.assert_valid`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlsentry as ms
from mlsentry.cli import main
from mlsentry.testing import assert_valid


def _frame(seed: int, n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(seed * 10_000, seed * 10_000 + n),
            "amount": rng.normal(100, 15, n),
            "plan": rng.choice(["basic", "pro"], n),
        }
    )


@pytest.fixture
def files(tmp_path):
    ref, good, bad = tmp_path / "ref.csv", tmp_path / "good.parquet", tmp_path / "bad.csv"
    _frame(0).to_csv(ref, index=False)
    pq.write_table(pa.Table.from_pandas(_frame(1), preserve_index=False), good)
    b = _frame(2)
    b.loc[3, "plan"] = "enterprise"
    b.loc[7, "amount"] = 1e6
    b.to_csv(bad, index=False)
    return ref, good, bad


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_schema_then_validate(files, tmp_path, capsys, suffix):
    ref, good, bad = files
    schema_path = tmp_path / f"schema{suffix}"
    assert main(["schema", str(ref), "-o", str(schema_path)]) == 0
    out = capsys.readouterr().out
    assert "3 columns" in out and "plan: string, 2 categories" in out and "id: int" in out
    assert ms.data.Schema.load(schema_path) == ms.data.Schema.infer(pd.read_csv(ref))

    assert main(["validate", str(good), "--schema", str(schema_path), "--no-progress"]) == 0
    assert "PASSED" in capsys.readouterr().out

    html = tmp_path / "r.html"
    code = main(["validate", str(bad), "--schema", str(schema_path), "--json", "--html", str(html)])
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == "mlsentry/validation/v1" and report["passed"] is False
    got = {(a["column"], a["kind"]): (a["count"], a["rows"]) for a in report["anomalies"]}
    assert got == {("amount", "out_of_range"): (1, [7]), ("plan", "unseen_category"): (1, [3])}
    assert html.read_text().startswith("<!DOCTYPE html>")


def test_options_reach_inference(files, tmp_path, capsys):
    ref, _, _ = files
    out = tmp_path / "s.json"
    args = ["schema", str(ref), "-o", str(out), "--range-margin", "0", "--max-categories", "1"]
    assert main(args) == 0
    s = ms.data.Schema.load(out)
    frame = pd.read_csv(ref)
    assert s["amount"].min == frame["amount"].min() and s["plan"].domain is None


def test_usage_and_input_errors_exit_2(files, tmp_path, capsys):
    ref, good, _ = files
    assert main(["validate", str(good)]) == 2  # no --schema
    assert main(["schema", str(ref)]) == 2  # no -o
    assert main(["schema", str(ref), "-o", str(tmp_path / "s.yaml")]) == 2
    assert main(["validate", str(good), "--schema", str(tmp_path / "absent.toml")]) == 2
    broken = tmp_path / "broken.toml"
    broken.write_text('format = "mlsentry/schema"\nversion = 9\n[columns]\n')
    assert main(["validate", str(good), "--schema", str(broken)]) == 2
    assert "newer" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    assert main(["schema", str(empty), "-o", str(tmp_path / "s.toml")]) == 2
    assert "no rows" in capsys.readouterr().err
    assert main(["validate", str(good), "--schema", str(broken), "--examples", "-1"]) == 2


def test_assert_valid_passes_and_fails_with_the_table():
    schema = ms.data.Schema.infer(_frame(0))
    report = assert_valid(_frame(1), schema)
    assert report.passed
    bad = _frame(3)
    bad.loc[[4, 9], "plan"] = "gold"
    bad.loc[5, "id"] = bad.loc[4, "id"]
    bad["extra"] = 1
    with pytest.raises(AssertionError) as failure:
        assert_valid(bad, schema)
    text = str(failure.value)
    lines = text.splitlines()
    assert lines[0].startswith("assert_valid: Schema validation: FAILED: 2 errors, 1 warning")
    assert lines[1].split() == [
        "column",
        "kind",
        "severity",
        "rows",
        "detail",
        "examples",
        "(row:",
        "value)",
    ]
    body = "\n".join(lines[3:])
    assert "plan    unseen_category  error" in body and "4: 'gold', 9: 'gold'" in body
    assert "id      duplicate_key    error" in body
    # errors first, the warning last
    assert lines[-1].startswith("extra") and "new_column" in lines[-1]
    assert failure.value.report.anomalies  # type: ignore[attr-defined]
    # warnings alone pass
    ok = _frame(4)
    ok["extra"] = 1
    assert assert_valid(ok, schema).warnings
