"""Drift sensors: one per dataset, polling the source cheaply and retraining when it moved.

Each tick:

1. probe the source (:func:`synth_pipeline.io.source_probe`: file size and mtime,
   or a ``count(*)`` of the query). When the probe and the current model are
   the same as at the last tick, skip at once, repeating the last measured drift;
2. otherwise read the source and fingerprint it. A source identical to the one
   the model was trained on (or to the last tick's) needs no statistics;
3. otherwise score it against the model's stored :class:`DriftProfile`
   (:func:`synth_pipeline.drift.measure_drift`) and request a retraining run
   when the largest PSI passes the dataset's ``drift.threshold`` or the schema
   changed, else skip with the measured drift.

A schema change the configuration cannot absorb (a removed column that the
config names, a column whose values no longer fit a kind the config forces)
fails the tick with what changed: retraining on the wrong schema would be
silent damage. The sensor keeps its own cursor (JSON: the probe, the content
hash, the model id and the last measurement), which Dagster stores in its
instance, so it survives daemon restarts. Plain ``@sensor`` on purpose: asset
sensors manage their cursors internally and have had re-fire bugs.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from synth_pipeline.config import DatasetConfig
from synth_pipeline.drift import (
    DRIFT_PROFILE_KEY,
    SOURCE_FINGERPRINT_KEY,
    DriftProfile,
    DriftReport,
    fingerprint_table,
    measure_drift,
)
from synth_pipeline.errors import ConfigError, StoreError
from synth_pipeline.model_store import ModelStore
from synth_pipeline.sources import read_source, source_probe

log = logging.getLogger(__name__)

CURSOR_FORMAT = 1
TAG_PREFIX = "synth_pipeline"


class SchemaChangeError(ConfigError):
    """The source's schema changed in a way the dataset's configuration cannot absorb."""


@dataclass
class DriftDecision:
    """What one sensor tick concluded: run or skip, why, and the cursor to keep."""

    run: bool
    message: str
    cursor: dict[str, Any]
    report: DriftReport | None = None
    run_key: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def parse_cursor(text: str | None) -> dict[str, Any] | None:
    """The sensor's cursor as a dict; None when absent, unreadable or of another format (start afresh)."""
    if not text:
        return None
    try:
        cursor = json.loads(text)
    except json.JSONDecodeError:
        log.warning("drift sensor: ignoring an unreadable cursor %r", text[:200])
        return None
    if not isinstance(cursor, dict) or cursor.get("format") != CURSOR_FORMAT:
        return None
    return cursor


