"""The assets of one dataset, one lifecycle step each.

The graph: source -> training, holdout -> generator_model -> synthetic -> quality_report -> published_snapshot.

Each asset calls one step of :mod:`synth_pipeline.lifecycle` and attaches
metadata so the Dagster UI tells the story. Tables travel between assets as
Parquet in the private store, records (the model, the assessment) as JSON
(``PrivateParquetIOManager``). Only ``published_snapshot`` writes to the
warehouse, and the core's ``publish`` refuses a table that is not the one the
``quality_report`` judged, or whose verdict is not a pass.
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetOut,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    Output,
    asset,
    multi_asset,
)

from assets.freshness import snapshot_freshness_policy
from assets.log_forwarding import forward_logs
from assets.metadata import (
    IO_MANAGER,
    assessment_metadata,
    asset_inputs,
    asset_key,
    attempt_id,
    ingested_metadata,
    model_metadata,
    published_metadata,
    sampled_metadata,
    table_metadata,
)
from resources import PrivateStoreResource, WarehouseResource, source_resource_key
from synth_pipeline import lifecycle
from synth_pipeline.config import DatasetConfig
from synth_pipeline.lifecycle import Assessment, ModelRecord, PublishRefusedError
from synth_pipeline.shards import SnapshotShards
from synth_pipeline.sources import declared_kinds
from synth_pipeline.table_files import TableFiles

shards = SnapshotShards.from_record  # the synthetic asset's value: its shards' record


def lifecycle_asset(dataset: DatasetConfig, step: str, **settings: Any) -> Any:
    """``@asset`` for one lifecycle step of ``dataset``: its key, its group, values kept by the private IO manager.

    (``published_snapshot`` returns a ``MaterializeResult``, which stores no value.)
    """
    return asset(key=asset_key(dataset.name, step), group_name=dataset.name, io_manager_key=IO_MANAGER, **settings)


def source_asset(dataset: DatasetConfig) -> AssetsDefinition:
    """The real table, streamed from the dataset's source resource into the private store as compact Parquet."""
    source_key = source_resource_key(dataset.name)

    @lifecycle_asset(
        dataset,
        "source",
        required_resource_keys={source_key, "private"},
        description=f"The real table ({dataset.source.describe()}), kept in the private store as Parquet.",
    )
    def source(context: AssetExecutionContext) -> TableFiles:
        run_dir = context.resources.private.run_dir(context.run.run_id, dataset.name)
        with forward_logs(context):
            ingested = lifecycle.ingest(dataset, getattr(context.resources, source_key).reader(), run_dir)
        context.add_output_metadata(ingested_metadata(ingested))
        return ingested.files

    return source


def split_asset(dataset: DatasetConfig) -> AssetsDefinition:
    """The training and holdout halves of the source (Parquet files in the run's private directory)."""
    name = dataset.name

    @multi_asset(
        name=f"{name}__split",
        group_name=name,
        ins=asset_inputs(name, "source"),
        required_resource_keys={"private"},
        outs={
            "training": AssetOut(
                key=asset_key(name, "training"),
                io_manager_key=IO_MANAGER,
                description="The rows the generator learns from.",
            ),
            "holdout": AssetOut(
                key=asset_key(name, "holdout"),
                io_manager_key=IO_MANAGER,
                description="Rows the generator never sees: the yardstick for fidelity and privacy.",
            ),
        },
    )
    def split(context: AssetExecutionContext, source: TableFiles):
        halves = lifecycle.split(dataset, source, context.resources.private.run_dir(context.run.run_id, name))
        context.log.info(f"{name}: {len(halves.training)} training rows, {len(halves.holdout)} holdout rows")
        yield Output(halves.training, "training", metadata=table_metadata(halves.training))
        yield Output(halves.holdout, "holdout", metadata=table_metadata(halves.holdout))

    return split


def generator_model_asset(dataset: DatasetConfig) -> AssetsDefinition:
    """The generator trained on (at most max_training_rows of) the training rows, saved in the model store."""
    name = dataset.name
    source_key = source_resource_key(name)

    @lifecycle_asset(
        dataset,
        "generator_model",
        ins=asset_inputs(name, "training", "source"),
        # resources by key: the source resource's key is per dataset, so it cannot be a typed parameter
        required_resource_keys={source_key, "private"},
        description=f"The {dataset.generator.name} generator trained on the training rows, in the model store.",
    )
    def generator_model(context: AssetExecutionContext, training: TableFiles, source: TableFiles) -> dict:
        # the source's fingerprint and probe are the ones taken at ingest (stored with its files)
        kinds = declared_kinds(getattr(context.resources, source_key).reader())
        with forward_logs(context):
            trained = lifecycle.train(dataset, training, source, context.resources.private.models(), source_kinds=kinds)
        context.add_output_metadata(model_metadata(trained, len(training)))
        return trained.model.model_dump()

    return generator_model


