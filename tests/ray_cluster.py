"""A real Ray cluster for the tests: ``ray start --head --block`` on 127.0.0.1, free ports, a temp dir, 2 CPUs.

Started in its own session, so stopping it is one signal to its process group (the head's processes; the
raylet stops the workers it started), then a kill of the ``ray start`` process if it lingers. Every step has a
time limit. Token authentication is off for this private test cluster (``RAY_AUTH_MODE=disabled``; a client
on this machine would otherwise need the token file of whoever started Ray first).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 20
GRACE_S = 5
READY = "Ray runtime started"  # what `ray start` prints once every head process is up
PORT_OPTIONS = (
    "port", "ray-client-server-port", "dashboard-port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
    "runtime-env-agent-port", "metrics-export-port", "node-manager-port", "object-manager-port",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RayCluster:
    process: subprocess.Popen
    address: str
    temp_dir: Path

    def stop(self) -> None:
        """Signal the head's process group, wait, and kill the ``ray start`` process if it is still there."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:  # its children are gone; `ray start --block` itself may linger
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def start_cluster(num_cpus: int = 2) -> RayCluster:
    """A head node with ``num_cpus`` CPUs, listening on free ports of 127.0.0.1; its GCS address is ``address``."""
    ports = {option: free_port() for option in PORT_OPTIONS}
    temp_dir = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths must stay short
    ray = Path(sys.executable).with_name("ray")
    command = [str(ray), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--num-cpus={num_cpus}",
               "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"]
    command += [f"--{option}={port}" for option, port in ports.items()]
    log = open(temp_dir / "ray-start.log", "wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"})
    cluster = RayCluster(process, f"127.0.0.1:{ports['port']}", temp_dir)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = (temp_dir / "ray-start.log").read_text(errors="replace")[-2000:]
            cluster.stop()
            raise RuntimeError(f"ray start exited with {process.returncode}: {output}")
        if READY in (temp_dir / "ray-start.log").read_text(errors="replace"):
            return cluster
        time.sleep(0.3)
    cluster.stop()
    raise RuntimeError(f"the Ray head at {cluster.address} was not up within {START_TIMEOUT_S} s")
