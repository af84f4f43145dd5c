"""The Dagster instance ``synth-pipeline run`` records into: ``$DAGSTER_HOME``, by default ``.synth/dagster``.

A persistent instance (not a throwaway one) keeps every run, materialization, check result and its metadata,
so ``dagster dev`` (or ``dagster-webserver``) pointed at the same ``DAGSTER_HOME`` shows the history afterwards::

    synth-pipeline run examples/demo.yaml
    DAGSTER_HOME=$PWD/.synth/dagster dagster dev -w workspace.yaml

A home this module creates gets a ``dagster.yaml`` with telemetry off and freshness policies on (Dagster's
local SQLite storage);
a ``dagster.yaml`` that is already there (PostgreSQL storage, say: ``examples/deploy/``) is used as it is.
"""

import fcntl
import os
from pathlib import Path

from dagster import DagsterInstance

DEFAULT_DAGSTER_HOME = ".synth/dagster"
# telemetry off; freshness policies evaluated (a preview feature Dagster leaves off by default)
INSTANCE_YAML = "telemetry:\n  enabled: false\nfreshness:\n  enabled: true\n"


def dagster_home() -> Path:
    """``$DAGSTER_HOME`` when set, else ``.synth/dagster`` under the working directory (absolute, as Dagster needs)."""
    return Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).expanduser().resolve()


def ensure_dagster_home(home: Path | None = None) -> Path:
    """Create the home (and a telemetry-off ``dagster.yaml``) when missing; returns its absolute path."""
    home = (home or dagster_home()).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML)
    return home


def persistent_instance(home: Path | None = None) -> DagsterInstance:
    """The instance stored in ``home`` (default :func:`dagster_home`), created on first use.

    Two runs started at once in a fresh home would both create and stamp its SQLite storages, which leaves
    them with two schema heads and breaks every later run there: the storages are opened under a file lock,
    so the first process creates them and the second finds them made.
    """
    home = ensure_dagster_home(home)
    with open(home / ".instance.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            # Dagster creates and stamps the SQLite storages when the instance is built; the count reads
            # the run storage once, so it is complete before the lock is released
            instance = DagsterInstance.from_config(str(home))
            instance.get_runs_count()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return instance
