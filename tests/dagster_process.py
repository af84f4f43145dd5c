"""Starting and stopping real Dagster processes (``dagster dev``, ``dagster-daemon``) in tests, by PID, bounded.

Started through ``env --default-signal=INT``: a Dagster CLI that inherits an ignored SIGINT (as from a
non-interactive shell) also ignores SIGTERM (../shared/FIELD-NOTES.md). Each gets its own session, so a last-resort
SIGKILL reaches its children (code servers, run workers) and nothing else.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def dagster_env(home: Path, config: Path, **extra: str) -> dict[str, str]:
    """The environment of a Dagster process over ``config`` recording into ``home``, running this checkout's code."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SYNTH_PIPELINE_CONFIG": str(config),
        "PYTHONPATH": str(REPO),
        "GX_ANALYTICS_ENABLED": "false",
        "OMP_WAIT_POLICY": "PASSIVE",
        **extra,
    }


def dagster_command(tool: str, *args: str) -> list[str]:
    """A Dagster console script of the running interpreter's environment (``dagster``, ``dagster-daemon``)."""
    return [str(Path(sys.executable).with_name(tool)), *args]


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``command`` in its own session with SIGINT/SIGTERM restored, output to ``log``."""
    with log.open("a") as out:
        return subprocess.Popen(
            ["env", "--default-signal=INT", *command],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen, timeout: float = 30) -> float:
    """SIGTERM by PID, wait; SIGKILL its own process group if it does not end. Returns the seconds it took."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    try:  # children left behind (a run worker mid-step) share the session's process group
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return time.monotonic() - started


def wait_for(condition: Callable[[], Any], timeout: float, what: str, process: subprocess.Popen, log: Path) -> Any:
    """Poll ``condition`` every 0.5 s until it returns something truthy; fail with the log's tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the process ended ({process.returncode}) before {what}:\n{log.read_text()[-4000:]}")
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout:.0f} s: {what}\n{log.read_text()[-4000:]}")
