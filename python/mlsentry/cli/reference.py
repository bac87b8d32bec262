"""The command-line reference, written from the parser itself so that it cannot drift from
the commands: ``python -m mlsentry.cli.reference > docs/cli.md``."""

from __future__ import annotations

import argparse

from . import build_parser


def _commands(
    parser: argparse.ArgumentParser, path: list[str]
) -> list[tuple[list[str], str, argparse.ArgumentParser]]:
    """Every command and sub-command, depth first: (words, one-line help, parser)."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                out.append(([*path, name], helps.get(name, ""), sub))
                out += _commands(sub, [*path, name])
    return out


def markdown() -> str:
    """The reference as Markdown: each command's purpose, then its ``--help`` text."""
    parser = build_parser()
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=88)
    lines = [
        "# `mlsentry` command-line reference",
        "",
        "Written from the parser by `python -m mlsentry.cli.reference > docs/cli.md`;",
        "`tests/cli/test_cli.py` checks that it is current.",
        "",
        "Exit status for every command: 0 the check passed (or had no bar), 1 the check",
        "failed, 2 usage or input error, 130 interrupted.",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
    ]
    for words, summary, sub in _commands(parser, ["mlsentry"]):
        sub.formatter_class = parser.formatter_class
        lines += ["", f"## `{' '.join(words)}`", ""]
        if summary:
            lines += [summary[:1].upper() + summary[1:] + ".", ""]
        lines += ["```text", sub.format_help().rstrip(), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
