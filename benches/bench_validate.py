"""Schema validation: ``mlsentry.data.validate`` against pandera with the equivalent schema.

Data. A reference frame and a batch of N rows each, independent draws of
``np.random.default_rng(SEED)``, 25 columns: ``f0..f14`` float64 (standard normal; ``f1`` with
2% missing values), ``i0`` an int64 key (``0..N-1`` shifted per frame), ``i1..i4`` int64 in
``0..99``, ``s0..s4`` strings drawn from six words. Planted in the batch: ``f0`` 0.1% of the
rows set to 50 (out of range), ``f1`` 10% missing (above its bound), ``i0`` every 5,000th row
repeats key ``i0[0]`` (duplicate keys), ``i1`` 0.2% set to 1000 (out of range), ``s0`` 0.05%
set to "omega" (unseen category). The driver writes both frames to Parquet and infers the
schema from the reference once (``Schema.infer``, saved as JSON); every child reads the batch
with ``pyarrow.parquet.read_table(path).to_pandas()`` (pandas 3: ``str`` string columns) and
the schema file before anything is timed.

Candidates, each in its own process:

- ``mlsentry.data.validate(batch, schema, fingerprint=False)``: the checks alone;
- ``mlsentry.data.validate(batch, schema)``: the default, which also records the batch's
  SHA-256 fingerprint in the report;
- pandera 0.35 ``DataFrameSchema(...).validate(batch, lazy=True)`` built from the same schema:
  per column the dtype, ``nullable`` (any missing value allowed when the schema allows some),
  ``Check.in_range(min, max)``, ``Check.isin(domain)``, ``unique=True`` with
  ``report_duplicates="exclude_first"``, and for a column whose missing share is bounded
  strictly between 0 and 1 a ``Check`` of that share (``ignore_na=False``).

Both must find the same anomalies: the counts per column and kind are compared.
"""

from __future__ import annotations

import gc
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Callable

from _timing import (
    OUT_DIR,
    Candidate,
    Case,
    Goal,
    Measurement,
    Section,
    fmt_mib,
    fmt_s,
    fmt_x,
    interleave,
    ratio,
    require,
    run_isolated,
    timing_note,
)

DATA = OUT_DIR / "data"
SEED = 20261207
GOAL_VS_PANDERA = 10.0  # validate at least 10x faster than pandera with the same checks
N_FLOAT, N_INT, N_STR = 15, 5, 5
WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")


@dataclass(frozen=True)
class Sizes:
    rows: int


FULL = Sizes(rows=1_000_000)
QUICK = Sizes(rows=1_000_000)
SMOKE = Sizes(rows=20_000)


# --------------------------------------------------------------------------- inputs


def _frame(rng: Any, rows: int, start: int) -> dict[str, Any]:
    import numpy as np

    words = np.array(WORDS)
    cols: dict[str, Any] = {}
    for j in range(N_FLOAT):
        x = rng.standard_normal(rows)
        if j == 1:
            x[rng.random(rows) < 0.02] = np.nan
        cols[f"f{j}"] = x
    cols["i0"] = np.arange(start, start + rows, dtype=np.int64)
    for j in range(1, N_INT):
        cols[f"i{j}"] = rng.integers(0, 100, rows)
    for j in range(N_STR):
        cols[f"s{j}"] = words[rng.integers(0, len(words), rows)]
    return cols


def _plant(cols: dict[str, Any], rows: int) -> None:
    import numpy as np

    cols["f0"][::1000] = 50.0
    f1 = cols["f1"]
    f1[np.arange(rows) % 10 == 3] = np.nan
    cols["i0"][1::5000] = cols["i0"][0]
    cols["i1"][::500] = 1000
    s0 = cols["s0"].astype(object)
    s0[::2000] = "omega"
    cols["s0"] = s0


