"""Robustness probes: concurrent and killed runs, read-only and held warehouses, tampered models, bad sample options.

Fault probes end in ``intact`` when everything published before the fault is still there, byte for byte,
and no partial version is visible; otherwise the failed post-conditions say what was damaged.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from robustness_harness import (
    ROOT,
    Ctx,
    child_env,
    churn,
    content_hash,
    finish,
    number_table,
    outcome,
    probe,
    run_cli,
    start_cli,
)

DATASET = "d"


def valid_config(ctx: Ctx, name: str = "config.yaml", **settings: Any) -> Path:
    source = ctx.tmp / "source.csv"
    if not source.exists():  # the simulated churn table: the copula's copy publishes past every default gate
        ctx.write(churn(1000), source.name)
    return ctx.config({DATASET: ctx.dataset(source, **settings)}, name=name)


def published_state(ctx: Ctx) -> dict[int, str]:
    return {v: content_hash(f) for v, f in ctx.snapshots(DATASET).items()}


def check_intact(ctx: Ctx, before: dict[int, str], when: str) -> None:
    """Versions published before are unchanged, every catalog row has its table, the latest view reads."""
    import duckdb

    after = published_state(ctx)
    for version, digest in before.items():
        ctx.check(after.get(version) == digest, f"{when}: version {version} changed or vanished")
    catalog = ctx.catalog(DATASET)
    with duckdb.connect(str(ctx.warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        for version, table, rows in catalog[["version", "table_name", "row_count"]].itertuples(index=False):
            ctx.check(table in tables, f"{when}: catalog lists v{version} but {table} does not exist")
            if table in tables:
                count = con.execute(f'select count(*) from "{table}"').fetchall()[0][0]
                ctx.check(count == rows, f"{when}: v{version} has {count} rows, the catalog says {rows}")
        try:
            con.execute(f'select count(*) from "{DATASET}_latest"').fetchall()
        except duckdb.Error as error:
            ctx.check(False, f"{when}: {DATASET}_latest does not read: {error}")


def publish_v1(ctx: Ctx) -> dict[int, str] | None:
    got, line = outcome(ctx.run(valid_config(ctx)))
    before = published_state(ctx)
    if not ctx.check(got == "published" and list(before) == [1], f"could not publish version 1: {got} {line}"):
        return None
    return before


# -- concurrent runs ---------------------------------------------------------------------------
@probe("concurrency", "published")
def two_concurrent_runs_different_seeds(ctx: Ctx):
    from synth_pipeline.config import load_config

    configs = [valid_config(ctx, f"seed{seed}.yaml", seed=seed) for seed in (1, 2)]
    started = time.perf_counter()
    processes = [start_cli(["run", str(c)]) for c in configs]
    results = [finish(p, ["run", str(c)], started, 300) for p, c in zip(processes, configs, strict=True)]
    outcomes = [outcome(r) for r in results]
    if any(o[0] != "published" for o in outcomes):
        return next(o for o in outcomes if o[0] != "published")
    printed = [r.published_versions() for r in results]
    ctx.check(all(len(p) == 1 for p in printed), f"each run should print one version, printed {printed}")
    catalog = ctx.catalog(DATASET)
    versions = catalog["version"].tolist()
    ctx.check(len(versions) == 2, f"published versions {versions}, expected two")
    ctx.check(sorted(sum(printed, [])) == versions, f"printed versions {printed}, published {versions}")
    ctx.check(catalog["model_id"].nunique() == 2, f"model ids {catalog['model_id'].tolist()}")
    snapshots = published_state(ctx)
    ctx.check(len(set(snapshots.values())) == len(snapshots), "two versions hold identical rows")
    hashes = [load_config(c).datasets[DATASET].config_hash() for c in configs]
    for run_printed, config_hash in zip(printed, hashes, strict=True):
        rows = catalog[catalog["version"].isin(run_printed)]
        ctx.check(rows["config_hash"].tolist() == [config_hash], f"v{run_printed} records another run's config")
    return (
        "published",
        f"printed {printed}; catalog {catalog['version'].tolist()} models {catalog['model_id'].nunique()}",
    )


@probe("concurrency", "published")
def two_concurrent_runs_same_config(ctx: Ctx):
    config = valid_config(ctx)
    started = time.perf_counter()
    processes = [start_cli(["run", str(config)]) for _ in range(2)]
    results = [finish(p, ["run", str(config)], started, 300) for p in processes]
    outcomes = [outcome(r) for r in results]
    if any(o[0] != "published" for o in outcomes):
        return next(o for o in outcomes if o[0] != "published")
    printed = [r.published_versions() for r in results]
    catalog = ctx.catalog(DATASET)
    versions = catalog["version"].tolist()
    ctx.check(len(versions) == 2, f"published versions {versions}, expected two")
    ctx.check(sorted(sum(printed, [])) == versions, f"printed versions {printed}, published {versions}")
    ctx.check(catalog["model_id"].nunique() == 2, f"one model published twice: {catalog['model_id'].tolist()}")
    return "published", f"printed {printed}; catalog {catalog['version'].tolist()}"


# -- killed runs -----------------------------------------------------------------------------------
KILL_WORKER = """
import json, sys, time
import pandas as pd
from synth_pipeline.warehouse import SnapshotStore
path, stage = sys.argv[1], sys.argv[2]
def hook(at, info):
    if at == stage:
        print(json.dumps(info), flush=True)
        time.sleep(120)
