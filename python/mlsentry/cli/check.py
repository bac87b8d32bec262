"""``mlsentry check``: run the gates of a project's ``mlsentry.toml``.

The configuration is ``mlsentry.toml`` (or the ``[tool.mlsentry]`` table of
``pyproject.toml``) in the current folder, or the file given with ``--config``::

    report_dir = "mlsentry-reports"      # every report goes here, JSON and HTML
    audit_log = "audit.jsonl"            # optional: each check records itself here
    manifests = ["model.manifest.json"]  # optional: put in the evidence bundle
    controls = ["eu-ai-act", "nist-ai-rmf"]   # optional: the bundle's control mapping

    [[gate]]
    name = "model is safe"
    check = "scan"
    paths = ["model/"]

    [[gate]]
    name = "no drift"
    check = "drift"
    reference = "data/train.csv"
    current = "data/live.csv"
    min_effect = 0.1

A gate runs the command named by ``check`` (``scan``, ``verify``, ``drift``,
``robustness``, ``validate``, ``label-issues``, ``privacy``, ``fairness``, ... : any
command that prints a report with ``--json``); its other keys are that command's
arguments, spelled as its long options (or positional names) with underscores. Lists give
options that take several values; ``true`` turns a flag on. Paths are relative to the
folder that holds the configuration.

Exit status: 0 every gate passed (or had no verdict), 1 a gate failed, 2 a usage error
(no configuration, an unknown key or check, a missing input), naming the file and line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from .common import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_PASSED,
    PASSPHRASE_HELP,
    UsageError,
    passphrase,
    run_command,
)

CONFIG_FILE = "mlsentry.toml"
#: Keys of the top of the configuration.
TOP_KEYS = ("report_dir", "audit_log", "manifests", "controls", "gate")
#: Keys of a gate besides its command's options.
GATE_KEYS = ("name", "check")
#: Options ``mlsentry check`` sets itself on every gate's command.
RESERVED = ("json", "html", "sarif", "progress", "help")
#: Commands that are not checks.
NOT_CHECKS = ("check", "evidence", "demo")


@dataclass
class Gate:
    """One ``[[gate]]`` table: its name, command and options, and where it is written."""

    name: str
    check: str
    options: dict[str, Any]
    line: int
    key_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class Config:
    path: str
    report_dir: str
    audit_log: Optional[str]
    manifests: list[str]
    controls: Optional[list[str]]
    gates: list[Gate]
    top_lines: dict[str, int]


@dataclass
class GateResult:
    gate: Gate
    status: int
    report: Optional[dict[str, Any]]
    files: list[str]
    error: str = ""

    @property
    def verdict(self) -> str:
        if self.status == EXIT_ERROR or self.report is None:
            return "ERROR"
        return {True: "PASSED", False: "FAILED"}.get(self.report.get("passed"), "NO VERDICT")


# -- reading the configuration ------------------------------------------------------------


def _parse_toml(text: str, path: str) -> dict[str, Any]:
    """TOML text as a dict: ``tomllib`` on Python 3.11+, else the TOML reader of the
    native module (Python 3.9 and 3.10 have no TOML reader in the standard library)."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        from .. import _core

        try:
            return json.loads(_core.schema_toml_to_json(text))  # type: ignore[no-any-return]
        except ValueError as e:
            raise UsageError(f"{path}: {e}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: not valid TOML: {e}") from None


_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


def _line_map(text: str, table: str) -> tuple[dict[str, int], list[tuple[int, dict[str, int]]]]:
    """Where each key is written: ``(top-level keys -> line, [(gate header line, gate keys
    -> line), ...])``. ``table`` is ``""`` for mlsentry.toml, ``"tool.mlsentry"`` for
    pyproject.toml."""
    gate_header = f"{table}.gate" if table else "gate"
    top: dict[str, int] = {}
    gates: list[tuple[int, dict[str, int]]] = []
    where = "" if not table else None  # None: outside our tables
    for number, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m and line.lstrip().startswith("["):
            name = re.sub(r"\s+", "", m.group(1)).replace('"', "").replace("'", "")
            if line.lstrip().startswith("[[") and name == gate_header:
                gates.append((number, {}))
                where = "gate"
            elif name == table:
                where = ""
            else:
                where = None
            continue
        k = _KEY.match(line)
        if k is None or where is None:
            continue
        key = k.group(1).strip('"')
        if where == "gate":
            gates[-1][1].setdefault(key, number)
        else:
            top.setdefault(key, number)
    return top, gates


