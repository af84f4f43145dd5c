"""The ``synth-pipeline`` console script: the core's commands plus ``run``, which goes through Dagster.

``run`` executes each dataset's lifecycle job in process, so the CLI and the
Dagster UI publish through the same assets and the same blocking checks (one
code path for gates). Everything else is :mod:`synth_pipeline.cli`.
"""

import argparse
import sys
from collections.abc import Sequence

from assets.definitions import build_definitions, lifecycle_job_name
from assets.instance import persistent_instance
from assets.run_output import outcome, terminal_logger
from synth_pipeline import cli
from synth_pipeline.config import load_config
from synth_pipeline.errors import ConfigError


def _run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="pipeline YAML, e.g. examples/demo.yaml")
    p.add_argument("--dataset", help="only this dataset of the config (default: every dataset, one after another)")


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
        job = defs.resolve_job_def(lifecycle_job_name(name)).with_logger_defs({"console": terminal_logger})
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING" if args.quiet else "INFO"}}}},
        )
        verdict = outcome(name, config.warehouse, result)
        verdict.print()
        status = max(status, verdict.status)
    return status


# ``run`` first, as ``--help`` has always listed it.
COMMANDS: dict[str, cli.Command] = {
    "run": cli.Command(
        "run the whole lifecycle of a config in process and publish",
        _run_arguments,
        _run,
        "synth-pipeline run examples/demo.yaml\n"
        "synth-pipeline -q run examples/census.yaml --dataset census",
    ),
    **cli.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``synth-pipeline`` console script."""
    return cli.main(argv, commands=COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
