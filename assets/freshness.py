"""Freshness of published snapshots: each dataset with a schedule expects its snapshot to be refreshed on time.

The expectation follows the schedule: a snapshot is fresh while its last publish is at most one schedule interval
(the longest gap between two ticks of the most frequent of the dataset's refresh/retrain crons, in its time zone)
plus :data:`FRESHNESS_GRACE` old. Past one interval it warns; past interval + grace it fails, so a refresh that did
not happen shows as overdue in the UI. A dataset without a schedule (drift sensor only) declares no expectation:
it publishes when the source changes, not on a clock. Dagster evaluates freshness policies when the instance
enables them (``freshness: enabled: true`` in ``dagster.yaml``; :mod:`assets.instance` writes that).
"""

from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise

from dagster import FreshnessPolicy
from dagster._utils.schedules import cron_string_iterator  # the cron arithmetic Dagster's scheduler uses

from synth_pipeline.config import DatasetConfig

FRESHNESS_GRACE = timedelta(hours=1)  # time a scheduled run may take to publish before the snapshot is overdue
TICKS_SAMPLED = 400  # consecutive ticks looked at for the longest gap (covers weekday-only and DST shifts)
_FROM = datetime(2026, 1, 1, tzinfo=UTC).timestamp()  # fixed, so the policy is the same on every load


def schedule_interval(cron: str, timezone: str) -> timedelta:
    """The longest gap between consecutive ticks of ``cron`` (e.g. 72 h for ``0 6 * * 1-5``)."""
    ticks = [tick.timestamp() for tick in islice(cron_string_iterator(_FROM, cron, timezone), TICKS_SAMPLED)]
    return timedelta(seconds=max(later - earlier for earlier, later in pairwise(ticks)))  # elapsed, not wall-clock


def snapshot_freshness_policy(dataset: DatasetConfig) -> FreshnessPolicy | None:
    """The published snapshot's freshness expectation from the dataset's schedules; None without a schedule."""
    schedules = dataset.schedules
    crons = [cron for cron in (schedules.refresh, schedules.retrain) if cron]
    if not crons:
        return None
    interval = min(schedule_interval(cron, schedules.timezone) for cron in crons)
    return FreshnessPolicy.time_window(fail_window=interval + FRESHNESS_GRACE, warn_window=interval)
