"""The ``synth-pipeline`` command: the same functions a notebook user calls, from a shell.

Every user mistake ends in one line ``error: ...`` and exit status 2; a quality
gate that blocks publishing exits with status 1.

This module is the core's part of the command: a table of commands (name ->
its arguments and what it does), the parser built from a table, and
:func:`main`. The ``run`` command executes the Dagster lifecycle job, so it
lives in the Dagster layer (``assets.cli``), which adds it to this table; the
console script is ``assets.cli:main``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synth_pipeline.config import DEFAULT_GENERATOR, DEFAULT_WAREHOUSE
from synth_pipeline.constraints import RuleSet
from synth_pipeline.constraints.enforcement import check_rules
from synth_pipeline.constraints.expectations import validate_rules
from synth_pipeline.constraints.inference import infer_rules
from synth_pipeline.errors import ConfigError, SynthPipelineError
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.privacy_budget import describe_privacy
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.io import read_table, write_batches, write_table, write_text
from synth_pipeline.progress import terminal_logging
from synth_pipeline.quality import evaluate, render_html
from synth_pipeline.schema import apply_schema, infer_schema
from synth_pipeline.version import __version__
from synth_pipeline.warehouse import SnapshotStore

DESCRIPTION = (
    "Privacy-safe synthetic copies of sensitive tables: train a generator, sample, check quality and privacy "
    "against a holdout, and publish versioned snapshots."
)


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, the arguments it takes, and what it does (returns the exit status)."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    execute: Callable[[argparse.Namespace], int]
    #: one or more command lines a user can copy, shown under ``--help``
    example: str = ""


def _key_values(items: Sequence[str] | None, *, option: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{option} expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _setting_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_rebalance(text: str) -> dict[str, dict[str, float]]:
    """``"income=>50K:0.5"`` -> ``{"income": {">50K": 0.5}}`` (several values: ``a:0.3,b:0.2``)."""
    column, sep, rest = text.partition("=")
    if not sep or not column or not rest:
        raise ConfigError(f"--rebalance expects COLUMN=VALUE:SHARE[,VALUE:SHARE], got {text!r}")
    shares = {}
    for part in rest.split(","):
        value, colon, share = part.rpartition(":")
        try:
            shares[value] = float(share)
        except ValueError:
            colon = ""
        if not colon or not value:
            raise ConfigError(f"--rebalance: {part!r} is not VALUE:SHARE (e.g. '>50K:0.5')")
    return {column: shares}


# -- commands ----------------------------------------------------------------------------
def _fit(args: argparse.Namespace) -> int:
    training = read_table(args.data)
    settings = {k: _setting_value(v) for k, v in _key_values(args.setting, option="--setting").items()}
    if args.rules:
        settings["rules"] = RuleSet.from_yaml(Path(args.rules)).to_dicts()
    generator = make_generator(
        args.generator,
        random_state=args.seed,
        column_kinds=_key_values(args.column_kind, option="--column-kind"),
        infer_rules=args.infer_rules,
        **settings,
    )
    generator.fit(training)
    path = generator.save(args.model_dir)
    print(
        f"fitted {generator.name} on {len(training)} rows x {training.shape[1]} columns "
        f"in {generator.fit_seconds_:.1f} s; saved to {path}"
        + (f"; it honours {len(generator.rules_)} rules" if len(generator.rules_) else "")
    )
    if getattr(generator, "privacy_", None) is not None:
        print(describe_privacy(generator.privacy_))
    return 0


def _rules(args: argparse.Namespace) -> int:
    table = read_table(args.data)
    schema = infer_schema(table, _key_values(args.column_kind, option="--column-kind"))
    if args.action == "infer":
        rules = infer_rules(table, schema)
        text = rules.to_yaml(
            header=f"Rules that hold in every row of {args.data} ({len(table)} rows), proposed by synth-pipeline.\n"
            "Review them: delete what is a coincidence, set blocking: false for warnings."
        )
        if args.out:
            write_text(args.out, text)
            print(f"wrote {len(rules)} rules to {args.out}")
        else:
            print(text, end="")
        return 0
    if not args.rules:
        raise ConfigError("rules check needs --rules FILE.yaml")

    rules = RuleSet.from_yaml(Path(args.rules))
    check_rules(rules, schema)
    results = validate_rules(apply_schema(table, schema), rules)
    for r in results:
        mark = "ok  " if r.passed else ("FAIL" if r.blocking else "warn")
        print(f"{mark} {r.success_share:9.4%}  {r.violations:>7} of {r.rows_checked:>7}  {r.rule}")
    return 1 if any(r.blocking and not r.passed for r in results) else 0


def _sample(args: argparse.Namespace) -> int:
    _at_least_one(args, "rows", "batch_rows")
    generator = Generator.load(args.model_dir)
    seed_data = read_table(args.seed_data) if args.seed_data else None
    rebalance = parse_rebalance(args.rebalance) if args.rebalance else None
    if args.rows is None and seed_data is None:
        raise ConfigError("give --rows N (or --seed-data FILE)")
    batches = generator.sample_batches(
        args.rows,
        seed_data=seed_data,
        rebalance=rebalance,
        temperature=args.temperature,
        random_state=args.seed,
        batch_rows=args.batch_rows,
    )
    rows = write_batches(batches, args.out)
    print(f"wrote {rows} rows to {args.out}")
    return 0


def _impute(args: argparse.Namespace) -> int:
    generator = Generator.load(args.model_dir)
    data = read_table(args.data)
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    filled = generator.impute(data, columns=columns, random_state=args.seed)
    write_table(filled, args.out)
    print(f"filled {int(data.isna().sum().sum() - filled.isna().sum().sum())} missing cells; wrote {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    _at_least_one(args, "max_rows")
    report = evaluate(
        read_table(args.training),
        read_table(args.holdout),
        read_table(args.synthetic),
        target=args.target,
        max_rows=args.max_rows,
        random_state=args.seed,
    )
    if args.json:
        report.save_json(args.json)
    if args.html:
        render_html(report, args.html)
    for name, value in report.summary().items():
        print(f"{name:40s} {value:.4f}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    schema = infer_schema(read_table(args.data), _key_values(args.column_kind, option="--column-kind"))
    print(schema.describe().to_string(index=False))
    return 0


SNAPSHOT_LIST_COLUMNS = [
    "dataset",
    "version",
    "status",
    "created_at",
    "row_count",
    "table_name",
    "generator",
    "model_id",
    "accuracy",
    "dcr_share",
    "gates_passed",
    "failed_step",
    "error",
]


def _print_frame(frame: pd.DataFrame) -> None:
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_colwidth", 80):
        print(frame.to_string(index=False))


def _snapshot_store(args: argparse.Namespace) -> SnapshotStore:
    if args.config:
        from synth_pipeline.config import load_config

        return SnapshotStore(load_config(args.config).warehouse)
    return SnapshotStore(args.warehouse)


def _snapshots(args: argparse.Namespace) -> int:
    store = _snapshot_store(args)
    if args.action == "list":
        catalog = store.snapshots(args.dataset, status=args.status)
        if catalog.empty:
            print(f"no snapshots in {store.location}")
            return 0
        _print_frame(catalog[[c for c in SNAPSHOT_LIST_COLUMNS if c in catalog.columns]])
        return 0
    if args.action == "query":
        if not args.dataset:
            raise ConfigError('snapshots query needs the SQL, e.g. snapshots query "SELECT * FROM churn_latest"')
        result = store.query(args.dataset, max_rows=args.head)
        _print_frame(result)
        print(f"({len(result)} rows{', the first ' + str(args.head) if len(result) == args.head else ''})")
        return 0
    if not args.dataset:
        raise ConfigError(f"snapshots {args.action} needs a DATASET")
    if args.action == "show":
        table = store.read(args.dataset, version=args.version, as_of=args.as_of)
        _print_frame(table.head(args.head))
        print(f"({len(table)} rows)")
        return 0
    if not args.out:
        raise ConfigError("snapshots export needs --out FILE.parquet (or .csv)")
    path = store.export(args.dataset, args.out, version=args.version, as_of=args.as_of)
    print(f"exported {args.dataset} to {path}")
    return 0


# -- arguments -------------------------------------------------------------------------------
TABLE = "(.csv, .csv.gz or .parquet)"


def _column_kind_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--column-kind",
        action="append",
        metavar="COLUMN=KIND",
        help="override an inferred column kind, e.g. zip=categorical (repeatable; kinds as `schema` shows them)",
    )


def _fit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help=f"training table {TABLE}")
    p.add_argument("--model-dir", required=True, help="directory to save the trained generator in (created)")
    p.add_argument("--generator", default=DEFAULT_GENERATOR, help="argn (default, the flagship) or copula (fast)")
    p.add_argument("--seed", type=int, default=0, help="random seed: same data + settings + seed, same model (0)")
    p.add_argument(
        "--setting", action="append", metavar="KEY=VALUE", help="generator setting, e.g. max_epochs=50 (repeatable)"
    )
    _column_kind_argument(p)
    p.add_argument("--rules", help="YAML file of business rules the generated rows must follow")
    p.add_argument("--infer-rules", action="store_true", help="also follow every rule inferred from the data")


def _rules_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["infer", "check"], help="infer: propose rules; check: test a table against rules")
    p.add_argument("--data", required=True, help=f"table {TABLE}")
    p.add_argument("--out", help="infer: write the YAML here instead of printing it")
    p.add_argument("--rules", help="check: the rules YAML (exit status 1 when a blocking rule is violated)")
    _column_kind_argument(p)


def _sample_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-dir", required=True, help="a directory written by `fit` (or the pipeline's model store)")
    p.add_argument("--rows", type=int, help="rows to generate (not with --seed-data, which gives one row per seed row)")
    p.add_argument("--out", required=True, help="output .parquet or .csv, written in chunks")
    p.add_argument("--seed", type=int, default=None, help="random seed of sampling (default: the model's seed)")
    p.add_argument("--seed-data", help=f"table {TABLE} of fixed values for some columns: one output row per seed row")
    p.add_argument("--rebalance", metavar="COLUMN=VALUE:SHARE", help='target shares, e.g. "income=>50K:0.5"')
    p.add_argument(
        "--temperature", type=float, default=1.0, help="below 1: more typical rows; above 1: more varied (1.0)"
    )
    p.add_argument("--batch-rows", type=int, default=100_000, help="rows held in memory at once (100000)")


def _at_least_one(args: argparse.Namespace, *options: str) -> None:
    """``--rows 0`` and the like are mistakes, not an empty file: one error line (exit 2) naming the option."""
    for option in options:
        value = getattr(args, option)
        if value is not None and value < 1:
            raise ConfigError(f"--{option.replace('_', '-')} must be at least 1, got {value}")


def _impute_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-dir", required=True, help="a directory written by `fit`")
    p.add_argument("--data", required=True, help=f"table {TABLE} with missing cells, same columns as in training")
    p.add_argument("--out", required=True, help="output .parquet or .csv")
    p.add_argument(
        "--columns", help="comma-separated columns to fill (default: all); other missing cells stay missing"
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the model's seed)")


def _evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--training", required=True, help=f"the table the generator was trained on {TABLE}")
    p.add_argument("--holdout", required=True, help=f"real rows the generator never saw {TABLE}")
    p.add_argument("--synthetic", required=True, help=f"the generated table {TABLE}")
    p.add_argument("--target", help="column to predict: adds the utility metrics (train on synthetic, test on holdout)")
    p.add_argument("--json", help="write the full report as JSON here")
    p.add_argument("--html", help="write the HTML report here (self-contained, opens offline)")
    p.add_argument("--max-rows", type=int, default=100_000, help="rows per table the metrics use at most (100000)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the subsampling and the models (0)")


def _schema_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help=f"table {TABLE}")
    _column_kind_argument(p)


def _snapshots_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=["list", "show", "export", "query"],
        help="list the catalog (every attempt, with its status), show rows, export a file, query (one SELECT)",
    )
    p.add_argument(
        "dataset", nargs="?", help='the dataset (show, export; list: all by default); query: the SQL, e.g. "SELECT 1"'
    )
    p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help=f"the DuckDB warehouse file ({DEFAULT_WAREHOUSE})")
    p.add_argument("--config", help="use the warehouse this pipeline YAML names (e.g. a PostgreSQL one)")
    p.add_argument("--status", choices=["running", "published", "blocked", "failed"], help="list: only these")
    p.add_argument("--version", type=int, help="this version instead of the latest passing one")
    p.add_argument("--as-of", help="newest passing snapshot at or before this time (ISO 8601, UTC)")
    p.add_argument("--out", help="export: .parquet or .csv")
    p.add_argument("--head", type=int, default=20, help="show, query: rows to print (20)")


# The core's commands, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {
    "fit": Command(
        "train a generator on a table and save it",
        _fit_arguments,
        _fit,
        "synth-pipeline fit --data training.csv --model-dir model --generator argn --seed 0",
    ),
    "rules": Command(
        "infer business rules from a table, or check a table against rules",
        _rules_arguments,
        _rules,
        "synth-pipeline rules infer --data table.csv --out rules.yaml\n"
        "synth-pipeline rules check --data synthetic.parquet --rules rules.yaml",
    ),
    "sample": Command(
        "sample rows from a saved generator (streamed to the file)",
        _sample_arguments,
        _sample,
        "synth-pipeline sample --model-dir model --rows 10000 --out synthetic.parquet\n"
        'synth-pipeline sample --model-dir model --rows 5000 --rebalance "income=>50K:0.5" --out balanced.csv',
    ),
    "impute": Command(
        "fill missing values from a saved generator",
        _impute_arguments,
        _impute,
        "synth-pipeline impute --model-dir model --data with_gaps.csv --columns income,age --out filled.csv",
    ),
    "evaluate": Command(
        "QA report of a synthetic table against training and holdout",
        _evaluate_arguments,
        _evaluate,
        "synth-pipeline evaluate --training t.csv --holdout h.csv --synthetic s.parquet --target income "
        "--html q.html",
    ),
    "schema": Command(
        "show the inferred column kinds of a table and why",
        _schema_arguments,
        _schema,
        "synth-pipeline schema --data table.csv --column-kind zip=categorical",
    ),
    "snapshots": Command(
        "list (with status), show, export or query (read-only SQL) snapshots",
        _snapshots_arguments,
        _snapshots,
        "synth-pipeline snapshots list\n"
        "synth-pipeline snapshots show churn --head 5\n"
        "synth-pipeline snapshots export churn --version 2 --out churn_v2.parquet\n"
        'synth-pipeline snapshots query "select version, status, error from snapshots"',
    ),
}


def build_parser(commands: Mapping[str, Command] = COMMANDS) -> argparse.ArgumentParser:
    """The ``synth-pipeline`` argument parser for ``commands`` (the core's by default)."""
    parser = argparse.ArgumentParser(
        prog="synth-pipeline",
        description=DESCRIPTION,
        epilog="Run `synth-pipeline COMMAND --help` for a command's options and examples. Mistakes end in one "
        "'error: ...' line and exit status 2; a blocking quality gate exits with 1.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do (below)")
    for name, command in commands.items():
        example = "\n".join(f"  {line}" for line in command.example.splitlines())
        command.arguments(
            sub.add_parser(
                name,
                help=command.help,
                description=command.help[:1].upper() + command.help[1:] + ".",
                epilog=f"example:\n{example}" if example else None,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        )
    return parser


def one_line(message: str) -> str:
    """An error message on one line: ``"x is invalid:\\n  a\\n  b"`` -> ``"x is invalid: a; b"``."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else message
    return f"{lines[0]} " + "; ".join(lines[1:])


def main(argv: Sequence[str] | None = None, *, commands: Mapping[str, Command] = COMMANDS) -> int:
    """Run one ``synth-pipeline`` command of ``commands``; returns the exit status."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = build_parser(commands).parse_args(argv)
    try:
        with terminal_logging(quiet=args.quiet):
            return commands[args.command].execute(args)
    except SynthPipelineError as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["COMMANDS", "Command", "build_parser", "main", "one_line", "parse_rebalance"]
