"""Robustness probes: bad files, bad tables, planted rare and unique values, injection in names and values.

Each probe writes its source into its own temporary directory and runs ``synth-pipeline run`` on a
config naming it (the copula unless the probe is about argn). See benchmarks/robustness.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from robustness_harness import Ctx, churn, classify, number_table, outcome, probe

DATASET = "d"


def run_table(
    ctx: Ctx, source: pd.DataFrame | Path, *, name: str = "source.csv", mentions: tuple[str, ...] = (), **settings: Any
) -> tuple[str, str]:
    """Write ``source`` (unless it is a file already), run the lifecycle on it, check no real row is published."""
    path = source if isinstance(source, Path) else ctx.write(source, name)
    result = ctx.run(ctx.config({DATASET: ctx.dataset(path, **settings)}))
    if isinstance(source, pd.DataFrame):
        ctx.no_copies(source, DATASET)
    ctx.expect_published_once(result, DATASET)
    return outcome(result, mentions)


def published_only_if(got: str, ctx: Ctx, condition: bool, message: str) -> None:
    if got == "published":
        ctx.check(condition, message)


# -- bad files ---------------------------------------------------------------------------------
@probe("bad file", "error", quick=True)
def csv_unterminated_quote(ctx: Ctx):
    path = ctx.tmp / "bad.csv"
    path.write_text('a,b\n1,2\n"x,3\n4,5\n')
    return run_table(ctx, path, mentions=("bad.csv",))


@probe("bad file", "error")
def csv_binary_garbage(ctx: Ctx):
    path = ctx.tmp / "garbage.csv"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return run_table(ctx, path, mentions=("garbage.csv",))


@probe("bad file", "error")
def parquet_truncated(ctx: Ctx):
    path = ctx.write(number_table(200), "table.parquet")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return run_table(ctx, path, mentions=("table.parquet",))


@probe("bad file", "error", quick=True)
def missing_file(ctx: Ctx):
    return run_table(ctx, ctx.tmp / "no_such_table.csv", mentions=("no_such_table.csv",))


@probe("bad file", "error")
def empty_file(ctx: Ctx):
    path = ctx.tmp / "empty.csv"
    path.write_text("")
    return run_table(ctx, path, mentions=("empty.csv",))


@probe("bad file", "error")
def header_only(ctx: Ctx):
    path = ctx.tmp / "header.csv"
    path.write_text("amount,age,segment\n")
    return run_table(ctx, path, mentions=("header.csv",))


# -- bad tables ----------------------------------------------------------------------------------
@probe("bad table", ("published", "error"))
def all_null_column(ctx: Ctx):
    table = number_table(500).assign(empty=np.nan)
    return run_table(ctx, table, mentions=("empty",))


@probe("bad table", "published")
def constant_column(ctx: Ctx):
    table = churn(1000).assign(country="NL", version=7)
    got, line = run_table(ctx, table)
    for version, frame in ctx.snapshots(DATASET).items():
        ctx.check(set(frame["country"].dropna()) <= {"NL"}, f"v{version}: constant column changed")
    return got, line


@probe("bad table", ("published", "error"))
def nan_and_inf(ctx: Ctx):
    table = number_table(500)
    table.loc[::50, "amount"] = np.inf
    table.loc[1::50, "amount"] = -np.inf
    table.loc[2::7, "amount"] = np.nan
    got, line = run_table(ctx, table, name="source.parquet", mentions=("amount",))
    for version, frame in ctx.snapshots(DATASET).items():
        ctx.check(frame["amount"].notna().any(), f"v{version}: amount is all missing")
    return got, line


def email_table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    table = number_table(1000)
    table["email"] = [f"u{rng.integers(10**8, 10**9)}@corp{i % 37}.example" for i in range(len(table))]
    return table


@probe("bad table", ("published", "error"))
def huge_cardinality_text(ctx: Ctx):
    table = email_table()
    got, line = run_table(ctx, table, mentions=("email",))
    ctx.no_leak_in_snapshots(DATASET, table["email"], "real e-mail addresses")
    ctx.no_leak_in_reports(table["email"], "a real e-mail address")
    return got, line


@probe("bad table", "published")
def columns_not_learned_are_listed(ctx: Ctx):
    table = email_table()
    path = ctx.write(table, "source.csv")
    result = ctx.run(ctx.config({DATASET: ctx.dataset(path)}))
    got, line = outcome(result)
    ctx.no_copies(table, DATASET)
    if got == "published":
        ctx.check("email" in result.stdout + result.stderr, "the run does not say that email is not learned")
        reports = [p for p in ctx.report_files() if p.suffix == ".json" and "columns_not_learned" in p.read_text()]
        ctx.check(
            any("email" in str(json.loads(p.read_text())["columns_not_learned"]) for p in reports),
            "the QA report does not list email among the columns not learned",
        )
    return got, line


@probe("bad table", "error", quick=True)
def mixed_date_formats(ctx: Ctx):
    table = number_table(500)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.random.default_rng(2).integers(0, 1500, 500), unit="D")
    table["joined"] = [d.strftime("%Y-%m-%d") if i % 2 else d.strftime("%d/%m/%Y") for i, d in enumerate(days)]
    return run_table(ctx, table, mentions=("joined",))


def dates_check(ctx: Ctx, days: pd.Series, column: str) -> None:
    for version, frame in ctx.snapshots(DATASET).items():
        values = frame[column]
        if not ctx.check(pd.api.types.is_datetime64_any_dtype(values), f"v{version}: {column} is {values.dtype}"):
            continue
        inside = values.dropna().between(days.min() - pd.Timedelta(days=31), days.max() + pd.Timedelta(days=31))
        ctx.check(inside.mean() > 0.99, f"v{version}: {1 - inside.mean():.0%} of {column} outside the real range")


@probe("bad table", "published")
def day_first_dates_one_format(ctx: Ctx):
    table = number_table(500)
    days = pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(500) * 3, unit="D"))
    table["joined"] = days.dt.strftime("%d/%m/%Y")  # days above 12 make the format unambiguous
    got, line = run_table(ctx, table)
    dates_check(ctx, days, "joined")
    return got, line


@probe("bad table", "published")
def declared_date_format(ctx: Ctx):
    table = number_table(500)
    days = pd.Series(pd.Timestamp("2021-01-01") + pd.to_timedelta(np.arange(500) % 12 * 31, unit="D"))
    table["joined"] = days.dt.strftime("%d/%m/%Y")  # only days <= 12: ambiguous without the declaration
    got, line = run_table(ctx, table, columns={"joined": {"kind": "datetime", "format": "%d/%m/%Y"}})
    dates_check(ctx, days, "joined")
    return got, line


@probe("bad table", ("published", "error"))
def thousands_separators(ctx: Ctx):
    table = number_table(500)
    values = np.random.default_rng(3).integers(1_000, 9_000_000, 500)
    table["revenue"] = [f"{v:,}" for v in values]
    got, line = run_table(ctx, table, mentions=("revenue",))
    for version, frame in ctx.snapshots(DATASET).items():
        numbers = pd.to_numeric(frame["revenue"].astype(str).str.replace(",", ""), errors="coerce")
        ctx.check(numbers.notna().all(), f"v{version}: revenue is not numbers: {frame['revenue'].head(2).tolist()}")
        ctx.check(numbers.quantile(0.9) > 100_000, f"v{version}: revenue replaced, e.g. {frame['revenue'].iloc[0]!r}")
    return got, line


@probe("bad table", "published")
def integer_id_keeps_type(ctx: Ctx):
    table = number_table(500)
    table.insert(0, "order_id", np.random.default_rng(4).permutation(np.arange(10_000, 10_500)))
    got, line = run_table(ctx, table)
    for version, frame in ctx.snapshots(DATASET).items():
        ctx.check(
            pd.api.types.is_integer_dtype(frame["order_id"]),
            f"v{version}: order_id came back as {frame['order_id'].dtype}",
        )
    return got, line


@probe("bad table", "error")
def parquet_list_column(ctx: Ctx):
    table = pa.table({"amount": list(range(300)), "tags": [[f"t{i % 5}", "x"] for i in range(300)]})
    path = ctx.tmp / "lists.parquet"
    pq.write_table(table, path)
    return run_table(ctx, path, mentions=("tags",))


@probe("bad table", "error")
def uint64_beyond_int64(ctx: Ctx):
    big = np.array([2**63 + i * 7919 for i in range(300)], dtype=np.uint64)
    table = pa.table({"amount": np.arange(300.0), "serial": big})
    path = ctx.tmp / "uint.parquet"
    pq.write_table(table, path)
    return run_table(ctx, path, mentions=("serial",))


@probe("bad table", ("published", "error"))
def duration_column(ctx: Ctx):
    table = number_table(400)
    table["wait"] = [timedelta(minutes=int(m)) for m in np.random.default_rng(5).integers(1, 600, 400)]
    got, line = run_table(ctx, table, name="durations.parquet", mentions=("wait",))
    for version, frame in ctx.snapshots(DATASET).items():
        ctx.check(pd.api.types.is_timedelta64_dtype(frame["wait"]), f"v{version}: wait is {frame['wait'].dtype}")
    return got, line


@probe("bad table", ("error", "blocked"), quick=True)
def two_row_source(ctx: Ctx):
    return run_table(ctx, number_table(2))


@probe("bad table", ("error", "blocked"))
def three_row_source(ctx: Ctx):
    return run_table(ctx, number_table(3))


@probe("bad table", ("error", "blocked"))
def three_row_source_argn(ctx: Ctx):
    return run_table(ctx, number_table(3), generator={"name": "argn", "settings": {"max_training_seconds": 20}})


@probe("bad table", ("published", "blocked", "error"))
def forty_row_source(ctx: Ctx):
    return run_table(ctx, number_table(40))


# -- planted rare and unique values ----------------------------------------------------------------
# A value seen once lands in the holdout half by chance; eight of them (in eight rows) make it certain in
# practice (1 in 256) that some are in training, where a leak would come from.
ONCE_ROWS = [17, 83, 137, 201, 266, 318, 377, 449]


def plant(table: pd.DataFrame, column: str, values: list[Any]) -> pd.DataFrame:
    table = table.copy()
    if table[column].dtype != object and isinstance(values[0], str):
        table[column] = table[column].astype(object)
    for row, value in zip(ONCE_ROWS, values, strict=False):
        table.loc[row, column] = value
    return table


@probe("planted value", "published", quick=True)
def planted_unique_category(ctx: Ctx):
    values = [f"Zq-unique-{4471 + i}" for i in range(8)]
    table = plant(number_table(500), "segment", values)
    got, line = run_table(ctx, table)
    ctx.no_leak_in_snapshots(DATASET, values, "a category seen once")
    ctx.no_leak_in_reports(values, "a category seen once")
    return got, line


@probe("planted value", "published")
def planted_unique_category_argn(ctx: Ctx):
    values = [f"Zq-rare-{9313 + i // 2}" for i in range(8)]  # four categories seen twice each
    table = plant(number_table(500), "segment", values)
    got, line = run_table(ctx, table, generator={"name": "argn", "settings": {"max_training_seconds": 20}})
    ctx.no_leak_in_snapshots(DATASET, values, "a category seen twice")
    ctx.no_leak_in_reports(values, "a category seen twice")
    return got, line


@probe("planted value", "published")
def ten_digit_random_ints(ctx: Ctx):
    table = number_table(500)
    table["account"] = np.random.default_rng(6).integers(10**9, 10**10, 500)
    got, line = run_table(ctx, table)
    ctx.no_leak_in_reports(table["account"].tolist(), "a real 10-digit value")
    return got, line


@probe("planted value", "published")
def value_seen_once_in_small_counts(ctx: Ctx):
    table = number_table(500)
    table["visits"] = np.random.default_rng(7).integers(0, 7, 500)  # few distinct values: counted, not binned
    once = [9973 + 10 * i for i in range(8)]
    got, line = run_table(ctx, plant(table, "visits", once))
    ctx.no_leak_in_reports(once, "a value seen once")
    return got, line


@probe("planted value", "published")
def value_seen_once_in_wide_numbers(ctx: Ctx):
    table = number_table(500)
    table["visits"] = np.random.default_rng(7).integers(0, 60, 500)
    once = [9973 + 10 * i for i in range(8)]
    got, line = run_table(ctx, plant(table, "visits", once))
    ctx.no_leak_in_reports(once, "a value seen once")
    return got, line


@probe("planted value", "published")
def inferred_rules_min_max(ctx: Ctx):
    table = number_table(500)
    table["account"] = np.random.default_rng(8).integers(10**9, 10**10, 500)
    got, line = run_table(ctx, table, infer_rules=True)
    extremes = [int(table["account"].min()), int(table["account"].max())]
    ctx.no_leak_in_reports(extremes, "the real minimum/maximum (rule text)")
    return got, line


@probe("planted value", "published")
def sequential_ids_regenerated(ctx: Ctx):
    table = churn(500)
    got, line = run_table(ctx, table)
    real = set(table["customer_id"])
    for version, frame in ctx.snapshots(DATASET).items():
        shared = real & set(frame["customer_id"].astype(str))
        ctx.check(not shared, f"v{version}: {len(shared)} regenerated ids equal real ones, e.g. {sorted(shared)[:2]}")
    return got, line


@probe("planted value", "published")
def all_values_rare_argn(ctx: Ctx):
    table = number_table(1000)
    table["code"] = [f"k{i % 300}" for i in range(len(table))]  # every value seen 3 or 4 times: all rare
    got, line = run_table(ctx, table, generator={"name": "argn", "settings": {"max_training_seconds": 20}})
    for version, frame in ctx.snapshots(DATASET).items():
        rare = frame.astype(str).apply(lambda c: c.str.contains("_RARE_")).to_numpy().sum()
        ctx.check(rare == 0, f"v{version}: {rare} cells hold the placeholder _RARE_")
    return got, line


# -- injection in names and values -----------------------------------------------------------------
@probe("injection", "published")
def html_in_names_and_values(ctx: Ctx):
    table = number_table(500)
    table = table.rename(columns={"segment": "<script>alert(1)</script>"})
    table["flag"] = np.where(table["flag"] == "yes", "<img src=x onerror=alert(2)>", "no")
    path = ctx.write(table, "source.csv")
    result = ctx.run(ctx.config({DATASET: ctx.dataset(path)}))
    pages = [p for p in ctx.report_files() if p.suffix == ".html"]
    if classify(result) == "published":
        ctx.check(bool(pages), "no HTML report published")
    for page in pages:
        text = page.read_text(errors="replace")
        ctx.check("<script>alert(1)" not in text, f"{page.name}: a column name is injected as a script")
        ctx.check("<img src=x" not in text, f"{page.name}: a value is injected as an element")
    return outcome(result)


@probe("injection", "published")
def sql_looking_column_names(ctx: Ctx):
    table = number_table(500).rename(columns={"segment": 'a"; DROP TABLE snapshots; --', "flag": "select"})
    got, line = run_table(ctx, table)
    if got == "published":
        ctx.check(len(ctx.catalog(DATASET)) == 1, "the catalog lost its row")
    return got, line
