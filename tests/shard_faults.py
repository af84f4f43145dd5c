"""Faults a test plants in one shard through the engines' ``before_shard`` seam (importable by Ray workers)."""

import os
import time

#: how long the dying worker waits first: its reply for the shard before (sent by another thread) gets out, so the
#: shard that dies is the one it was running (an exit at once lost shard 0's reply in about 1 run of 5, and the run
#: then named shard 0)
REPLY_SECONDS = 1.0


def raise_at(index: int, failing: int) -> None:
    """Shard ``failing`` raises, as a bug in sampling would."""
    if index == failing:
        raise ValueError(f"planted fault in shard {index}")


def die_at(index: int, failing: int) -> None:
    """The worker sampling shard ``failing`` dies (the process exits, as if killed, once its last reply is out)."""
    if index == failing:
        time.sleep(REPLY_SECONDS)
        os._exit(3)
