"""``mlsentry monitor REFERENCE STREAM...``: alerts printed, --json, exit statuses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlsentry.cli import main


@pytest.fixture
def files(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)

    def table(shift, rows):
        x = rng.normal(size=(rows, 2)) + shift
        return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "name": ["r"] * rows})

    paths = {}
    for name, shift, rows in (("ref", 0.0, 3000), ("s1", 0.0, 200), ("s2", 1.5, 200)):
        paths[name] = tmp_path / f"{name}.csv"
        table(shift, rows).to_csv(paths[name], index=False)
    return paths


def test_drifting_stream_fails_with_alerts(files, capsys):
    code = main(["monitor", str(files["ref"]), str(files["s1"]), str(files["s2"]), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["schema"] == "mlsentry/monitor/v1" and out["rows_seen"] == 400
    first = next(a for a in out["alerts"] if a["kind"] == "drift")
    assert first["index"] > 200


def test_quiet_stream_passes(files, capsys):
    code = main(["monitor", str(files["ref"]), str(files["s1"]), "--ood", "none", "--ert", "5000"])
    assert code == 0
    assert "PASSED" in capsys.readouterr().out


def test_unknown_column_is_a_usage_error(files, capsys):
    assert main(["monitor", str(files["ref"]), str(files["s1"]), "--columns", "zz"]) == 2
