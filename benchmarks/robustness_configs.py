"""Robustness probes: bad configs and SQL-source abuse (a config author trying to reach the warehouse or files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robustness_harness import Ctx, churn, content_hash, outcome, probe

DATASET = "d"


SOURCE = churn(1000)  # the copula's copy of it publishes past every default gate


def source_file(ctx: Ctx) -> Path:
    return ctx.write(SOURCE, "source.csv")


def run_settings(ctx: Ctx, mentions: tuple[str, ...], **settings: Any) -> tuple[str, str]:
    """Run one dataset with ``settings`` (a bad value among them); nothing may be created before the refusal."""
    config = ctx.config({DATASET: ctx.dataset(source_file(ctx), **settings)})
    result = ctx.run(config)
    ctx.no_copies(SOURCE, DATASET)
    got = outcome(result, mentions)
    if got[0].startswith("error"):
        ctx.check(
            not (ctx.private_dir / "tables").exists() or not any((ctx.private_dir / "tables").rglob("*.parquet")),
            "the source was read and split before the config was refused",
        )
    return got


def run_text(ctx: Ctx, text: str, mentions: tuple[str, ...]) -> tuple[str, str]:
    path = ctx.tmp / "config.yaml"
    path.write_text(text)
    return outcome(ctx.run(path), mentions)


# -- bad configs -----------------------------------------------------------------------------------
@probe("bad config", "error", quick=True)
def config_missing_file(ctx: Ctx):
    return outcome(ctx.run(ctx.tmp / "nope.yaml"), ("nope.yaml",))


@probe("bad config", "error")
def config_not_yaml(ctx: Ctx):
    return run_text(ctx, "datasets:\n  d: {source: [unclosed\n", ("config.yaml",))


@probe("bad config", "error", quick=True)
def config_wrong_type(ctx: Ctx):
    return run_settings(ctx, ("rows",), rows="many")


@probe("bad config", "error")
def config_unknown_setting(ctx: Ctx):
    return run_settings(ctx, ("holdot",), holdot={"fraction": 0.5})


@probe("bad config", "error")
def config_unknown_generator(ctx: Ctx):
    return run_settings(ctx, ("gan9000",), generator={"name": "gan9000"})


@probe("bad config", "error", quick=True)
def gate_dcr_share_above_one(ctx: Ctx):
    return run_settings(ctx, ("max_dcr_share",), gates={"max_dcr_share": 1.5})


@probe("bad config", "error")
def gate_accuracy_ratio_negative(ctx: Ctx):
    return run_settings(ctx, ("min_accuracy_ratio",), gates={"min_accuracy_ratio": -1})


@probe("bad config", "error", quick=True)
def unset_environment_variable(ctx: Ctx):
    config = ctx.config({DATASET: ctx.dataset(source_file(ctx))})
    text = config.read_text().replace(str(ctx.warehouse), f"{ctx.tmp}/${{NOPE_UNSET_VAR}}/warehouse.duckdb")
    config.write_text(text)
    got = outcome(ctx.run(config), ("NOPE_UNSET_VAR",))
    ctx.check(not (ctx.tmp / "${NOPE_UNSET_VAR}").exists(), "a directory named '${NOPE_UNSET_VAR}' was created")
    return got


@probe("bad config", "error", quick=True)
def negative_generator_setting(ctx: Ctx):
    return run_settings(
        ctx, ("max_training_seconds",), generator={"name": "argn", "settings": {"max_training_seconds": -5}}
    )


@probe("bad config", "error")
def unknown_generator_setting(ctx: Ctx):
    return run_settings(ctx, ("learning_rat",), generator={"name": "copula", "settings": {"learning_rat": 0.1}})


@probe("bad config", "error", quick=True)
def unknown_column_override(ctx: Ctx):
    return run_settings(ctx, ("no_such_column",), columns={"no_such_column": "integer"})


@probe("bad config", "error")
def unknown_target_column(ctx: Ctx):
    return run_settings(ctx, ("churned",), target="churned")


@probe("bad config", "error")
def bad_holdout_fraction(ctx: Ctx):
    return run_settings(ctx, ("fraction",), holdout={"fraction": 1.0})


@probe("bad config", "error")
def dataset_name_path_traversal(ctx: Ctx):
    config = ctx.config({"../evil": ctx.dataset(source_file(ctx))})
    got = outcome(ctx.run(config), ("../evil",))
    ctx.check(not (ctx.tmp / "evil").exists(), "a path outside the private area was written")
    return got


@probe("bad config", "error")
def unknown_dataset_option(ctx: Ctx):
    config = ctx.config({DATASET: ctx.dataset(source_file(ctx))})
    return outcome(ctx.run(config, "--dataset", "other"), ("other",))


@probe("bad config", "error", quick=True)
def yaml_python_tag(ctx: Ctx):
    marker = ctx.tmp / "pwned"
    got = run_text(ctx, f'datasets: !!python/object/apply:os.system ["touch {marker}"]\n', ("config.yaml",))
    ctx.check(not marker.exists(), "a YAML tag ran a command")
    return got


@probe("bad config", "error")
def yaml_billion_laughs(ctx: Ctx):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    lines += [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]" for i in range(8)
    ]
    lines.append("datasets: *i")
    return run_text(ctx, "\n".join(lines) + "\n", ("datasets",))


# -- SQL sources ---------------------------------------------------------------------------------------
SQL_TABLE = (
    "select i as row_id, (i * 7919) % 97 + 0.5 * (i % 13) as amount, (i * 31) % 60 + 18 as age, "
    "case when i % 3 = 0 then 'a' when i % 3 = 1 then 'b' else 'c' end as segment from range(400) t(i)"
)


def publish_first(ctx: Ctx) -> tuple[str, dict[int, str]]:
    """Publish version 1 from a valid source; returns its outcome and the published content's hash."""
    result = ctx.run(ctx.config({DATASET: ctx.dataset(source_file(ctx))}, name="valid.yaml"))
    return outcome(result)[0], {v: content_hash(f) for v, f in ctx.snapshots(DATASET).items()}


