"""When a training loop stops before early stopping: a count of what it has seen, and an opt-in clock.

The count (table cells for the table model, tokens for the text model) depends only on the data, the
settings and the seed, so a model stopped by it is the same on every machine. The clock
(``max_training_seconds``, ``text_max_seconds``) is off unless set: a model it stops depends on the
machine's speed and load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

#: :meth:`Budget.spend`'s answers: budget left, the count reached, the clock ran out
LEFT, COUNT, TIME = "", "count", "time"


@dataclass
class Budget:
    """What a loop may still spend: ``max_count`` units seen, and ``max_seconds`` from ``started`` when set."""

    max_count: int
    max_seconds: float | None = None
    started: float = field(default_factory=time.monotonic)
    count: int = 0

    def spend(self, amount: int) -> str:
        """Count ``amount`` more units seen (after a step); :data:`LEFT`, :data:`COUNT` or :data:`TIME`.

        The count is checked first: when both run out at once, the reason is the reproducible one.
        """
        self.count += int(amount)
        if self.count >= self.max_count:
            return COUNT
        if self.max_seconds is not None and time.monotonic() - self.started > self.max_seconds:
            return TIME
        return LEFT
