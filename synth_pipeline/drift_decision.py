"""The drift decision: should a dataset's generator be retrained on its current source?

One check (:func:`check_source`), as a drift sensor tick runs it:

1. probe the source (:meth:`SourceReader.probe`: file size and mtime, or a
   ``count(*)`` of the query). When the probe and the current model are the
   same as at the last check, skip at once, repeating the last measured drift;
2. otherwise read the source and fingerprint it. A source identical to the one
   the model was trained on (or to the last check's) needs no statistics;
3. otherwise score it against the model's stored :class:`~synth_pipeline.profile.TrainingProfile`
   (:func:`synth_pipeline.drift.measure_drift`) and ask for retraining when the
   largest PSI passes the dataset's ``drift.threshold`` or the schema changed,
   else skip with the measured drift.

A schema change the configuration cannot absorb (a removed column that the
config names, a column whose values no longer fit a kind the config forces)
raises :class:`SchemaChangeError` with what changed: retraining on the wrong
schema would be silent damage. The caller keeps the returned cursor (JSON: the
probe, the content hash, the model id and the last measurement) and hands it
back on the next check. Nothing here knows about Dagster.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from synth_pipeline.config import DatasetConfig
from synth_pipeline.drift import DRIFT_PROFILE_KEY, SOURCE_FINGERPRINT_KEY, DriftReport, measure_drift_batches
from synth_pipeline.errors import ConfigError, StoreError
from synth_pipeline.ingest_files import fingerprint_parquet, read_batches
from synth_pipeline.model_store import ModelStore
from synth_pipeline.profile import TrainingProfile, fingerprint_table
from synth_pipeline.source_stream import streamed_parquet
from synth_pipeline.sources import ConfiguredSource, SourceReader
from synth_pipeline.table_files import TableFiles

log = logging.getLogger(__name__)

CURSOR_FORMAT = 1
TAG_PREFIX = "synth_pipeline"


class SchemaChangeError(ConfigError):
    """The source's schema changed in a way the dataset's configuration cannot absorb."""


@dataclass
class DriftDecision:
    """What one check concluded: run or skip, why, and the cursor to keep."""

    run: bool
    message: str
    cursor: dict[str, Any]
    report: DriftReport | None = None
    run_key: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def parse_cursor(text: str | None) -> dict[str, Any] | None:
    """The check's cursor as a dict; None when absent, unreadable or of another format (start afresh)."""
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


def format_cursor(cursor: dict[str, Any]) -> str:
    """The cursor as the text :func:`parse_cursor` reads back."""
    return json.dumps(cursor, sort_keys=True, default=str)


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
                f"{dataset_cfg.columns[retyped.name].kind.value!r}, but the source's values no longer fit it "
                f"({retyped.detail or 'now ' + retyped.found})"
            )
    if problems:
        raise SchemaChangeError(
            f"dataset {dataset_cfg.name!r}: the source's {changes.describe()}, and the configuration cannot absorb "
            "it, so no retraining was requested:\n  " + "\n  ".join(problems) + "\nUpdate the config (or the source) "
            "and the next tick will retrain."
        )


