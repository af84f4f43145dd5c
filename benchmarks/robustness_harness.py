"""The machinery of the robustness probes (benchmarks/robustness.py): run, classify, check.

A probe builds its input in its own temporary directory, runs the real command line as a user would
(``python -m assets.cli ...`` from the repo root, ``PYTHONPATH`` = the repo root) and classifies what
came back:

* ``error``: exit status 2, one ``error: ...`` line, the last one on stderr, no traceback anywhere,
  naming what the probe says it must name (a column, a setting, a path);
* ``blocked``: exit status 1, a blocking gate named, no traceback;
* ``published``: ``run`` exited 0; ``ok``: another command exited 0;
* anything else is spelled out (``crash(rc=1, traceback)``, ``error(3 lines)``, ``timeout`` ...).

Post-conditions a probe adds with :meth:`Ctx.check` (and the checks every ``run`` probe gets): no
published snapshot holds training rows verbatim beyond the source's own duplicate rate, no published
report (HTML/JSON beside the warehouse) holds a planted real value, earlier versions survive faults.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TRACEBACK_MARKERS = ("Traceback (most recent call last)", "Stack Trace:", '  File "')
ERROR_LINE = re.compile(r"^(?:[\w.-]+: )?error: ")
PUBLISHED_LINE = re.compile(r"published version (\d+)")
DEFAULT_TIMEOUT = 240.0


# -- running the command line ------------------------------------------------------------
@dataclass
class CliResult:
    """What one command printed and returned (``rc`` None: killed by the probe's timeout)."""

    args: list[str]
    rc: int | None
    stdout: str
    stderr: str
    seconds: float

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if ERROR_LINE.match(line)]

    def last_line(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def has_traceback(self) -> bool:
        return any(marker in self.stderr or marker in self.stdout for marker in TRACEBACK_MARKERS)

    def published_versions(self) -> list[int]:
        return [int(v) for v in PUBLISHED_LINE.findall(self.stdout)]

    def summary(self) -> str:
        """One line for the table: the error line, the published line, or the last line on stderr."""
        errors = self.error_lines()
        if errors:
            return errors[-1]
        published = [line for line in self.stdout.splitlines() if PUBLISHED_LINE.search(line)]
        if published:
            return published[-1]
        if self.last_line():
            return self.last_line()
        out = self.stdout.strip().splitlines()
        return out[-1] if out else ""


_PROBE = threading.local()  # the running probe's own directory, per worker thread


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a command: the repo's code, quiet numerics, and the probe's own Dagster instance
    (``run`` records into ``$DAGSTER_HOME``, by default ``.synth/dagster`` of the working directory: each probe
    is a user in a directory of their own, the two runs of a concurrency probe share theirs)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "SYNTH_PIPELINE_CONFIG")}
    home = getattr(_PROBE, "tmp", None)
    if home is not None:
        (home / "dagster").mkdir(exist_ok=True)
        env["DAGSTER_HOME"] = str(home / "dagster")
    env.update(
        PYTHONPATH=str(ROOT),
        OMP_WAIT_POLICY="PASSIVE",
        GX_ANALYTICS_ENABLED="false",
        OMP_NUM_THREADS="1",
        PYTHONWARNINGS="ignore",
        COLUMNS="200",
    )
    env.update(extra or {})
    return env


