"""The assets of one dataset: source -> (training, holdout) -> generator_model -> synthetic -> published_snapshot.

Each asset calls the core library and attaches metadata so the Dagster UI
tells the story. Tables travel between assets as Parquet in the private store
(``PrivateParquetIOManager``); only ``published_snapshot`` writes to the
warehouse, and only a synthetic table whose quality gates passed.
"""

import json
import time

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
    multi_asset,
)

from assets.log_forwarding import forward_logs
from resources import PrivateStoreResource, WarehouseResource
from synth_pipeline.config import DatasetConfig
from synth_pipeline.drift import (
    DRIFT_PROFILE_KEY,
    SOURCE_FINGERPRINT_KEY,
    DriftProfile,
    fingerprint_table,
    measure_drift,
)
from synth_pipeline.pipeline import load_source, make_dataset_generator, snapshot_seed
from synth_pipeline.schema import Schema
from synth_pipeline.sources import source_probe
from synth_pipeline.split import split_holdout

IO_MANAGER = "private_io"


def asset_key(dataset: str, step: str) -> AssetKey:
    return AssetKey([dataset, step])


def _schema_markdown(schema: Schema) -> MetadataValue:
    lines = ["| column | kind | missing | why |", "|---|---|---|---|"]
    lines += [
        f"| {c.name} | {c.kind.value} | {'yes' if c.has_missing else 'no'} | {c.reason} |" for c in schema.columns
    ]
    return MetadataValue.md("\n".join(lines))