def synthetic_asset(dataset: DatasetConfig) -> AssetsDefinition:
    """The next snapshot's rows, sampled from the current model as Parquet shards (the record travels as JSON)."""
    name = dataset.name

    @lifecycle_asset(
        dataset,
        "synthetic",
        ins=asset_inputs(name, "generator_model"),
        description=f"Rows sampled from the current model as Parquet shards ({dataset.engine.describe()}); judged "
        "by quality_report before publishing.",
    )
    def synthetic(
        context: AssetExecutionContext,
        generator_model: dict,
        private: PrivateStoreResource,
        warehouse: WarehouseResource,
    ) -> dict:
        model = ModelRecord.model_validate(generator_model)
        with forward_logs(context):  # a re-execution of a failed run goes on with its attempt and finished shards
            sampled = lifecycle.sample_snapshot(
                dataset, model, private.models(), warehouse.store(), run_id=attempt_id(context)
            )
        context.add_output_metadata(sampled_metadata(sampled))
        return sampled.snapshot.to_record()

    return synthetic


def quality_report_asset(dataset: DatasetConfig) -> AssetsDefinition:
    """The verdict on the synthetic table: QA report, gate and rule results, the content hash of the rows judged."""
    name = dataset.name

    @lifecycle_asset(
        dataset,
        "quality_report",
        ins=asset_inputs(name, "synthetic", "training", "holdout", "generator_model"),
        description="Holdout-based accuracy and privacy of the synthetic table, its gates and rules; checked by the "
        "blocking quality_gates (and rule_adherence) checks.",
    )
    def quality_report(
        context: AssetExecutionContext,
        synthetic: dict,
        training: TableFiles,  # handles: assess reads a seeded subsample of quality_max_rows rows
        holdout: TableFiles,
        generator_model: dict,
        private: PrivateStoreResource,
        warehouse: WarehouseResource,
    ) -> dict:
        model, store, snapshot = ModelRecord.model_validate(generator_model), warehouse.store(), shards(synthetic)
        with forward_logs(context):  # a blocked verdict is recorded in the catalog by assess
            assessment = lifecycle.assess(
                dataset, training, holdout, snapshot, model, private.models(), store, run_id=attempt_id(context)
            )
        context.add_output_metadata(assessment_metadata(assessment))
        return assessment.to_record()

    return quality_report


def published_snapshot_asset(dataset: DatasetConfig) -> AssetsDefinition:
    """The synthetic table published to the warehouse, if it is the one its quality_report judged and passed."""
    name = dataset.name

    @lifecycle_asset(
        dataset,
        "published_snapshot",
        ins=asset_inputs(name, "quality_report", "synthetic", "generator_model"),
        description="The synthetic table published to the warehouse as a new version, with its lineage.",
        freshness_policy=snapshot_freshness_policy(dataset),
    )
    def published_snapshot(
        context: AssetExecutionContext,
        quality_report: dict,
        synthetic: dict,
        generator_model: dict,
        warehouse: WarehouseResource,
    ) -> MaterializeResult:
        assessment, model = Assessment.from_record(quality_report), ModelRecord.model_validate(generator_model)
        snapshot = shards(synthetic)
        try:
            published = lifecycle.publish(dataset, assessment, snapshot, model, warehouse.store())
        except PublishRefusedError as error:
            raise Failure(str(error)) from None
        info = published.info
        context.log.info(f"{name}: published version {info.version} ({info.row_count} rows) to {info.warehouse}")
        return MaterializeResult(metadata=published_metadata(published, assessment, model, snapshot.head_frame()))

    return published_snapshot


def build_lifecycle_assets(dataset: DatasetConfig) -> list[AssetsDefinition]:
    """The lifecycle assets of one dataset, in the dataset's asset group."""
    factories = (
        source_asset,
        split_asset,
        generator_model_asset,
        synthetic_asset,
        quality_report_asset,
        published_snapshot_asset,
    )
    return [factory(dataset) for factory in factories]