def run_sql(ctx: Ctx, sql: str, mentions: tuple[str, ...] = ("sql",), *, after_publish: bool = False):
    before: dict[int, str] = {}
    if after_publish:
        first, before = publish_first(ctx)
        if not ctx.check(first == "published" and before, f"the valid config did not publish ({first})"):
            return first, "could not publish version 1"
    result = ctx.run(ctx.config({DATASET: ctx.dataset({"sql": sql})}, name="abuse.yaml"))
    if not before:  # the only source published from is the query's own table
        import duckdb

        ctx.no_copies(duckdb.connect().execute(SQL_TABLE).df(), DATASET)
    after = {v: content_hash(f) for v, f in ctx.snapshots(DATASET).items()}
    for version, digest in before.items():
        ctx.check(after.get(version) == digest, f"published version {version} changed or vanished")
    if before:
        import duckdb

        with duckdb.connect(str(ctx.warehouse), read_only=True) as con:
            views = {r[0] for r in con.execute("select view_name from duckdb_views()").fetchall()}
        ctx.check(f"{DATASET}_latest" in views, f"the view {DATASET}_latest is gone")
    return outcome(result, mentions)


@probe("sql", "error", quick=True)
def sql_attach_warehouse(ctx: Ctx):
    sql = (
        f"attach '{ctx.warehouse}' as w; drop view if exists w.{DATASET}_latest; "
        f"create or replace table w.{DATASET}__v1 as select 1 as x; {SQL_TABLE}"
    )
    return run_sql(ctx, sql, after_publish=True)


@probe("sql", "error")
def sql_read_private_area(ctx: Ctx):
    return run_sql(ctx, f"select * from read_parquet('{ctx.private_dir}/**/training*.parquet')", after_publish=True)


@probe("sql", "error", quick=True)
def sql_copy_to_file(ctx: Ctx):
    target = ctx.tmp / "overwritten.csv"
    got = run_sql(ctx, f"copy (select 42 as x) to '{target}'")
    ctx.check(not target.exists(), "COPY ... TO wrote a file")
    return got


@probe("sql", "error")
def sql_install_httpfs(ctx: Ctx):
    return run_sql(ctx, f"install httpfs; load httpfs; {SQL_TABLE}")


@probe("sql", "error", quick=True)
def sql_read_etc_passwd(ctx: Ctx):
    return run_sql(ctx, "select * from read_csv('/etc/passwd', sep=':', header=false)")


@probe("sql", "error")
def sql_multi_statement(ctx: Ctx):
    return run_sql(ctx, f"{SQL_TABLE}; select 2 as b")


@probe("sql", "error")
def sql_set_configuration(ctx: Ctx):
    return run_sql(ctx, f"set enable_external_access = true; {SQL_TABLE}")


@probe("sql", "error")
def sql_create_table(ctx: Ctx):
    return run_sql(ctx, f"create table t as {SQL_TABLE}")


@probe("sql", "published", quick=True)
def sql_valid_with_semicolon_and_comment(ctx: Ctx):
    got = run_sql(ctx, f"-- the simulated table\n{SQL_TABLE} -- no file access needed\n;")
    if got[0] == "published":
        ctx.check(len(ctx.snapshots(DATASET)) == 1, "not exactly one version published")
    return got


@probe("sql", "published")
def sql_valid_with_cte(ctx: Ctx):
    return run_sql(ctx, f"with base as ({SQL_TABLE}) select * from base where row_id >= 0;")


@probe("sql", "published")
def sql_reads_an_allowed_path(ctx: Ctx):
    allowed = ctx.tmp / "exports"
    allowed.mkdir()
    SOURCE.to_parquet(allowed / "table.parquet", index=False)
    source = {"sql": f"select * from read_parquet('{allowed}/table.parquet')", "allowed_paths": [str(allowed)]}
    result = ctx.run(ctx.config({DATASET: ctx.dataset(source)}))
    ctx.no_copies(SOURCE, DATASET)
    return outcome(result)


@probe("sql", "error")
def sql_reads_beside_an_allowed_path(ctx: Ctx):
    allowed = ctx.tmp / "exports"
    allowed.mkdir()
    secret = ctx.write(SOURCE, "secret.csv")  # beside the allowed directory, not in it
    source = {"sql": f"select * from read_csv('{secret}')", "allowed_paths": [str(allowed)]}
    return outcome(ctx.run(ctx.config({DATASET: ctx.dataset(source)})), ("secret.csv",))
