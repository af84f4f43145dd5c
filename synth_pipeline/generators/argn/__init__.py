"""The flagship generator: an autoregressive network over discretized columns.

Modules: :mod:`.encoding` (columns to discrete sub-columns and back),
:mod:`.model` (the network), :mod:`.training` (the loop), :mod:`.sampling`
(conditional sampling) and :mod:`.generator` (the :class:`ARGNGenerator`).
"""

from synth_pipeline.generators.argn.generator import ARGNGenerator

__all__ = ["ARGNGenerator"]
