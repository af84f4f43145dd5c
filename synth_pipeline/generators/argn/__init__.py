"""The flagship generator: an autoregressive network over discretized columns.

Modules: :mod:`.settings` (the validated settings, torch-free), :mod:`.encoders`
(columns to discrete sub-columns and back, one module per column kind),
:mod:`.model` (the network), :mod:`.training` (the loop), :mod:`.sampling`
(conditional sampling) and :mod:`.generator` (the :class:`ARGNGenerator`).

``ARGNGenerator`` is imported on first use, so the torch-free parts (settings,
encoders) load without torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ARGNGenerator"]


def __getattr__(name: str) -> Any:
    if name == "ARGNGenerator":
        from synth_pipeline.generators.argn.generator import ARGNGenerator

        return ARGNGenerator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