def start_cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``python -m assets.cli ARGS`` from the repo root in a session of its own (so it can be killed whole)."""
    return subprocess.Popen(
        [sys.executable, "-m", "assets.cli", *args],
        cwd=ROOT,
        env=child_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen, args: list[str], started: float, timeout: float) -> CliResult:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        rc = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        rc = None
    return CliResult(args, rc, stdout, stderr, time.perf_counter() - started)


def run_cli(args: list[str], *, timeout: float = DEFAULT_TIMEOUT, env: dict[str, str] | None = None) -> CliResult:
    started = time.perf_counter()
    return finish(start_cli([str(a) for a in args], env), [str(a) for a in args], started, timeout)


def classify(result: CliResult, mentions: Iterable[str] = ()) -> str:
    """``error`` / ``blocked`` / ``published`` / ``ok``, or what went wrong instead."""
    if result.rc is None:
        return "timeout"
    traceback = result.has_traceback()
    if result.rc == 0:
        if traceback:
            return "ok+traceback"
        return "published" if result.args and result.args[0] == "run" else "ok"
    if result.rc == 2:
        errors = result.error_lines()
        if traceback:
            return "error(traceback)"
        if len(errors) != 1:
            return f"error({len(errors)} error lines)"
        if errors[0] != result.last_line():
            extra = result.stderr.split(errors[0], 1)[1].strip().splitlines()
            return f"error({1 + len(extra)} lines)"
        missing = [m for m in mentions if m.lower() not in errors[0].lower()]
        return f"error(does not name {missing[0]!r})" if missing else "error"
    if result.rc == 1:
        text = (result.stdout + result.stderr).lower()
        gate = "gate" in text or "block" in text
        if traceback:
            return "blocked(traceback)" if "blocking quality gate" in text else "crash(rc=1, traceback)"
        return "blocked" if gate else "rc=1(no gate named)"
    return f"crash(rc={result.rc}{', traceback' if traceback else ''})"


# -- tables --------------------------------------------------------------------------------
def churn(rows: int = 500, seed: int = 0) -> pd.DataFrame:
    from synth_pipeline.simulate import simulate_churn

    return simulate_churn(rows, random_state=seed)


def number_table(rows: int = 500, seed: int = 0) -> pd.DataFrame:
    """A small mixed table without an id column: two numbers, two categories."""
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, rows)
    return pd.DataFrame(
        {
            "amount": np.round(x * 3.7 + rng.normal(0, 5, rows), 2),
            "age": np.clip(np.round(x * 0.8), 18, 90).astype("int64"),
            "segment": rng.choice(["a", "b", "c"], rows, p=[0.5, 0.3, 0.2]),
            "flag": rng.choice(["yes", "no"], rows),
        }
    )


def content_hash(frame: pd.DataFrame) -> str:
    text = frame.to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _normal(series: pd.Series, like: pd.Series | None = None) -> pd.Series:
    """A comparable text form of a column (numbers rounded, dates as text)."""
    if pd.api.types.is_datetime64_any_dtype(series) or (
        like is not None and pd.api.types.is_datetime64_any_dtype(like) and not pd.api.types.is_numeric_dtype(series)
    ):
        parsed = pd.to_datetime(series, errors="coerce", format="mixed") if series.dtype == object else series
        return pd.Series(parsed).dt.strftime("%Y-%m-%d %H:%M:%S").astype(object)
    if pd.api.types.is_bool_dtype(series):
        return series.astype(str)
    numbers = pd.to_numeric(series, errors="coerce") if not pd.api.types.is_numeric_dtype(series) else series
    if numbers.notna().sum() == series.notna().sum() and series.notna().any():
        return pd.Series(np.round(numbers.astype("float64"), 6)).map(repr)
    return series.astype(str)


def id_like(source: pd.DataFrame) -> list[str]:
    return [
        c
        for c in source.columns
        if source[c].nunique(dropna=True) == len(source)
        and len(source) > 3
        and (source[c].dtype == object or pd.api.types.is_string_dtype(source[c]) or c.lower().endswith("id"))
    ]


def row_keys(frame: pd.DataFrame) -> pd.Series:
    text = [
        frame[c].map(lambda v: "<NA>" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)) for c in frame
    ]
    return pd.Series(["\x1f".join(parts) for parts in zip(*text, strict=True)], dtype=object)


def copy_shares(source: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[float, float]:
    """(share of synthetic rows equal to a source row, share of source rows equal to another source row)."""
    columns = [c for c in source.columns if c in synthetic.columns and c not in id_like(source)]
    if not columns or synthetic.empty:
        return 0.0, 0.0
    keys = pd.DataFrame({c: _normal(source[c].reset_index(drop=True)) for c in columns})
    synth = pd.DataFrame({c: _normal(synthetic[c].reset_index(drop=True), source[c]) for c in columns})
    source_keys = row_keys(keys)
    synth_keys = row_keys(synth)
    copies = float(synth_keys.isin(set(source_keys)).mean())
    duplicates = float(source_keys.duplicated(keep=False).mean())
    return copies, duplicates


# -- reports -------------------------------------------------------------------------------
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def report_text(path: Path) -> str:
    text = path.read_text(errors="replace")
    if path.suffix in (".html", ".htm"):
        # the inlined plotly library is not data; what the page shows is unescaped like a browser would
        text = re.sub(r"<script[^>]*>(?:(?!</script>).){200000,}?</script>", " ", text, flags=re.S)
        text = html.unescape(text)
    return text


def leaked_values(paths: Iterable[Path], values: Iterable[Any]) -> list[str]:
    """The planted values (strings, or numbers compared as whole numbers) that appear in any of ``paths``."""
    strings = {str(v) for v in values if isinstance(v, str)}
    numbers = {float(v) for v in values if not isinstance(v, str)}
    found: set[str] = set()
    for path in paths:
        text = report_text(path)
        found |= {f"{s!r} in {path.name}" for s in strings if s in text}
        if numbers:
            tokens = {float(t.replace(",", "")) for t in NUMBER.findall(text)}
            found |= {
                f"{v:.0f} in {path.name}" if v.is_integer() else f"{v!r} in {path.name}" for v in numbers & tokens
            }
    return sorted(found)


# -- one probe's context --------------------------------------------------------------------
@dataclass
class Ctx:
    """A probe's temporary directory, the warehouse it publishes to, and the failed post-conditions."""

    tmp: Path
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def warehouse(self) -> Path:
        return self.tmp / "wh" / "warehouse.duckdb"

    @property
    def private_dir(self) -> Path:
        return self.tmp / "private"

    def check(self, condition: bool, message: str) -> bool:
        if not condition:
            self.failures.append(message)
        return bool(condition)

    def write(self, frame: pd.DataFrame, name: str) -> Path:
        path = self.tmp / name
        if name.endswith(".parquet"):
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        return path

    def dataset(self, source: dict[str, Any] | Path, **settings: Any) -> dict[str, Any]:
        """A dataset entry: the copula (fast) unless ``generator`` is given, small QA."""
        entry: dict[str, Any] = {"source": {"path": str(source)} if isinstance(source, Path) else source}
        entry["generator"] = settings.pop("generator", {"name": "copula"})
        entry.update(settings)
        return entry

    def config(self, datasets: dict[str, Any], name: str = "config.yaml", **top: Any) -> Path:
        data = {"warehouse": str(self.warehouse), "private_dir": str(self.private_dir), **top, "datasets": datasets}
        path = self.tmp / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def run(self, config: Path, *extra: str, timeout: float = DEFAULT_TIMEOUT) -> CliResult:
        return run_cli(["run", str(config), *extra], timeout=timeout)

    # -- what is published --------------------------------------------------------------
    def snapshots(self, dataset: str) -> dict[int, pd.DataFrame]:
        """Every published version of ``dataset`` (read straight from the DuckDB file, read-only)."""
        import duckdb

        catalog = self.catalog(dataset)
        if catalog.empty:
            return {}
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return {int(r.version): con.execute(f'select * from "{r.table_name}"').df() for r in catalog.itertuples()}

    def catalog(self, dataset: str, *, published_only: bool = True) -> pd.DataFrame:
        """The catalog rows of ``dataset``; only published snapshots (a catalog with a status per attempt
        also holds running, blocked and failed attempts, which have no table)."""
        import duckdb

        if not self.warehouse.exists():
            return pd.DataFrame(columns=["version", "table_name"])
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            if "snapshots" not in tables:
                return pd.DataFrame(columns=["version", "table_name"])
            catalog = con.execute("select * from snapshots where dataset = ? order by version", [dataset]).df()
        if published_only and "status" in catalog.columns:
            catalog = catalog[catalog["status"] == "published"]
        return catalog.reset_index(drop=True)

    def report_files(self) -> list[Path]:
        root = self.warehouse.parent
        return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".html", ".json", ".htm"))

    def no_copies(self, source: pd.DataFrame, dataset: str) -> None:
        for version, frame in self.snapshots(dataset).items():
            copies, duplicates = copy_shares(source, frame)
            self.check(
                copies <= duplicates + 0.05,
                f"v{version}: {copies:.0%} of synthetic rows are real rows (source's own duplicates {duplicates:.0%})",
            )

    def no_leak_in_reports(self, values: Iterable[Any], what: str) -> None:
        leaks = leaked_values(self.report_files(), list(values))
        self.check(not leaks, f"{what} in a published report: {', '.join(leaks[:3])}")

    def no_leak_in_snapshots(self, dataset: str, values: Iterable[Any], what: str) -> None:
        planted = {str(v) for v in values}
        for version, frame in self.snapshots(dataset).items():
            found = {str(x) for c in frame.columns for x in frame[c].dropna().astype(str).unique()} & planted
            self.check(not found, f"v{version} publishes {what}: {sorted(found)[:3]}")

    def expect_published_once(self, result: CliResult, dataset: str) -> None:
        if classify(result) == "published":
            versions = list(self.snapshots(dataset))
            self.check(len(versions) >= 1, "exit 0 but no version in the warehouse")

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as error:  # noqa: BLE001 - a cleanup must not hide the probe's result
                self.notes.append(f"cleanup: {error}")