SnapshotStore(path, on_publish_stage=hook).publish("d", pd.DataFrame({"x": range(50)}), {"model_id": "victim"})
"""


def kill_at_stage(ctx: Ctx, stage: str) -> tuple[str, str]:
    before = publish_v1(ctx)
    if before is None:
        return "not-published", "version 1 was not published"
    worker = subprocess.Popen(
        [sys.executable, "-c", KILL_WORKER, str(ctx.warehouse), stage],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = worker.stdout.readline()
    os.killpg(worker.pid, signal.SIGKILL)
    worker.communicate()
    if not ctx.check(bool(line), f"the worker never reached {stage}"):
        return "harness-error", worker.stderr.read() if worker.stderr else ""
    check_intact(ctx, before, f"killed at {stage}")
    after = ctx.run(valid_config(ctx))
    printed = after.published_versions()
    ctx.check(
        len(printed) == 1 and printed[0] > 1 and printed[0] == ctx.catalog(DATASET)["version"].max(),
        f"the next run printed {printed}, not one new published version",
    )
    return (
        "intact" if not ctx.failures else "damaged"
    ), f"killed inside publish at {stage} of v{json.loads(line)['version']}"


@probe("kill", "intact")
def sigkill_after_table_created(ctx: Ctx):
    return kill_at_stage(ctx, "table_created")


@probe("kill", "intact")
def sigkill_after_catalog_written(ctx: Ctx):
    return kill_at_stage(ctx, "catalog_written")


def wait_for_report(ctx: Ctx, process: subprocess.Popen, reports_before: int, limit: float = 240) -> bool:
    """Until the run has written its QA report (the step before the gates and the publish), or ended."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        if len(ctx.report_files()) > reports_before:
            return True
        time.sleep(0.02)
    return False


@probe("kill", "intact")
def sigkill_cli_run_around_publish(ctx: Ctx):
    """SIGKILL ``run`` at offsets after its QA report appears, i.e. in the gates and the publish."""
    before = publish_v1(ctx)
    if before is None:
        return "not-published", "version 1 was not published"
    offsets = (0.0, 0.2, 0.5, 1.0, 2.0)
    reached = 0
    for offset in offsets:
        reports = len(ctx.report_files())
        process = start_cli(["run", str(valid_config(ctx))])
        reached += wait_for_report(ctx, process, reports)
        time.sleep(offset)
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        check_intact(ctx, before, f"killed {offset} s after the QA report")
        before = {**before, **{v: h for v, h in published_state(ctx).items() if v not in before}}
    ctx.check(reached == len(offsets), f"only {reached} of {len(offsets)} runs reached their QA report")
    verdict = "intact" if not ctx.failures else "damaged"
    return verdict, f"{len(offsets)} kills 0-2 s after the QA report; published versions now {sorted(before)}"


# -- warehouses that cannot be written ----------------------------------------------------------------
def make_read_only(ctx: Ctx, path: Path) -> None:
    if os.geteuid() == 0:  # root ignores permission bits; the immutable attribute stops root too
        subprocess.run(["chattr", "+i", str(path)], check=True)
        ctx.cleanups.append(lambda: subprocess.run(["chattr", "-i", str(path)], check=True))
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        ctx.cleanups.append(lambda: path.chmod(mode))


