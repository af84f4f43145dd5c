"""The Ray engine: shards sampled as tasks by workers (Ray actors) that each load the model once.

The driver (the run's process) ships the model's files to the cluster once (``ray.put``);
each worker writes them to a private temporary directory, loads the generator and then
samples the shards it is given, returning each one as Parquet bytes through Ray's object
store. The driver saves them into the run's private area, so workers need no access to it
(nor to the model store): only ``synth-pipeline`` installed in the same version. Shards are
handed out two at a time per worker (one running, one queued), and a worker that finishes
one gets the next, so a fast worker takes more of them. A shard that
raises, or a worker that dies, fails the run naming the shard; the workers are stopped.

Ray is an optional dependency (``pip install 'synth-pipeline[ray]'``), imported only here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from synth_pipeline.engine_config import RayEngine
from synth_pipeline.errors import EngineError
from synth_pipeline.shards import ShardOutput, ShardPlan, ShardSpec, cause, shard_failure

INSTALL_HINT = "engine: ray needs Ray: pip install 'synth-pipeline[ray]'"
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
#: shards handed to each worker at once (it runs them one after another; the next waits in its queue)
QUEUED_PER_WORKER = 2


def import_ray() -> Any:
    """The ``ray`` module, or one EngineError saying what to install."""
    try:
        import ray
    except ImportError:
        raise EngineError(INSTALL_HINT) from None
    return ray


def check_reachable(address: str, timeout: float) -> None:
    """Raise EngineError naming ``address`` when nothing accepts a connection there within ``timeout`` s."""
    if address == "auto":
        return
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise EngineError(
            f"engine.address {address!r} is not a Ray address: write ray://host:10001, host:6379 or auto"
        )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        raise EngineError(
            f"cannot reach the Ray cluster at {address} (engine.address): {error.strerror or error}; start it "
            "(ray start --head) or correct the address"
        ) from None


@contextlib.contextmanager
def connected(settings: RayEngine) -> Iterator[Any]:
    """Ray, connected to the configured cluster (or a private local instance) for the block.

    A configured address is checked first (one clear error when nothing answers there); a connection
    this process already holds (a notebook's ``ray.init``) is then used as it is and left open.
    """
    ray = import_ray()
    if settings.address:
        check_reachable(settings.address, settings.connect_timeout_seconds)
    if ray.is_initialized():
        yield ray
        return
    runtime_env = {"env_vars": {"PYTHONPATH": _PACKAGE_ROOT, "OMP_WAIT_POLICY": "PASSIVE"}}
    options: dict[str, Any] = {"runtime_env": runtime_env, "log_to_driver": False}
    if settings.address:
        options["address"] = settings.address
    else:
        if settings.workers:
            options["num_cpus"] = max(1, int(round(settings.workers * settings.cpus_per_worker)))
        options["include_dashboard"] = False
    try:
        ray.init(**options)
    except Exception as error:  # noqa: BLE001 - Ray raises many types; one line names the address
        where = settings.address or "a local Ray instance"
        raise EngineError(f"cannot connect to the Ray cluster at {where} (engine.address): "
                          f"{' '.join(str(error).split())[:300]}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def read_model_files(model_dir: Path) -> dict[str, bytes]:
    """A saved model's files (relative path -> bytes), as shipped to the workers."""
    return {p.relative_to(model_dir).as_posix(): p.read_bytes() for p in sorted(model_dir.rglob("*")) if p.is_file()}


class ShardWorker:
    """One Ray worker: loads the model once, then samples the shards it is handed."""

    def __init__(
        self, model_files: dict[str, bytes], threads: int, before_shard: Callable[[int], None] | None = None
    ) -> None:
        from synth_pipeline.generators.base import Generator

        self._directory = tempfile.TemporaryDirectory(prefix="synth-model-")
        root = Path(self._directory.name)
        for name, data in model_files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        self.generator = Generator.load(root)
        if "n_threads" in self.generator.param_names():
            # as many threads as CPUs Ray reserved for this worker (the rows do not depend on it:
            # tests/test_shards_ray.py compares them with the local engine's)
            self.generator.set_params(n_threads=threads)
        self.before_shard = before_shard

    def sample(self, spec: ShardSpec, chunk_rows: int) -> ShardOutput:
        from synth_pipeline.shard_sampling import render_shard

        if self.before_shard is not None:
            self.before_shard(spec.index)
        return render_shard(self.generator, spec, chunk_rows=chunk_rows)

    def pid(self) -> int:
        return os.getpid()

    def cpu_seconds(self) -> float:
        """CPU time the worker process has used (the benchmark's rows per CPU-second, whatever the load)."""
        import time

        return time.process_time()

    def peak_memory_bytes(self) -> int:
        """The worker process's peak resident memory (what the benchmark reports for the largest worker)."""
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class RayShardEngine:
    """Runs shards on Ray; ``before_shard`` is a test seam called in the worker before each shard."""

    def __init__(
        self, settings: RayEngine, model_dir: Path, *, before_shard: Callable[[int], None] | None = None
    ) -> None:
        self.settings = settings
        self.model_dir = Path(model_dir)
        self.before_shard = before_shard
        self.worker_pids: list[int] = []
        self.worker_peak_bytes: list[int] = []  # each worker's peak memory, after a run that finished
        self.worker_cpu_seconds: list[float] = []  # and the CPU time it used

    def run(self, plan: ShardPlan, pending: Sequence[ShardSpec]) -> Iterator[ShardOutput]:
        if not pending:
            return
        with connected(self.settings) as ray:
            yield from self._run(ray, plan, list(pending))

    def _workers(self, ray: Any, count: int) -> list[Any]:
        model = ray.put(read_model_files(self.model_dir))
        worker = ray.remote(num_cpus=self.settings.cpus_per_worker, max_restarts=0, max_task_retries=0)(ShardWorker)
        threads = max(1, int(self.settings.cpus_per_worker))
        actors = [worker.remote(model, threads, self.before_shard) for _ in range(count)]
        self.worker_pids = ray.get([actor.pid.remote() for actor in actors])
        return actors

    def _worker_count(self, ray: Any, shards: int) -> int:
        if self.settings.workers:
            return min(self.settings.workers, shards)
        cpus = float(ray.cluster_resources().get("CPU", 1))
        return max(1, min(shards, int(cpus // self.settings.cpus_per_worker)))

    def _run(self, ray: Any, plan: ShardPlan, pending: list[ShardSpec]) -> Iterator[ShardOutput]:
        total = len(plan.shards)
        actors = self._workers(ray, self._worker_count(ray, len(pending)))
        in_flight: dict[Any, tuple[ShardSpec, Any]] = {}
        try:
            # two shards queued per worker: it starts its next shard while the driver saves the last one
            for actor in actors * QUEUED_PER_WORKER:
                if pending:
                    spec = pending.pop(0)
                    in_flight[actor.sample.remote(spec, plan.chunk_rows)] = (spec, actor)
            while in_flight:
                [ready], _ = ray.wait(list(in_flight), num_returns=1)
                spec, actor = in_flight.pop(ready)
                try:
                    output = ray.get(ready)
                except ray.exceptions.RayTaskError as error:
                    raise shard_failure(spec.index, total, cause(error.cause or error)) from None
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as error:
                    why = f"its Ray worker died ({' '.join(str(error).split())[:300]})"
                    raise shard_failure(_running(spec, actor, in_flight).index, total, why) from None
                if pending:
                    next_spec = pending.pop(0)
                    in_flight[actor.sample.remote(next_spec, plan.chunk_rows)] = (next_spec, actor)
                yield output
            self.worker_peak_bytes = ray.get([actor.peak_memory_bytes.remote() for actor in actors])
            self.worker_cpu_seconds = ray.get([actor.cpu_seconds.remote() for actor in actors])
        finally:
            for actor in actors:
                ray.kill(actor)


def _running(spec: ShardSpec, actor: Any, in_flight: dict[Any, tuple[ShardSpec, Any]]) -> ShardSpec:
    """The shard ``actor`` was running when it died: of its shards in flight, the first handed to it.

    A worker runs its shards in the order it got them, which is the shards' order.
    """
    return min([spec, *(other for other, owner in in_flight.values() if owner is actor)], key=lambda s: s.index)


__all__ = ["INSTALL_HINT", "RayShardEngine", "ShardWorker", "check_reachable", "connected", "import_ray"]
