"""Drift sensors: one per dataset, polling the source cheaply and retraining when it moved.

Each tick runs the core's drift decision (:func:`synth_pipeline.drift_decision.check_source`)
with the dataset's source resource and model store, keeps its cursor, and turns
the decision into a run request or a skip. A schema change the configuration
cannot absorb fails the tick with what changed. The cursor (JSON: the probe,
the content hash, the model id and the last measurement) is stored by Dagster
in its instance, so it survives daemon restarts. Plain ``@sensor`` on purpose:
asset sensors manage their cursors internally and have had re-fire bugs.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg

from resources import source_resource_key
from synth_pipeline.config import DatasetConfig
from synth_pipeline.drift_decision import check_source, format_cursor, parse_cursor
from synth_pipeline.model_store import ModelStore
from synth_pipeline.sources import SourceReader


def build_drift_sensor(
    dataset_cfg: DatasetConfig,
    job: Any,
    *,
    model_store: ModelStore | Callable[[], ModelStore] | None = None,
    source: SourceReader | None = None,
    resource_key: str = "private",
    name: str | None = None,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """The drift sensor of one dataset, requesting runs of ``job`` (its retraining job).

    The model store comes from ``model_store`` when given (a store or a function
    returning one), else from the resource ``resource_key`` (a
    ``PrivateStoreResource``: its ``models()``); the source from ``source`` when
    given, else from the dataset's source resource. So tests and deployments
    that point resources elsewhere are followed. Polls every ``drift.poll_seconds``.
    """
    dataset = dataset_cfg.name
    source_key = source_resource_key(dataset)
    required = ({resource_key} if model_store is None else set()) | ({source_key} if source is None else set())

    def models_for(context: dg.SensorEvaluationContext) -> ModelStore:
        if model_store is not None:
            return model_store if isinstance(model_store, ModelStore) else model_store()
        return getattr(context.resources, resource_key).models()

    def source_for(context: dg.SensorEvaluationContext) -> SourceReader:
        return source if source is not None else getattr(context.resources, source_key).reader()

    @dg.sensor(
        name=name or f"{dataset}_drift_sensor",
        job=job,
        minimum_interval_seconds=dataset_cfg.drift.poll_seconds,
        default_status=default_status,
        required_resource_keys=required or None,
        description=(
            f"Retrains {dataset} when the source drifts beyond PSI {dataset_cfg.drift.threshold:g} or its schema "
            "changes; otherwise skips, stating the measured drift."
        ),
    )
    def _drift_sensor(context: dg.SensorEvaluationContext):
        decision = check_source(dataset_cfg, models_for(context), parse_cursor(context.cursor), source_for(context))
        context.update_cursor(format_cursor(decision.cursor))
        context.log.info(decision.message)
        if decision.run:
            return dg.RunRequest(run_key=decision.run_key, tags=decision.tags)
        return dg.SkipReason(decision.message)

    return _drift_sensor