def write_inputs(rows: int) -> dict[str, str]:
    """Reference and batch as Parquet, and the schema inferred from the reference (JSON)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    import mlsentry as ms

    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    paths = {}
    for tag, start in (("reference", 0), ("batch", 10 * rows)):
        cols = _frame(rng, rows, start)
        if tag == "batch":
            _plant(cols, rows)
        table = pa.table(
            {k: pa.array(v, type=pa.string() if k[0] == "s" else None) for k, v in cols.items()}
        )
        path = DATA / f"validate-{rows}-{tag}.parquet"
        with tempfile.NamedTemporaryFile(dir=DATA, suffix=".tmp", delete=False) as tmp:
            pass
        pq.write_table(table, tmp.name)
        os.replace(tmp.name, path)
        paths[tag] = str(path)
    reference = pq.read_table(paths["reference"]).to_pandas()
    schema_path = DATA / f"validate-{rows}-schema.json"
    ms.data.Schema.infer(reference).save(schema_path)
    paths["schema"] = str(schema_path)
    return paths


def read_batch(batch: str) -> tuple[Any, dict]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = pq.read_table(batch).to_pandas()
    gc.collect()
    pa.default_memory_pool().release_unused()
    info = {
        "input_bytes": int(df.memory_usage(deep=True).sum()),
        "pandas": pd.__version__,
        "string_dtype": str(df["s0"].dtype),
    }
    return df, info


# --------------------------------------------------------------------------- child cases


def _ours_counts(rep: Any) -> dict[str, int]:
    return {f"{a.column}/{a.kind}": int(a.count) for a in rep.anomalies}


def case_ours(batch: str, schema: str, fingerprint: bool) -> Case:
    validate = require("mlsentry.data", "validate")
    load = require("mlsentry.data", "Schema").load
    df, info = read_batch(batch)
    s = load(schema)

    def extra(rep: Any) -> dict:
        return dict(info, counts=_ours_counts(rep), passed=bool(rep.passed))

    return Case(call=lambda: validate(df, s, fingerprint=fingerprint), extra=extra)


_DTYPES = {"float": "float64", "int": "int64", "string": "str", "bool": "bool"}


def pandera_schema(schema: Any) -> Any:
    """The pandera ``DataFrameSchema`` with the checks of an mlsentry schema."""
    import pandera.pandas as pa

    cols = {}
    for name, c in schema.columns.items():
        checks = []
        if c.min is not None and c.max is not None:
            checks.append(pa.Check.in_range(c.min, c.max))
        elif c.min is not None:
            checks.append(pa.Check.ge(c.min))
        elif c.max is not None:
            checks.append(pa.Check.le(c.max))
        if c.domain is not None:
            checks.append(pa.Check.isin(c.domain))
        if 0 < c.max_missing < 1:
            bound = c.max_missing
            checks.append(
                pa.Check(
                    lambda s, b=bound: bool(s.isna().mean() <= b),
                    ignore_na=False,
                    name="missing_share",
                )
            )
        cols[name] = pa.Column(
            _DTYPES.get(c.type),
            checks=checks,
            nullable=c.max_missing > 0,
            unique=c.unique,
            report_duplicates="exclude_first",
        )
    return pa.DataFrameSchema(cols)


_PANDERA_KIND = {
    "in_range": "out_of_range",
    "greater_than_or_equal_to": "out_of_range",
    "less_than_or_equal_to": "out_of_range",
    "isin": "unseen_category",
    "field_uniqueness": "duplicate_key",
    "not_nullable": "missing_above_bound",
    "missing_share": "missing_above_bound",
    "dtype": "type_changed",
    "column_in_dataframe": "missing_column",
}


def _pandera_counts(failure_cases: Any, batch: Any) -> dict[str, int]:
    """Rows per column and kind; the missing-share check fails as one case, counted as the
    column's missing rows (what ours reports)."""
    out: dict[str, int] = {}
    for (col, check), group in failure_cases.groupby(["column", "check"]):
        name = str(check).split("(")[0]
        kind = _PANDERA_KIND.get(name, name)
        n = int(batch[col].isna().sum()) if name == "missing_share" else len(group)
        out[f"{col}/{kind}"] = out.get(f"{col}/{kind}", 0) + n
    return out


def case_pandera(batch: str, schema: str) -> Case:
    import pandera
    from pandera.errors import SchemaErrors

    import mlsentry as ms

    df, info = read_batch(batch)
    ps = pandera_schema(ms.data.Schema.load(schema))

    def call() -> Any:
        try:
            ps.validate(df, lazy=True)
        except SchemaErrors as e:
            return e.failure_cases
        return None

    def extra(cases: Any) -> dict:
        counts = {} if cases is None else _pandera_counts(cases, df)
        return dict(info, counts=counts, pandera=pandera.__version__)

    return Case(call=call, extra=extra)