@probe("read-only", "error")
def read_only_warehouse_directory(ctx: Ctx):
    ctx.warehouse.parent.mkdir(parents=True)
    make_read_only(ctx, ctx.warehouse.parent)
    result = ctx.run(valid_config(ctx))
    got = outcome(result, (str(ctx.warehouse.parent.name),))
    ctx.check("locked by another process" not in result.stderr, "a read-only directory is reported as a lock")
    return got


@probe("read-only", "error")
def read_only_warehouse_file(ctx: Ctx):
    before = publish_v1(ctx)
    if before is None:
        return "not-published", "version 1 was not published"
    make_read_only(ctx, ctx.warehouse)
    make_read_only(ctx, ctx.warehouse.parent)
    result = ctx.run(valid_config(ctx))
    got = outcome(result, ("warehouse.duckdb",))
    ctx.check("locked by another process" not in result.stderr, "a read-only file is reported as a lock")
    check_intact(ctx, before, "after the refused publish")
    return got


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("select count(*) from snapshots").fetchall()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@probe("read-only", "published")
def reader_holds_warehouse_briefly(ctx: Ctx):
    before = publish_v1(ctx)
    if before is None:
        return "not-published", "version 1 was not published"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ctx.warehouse), "8"], env=child_env(), stdout=subprocess.PIPE, text=True
    )
    holder.stdout.readline()
    result = ctx.run(valid_config(ctx))
    holder.wait(timeout=60)
    check_intact(ctx, before, "after publishing past a reader")
    got, line = outcome(result)
    if got == "published":
        published = ctx.catalog(DATASET)["version"].tolist()
        ctx.check(len(published) == 2, f"published versions {published}, expected two")
        ctx.check(result.published_versions() == published[-1:], f"printed {result.published_versions()}")
    return got, line


@probe("read-only", "error")
def reader_holds_warehouse_past_lock_wait(ctx: Ctx):
    """A consumer keeps a connection open; with a short configured wait the publish fails, naming the lock."""
    before = publish_v1(ctx)
    if before is None:
        return "not-published", "version 1 was not published"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ctx.warehouse), "120"], env=child_env(), stdout=subprocess.PIPE, text=True
    )
    ctx.cleanups.append(lambda: (holder.kill(), holder.wait()))
    holder.stdout.readline()
    config = valid_config(ctx, "short_wait.yaml")
    text = config.read_text().replace(
        f"warehouse: {ctx.warehouse}", f"warehouse:\n  path: {ctx.warehouse}\n  lock_timeout_seconds: 2"
    )
    config.write_text(text)
    result = ctx.run(config)
    ctx.check(holder.poll() is None, "the run waited for the reader to let go instead of the configured 2 s")
    got = outcome(result, ("warehouse.duckdb",))
    if got[0] == "error":
        ctx.check("lock" in got[1].lower(), "the error does not say the warehouse is locked")
    holder.kill()
    holder.wait()
    check_intact(ctx, before, "after the refused publish")
    return got


# -- tampered models -------------------------------------------------------------------------------------
_MODELS: dict[str, Path] = {}
_MODELS_LOCK = threading.Lock()
_MODELS_ROOT = Path(tempfile.mkdtemp(prefix="probe-models-"))
atexit.register(shutil.rmtree, _MODELS_ROOT, True)


def pristine_model(generator: str) -> Path:
    """A model fitted once per run of the probes (``fit`` on a small table), shared read-only by the probes."""
    with _MODELS_LOCK:
        if generator not in _MODELS:
            data = _MODELS_ROOT / "training.csv"
            number_table(300).to_csv(data, index=False)
            model = _MODELS_ROOT / generator
            args = ["fit", "--data", data, "--model-dir", model, "--generator", generator]
            if generator == "argn":
                args += ["--setting", "max_training_seconds=10"]
            result = run_cli(args)
            if result.rc != 0:
                raise RuntimeError(f"fit {generator} failed: {result.summary()}")
            _MODELS[generator] = model
        return _MODELS[generator]


def tampered(ctx: Ctx, generator: str, change) -> Path:
    model = ctx.tmp / "tampered-model"
    shutil.copytree(pristine_model(generator), model)
    change(model)
    return model


def edit_json(change):
    def apply(model: Path) -> None:
        path = model / "generator.json"
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))

    return apply


def resize_array(pattern: str):
    def apply(model: Path) -> None:
        with np.load(model / "arrays.npz") as archive:
            arrays = {k: archive[k] for k in archive.files}
        key = next(k for k, v in arrays.items() if pattern in k and v.size > 2)
        arrays[key] = arrays[key].reshape(-1)[:-1]
        np.savez(model / "arrays.npz", **arrays)

    return apply