def _fingerprint_hash(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("content_hash")
    return value if isinstance(value, str) else None


def check_schema_absorbable(dataset_cfg: DatasetConfig, report: DriftReport, current_columns: list[str]) -> None:
    """Raise :class:`SchemaChangeError` when retraining cannot absorb the schema change.

    Added columns, removed columns the config does not mention, and retyped
    columns without a kind override are absorbed: retraining infers the schema
    afresh. A removed column the config names (kind override, target, holdout
    stratification) or a retyped column whose kind the config forces is not.
    """
    changes = report.schema_changes
    if not changes.changed:
        return
    problems = []
    try:
        dataset_cfg.check_columns(current_columns)
    except ConfigError as error:
        problems.append(str(error))
    for retyped in changes.retyped:
        if retyped.name in dataset_cfg.columns:
            problems.append(
                f"datasets.{dataset_cfg.name}.columns.{retyped.name} forces kind "
                f"{dataset_cfg.columns[retyped.name].value!r}, but the source's values no longer fit it "
                f"({retyped.detail or 'now ' + retyped.found})"
            )
    if problems:
        raise SchemaChangeError(
            f"dataset {dataset_cfg.name!r}: the source's {changes.describe()}, and the configuration cannot absorb "
            "it, so no retraining was requested:\n  " + "\n  ".join(problems) + "\nUpdate the config (or the source) "
            "and the next tick will retrain."
        )


def check_source(dataset_cfg: DatasetConfig, model_store: ModelStore, cursor: dict[str, Any] | None) -> DriftDecision:
    """One drift check of ``dataset_cfg``'s source against its current model (no Dagster involved)."""
    dataset = dataset_cfg.name
    threshold = dataset_cfg.drift.threshold
    probe = source_probe(dataset_cfg.source)
    model_id = model_store.latest_id(dataset)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    base = {"format": CURSOR_FORMAT, "probe": probe, "model_id": model_id, "checked_at": now, "measured_at": now}

    if cursor and cursor.get("probe") == probe and cursor.get("model_id") == model_id:
        kept = {**cursor, "checked_at": now}
        waiting = ""
        if cursor.get("run_key"):
            waiting = f"; retraining was requested at {cursor.get('measured_at')} and no new model exists yet"
        return DriftDecision(
            False,
            f"{dataset}: source unchanged since {cursor.get('measured_at')} (cheap probe); "
            f"last measured: {cursor.get('summary', 'n/a')}{waiting}",
            kept,
        )
    if model_id is None:
        return DriftDecision(
            True,
            f"{dataset}: no trained model yet; requesting the first training run",
            {**base, "summary": "no model yet", "max_psi": None, "run_key": f"{dataset}:initial"},
            run_key=f"{dataset}:initial",
            tags={f"{TAG_PREFIX}/trigger": "no_model"},
        )

    source = read_source(dataset_cfg.source)
    fingerprint = fingerprint_table(source)
    content_hash = fingerprint["content_hash"]
    base.update(content_hash=content_hash, row_count=fingerprint["row_count"])
    metadata = model_store.info(dataset, model_id).metadata
    if content_hash == _fingerprint_hash(metadata.get(SOURCE_FINGERPRINT_KEY)):
        summary = f"max PSI 0.000: the source is identical to the one model {model_id} was trained on"
        return DriftDecision(False, f"{dataset}: {summary}", {**base, "summary": summary, "max_psi": 0.0})
    if cursor and cursor.get("content_hash") == content_hash and cursor.get("model_id") == model_id:
        summary = cursor.get("summary", "n/a")
        return DriftDecision(
            False,
            f"{dataset}: source content unchanged (only its file metadata moved); last measured: {summary}",
            {**base, "summary": summary, "max_psi": cursor.get("max_psi")},
        )

    if DRIFT_PROFILE_KEY not in metadata:
        raise StoreError(
            f"dataset {dataset!r}: model {model_id} has no drift profile in its metadata, so drift cannot be "
            "measured; retrain it with the pipeline (which stores one)"
        )
    profile = DriftProfile.from_dict(metadata[DRIFT_PROFILE_KEY])
    report = measure_drift(profile, source)
    check_schema_absorbable(dataset_cfg, report, [str(c) for c in source.columns])
    cursor_out = {**base, "summary": report.summary, "max_psi": report.max_psi}
    if report.needs_retraining(threshold):
        trigger = "schema" if report.schema_changes.changed else "drift"
        reason = (
            report.schema_changes.describe()
            if trigger == "schema"
            else f"PSI above {threshold:g} in {', '.join(report.over(threshold))}"
        )
        run_key = f"{dataset}:{content_hash[:16]}:{model_id}"
        return DriftDecision(
            True,
            f"{dataset}: retraining: {reason}; {report.summary}",
            {**cursor_out, "run_key": run_key},
            report=report,
            run_key=run_key,
            tags={
                f"{TAG_PREFIX}/trigger": trigger,
                f"{TAG_PREFIX}/max_psi": f"{report.max_psi:.4f}",
                f"{TAG_PREFIX}/max_psi_column": report.max_psi_column or "",
                f"{TAG_PREFIX}/previous_model_id": model_id,
                f"{TAG_PREFIX}/source_hash": content_hash[:16],
            },
        )
    return DriftDecision(
        False,
        f"{dataset}: drift below the threshold {threshold:g}: {report.summary}",
        cursor_out,
        report=report,
    )


def build_drift_sensor(
    dataset_cfg: DatasetConfig,
    job: Any,
    *,
    model_store: ModelStore | Callable[[], ModelStore] | None = None,
    resource_key: str = "private",
    name: str | None = None,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """The drift sensor of one dataset, requesting runs of ``job`` (its retraining job).

    The model store comes from ``model_store`` when given (a store or a function
    returning one), else from the resource ``resource_key`` (a
    ``PrivateStoreResource``: its ``models()``), so tests and deployments that
    point resources elsewhere are followed. Polls every ``drift.poll_seconds``.
    """
    dataset = dataset_cfg.name

    def models_for(context: dg.SensorEvaluationContext) -> ModelStore:
        if model_store is not None:
            return model_store if isinstance(model_store, ModelStore) else model_store()
        return getattr(context.resources, resource_key).models()

    @dg.sensor(
        name=name or f"{dataset}_drift_sensor",
        job=job,
        minimum_interval_seconds=dataset_cfg.drift.poll_seconds,
        default_status=default_status,
        required_resource_keys=None if model_store is not None else {resource_key},
        description=(
            f"Retrains {dataset} when the source drifts beyond PSI {dataset_cfg.drift.threshold:g} or its schema "
            "changes; otherwise skips, stating the measured drift."
        ),
    )
    def _drift_sensor(context: dg.SensorEvaluationContext):
        decision = check_source(dataset_cfg, models_for(context), parse_cursor(context.cursor))
        context.update_cursor(json.dumps(decision.cursor, sort_keys=True, default=str))
        context.log.info(decision.message)
        if decision.run:
            return dg.RunRequest(run_key=decision.run_key, tags=decision.tags)
        return dg.SkipReason(decision.message)

    return _drift_sensor
