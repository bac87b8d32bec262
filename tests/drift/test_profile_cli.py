"""Profiles through the command line, the KFP drift step and ``assert_no_drift``."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mlsentry.cli import main
from mlsentry.drift import Profile
from mlsentry.testing import assert_no_drift


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    n = 2000
    ref = pd.DataFrame({"a": rng.normal(size=n), "c": rng.choice(["x", "y"], n)})
    same = pd.DataFrame({"a": rng.normal(size=n), "c": rng.choice(["x", "y"], n)})
    moved = same.assign(a=rng.normal(0.5, 1, n))
    paths = {k: tmp_path / f"{k}.csv" for k in ("ref", "same", "moved")}
    ref.to_csv(paths["ref"], index=False)
    ref.iloc[:700].to_csv(tmp_path / "part1.csv", index=False)
    ref.iloc[700:].to_csv(tmp_path / "part2.csv", index=False)
    same.to_parquet(tmp_path / "same.parquet")
    same.to_csv(paths["same"], index=False)
    moved.to_csv(paths["moved"], index=False)
    out = {k: str(v) for k, v in paths.items()}
    out["parquet"] = str(tmp_path / "same.parquet")
    out["parts"] = [str(tmp_path / "part1.csv"), str(tmp_path / "part2.csv")]
    out["profile"] = str(tmp_path / "ref.profile")
    return out


def test_profile_command_then_drift(files, tmp_path, capsys):
    assert main(["profile", files["ref"], "-o", files["profile"]]) == 0
    out = capsys.readouterr().out
    assert "wrote the profile of 2 columns (2000 rows" in out and "c: categorical" in out
    # Parts merged on the command line give the same file.
    merged = str(tmp_path / "merged.profile")
    assert main(["profile", *files["parts"], "-o", merged, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["columns"][0]["count"] == 2000
    assert Profile.load(merged) == Profile.load(files["profile"])
    assert main(["drift", files["profile"], files["parquet"]]) == 0
    assert "PASSED" in capsys.readouterr().out
    assert main(["drift", files["profile"], files["moved"], "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["drifted_columns"] == ["a"] and report["config"]["profile"] is True
    assert report["columns"][0]["pvalue_interval"] is not None


def test_profile_command_usage_errors_exit_2(files, tmp_path, capsys):
    bad = tmp_path / "bad.profile"
    bad.write_bytes(Profile.fit(pd.read_csv(files["ref"])).to_bytes()[:-5])
    for argv in (
        ["profile", files["ref"]],
        ["profile", str(tmp_path / "none.csv"), "-o", str(tmp_path / "x.profile")],
        ["profile", files["ref"], "-o", str(tmp_path / "x"), "--columns", "zz"],
        ["drift", str(bad), files["same"]],
        ["drift", files["profile"], files["same"], "--tests", "anderson"],
    ):
        assert main(argv) == 2, argv
    assert "truncated" in capsys.readouterr().err


def test_assert_no_drift_and_the_kfp_step_take_a_profile_file(files, tmp_path):
    from mlsentry.kfp.steps import GateFailedError, drift_step

    Profile.fit(pd.read_csv(files["ref"])).save(files["profile"])
    assert not assert_no_drift(files["profile"], pd.read_csv(files["same"])).drifted
    with pytest.raises(AssertionError, match="DRIFT in 1 of 2 columns"):
        assert_no_drift(Profile.load(files["profile"]), pd.read_csv(files["moved"]))

    logged: dict[str, float] = {}
    outputs = [
        SimpleNamespace(log_metric=logged.__setitem__),
        SimpleNamespace(path=str(tmp_path / "r.html")),
        SimpleNamespace(path=str(tmp_path / "r.json")),
    ]
    assert drift_step(files["profile"], files["parquet"], *outputs) == (True,)
    assert logged["mlsentry.drift.passed"] == 1.0
    with pytest.raises(GateFailedError):
        drift_step(files["profile"], files["moved"], *outputs)
