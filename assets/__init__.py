"""The Dagster layer: assets, checks, sensors, schedules and jobs built from the YAML config.

Importing this package loads no config; the code location is
:mod:`assets.location` (``workspace.yaml`` points at it), and
:func:`assets.definitions.build_definitions` builds the same from any config.
"""
