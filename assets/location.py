"""The Dagster code location: ``defs`` built from the YAML config.

The config file is ``$SYNTH_PIPELINE_CONFIG``, by default ``examples/demo.yaml``
(the simulated churn table), so ``dagster dev -w workspace.yaml`` shows a graph
on a fresh clone.
"""

import os

from assets.definitions import build_definitions
from synth_pipeline.config import load_config

CONFIG_ENV = "SYNTH_PIPELINE_CONFIG"
DEFAULT_CONFIG = "examples/demo.yaml"

defs = build_definitions(load_config(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG)))
