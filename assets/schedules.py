"""Schedules per dataset: a refresh that samples from the current model, and an optional retrain.

* ``<dataset>_refresh_schedule`` (``schedules.refresh``, cron): runs the refresh
  job, which loads the current model from the model store and publishes a new
  snapshot version without retraining (the model id stays the same);
* ``<dataset>_retrain_schedule`` (``schedules.retrain``, cron): runs the full
  lifecycle (source → ... → publish), whether or not the source drifted.

Both use the dataset's ``schedules.timezone``. A dataset without crons gets no
schedule; the drift sensor still watches it.
"""

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from synth_pipeline.config import DatasetConfig
from synth_pipeline.drift_decision import TAG_PREFIX
from synth_pipeline.errors import ConfigError


def _check_timezone(dataset_cfg: DatasetConfig) -> str:
    timezone = dataset_cfg.schedules.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"datasets.{dataset_cfg.name}.schedules.timezone: unknown time zone {timezone!r} "
            "(use an IANA name such as 'UTC' or 'Europe/Oslo')"
        ) from None
    return timezone


def _schedule(dataset_cfg: DatasetConfig, kind: str, cron: str, job: Any, description: str) -> dg.ScheduleDefinition:
    try:
        return dg.ScheduleDefinition(
            name=f"{dataset_cfg.name}_{kind}_schedule",
            cron_schedule=cron,
            job=job,
            execution_timezone=_check_timezone(dataset_cfg),
            tags={f"{TAG_PREFIX}/trigger": f"{kind}_schedule"},
            description=description,
        )
    except dg.DagsterInvalidDefinitionError as error:
        raise ConfigError(f"datasets.{dataset_cfg.name}.schedules.{kind}: {error}") from None


def build_schedules(
    dataset_cfg: DatasetConfig, refresh_job: Any, retrain_job: Any | None = None
) -> list[dg.ScheduleDefinition]:
    """The schedules the dataset's config asks for (none, refresh, retrain, or both)."""
    schedules = []
    if dataset_cfg.schedules.refresh:
        schedules.append(
            _schedule(
                dataset_cfg,
                "refresh",
                dataset_cfg.schedules.refresh,
                refresh_job,
                f"Samples a new {dataset_cfg.name} snapshot from the current model (no retraining) and publishes it.",
            )
        )
    if dataset_cfg.schedules.retrain:
        if retrain_job is None:
            raise ConfigError(f"datasets.{dataset_cfg.name}.schedules.retrain is set but no retrain job was given")
        schedules.append(
            _schedule(
                dataset_cfg,
                "retrain",
                dataset_cfg.schedules.retrain,
                retrain_job,
                f"Retrains the {dataset_cfg.name} generator on the current source and publishes a snapshot.",
            )
        )
    return schedules