# --------------------------------------------------------------------------- the benchmark

OURS = "mlsentry: `data.validate(batch, schema, fingerprint=False)`"
OURS_FP = "mlsentry: `data.validate(batch, schema)` (records the batch's fingerprint)"
PEER = "pandera: `DataFrameSchema(...).validate(batch, lazy=True)`"


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    log(f"validate: writing two frames of {sizes.rows:,} rows x 25 columns to {DATA}")
    paths = write_inputs(sizes.rows)
    kw = {"batch": paths["batch"], "schema": paths["schema"]}

    def iso(func: str, **extra: Any) -> Callable[[], Any]:
        return lambda: run_isolated("bench_validate", func, {**kw, **extra})

    res = interleave(
        [
            Candidate(OURS, iso("case_ours", fingerprint=False)),
            Candidate(OURS_FP, iso("case_ours", fingerprint=True)),
            Candidate(PEER, iso("case_pandera")),
        ],
        rounds,
        tolerate_missing=tolerate_missing,
        log=log,
    )
    return _section(res, sizes, rounds)


def _first(m: Measurement, key: str) -> Any:
    vals = m.extras(key)
    return vals[0] if vals else None


def _counts_cell(m: Measurement) -> str:
    counts = _first(m, "counts")
    if counts is None:
        return "—"
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))


def _section(res: dict[str, Measurement], sizes: Sizes, rounds: int) -> Section:
    med = {name: m.median for name, m in res.items()}
    rows = []
    for name in (OURS, OURS_FP, PEER):
        m = res[name]
        rows.append(
            [
                name,
                "missing: " + m.missing if m.missing else fmt_s(m.median),
                fmt_s(m.best),
                "" if name == PEER else fmt_x(ratio(med[PEER], m.median)),
                fmt_mib(m.peak_rss),
                fmt_mib(m.above_base),
                _counts_cell(m),
            ]
        )
    ours, theirs = _first(res[OURS], "counts"), _first(res[PEER], "counts")
    same = "not compared" if ours is None or theirs is None else "yes" if ours == theirs else "NO"
    goals = [
        Goal(
            "`data.validate` vs pandera with the equivalent schema (checks alone)",
            ratio(med[PEER], med[OURS]),
            GOAL_VS_PANDERA,
            "x",
        ),
        Goal(
            "`data.validate` with its default fingerprint of the batch vs pandera",
            ratio(med[PEER], med[OURS_FP]),
            GOAL_VS_PANDERA,
            "x",
        ),
    ]
    notes = [
        f"Frames: reference and batch of {sizes.rows:,} rows: `f0..f14` standard normal float64 "
        "(`f1` 2% missing), `i0` an int64 key, `i1..i4` int64 in 0..99, `s0..s4` strings of six "
        f"words; `np.random.default_rng({SEED})`. Planted in the batch: `f0` 0.1% out of range, "
        "`f1` 10% missing, `i0` every 5,000th key repeated, `i1` 0.2% out of range, `s0` 0.05% "
        "unseen. The schema is inferred from the reference once (defaults) and both tools "
        "check the batch against it.",
        f"Pandas {_first(res[OURS], 'pandas') or '?'} (string columns "
        f"`{_first(res[OURS], 'string_dtype') or '?'}`), pandera "
        f"{_first(res[PEER], 'pandera') or '?'}.",
        f"Same anomalies found (rows per column and kind, column 'anomalies'): {same}.",
        "The default `validate` also hashes the whole batch (SHA-256 of every column) to "
        "record its fingerprint in the report; `fingerprint=False` leaves that out, as "
        "pandera records nothing of its input.",
        timing_note(rounds),
        "Speed-ups are pandera's median over ours, both from this run. Ours uses the worker "
        "threads of the machine (rayon); pandera runs in one thread.",
    ]
    header = [
        "candidate",
        "median s",
        "best s",
        "vs pandera",
        "peak RSS MiB",
        "above input MiB",
        "anomalies (rows)",
    ]
    title = f"Schema validation: {sizes.rows:,} x 25 batch vs pandera"
    intro = (
        "Validation of a batch against a schema inferred from reference data, against pandera "
        "with a DataFrameSchema doing the same checks."
    )
    return Section(title, intro, header, rows, goals, notes)