def find_config(path: Optional[str]) -> tuple[str, dict[str, Any], str]:
    """(path, the mlsentry table, its text) of ``path`` or of the configuration in the
    current folder."""
    if path is None:
        if os.path.isfile(CONFIG_FILE):
            path = CONFIG_FILE
        elif os.path.isfile("pyproject.toml"):
            with open("pyproject.toml", encoding="utf-8") as fh:
                text = fh.read()
            data = _parse_toml(text, "pyproject.toml")
            table = data.get("tool", {}).get("mlsentry")
            if table is None:
                raise UsageError(
                    f"no {CONFIG_FILE} here and pyproject.toml has no [tool.mlsentry] table"
                )
            return "pyproject.toml", table, text
        else:
            raise UsageError(f"no {CONFIG_FILE} (or pyproject.toml) here; give --config FILE")
    if not os.path.isfile(path):
        raise UsageError(f"--config: {path} is not a file")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    data = _parse_toml(text, path)
    if os.path.basename(path) == "pyproject.toml":
        table = data.get("tool", {}).get("mlsentry")
        if table is None:
            raise UsageError(f"{path}: no [tool.mlsentry] table")
        return path, table, text
    return path, data, text


def load_config(path: Optional[str] = None) -> Config:
    """Read and check the shape of the configuration (not yet the gates' options)."""
    path, data, text = find_config(path)
    table = "tool.mlsentry" if os.path.basename(path) == "pyproject.toml" else ""
    top_lines, gate_lines = _line_map(text, table)

    def at(key: str) -> str:
        return f"{path}:{top_lines[key]}" if key in top_lines else path

    for key in data:
        if key not in TOP_KEYS:
            raise UsageError(
                f"{at(key)}: unknown key {key!r} (expected {', '.join(TOP_KEYS)}, "
                "and the gates as [[gate]] tables)"
            )
    raw_gates = data.get("gate", [])
    if not isinstance(raw_gates, list) or not all(isinstance(g, dict) for g in raw_gates):
        raise UsageError(f"{at('gate')}: the gates are [[gate]] tables")
    if not raw_gates:
        raise UsageError(f"{path}: no [[gate]] table: nothing to check")
    gates = []
    for i, raw in enumerate(raw_gates):
        line, key_lines = gate_lines[i] if i < len(gate_lines) else (0, {})
        where = f"{path}:{line}" if line else f"{path} (gate {i + 1})"
        for key in GATE_KEYS:
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise UsageError(f'{where}: the gate needs {key} = "..." (a string)')
        options = {k: v for k, v in raw.items() if k not in GATE_KEYS}
        gates.append(Gate(raw["name"], raw["check"], options, line, key_lines))
    names = [g.name for g in gates]
    for g in gates:
        if names.count(g.name) > 1:
            raise UsageError(f"{path}:{g.line}: two gates are named {g.name!r}")

    def str_list(key: str) -> list[str]:
        value = data.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{at(key)}: {key} is a list of strings")
        return list(value)

    for key in ("report_dir", "audit_log"):
        if key in data and not isinstance(data[key], str):
            raise UsageError(f"{at(key)}: {key} is a path (a string)")
    return Config(
        path=path,
        report_dir=data.get("report_dir", "mlsentry-reports"),
        audit_log=data.get("audit_log"),
        manifests=str_list("manifests"),
        controls=str_list("controls") if "controls" in data else None,
        gates=gates,
        top_lines=top_lines,
    )