def sample_from(ctx: Ctx, model: Path, *extra: str, mentions: tuple[str, ...] = ("tampered-model",)):
    out = ctx.tmp / "out.csv"
    result = run_cli(
        ["sample", "--model-dir", model, "--out", out, *extra]
        if extra
        else ["sample", "--model-dir", model, "--rows", "20", "--out", out]
    )
    return outcome(result, mentions)


TAMPERS = {
    "schema_removed": ("copula", edit_json(lambda d: d.pop("schema"))),
    "json_truncated": ("copula", lambda m: (m / "generator.json").write_text((m / "generator.json").read_text()[:300])),
    "arrays_garbage": ("copula", lambda m: (m / "arrays.npz").write_bytes(b"PK\x03\x04 not a zip at all" * 40)),
    "arrays_missing": ("copula", lambda m: (m / "arrays.npz").unlink()),
    "array_resized": ("copula", resize_array("cumulative")),
    "training_rows_negative": ("copula", edit_json(lambda d: d.update(n_training_rows=-5))),
    "format_version_future": ("copula", edit_json(lambda d: d.update(format_version=999))),
    "generator_unknown": ("copula", edit_json(lambda d: d.update(generator="gan9000"))),
    "column_kind_bogus": ("copula", edit_json(lambda d: d["schema"]["columns"][0].update(kind="hologram"))),
    "argn_device_cuda7": ("argn", edit_json(lambda d: d["params"].update(device="cuda:7"))),
    "argn_weights_resized": ("argn", resize_array("")),
}


def resealed(change):
    """The tampering, then the checksums recomputed: what the model's own validation (not the checksum) must catch."""

    def apply(model: Path) -> None:
        from synth_pipeline.generators.persistence import write_checksums

        change(model)
        write_checksums(model, [f.name for f in model.iterdir() if f.name != "checksums.json"])

    return apply


RESEALED = (
    "schema_removed",
    "array_resized",
    "training_rows_negative",
    "generator_unknown",
    "column_kind_bogus",
    "argn_device_cuda7",
    "argn_weights_resized",
)


def _tamper_probe(name: str, generator: str, change) -> None:
    def run(ctx: Ctx):
        return sample_from(ctx, tampered(ctx, generator, change))

    run.__name__ = f"tampered_model_{name}"
    probe("tampered model", "error", quick=name == "schema_removed")(run)


for _name, (_generator, _change) in TAMPERS.items():
    _tamper_probe(_name, _generator, _change)
for _name in RESEALED:
    _tamper_probe(f"{_name}_resealed", TAMPERS[_name][0], resealed(TAMPERS[_name][1]))


@probe("sample options", "ok", quick=True)
def sample_untampered_model(ctx: Ctx):
    got, line = sample_from(ctx, pristine_model("copula"))
    out = ctx.tmp / "out.csv"
    ctx.check(out.exists() and len(out.read_text().splitlines()) == 21, "did not write 20 rows")
    return got, line


@probe("sample options", ("error", "ok"), quick=True)
def sample_rows_zero(ctx: Ctx):
    """Zero rows: a clear refusal, or a valid empty file (the header: the model's columns)."""
    got, line = sample_from(ctx, pristine_model("copula"), "--rows", "0", mentions=("rows",))
    if got == "ok":
        out = ctx.tmp / "out.csv"
        lines = out.read_text().splitlines() if out.exists() else []
        ctx.check(len(lines) == 1 and "amount" in lines[0], f"not an empty table with a header: {lines[:2]}")
    return got, line


@probe("sample options", "error")
def sample_rows_negative(ctx: Ctx):
    return sample_from(ctx, pristine_model("copula"), "--rows", "-5", mentions=("rows",))


@probe("sample options", "error")
def sample_batch_rows_zero(ctx: Ctx):
    return sample_from(ctx, pristine_model("copula"), "--rows", "10", "--batch-rows", "0", mentions=("batch",))


@probe("sample options", "error")
def sample_missing_model_dir(ctx: Ctx):
    return sample_from(ctx, ctx.tmp / "no-model", "--rows", "10", mentions=("no-model",))


@probe("sample options", "error")
def snapshots_unknown_dataset(ctx: Ctx):
    before = publish_v1(ctx)
    if before is None:
        return "not-published", "version 1 was not published"
    result = run_cli(["snapshots", "show", "nosuch", "--warehouse", ctx.warehouse])
    return outcome(result, ("nosuch",))