# -- the registry -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    name: str
    group: str
    expect: tuple[str, ...]
    run: Callable[[Ctx], str]
    quick: bool = False


PROBES: list[Probe] = []


def probe(group: str, expect: str | tuple[str, ...], *, quick: bool = False) -> Callable:
    """Register ``fn(ctx) -> outcome`` as a probe; ``expect``: the acceptable outcomes, first the intended one."""

    def register(fn: Callable[[Ctx], str]) -> Callable[[Ctx], str]:
        PROBES.append(Probe(fn.__name__, group, (expect,) if isinstance(expect, str) else expect, fn, quick))
        return fn

    return register


@dataclass
class ProbeResult:
    name: str
    group: str
    expect: tuple[str, ...]
    got: str
    passed: bool
    seconds: float
    detail: str

    def line(self) -> str:
        mark = "pass" if self.passed else "FAIL"
        return (
            f"{self.name:34s} {'|'.join(self.expect):18s} {self.got:26s} {mark:4s} {self.seconds:6.1f}s  {self.detail}"
        )


def execute(p: Probe) -> ProbeResult:
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f"probe-{p.name}-"))
    ctx = Ctx(tmp)
    _PROBE.tmp = tmp
    detail = ""
    try:
        got, detail = p.run(ctx)
    except Exception as error:  # noqa: BLE001 - a harness error is a failed probe, with its reason
        got, detail = "harness-error", f"{type(error).__name__}: {error}"
    finally:
        _PROBE.tmp = None
        ctx.close()
        shutil.rmtree(tmp, ignore_errors=True)
    passed = got in p.expect and not ctx.failures
    if ctx.failures:
        detail = "; ".join(ctx.failures) + (f" | {detail}" if detail else "")
    detail = " ".join(detail.split())[:400]
    return ProbeResult(p.name, p.group, p.expect, got, passed, time.perf_counter() - started, detail)


def outcome(result: CliResult, mentions: Iterable[str] = ()) -> tuple[str, str]:
    """(classification, the one line to show) of a command's result."""
    return classify(result, mentions), result.summary()


def dump(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
