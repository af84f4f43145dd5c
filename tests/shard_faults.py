"""Faults a test plants in one shard through the engines' ``before_shard`` seam (importable by Ray workers)."""

import os


def raise_at(index: int, failing: int) -> None:
    """Shard ``failing`` raises, as a bug in sampling would."""
    if index == failing:
        raise ValueError(f"planted fault in shard {index}")


def die_at(index: int, failing: int) -> None:
    """The worker sampling shard ``failing`` dies (the process exits at once, as if killed)."""
    if index == failing:
        os._exit(3)
