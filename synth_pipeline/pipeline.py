"""The lifecycle steps a dataset config drives, shared by the Dagster assets and the CLI."""

from __future__ import annotations

import hashlib

import pandas as pd

from synth_pipeline.config import DatasetConfig
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.schema import Schema, infer_schema
from synth_pipeline.sources import read_source


def load_source(dataset: DatasetConfig) -> tuple[pd.DataFrame, Schema]:
    """Read a dataset's source and check it against the config (column names, kinds)."""
    source = read_source(dataset.source)
    dataset.check_columns([str(c) for c in source.columns])
    schema = infer_schema(source, {k: v.value for k, v in dataset.columns.items()}, what=f"source of {dataset.name!r}")
    return source, schema


def make_dataset_generator(dataset: DatasetConfig) -> Generator:
    """The configured generator, seeded with the dataset's seed and its column kind overrides."""
    return make_generator(
        dataset.generator.name,
        random_state=dataset.seed,
        column_kinds={k: v.value for k, v in dataset.columns.items()},
        rules=[rule.to_dict() for rule in dataset.rules],
        infer_rules=dataset.infer_rules,
        **dataset.generator.settings,
    )


def snapshot_seed(seed: int, version: int) -> int:
    """The sampling seed of snapshot ``version``: reproducible, and different for every snapshot."""
    digest = hashlib.sha256(f"{seed}:{version}".encode()).digest()
    return int.from_bytes(digest[:4], "little")
