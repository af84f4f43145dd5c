"""Send the core library's log records (training progress, sampling) to Dagster's run log."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error"}


class _DagsterHandler(logging.Handler):
    def __init__(self, dagster_log: Any) -> None:
        super().__init__(logging.INFO)
        self.dagster_log = dagster_log

    def emit(self, record: logging.LogRecord) -> None:
        method = getattr(self.dagster_log, _LEVELS.get(record.levelno, "info"))
        method(f"{record.name}: {record.getMessage()}")


@contextmanager
def forward_logs(context: Any) -> Iterator[None]:
    """While the block runs, records of the ``synth_pipeline`` logger go to ``context.log``."""
    logger = logging.getLogger("synth_pipeline")
    handler = _DagsterHandler(context.log)
    previous, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # Dagster's own console logger already prints the forwarded records
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        logger.propagate = propagate
