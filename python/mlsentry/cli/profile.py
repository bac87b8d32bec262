"""``mlsentry profile``: a mergeable reference profile of data files, for
``mlsentry drift PROFILE CURRENT``."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from .._tables import read_table
from .common import EXIT_PASSED, UsageError, add_progress_flag, show_progress, split_names


def cmd_profile(args: argparse.Namespace) -> int:
    from ..drift import Profile

    columns = split_names(args.columns, "--columns")
    categorical = split_names(args.categorical, "--categorical")
    merged = None
    for path in args.data:
        if Profile.is_file(path):
            part = Profile.load(path)
        else:
            part = Profile.fit(
                read_table(path),
                columns=columns,
                categorical=categorical,
                progress=show_progress(args),
            )
        merged = part if merged is None else merged.merge(part)
    if merged is None:  # argparse requires one DATA at least
        raise UsageError("DATA: expected at least one file")
    merged.save(args.output)
    info = merged.describe()
    if args.json:
        print(json.dumps({"output": args.output, "columns": info}, indent=2, default=str))
        return EXIT_PASSED
    rows = max((c["count"] + c["missing"] for c in info), default=0)
    size = os.path.getsize(args.output)
    print(f"wrote the profile of {len(info)} columns ({rows} rows, {size} bytes) to {args.output}")
    for c in info:
        if c["kind"] == "numeric":
            detail = f"numeric, {c['buckets']} buckets"
            if c["min"] is not None:
                detail += f", range [{c['min']:.6g}, {c['max']:.6g}], mean {c['mean']:.6g}"
        else:
            detail = f"categorical, {c['categories']} categories"
            if c["other"]:
                detail += f" (+{c['other']} values of others past the cap)"
        if c["missing"]:
            detail += f", {c['missing']} missing"
        print(f"  {c['name']}: {detail}")
    return EXIT_PASSED


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "profile",
        help="write a mergeable reference profile of data files (for `mlsentry drift`)",
        description="Profile DATA (one or more CSV, Parquet or .npy files, or profiles; "
        "all merged into one) and write the profile file: counts on a fixed grid for "
        "numbers, category counts, missing counts. `mlsentry drift PROFILE CURRENT` "
        "compares a file with it. Exit status 0: written; 2: usage or input error.",
    )
    p.add_argument("data", nargs="+", help="CSV, Parquet or .npy files, or profile files")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="profile to write")
    p.add_argument("--columns", metavar="A,B", help="profile only these columns")
    p.add_argument("--categorical", metavar="A,B", help="count these columns as categories")
    p.add_argument("--json", action="store_true", help="print the columns' summary as JSON")
    add_progress_flag(p)
    p.set_defaults(func=cmd_profile)
