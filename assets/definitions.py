"""Build the Dagster ``Definitions`` from a pipeline config: one asset group per dataset."""

from collections.abc import Mapping
from typing import Any

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from assets.checks import build_quality_check
from assets.hooks import build_failure_hook
from assets.lifecycle import build_lifecycle_assets
from assets.metadata import asset_key
from assets.rule_checks import build_rule_check
from assets.schedules import build_schedules
from assets.sensors import build_drift_sensor
from resources import (
    PrivateParquetIOManager,
    PrivateStoreResource,
    WarehouseResource,
    source_resource,
    source_resource_key,
)
from synth_pipeline.config import DatasetConfig, PipelineConfig


def lifecycle_job_name(dataset: str) -> str:
    """The name of a dataset's full lifecycle job."""
    return f"{dataset}_lifecycle"


def refresh_job_name(dataset: str) -> str:
    """The name of a dataset's refresh job (sample, check and publish from the current model)."""
    return f"{dataset}_refresh"


def build_dataset_jobs(dataset: DatasetConfig) -> list:
    """The full lifecycle (retrain and publish) and the refresh (sample a new snapshot from the current model)."""
    name = dataset.name
    hooks = {build_failure_hook(dataset)}  # every failed step leaves a `failed` row in the catalog
    lifecycle = define_asset_job(
        lifecycle_job_name(name),
        selection=AssetSelection.groups(name),
        hooks=hooks,
        description=f"{name}: read the source, split, train, sample, check and publish.",
    )
    refresh = define_asset_job(
        refresh_job_name(name),
        selection=AssetSelection.assets(
            *(asset_key(name, step) for step in ("synthetic", "quality_report", "published_snapshot"))
        ),
        description=f"{name}: sample a new snapshot from the current model, check and publish (no retraining).",
        hooks=hooks,
    )
    return [lifecycle, refresh]


def build_definitions(config: PipelineConfig, *, resources: Mapping[str, Any] | None = None) -> Definitions:
    """Assets, checks and jobs for every dataset of ``config``, with the stores and sources it names.

    ``resources`` replaces resources by key (e.g. ``{"churn_source": FileSourceResource(path=...)}``),
    for a deployment or a test that points them elsewhere.
    """
    assets, checks, jobs, sensors, schedules = [], [], [], [], []
    sources = {source_resource_key(name): source_resource(dataset.source) for name, dataset in config.datasets.items()}
    for dataset in config.datasets.values():
        assets += build_lifecycle_assets(dataset)
        checks.append(build_quality_check(dataset))
        if dataset.rules or dataset.infer_rules:
            checks.append(build_rule_check(dataset))
        lifecycle, refresh = build_dataset_jobs(dataset)
        jobs += [lifecycle, refresh]
        # The drift sensor retrains through the full lifecycle; schedules refresh (and optionally retrain).
        sensors.append(build_drift_sensor(dataset, lifecycle, resource_key="private"))
        schedules += build_schedules(dataset, refresh, lifecycle)
    return Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        sensors=sensors,
        schedules=schedules,
        resources={
            **sources,
            "warehouse": WarehouseResource.from_config(config.warehouse),
            "private": PrivateStoreResource(root=config.private_dir),
            "private_io": PrivateParquetIOManager(root=config.private_dir),
            **(resources or {}),
        },
        # Steps are short and share big imports (torch): one process beats a subprocess per step.
        executor=in_process_executor,
    )
