"""``mlsentry schema`` (infer a schema from reference data) and ``mlsentry validate``
(check a batch against it)."""

from __future__ import annotations

import argparse
from typing import Any

from .._tables import read_table
from .common import EXIT_PASSED, add_output_flags, add_progress_flag, emit_report, show_progress


def cmd_schema(args: argparse.Namespace) -> int:
    from ..data import Schema

    schema = Schema.infer(
        read_table(args.reference),
        max_categories=args.max_categories,
        int_categories=args.int_categories,
        missing_margin=args.missing_margin,
        range_margin=args.range_margin,
    )
    schema.save(args.output)
    print(
        f"wrote the schema of {len(schema)} columns ({schema.rows} reference rows) to {args.output}"
    )
    for name, col in schema.columns.items():
        parts = [col.type]
        if col.min is not None or col.max is not None:
            parts.append(f"range [{col.min}, {col.max}]")
        if col.domain is not None:
            parts.append(f"{len(col.domain)} categories")
        if col.max_missing:
            parts.append(f"missing <= {col.max_missing:.1%}")
        if col.unique:
            parts.append("unique")
        print(f"  {name}: {', '.join(parts)}")
    return EXIT_PASSED


def cmd_validate(args: argparse.Namespace) -> int:
    from ..data import validate

    report = validate(
        read_table(args.data),
        args.schema,
        examples=args.examples,
        progress=show_progress(args),
    )
    return emit_report(report, args)


def _non_negative_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {n}")
    return n


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "schema",
        help="infer a schema (types, ranges, categories, keys) from reference data",
        description="Infer the schema of REFERENCE (one type per column, the share of "
        "missing values allowed, widened ranges, category domains, unique keys) and write it "
        "as JSON or TOML for `mlsentry validate`. Edit the file to tighten or loosen a "
        "check. Exit status 0: written; 2: usage or input error.",
    )
    p.add_argument("reference", help="CSV, Parquet or .npy file of reference data")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="schema file to write (.toml or .json)",
    )
    p.add_argument(
        "--max-categories",
        type=_non_negative_int,
        default=1000,
        metavar="N",
        help="above N distinct values a column keeps no domain (default: %(default)s)",
    )
    p.add_argument(
        "--int-categories",
        type=_non_negative_int,
        default=20,
        metavar="N",
        help="an integer column with at most N distinct values keeps them as its domain "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--missing-margin",
        type=float,
        default=0.05,
        metavar="X",
        help="added to a column's missing share when it has missing values (default: %(default)s)",
    )
    p.add_argument(
        "--range-margin",
        type=float,
        default=0.25,
        metavar="X",
        help="widen [min, max] by X times its width on each side; 0 keeps the reference's "
        "exact bounds (default: %(default)s)",
    )
    p.set_defaults(func=cmd_schema)

    v = sub.add_parser(
        "validate",
        help="check a data file against a schema (types, ranges, categories, missing, keys)",
        description="Check DATA against the schema FILE written by `mlsentry schema` (or "
        "by ms.data.Schema.save): type changes, values out of range, unseen categories, "
        "missing values above the bound, repeated keys, missing and new columns. Exit "
        "status 0: no anomaly is an error; 1: an anomaly is an error; 2: usage or input "
        "error.",
    )
    v.add_argument("data", help="CSV, Parquet or .npy file to check")
    v.add_argument("--schema", required=True, metavar="FILE", help="schema file (.toml or .json)")
    v.add_argument(
        "--examples",
        type=_non_negative_int,
        default=5,
        metavar="N",
        help="example rows kept per anomaly (default: %(default)s)",
    )
    add_output_flags(v)
    add_progress_flag(v)
    v.set_defaults(func=cmd_validate)