def check_source(
    dataset_cfg: DatasetConfig,
    model_store: ModelStore,
    cursor: dict[str, Any] | None,
    source: SourceReader | None = None,
) -> DriftDecision:
    """One drift check of a dataset's source (``source``, default the config's) against its current model."""
    dataset = dataset_cfg.name
    source = source if source is not None else ConfiguredSource(dataset_cfg.source)
    probe = source.probe()
    model_id = model_store.latest_id(dataset)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    base = {"format": CURSOR_FORMAT, "probe": probe, "model_id": model_id, "checked_at": now, "measured_at": now}
    if cursor and cursor.get("probe") == probe and cursor.get("model_id") == model_id:
        return _probe_unchanged(dataset, cursor, now)
    if model_id is None:
        return DriftDecision(
            True,
            f"{dataset}: no trained model yet; requesting the first training run",
            {**base, "summary": "no model yet", "max_psi": None, "run_key": f"{dataset}:initial"},
            run_key=f"{dataset}:initial",
            tags={f"{TAG_PREFIX}/trigger": "no_model"},
        )
    with tempfile.TemporaryDirectory(prefix="synth-drift-") as scratch:
        # a file, query or PostgreSQL source streams (as ingest reads it): fingerprinted, then measured, by batches
        streamed = streamed_parquet(source, scratch)
        table = source.read() if streamed is None else None
        fingerprint = fingerprint_table(table) if table is not None else fingerprint_parquet(streamed.path)
        base.update(content_hash=fingerprint["content_hash"], row_count=fingerprint["row_count"])
        metadata = model_store.info(dataset, model_id).metadata
        unchanged = _content_unchanged(dataset, model_id, metadata, cursor, base)
        if unchanged is not None:
            return unchanged
        if table is not None:
            return _measure(dataset_cfg, model_id, metadata, ([table], [str(c) for c in table.columns]), base)
        batches = (read_batches(streamed.path), TableFiles.of(streamed.path).columns)
        return _measure(dataset_cfg, model_id, metadata, batches, base)


def _probe_unchanged(dataset: str, cursor: dict[str, Any], now: str) -> DriftDecision:
    """Skip on the cheap probe alone, repeating the last measurement (and a pending retraining request)."""
    waiting = ""
    if cursor.get("run_key"):
        waiting = f"; retraining was requested at {cursor.get('measured_at')} and no new model exists yet"
    return DriftDecision(
        False,
        f"{dataset}: source unchanged since {cursor.get('measured_at')} (cheap probe); "
        f"last measured: {cursor.get('summary', 'n/a')}{waiting}",
        {**cursor, "checked_at": now},
    )


def _content_unchanged(
    dataset: str, model_id: str, metadata: dict[str, Any], cursor: dict[str, Any] | None, base: dict[str, Any]
) -> DriftDecision | None:
    """A skip when the content equals the model's training source or the last check's; else None."""
    content_hash = base["content_hash"]
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
    return None


def _measure(
    dataset_cfg: DatasetConfig,
    model_id: str,
    metadata: dict[str, Any],
    current: tuple[Iterable[pd.DataFrame], list[str]],
    base: dict[str, Any],
) -> DriftDecision:
    """Score the source (its batches and column names) against the model's drift profile and decide."""
    dataset, threshold = dataset_cfg.name, dataset_cfg.drift.threshold
    if DRIFT_PROFILE_KEY not in metadata:
        raise StoreError(
            f"dataset {dataset!r}: model {model_id} has no drift profile in its metadata, so drift cannot be "
            "measured; retrain it with the pipeline (which stores one)"
        )
    batches, columns = current
    report = measure_drift_batches(TrainingProfile.from_dict(metadata[DRIFT_PROFILE_KEY]), batches)
    check_schema_absorbable(dataset_cfg, report, columns)
    cursor_out = {**base, "summary": report.summary, "max_psi": report.max_psi}
    if not report.needs_retraining(threshold):
        message = f"{dataset}: drift below the threshold {threshold:g}: {report.summary}"
        return DriftDecision(False, message, cursor_out, report=report)
    trigger = "schema" if report.schema_changes.changed else "drift"
    reason = (
        report.schema_changes.describe()
        if trigger == "schema"
        else f"PSI above {threshold:g} in {', '.join(report.over(threshold))}"
    )
    run_key = f"{dataset}:{base['content_hash'][:16]}:{model_id}"
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
            f"{TAG_PREFIX}/source_hash": base["content_hash"][:16],
        },
    )


__all__ = [
    "CURSOR_FORMAT",
    "DriftDecision",
    "SchemaChangeError",
    "check_schema_absorbable",
    "check_source",
    "format_cursor",
    "parse_cursor",
]
