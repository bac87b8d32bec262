"""`mlsentry check`: gates from mlsentry.toml run as their commands, one table, every
report written, exit 0 / 1 / 2 with usage errors naming the file and line."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import GATES, write_config

import mlsentry as ms
from mlsentry.cli import main
from mlsentry.cli.check import load_config


def test_every_gate_passes_and_every_report_is_written(project, capsys):
    write_config(project, GATES)
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "6 gate(s): 6 passed, 0 failed" in out
    for name in GATES:
        assert f"{name} gate" in out
        stem = project / "reports" / f"{name}-gate"
        report = ms.Report.load(stem.with_suffix(".json"))
        assert report.passed is True, name
        assert report.to_dict() == json.loads(stem.with_suffix(".json").read_text())
        assert stem.with_suffix(".html").read_text().startswith("<!DOCTYPE html>")


def test_a_failed_gate_exits_1_and_only_runs_what_is_asked(project, capsys):
    config = write_config(project, ["scan", "drift"])
    config.write_text(config.read_text().replace('"cur.csv"', '"shifted.csv"'))
    assert main(["check", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert [g["verdict"] for g in summary["gates"]] == ["PASSED", "FAILED"]
    assert summary["passed"] is False
    assert main(["check", "--only", "scan gate"]) == 0
    assert "1 gate(s): 1 passed" in capsys.readouterr().out


def test_pyproject_table_and_config_option(project, capsys):
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.mlsentry]\nreport_dir = "out"\n\n'
        f'[[tool.mlsentry.gate]]\nname = "scan gate"\n{GATES["scan"]}\n'
        "bogus = 1\n"
    )
    assert main(["check"]) == 2
    assert "pyproject.toml:11: gate 'scan gate': unknown key 'bogus'" in capsys.readouterr().err
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text().replace("bogus = 1\n", "")
    )
    assert main(["check"]) == 0
    assert (project / "out" / "scan-gate.json").exists()
    (project / "elsewhere").mkdir()
    assert main(["check", "--config", str(project / "pyproject.toml")]) == 0


def _usage_error(capsys, *argv):
    assert main(["check", *argv]) == 2
    return capsys.readouterr().err


DRIFT = "mlsentry.toml:3: gate 'drift gate'"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("", "colour = 1\n", "mlsentry.toml:9: gate 'drift gate': unknown key 'colour'"),
        ('"drift"', '"horoscope"', "mlsentry.toml:5: gate 'drift gate': unknown check"),
        ('current = "cur.csv"\n', "", DRIFT + ": missing 'current'"),
        ("= 0.1", '= "big"', DRIFT + ": argument --min-effect: invalid float value: 'big'"),
        ("= 0.1", "= [1, 2]", "mlsentry.toml:8: min_effect takes one value"),
        ("min_effect = 0.1", "json = true", "unknown key 'json' (set by mlsentry check)"),
        ("report_dir", "colour = 2\nreport_dir", "mlsentry.toml:1: unknown key 'colour'"),
        ('name = "drift gate"\n', "", "mlsentry.toml:3: the gate needs name"),
        ("", "[[gate\n", "not valid TOML"),
        ("[[gate]]", "[[other]]", "mlsentry.toml: unknown key 'other'"),
        ("", '[[gate]]\nname = "drift gate"\ncheck = "scan"\n', "two gates are named"),
    ],
)
def test_usage_errors_name_the_file_and_line(project, capsys, old, new, message):
    config = write_config(project, ["drift"])
    text = config.read_text()
    config.write_text(text.replace(old, new, 1) if old else text + new)
    err = _usage_error(capsys)
    assert message in err, err
    assert not (project / "reports").exists()  # nothing ran


def test_a_missing_input_is_a_usage_error_naming_the_gate(project, capsys):
    config = write_config(project, ["scan", "drift"])
    config.write_text(config.read_text().replace('"cur.csv"', '"nowhere.csv"'))
    err = _usage_error(capsys)
    assert "nowhere.csv" in err and "mlsentry.toml:8: an input error" in err


def test_no_config_and_unknown_only(project, capsys):
    assert "no mlsentry.toml" in _usage_error(capsys)
    assert "--config: nope.toml is not a file" in _usage_error(capsys, "--config", "nope.toml")
    write_config(project, ["scan"])
    assert "has no gate 'other'" in _usage_error(capsys, "--only", "other")
    assert "--evidence: give the signing key" in _usage_error(capsys, "--evidence", "x.zip")
    (project / "mlsentry.toml").write_text('report_dir = "r"\n')
    assert "mlsentry.toml: no [[gate]] table" in _usage_error(capsys)


def test_options_become_the_command_line(project):
    from mlsentry.cli import build_parser
    from mlsentry.cli.check import _commands, gate_argv

    config = load_config(str(write_config(project, ["robustness", "scan"])))
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    commands = _commands(sub)
    assert {"scan", "verify", "drift", "robustness", "validate", "label-issues"} <= set(commands)
    assert "check" not in commands and "evidence" not in commands
    robust, scan = config.gates
    assert gate_argv(config, robust, commands["robustness"]) == [
        "--eps", "0.05", "--attacks", "noise", "--max-queries", "20", "--threshold", "0.5",
        "--", "evidence_toy_model:scores", "X.npy", "y.npy",
    ]  # fmt: skip
    scan.options["no_digests"] = True
    assert gate_argv(config, scan, commands["scan"]) == ["--no-digests", "--", "model/"]
    scan.options["no_digests"] = "yes"
    with pytest.raises(ms.cli.UsageError, match="no_digests expects true or false"):
        gate_argv(config, scan, commands["scan"])


def test_the_readme_section_runs(tmp_path, monkeypatch, readme_blocks):
    """The example mlsentry.toml loads with every key accepted by its command, and the
    Python example runs."""
    from mlsentry.cli import build_parser
    from mlsentry.cli.check import _commands, gate_args

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlsentry.toml").write_text(readme_blocks("Release evidence", "toml")[0])
    config = load_config()
    assert [g.check for g in config.gates] == ["scan", "verify", "drift", "robustness"]
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    commands = _commands(sub)
    for gate in config.gates:
        gate_args(config, gate, commands[gate.check])
    namespace: dict = {}
    exec(compile(readme_blocks("Release evidence")[0], "README.md", "exec"), namespace)
    assert namespace["report"].passed and (tmp_path / "release.evidence").exists()


def test_a_verify_gate_with_a_signed_manifest(project, capsys):
    key = ms.integrity.SigningKey.generate()
    key.public_key.save(project / "signer.pub")
    ms.integrity.sign(ms.integrity.manifest(project / "model"), key).save(project / "model.sig")
    (project / "mlsentry.toml").write_text(
        '[[gate]]\nname = "signed"\ncheck = "verify"\npath = "model"\n'
        'manifest = "model.sig"\npublic_key = "signer.pub"\n'
    )
    assert main(["check"]) == 0
    report = ms.Report.load(project / "mlsentry-reports" / "signed.json")
    assert report.signature is not None and report.signature.key_id == key.key_id
    ms.integrity.SigningKey.generate().public_key.save(project / "signer.pub")
    assert main(["check"]) == 2  # a signature that does not verify: nothing was checked
    assert "signature" in capsys.readouterr().err.lower()


def test_a_verify_env_gate_feeds_the_bundle(project, capsys):
    import base64
    import hashlib

    site = project / "site"
    (site / "demo").mkdir(parents=True)
    (site / "demo-1.0.dist-info").mkdir()
    code = b"x = 1\n"
    (site / "demo" / "__init__.py").write_bytes(code)
    digest = base64.urlsafe_b64encode(hashlib.sha256(code).digest()).rstrip(b"=").decode()
    (site / "demo-1.0.dist-info" / "RECORD").write_text(
        f"demo/__init__.py,sha256={digest},6\ndemo-1.0.dist-info/RECORD,,\n"
    )
    (project / "mlsentry.toml").write_text(
        '[[gate]]\nname = "packages"\ncheck = "verify-env"\npath = ["site"]\n'
    )
    key = ms.integrity.SigningKey.generate()
    key.save(project / "k.pem")
    assert main(["check", "--evidence", "r.evidence", "--key", "k.pem"]) == 0
    report = ms.evidence.verify(project / "r.evidence", key.public_key)
    assert report.checks[0]["kind"] == "environment" and report.checks[0]["verdict"] == "PASSED"
    assert any(k["name"] == "packages" for c in report.coverage for k in c["checks"])
    (site / "demo" / "__init__.py").write_bytes(b"import os\n")
    assert main(["check"]) == 1
    assert "packages  verify-env  FAILED" in capsys.readouterr().out


def test_without_tomllib_the_native_reader_is_used(project, monkeypatch, capsys):
    """Python 3.9 and 3.10 have no tomllib: the TOML reader of the native module reads
    the configuration instead (same gates, same usage errors)."""
    monkeypatch.setitem(sys.modules, "tomllib", None)  # import tomllib now fails
    write_config(project, ["scan"])
    assert main(["check"]) == 0
    (project / "mlsentry.toml").write_text("[[gate]\n")
    assert main(["check"]) == 2
    assert "not valid TOML" in capsys.readouterr().err
