"""The ``synth-pipeline`` console script: the core's commands plus ``run``, which goes through Dagster.

``run`` executes each dataset's lifecycle job in process, so the CLI and the
Dagster UI publish through the same assets and the same blocking checks (one
code path for gates). Everything else is :mod:`synth_pipeline.cli`.
"""

import argparse
import sys
from collections.abc import Sequence

from dagster import ExecuteInProcessResult

from assets.definitions import build_definitions, lifecycle_job_name
from assets.instance import persistent_instance
from synth_pipeline import cli
from synth_pipeline.config import load_config
from synth_pipeline.errors import ConfigError
from synth_pipeline.warehouse import SnapshotStore


def _run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="pipeline YAML, e.g. examples/demo.yaml")
    p.add_argument("--dataset", help="only this dataset of the config")


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    names = [args.dataset] if args.dataset else list(config.datasets)
    unknown = [n for n in names if n not in config.datasets]
    if unknown:
        raise ConfigError(f"--dataset {unknown[0]!r} is not in {args.config}; it declares {', '.join(config.datasets)}")
    defs = build_definitions(config)
    instance = persistent_instance()  # $DAGSTER_HOME or .synth/dagster: the runs stay visible in `dagster dev`
    status = 0
    for name in names:
        result = defs.resolve_job_def(lifecycle_job_name(name)).execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING" if args.quiet else "INFO"}}}},
        )
        if result.success:
            _report_published(name, config.warehouse, result)
        else:
            status = 1
            _report_not_published(name, result)
    return status


def _failed_checks(result: ExecuteInProcessResult) -> list:
    return [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    ]


def _report_published(name: str, warehouse: str, result: ExecuteInProcessResult) -> None:
    version = SnapshotStore(warehouse).latest_version(name)
    print(f"{name}: published version {version} to {warehouse} (table {name}__v{version}, view {name}_latest)")
    for check in _failed_checks(result):
        print(f"{name}: warning: {check.description}")


def _report_not_published(name: str, result: ExecuteInProcessResult) -> None:
    failed_checks = _failed_checks(result)
    if failed_checks:
        print(f"{name}: NOT published: a blocking quality gate failed", file=sys.stderr)
        for check in failed_checks:
            print(f"  {check.description}", file=sys.stderr)
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            message = error.cause.message if error.cause is not None else error.message
            print(f"{name}: NOT published: {message.strip().splitlines()[-1]}", file=sys.stderr)


# ``run`` first, as ``--help`` has always listed it.
COMMANDS: dict[str, cli.Command] = {
    "run": cli.Command("run the whole lifecycle of a config in process and publish", _run_arguments, _run),
    **cli.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``synth-pipeline`` console script."""
    return cli.main(argv, commands=COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
