"""Sampling progress: a live rows and rows/s line on a terminal, a log line per batch elsewhere."""

from __future__ import annotations

import logging
import time
from typing import Any

from synth_pipeline.progress import LiveProgress

log = logging.getLogger("synth_pipeline.generators.sampling")


class RowProgress:
    """Progress of one ``sample_batches`` call of ``total`` rows.

    Generators that sample in chunks call :meth:`advance` (passed as
    ``SamplingRequest.progress``); the base class calls :meth:`reached` after each
    batch, which also covers generators that report nothing themselves.
    """

    def __init__(self, total: int, generator: str, *, enabled: bool | None) -> None:
        self.total, self.generator, self.done = total, generator, 0
        self.started = time.perf_counter()
        self.live = LiveProgress(f"{generator} sampling", unit="rows", total=total, enabled=enabled)

    def advance(self, rows: int) -> None:
        """``rows`` more rows are drawn (within a batch)."""
        rows = max(0, min(int(rows), self.total - self.done))
        self.done += rows
        self.live.update(rows)

    def reached(self, rows: int) -> None:
        """A batch is finished: ``rows`` rows of the total are done."""
        self.advance(rows - self.done)
        if not self.live.enabled and rows < self.total:
            log.info("%s: sampled %d of %d rows (%s rows/s)", self.generator, rows, self.total, self._rate())

    def _rate(self) -> str:
        return f"{self.done / max(time.perf_counter() - self.started, 1e-9):,.0f}"

    def __enter__(self) -> RowProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.close()
        if exc[0] is None and self.done == self.total:
            seconds = time.perf_counter() - self.started
            log.info("%s: sampled %d rows in %.1f s (%s rows/s)", self.generator, self.total, seconds, self._rate())