# -- a gate as its command's arguments ----------------------------------------------------


def _where(config: Config, gate: Gate, key: Optional[str] = None) -> str:
    line = gate.key_lines.get(key, gate.line) if key else gate.line
    return f"{config.path}:{line}" if line else config.path


def _option_key(action: argparse.Action) -> Optional[str]:
    """The configuration key of an argparse action: its first long option with
    underscores, or the positional's name."""
    if not action.option_strings:
        return action.dest
    longs = [s for s in action.option_strings if s.startswith("--")]
    return longs[0][2:].replace("-", "_") if longs else None


def _text(value: Any, where: str, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UsageError(f"{where}: {key} expects a string or a number, got {value!r}")
    return str(value)


def gate_argv(config: Config, gate: Gate, parser: argparse.ArgumentParser) -> list[str]:
    """The command line of ``gate`` (without the command name), checked against its
    command's ``parser``: every key must be one of its options, every required positional
    given."""
    by_key: dict[str, argparse.Action] = {}
    for action in parser._actions:
        key = _option_key(action)
        if key is not None and key not in RESERVED:
            by_key[key] = action
    for key in gate.options:
        if key not in by_key:
            known = ", ".join(sorted(by_key))
            hint = " (set by mlsentry check)" if key in RESERVED else ""
            raise UsageError(
                f"{_where(config, gate, key)}: gate {gate.name!r}: unknown key {key!r}{hint} "
                f"for check {gate.check!r} (its options: {known})"
            )
    positional: list[str] = []
    optional: list[str] = []
    for key, action in by_key.items():
        where = _where(config, gate, key)
        if key not in gate.options:
            if not action.option_strings and action.nargs not in ("?", "*"):
                raise UsageError(
                    f"{_where(config, gate)}: gate {gate.name!r}: missing {key!r} "
                    f"(mlsentry {gate.check} needs {action.metavar or key.upper()})"
                )
            continue
        value = gate.options[key]
        many = action.nargs in ("+", "*") or isinstance(action, argparse._AppendAction)
        if not action.option_strings:
            values = value if isinstance(value, list) and many else [value]
            positional += [_text(v, where, key) for v in values]
            continue
        flag = next(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse.BooleanOptionalAction):
            if not isinstance(value, bool):
                raise UsageError(f"{where}: {key} expects true or false, got {value!r}")
            optional.append(flag if value else "--no-" + flag[2:])
        elif action.nargs == 0:  # store_true and the like
            if not isinstance(value, bool):
                raise UsageError(f"{where}: {key} expects true or false, got {value!r}")
            if value:
                optional.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for v in value if isinstance(value, list) else [value]:
                optional += [flag, _text(v, where, key)]
        elif many:
            values = value if isinstance(value, list) else [value]
            optional += [flag, *[_text(v, where, key) for v in values]]
        else:
            if isinstance(value, list):
                raise UsageError(f"{where}: {key} takes one value, got a list")
            optional += [flag, _text(value, where, key)]
    # Options first, then "--": a positional value that starts with "-" stays a value.
    return [*optional, "--", *positional] if positional else optional


def _parse(parser: argparse.ArgumentParser, argv: list[str], where: str) -> argparse.Namespace:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return parser.parse_args(argv)
    except SystemExit:
        lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        message = lines[-1].split("error: ", 1)[-1] if lines else "invalid arguments"
        raise UsageError(f"{where}: {message}") from None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "gate"


def gate_args(config: Config, gate: Gate, parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The gate's parsed command line, with ``--json`` (and ``--no-progress``)."""
    argv = gate_argv(config, gate, parser)
    extra = ["--json"]
    if any("--progress" in a.option_strings for a in parser._actions):
        extra.append("--no-progress")
    if "--" in argv:
        i = argv.index("--")
        argv = [*argv[:i], *extra, *argv[i:]]
    else:
        argv = [*argv, *extra]
    return _parse(parser, argv, f"{_where(config, gate)}: gate {gate.name!r}")


def run_gate(
    config: Config, gate: Gate, commands: Mapping[str, argparse.ArgumentParser], out_dir: str
) -> GateResult:
    """Run one gate's command with ``--json``; keep its report, write JSON and HTML."""
    from ..report import Report

    args = gate_args(config, gate, commands[gate.check])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = run_command(args.func, args)
    text = out.getvalue()
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    if status == EXIT_ERROR or not isinstance(data, dict) or "schema" not in data:
        what = "an input error" if status == EXIT_ERROR else "no report"
        return GateResult(gate, EXIT_ERROR, None, [], f"{_where(config, gate)}: {what}")
    stem = os.path.join(out_dir, _slug(gate.name))
    with open(stem + ".json", "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    files = [stem + ".json"]
    try:
        report = Report.from_dict(data)
    except ValueError:
        report = None  # a report this version cannot read back: JSON only
    if report is not None:
        report.save(stem + ".html")
        files.append(stem + ".html")
    return GateResult(gate, status, data, files)


def _commands(sub: Any) -> dict[str, argparse.ArgumentParser]:
    """The check commands: those of the parser that print a report with ``--json``."""
    return {
        name: p
        for name, p in sub.choices.items()
        if name not in NOT_CHECKS and any("--json" in a.option_strings for a in p._actions)
    }


# -- the command ---------------------------------------------------------------------------


def _table(results: list[GateResult]) -> str:
    rows = [("gate", "check", "verdict", "report")]
    rows += [
        (r.gate.name, r.gate.check, r.verdict, os.path.relpath(r.files[0]) if r.files else r.error)
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    counts = {v: sum(r.verdict == v for r in results) for v in ("PASSED", "FAILED", "ERROR")}
    lines.append(
        f"{len(results)} gate(s): {counts['PASSED']} passed, {counts['FAILED']} failed"
        + (f", {counts['ERROR']} error(s)" if counts["ERROR"] else "")
    )
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    commands = _commands(args.subcommands)
    gates = config.gates
    if args.only:
        names = {g.name for g in gates}
        unknown = [n for n in args.only if n not in names]
        if unknown:
            raise UsageError(f"--only: {config.path} has no gate {unknown[0]!r}")
        gates = [g for g in gates if g.name in args.only]
    for g in gates:
        if g.check not in commands:
            raise UsageError(
                f"{_where(config, g, 'check')}: gate {g.name!r}: unknown check {g.check!r} "
                f"(this mlsentry has: {', '.join(sorted(commands))})"
            )
        gate_args(config, g, commands[g.check])  # every gate's keys, before anything runs
    if args.evidence and not args.key:
        raise UsageError("--evidence: give the signing key with --key FILE")
    key = None
    if args.evidence:
        from ..integrity import SigningKey

        key = SigningKey.load(args.key, passphrase=passphrase(args))
    base = os.path.dirname(os.path.abspath(config.path))
    results = _run_gates(config, gates, commands, base)
    status = _status(results)
    evidence = None
    if key is not None:
        evidence = _write_evidence(config, results, base, args.evidence, key)
    if args.sarif:
        _write_sarif(config, results, args.sarif)
    if args.json:
        summary = _summary(config, results, status)
        if evidence is not None:
            summary["evidence"] = {"path": args.evidence, "digest": evidence}
        print(json.dumps(summary, indent=2))
    else:
        print(_table(results))
        if evidence is not None:
            print(f"evidence: {args.evidence} ({evidence})")
    for r in results:
        if r.error:
            print(f"mlsentry check: {r.error}", file=sys.stderr)
    return status


def _status(results: list[GateResult]) -> int:
    if any(r.status == EXIT_ERROR for r in results):
        return EXIT_ERROR
    return EXIT_FAILED if any(r.verdict == "FAILED" for r in results) else EXIT_PASSED


def _summary(config: Config, results: list[GateResult], status: int) -> dict[str, Any]:
    return {
        "config": config.path,
        "passed": status == EXIT_PASSED,
        "gates": [
            {
                "name": r.gate.name,
                "check": r.gate.check,
                "verdict": r.verdict,
                "reports": r.files,
                "error": r.error or None,
            }
            for r in results
        ],
    }


def _run_gates(
    config: Config, gates: list[Gate], commands: dict[str, argparse.ArgumentParser], base: str
) -> list[GateResult]:
    """Run the gates from the configuration's folder, each check recording itself in the
    audit log when the configuration names one."""
    from ..integrity import AUDIT_LOG_ENV

    out_dir = os.path.join(base, config.report_dir)
    os.makedirs(out_dir, exist_ok=True)
    saved_env = os.environ.get(AUDIT_LOG_ENV)
    cwd = os.getcwd()
    try:
        os.chdir(base)
        if config.audit_log:
            os.environ[AUDIT_LOG_ENV] = os.path.join(base, config.audit_log)
        return [run_gate(config, g, commands, out_dir) for g in gates]
    finally:
        os.chdir(cwd)
        if saved_env is None:
            os.environ.pop(AUDIT_LOG_ENV, None)
        else:
            os.environ[AUDIT_LOG_ENV] = saved_env


def _reports(results: list[GateResult]) -> list[tuple[GateResult, Any]]:
    from ..report import Report

    out = []
    for r in results:
        if r.report is not None:
            try:
                out.append((r, Report.from_dict(r.report)))
            except ValueError:
                continue  # a report this version cannot read back
    return out


def _write_evidence(
    config: Config, results: list[GateResult], base: str, path: str, key: Any
) -> str:
    """The signed bundle of this run: every report, the manifests named in the
    configuration or by a gate's ``manifest`` option, the audit log's entries."""
    from ..evidence import DEFAULT_FRAMEWORKS, build

    manifests: dict[str, str] = {}
    for m in config.manifests:
        manifests[os.path.basename(m)] = os.path.join(base, m)
    for r in results:
        m = r.gate.options.get("manifest")
        if isinstance(m, str) and os.path.isfile(os.path.join(base, m)):
            manifests.setdefault(r.gate.name, os.path.join(base, m))
    audit = os.path.join(base, config.audit_log) if config.audit_log else None
    bundle = build(
        {r.gate.name: report for r, report in _reports(results)},
        manifests=manifests,
        audit_log=audit if audit and os.path.isfile(audit) else None,
        controls=config.controls if config.controls is not None else DEFAULT_FRAMEWORKS,
    )
    return bundle.save(path, key)


def _write_sarif(config: Config, results: list[GateResult], path: str) -> None:
    from ..evidence import write_sarif

    pairs = _reports(results)
    gates = [
        {"name": r.gate.name, "file": config.path, "line": r.gate.line or None} for r, _ in pairs
    ]
    write_sarif(path, [report for _, report in pairs], gates=gates)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "check",
        help="run the gates of mlsentry.toml (or [tool.mlsentry] in pyproject.toml)",
        description="Run every [[gate]] of the configuration: each is an mlsentry command "
        "(check = scan, verify, drift, robustness, validate, label-issues, ...) whose "
        "options are the gate's other keys. Prints one table and writes every report "
        "(JSON and HTML) to report_dir. Exit status 0: every gate passed; 1: a gate "
        "failed; 2: usage error (no configuration, an unknown key, a missing input).",
    )
    p.add_argument("--config", metavar="FILE", help="mlsentry.toml or pyproject.toml to read")
    p.add_argument(
        "--only", action="append", metavar="NAME", help="run only this gate (repeatable)"
    )
    p.add_argument(
        "--evidence",
        metavar="FILE",
        help="also write the signed evidence bundle of this run (needs --key)",
    )
    p.add_argument("--key", metavar="FILE", help="private key PEM that signs the evidence")
    p.add_argument("--passphrase-env", metavar="VAR", help=PASSPHRASE_HELP)
    p.add_argument("--sarif", metavar="FILE", help="write the results as SARIF 2.1.0")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_check, subcommands=sub)
