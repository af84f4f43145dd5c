"""Live progress on a terminal: one line per phase (training, sampling), with log lines printed above it.

A phase shows a :class:`LiveProgress` only when stderr is a terminal (or when
asked for); elsewhere (Dagster runs, CI logs, files) callers log instead. Log
records reach the terminal through :class:`TerminalLogHandler`, which writes
with ``tqdm.write``, so a log line lands above the live line instead of tearing
it. Estimates are shown only where they are honest: sampling knows how many
rows are left; training stops early at an unknown epoch, so it shows what
happened (epoch, losses, best, elapsed) and no total.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

from tqdm.auto import tqdm


def stderr_is_terminal() -> bool:
    """Whether stderr is an interactive terminal (where a live progress line makes sense)."""
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class LiveProgress:
    """One live progress line on stderr for one phase, or nothing when not ``enabled``.

    ``total`` is the amount of work when it is known (then tqdm shows the rate and
    an estimate of the time left); ``None`` shows the count and elapsed time only.
    """

    def __init__(self, phase: str, *, unit: str, total: int | None = None, enabled: bool | None = None,
                 bar_format: str | None = None) -> None:
        self.enabled = stderr_is_terminal() if enabled is None else bool(enabled)
        self._bar = None
        if self.enabled:
            self._bar = tqdm(
                total=total,
                desc=phase,
                unit=unit,
                unit_scale=total is not None,
                leave=False,
                dynamic_ncols=True,
                file=sys.stderr,
                bar_format=bar_format,
            )

    def update(self, n: int = 1, status: str | None = None) -> None:
        """Advance by ``n`` units; ``status`` replaces the text after the counts."""
        if self._bar is None:
            return
        if status is not None:
            self._bar.set_postfix_str(status, refresh=False)
        self._bar.update(n)
        # updates come once per epoch or sampled chunk: draw each one, so the line never
        # lags behind by tqdm's 0.1 s redraw interval (the last epoch would go unshown)
        self._bar.refresh()

    def close(self) -> None:
        """Remove the line (the phase's outcome is logged by the caller)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> LiveProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


#: Libraries that log set-up chatter at INFO: Dagster's instance migrations (alembic, 13 lines per run) and
#: Great Expectations' temporary docs directory.
NOISY_LOGGERS = ("alembic", "great_expectations")


class TerminalLogHandler(logging.Handler):
    """Writes records to stderr through ``tqdm.write``, above any live progress line.

    Records below WARNING from :data:`NOISY_LOGGERS` are dropped (a library may set
    its own loggers' levels when it is imported, after the CLI set them).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        noisy = record.levelno < logging.WARNING and record.name.split(".")[0] in NOISY_LOGGERS
        return not noisy and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never break the program
            self.handleError(record)


@contextlib.contextmanager
def terminal_logging(*, quiet: bool) -> Iterator[None]:
    """While the block runs, log records of level INFO (WARNING when ``quiet``) go to stderr, one short line each,
    above progress lines; the set-up chatter of :data:`NOISY_LOGGERS` is kept to warnings. Restored afterwards."""
    handler = TerminalLogHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"))
    root = logging.getLogger()
    noisy = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    level = root.level
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    root.addHandler(handler)
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, previous in noisy.items():
            logging.getLogger(name).setLevel(previous)


__all__ = ["LiveProgress", "TerminalLogHandler", "stderr_is_terminal", "terminal_logging"]