def build_lifecycle_assets(dataset: DatasetConfig) -> list[AssetsDefinition]:
    """The five lifecycle assets of one dataset, in the dataset's asset group."""
    name = dataset.name
    key = lambda step: asset_key(name, step)  # noqa: E731

    @asset(
        key=key("source"),
        group_name=name,
        io_manager_key=IO_MANAGER,
        description=f"The real table ({dataset.source.describe()}), kept in the private store.",
    )
    def source(context: AssetExecutionContext) -> pd.DataFrame:
        started = time.perf_counter()
        with forward_logs(context):
            table, schema = load_source(dataset)
        fingerprint = fingerprint_table(table)
        context.add_output_metadata(
            {
                "rows": len(table),
                "columns": table.shape[1],
                "seconds": round(time.perf_counter() - started, 3),
                "content_hash": fingerprint["content_hash"],
                "probe": MetadataValue.json(source_probe(dataset.source)),
                "schema": _schema_markdown(schema),
            }
        )
        return table

    @multi_asset(
        name=f"{name}__split",
        group_name=name,
        ins={"source": AssetIn(key("source"))},
        outs={
            "training": AssetOut(
                key=key("training"), io_manager_key=IO_MANAGER, description="The rows the generator learns from."
            ),
            "holdout": AssetOut(
                key=key("holdout"),
                io_manager_key=IO_MANAGER,
                description="Rows the generator never sees: the yardstick for fidelity and privacy.",
            ),
        },
    )
    def split(context: AssetExecutionContext, source: pd.DataFrame):
        training, holdout = split_holdout(
            source,
            fraction=dataset.holdout.fraction,
            random_state=dataset.holdout.seed,
            stratify=dataset.holdout.stratify,
        )
        context.log.info(f"{name}: {len(training)} training rows, {len(holdout)} holdout rows")
        yield Output(training, "training", metadata={"rows": len(training), "columns": training.shape[1]})
        yield Output(holdout, "holdout", metadata={"rows": len(holdout), "columns": holdout.shape[1]})

    @asset(
        key=key("generator_model"),
        group_name=name,
        io_manager_key=IO_MANAGER,
        ins={"training": AssetIn(key("training")), "source": AssetIn(key("source"))},
        description=f"The {dataset.generator.name} generator trained on the training rows, in the model store.",
    )
    def generator_model(
        context: AssetExecutionContext, training: pd.DataFrame, source: pd.DataFrame, private: PrivateStoreResource
    ) -> dict:
        generator = make_dataset_generator(dataset)
        with forward_logs(context):
            generator.fit(training)
        profile = DriftProfile.from_table(training, generator.schema_)
        fingerprint = fingerprint_table(source)
        # How far this source moved from what the previous model learned: per-column PSI in the UI.
        drift_metadata = {}
        models = private.models()
        previous = models.latest_id(name)
        previous_profile = models.info(name, previous).metadata.get(DRIFT_PROFILE_KEY) if previous else None
        if previous_profile is not None:
            report = measure_drift(DriftProfile.from_dict(previous_profile), source)
            drift_metadata = {
                "previous_model_id": previous,
                "drift_max_psi": round(report.max_psi, 4),
                "drift_summary": report.summary,
                "drift_vs_previous_model": MetadataValue.json(report.as_metadata()),
            }
        info = models.save(
            name,
            generator,
            {
                "config_hash": dataset.config_hash(),
                SOURCE_FINGERPRINT_KEY: fingerprint,
                DRIFT_PROFILE_KEY: profile.to_dict(),
                "source_probe": source_probe(dataset.source),
                "training_rows": len(training),
                "source_rows": len(source),
            },
        )
        context.add_output_metadata(
            {
                "model_id": info.model_id,
                "generator": generator.name,
                "fit_seconds": round(generator.fit_seconds_, 2),
                "rules": len(generator.rules_),
                "training_rows": len(training),
                "path": MetadataValue.path(str(info.path)),
                **drift_metadata,
            }
        )
        return {
            "model_id": info.model_id,
            "generator": generator.name,
            "source_rows": len(source),
            "source_fingerprint": fingerprint["content_hash"],
            # the effective rules (declared + inferred) the model honours: the rule check validates these
            "rules": generator.rules_.to_dicts(),
        }

    @asset(
        key=key("synthetic"),
        group_name=name,
        io_manager_key=IO_MANAGER,
        ins={"generator_model": AssetIn(key("generator_model"))},
        description="Rows sampled from the current model; checked by the quality gates before publishing.",
    )
    def synthetic(
        context: AssetExecutionContext,
        generator_model: dict,
        private: PrivateStoreResource,
        warehouse: WarehouseResource,
    ) -> pd.DataFrame:
        generator, _ = private.models().load(name, generator_model["model_id"])
        version = (warehouse.store().latest_version(name, passing_only=False) or 0) + 1
        n_rows = dataset.rows or generator_model["source_rows"]
        seed = snapshot_seed(dataset.seed, version)
        started = time.perf_counter()
        with forward_logs(context):
            table, enforcement = generator.sample(n_rows, random_state=seed, return_report=True)
        seconds = time.perf_counter() - started
        context.add_output_metadata(
            {
                "rows": len(table),
                "columns": table.shape[1],
                "model_id": generator_model["model_id"],
                "sampling_seed": seed,
                "sample_seconds": round(seconds, 3),
                "rows_per_second": round(len(table) / max(seconds, 1e-9)),
            }
        )
        if enforcement is not None:
            # how many rows the rules made the generator redraw or repair
            context.add_output_metadata({"rule_enforcement": MetadataValue.json(enforcement)})
        return table

    @asset(
        key=key("published_snapshot"),
        group_name=name,
        ins={"synthetic": AssetIn(key("synthetic")), "generator_model": AssetIn(key("generator_model"))},
        description="The synthetic table published to the warehouse as a new version, with its lineage.",
    )
    def published_snapshot(
        context: AssetExecutionContext,
        synthetic: pd.DataFrame,
        generator_model: dict,
        private: PrivateStoreResource,
        warehouse: WarehouseResource,
    ) -> MaterializeResult:
        record_path = private.quality_record(name)
        record = json.loads(record_path.read_text()) if record_path.is_file() else None
        if record is None or record.get("synthetic_hash") != fingerprint_table(synthetic)["content_hash"]:
            raise Failure(f"{name}: the synthetic table has not passed through the quality gates; run its check first")
        if not record["passed"]:
            raise Failure(f"{name}: blocking quality gates failed, not publishing: {record['failed']}")
        store = warehouse.store()
        info = store.publish(
            name,
            synthetic,
            {
                "source_fingerprint": generator_model["source_fingerprint"],
                "generator": generator_model["generator"],
                "model_id": generator_model["model_id"],
                "config_hash": dataset.config_hash(),
                "accuracy": record["qa_summary"].get("accuracy_overall"),
                "dcr_share": record["qa_summary"].get("dcr_share"),
                "gates_passed": True,
                "gate_results": record["gate_results"],
                "qa_summary": record["qa_summary"],
                "report_path": record["report_path"],
            },
        )
        removed = []
        if dataset.retention.keep_last or dataset.retention.keep_days:
            removed = store.apply_retention(
                name, keep_last=dataset.retention.keep_last, keep_days=dataset.retention.keep_days
            )
        context.log.info(f"{name}: published version {info.version} ({info.row_count} rows) to {warehouse.path}")
        return MaterializeResult(
            metadata={
                "version": info.version,
                "table": info.table_name,
                "rows": info.row_count,
                "warehouse": MetadataValue.path(str(warehouse.path)),
                "model_id": generator_model["model_id"],
                "removed_versions": MetadataValue.json(removed),
                "report": MetadataValue.path(record["report_path"]),
            }
        )

    return [source, split, generator_model, synthetic, published_snapshot]
