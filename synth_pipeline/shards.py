"""A snapshot is made of shards: fixed-size runs of rows, each a pure function of (model, snapshot seed, number).

:func:`plan_shards` cuts a snapshot of ``n_rows`` into shards of ``shard_rows`` (a config
setting, never the number of workers) and gives shard *i* its own seed, derived from the
snapshot's seed and *i* (:func:`shard_seed`). Whatever runs a shard (this process, a local
worker, a Ray node) writes the same Parquet bytes, so the published snapshot is identical
whichever engine ran it, and a failed shard can be rerun alone.

A shard's file is written atomically into the snapshot's directory in the run's private
area, with a small JSON record beside it (rows, SHA-256 of the file, which datetime
columns hold dates only). A record is only trusted when its plan matches and its file's
hash does, so a rerun picks up the finished shards and samples the rest.
:class:`SnapshotShards` is the finished snapshot: the ordered files, their hashes and the
content hash that ties a quality report to exactly these rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.errors import InvalidDataError, ShardFailedError, StoreError, SynthPipelineError
from synth_pipeline.io import atomic_path
from synth_pipeline.table_files import TableFiles

SHARD_FILE = "shard-{index:05d}.parquet"
RECORD_SUFFIX = ".json"
MANIFEST_FILE = "snapshot.json"
_HASH_BLOCK = 1 << 20


def shard_seed(snapshot_seed: int, index: int) -> int:
    """The sampling seed of shard ``index`` of a snapshot sampled with ``snapshot_seed``."""
    digest = hashlib.sha256(f"shard:{int(snapshot_seed)}:{int(index)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass(frozen=True)
class ShardSpec:
    """What one shard is: its number, its first row in the snapshot, its row count and seed."""

    index: int
    offset: int
    rows: int
    seed: int


@dataclass(frozen=True)
class ShardPlan:
    """The shards of one snapshot, and what makes their rows (a finished shard of another plan is not reused)."""

    model_id: str
    snapshot_seed: int
    n_rows: int
    shard_rows: int
    chunk_rows: int
    shards: tuple[ShardSpec, ...] = field(default=())

    def key(self) -> dict[str, Any]:
        """Everything a shard's rows depend on, besides its number."""
        return {
            "model_id": self.model_id,
            "snapshot_seed": self.snapshot_seed,
            "n_rows": self.n_rows,
            "shard_rows": self.shard_rows,
            "chunk_rows": self.chunk_rows,
        }


def plan_shards(model_id: str, snapshot_seed: int, n_rows: int, shard_rows: int, *, chunk_rows: int) -> ShardPlan:
    """Cut ``n_rows`` into shards of ``shard_rows`` (the last one shorter); at least one shard, even of 0 rows."""
    for name, value in (("n_rows", n_rows), ("shard_rows", shard_rows), ("chunk_rows", chunk_rows)):
        least = 0 if name == "n_rows" else 1
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise InvalidDataError(f"{name} must be an integer of at least {least}, got {value!r}")
    starts = range(0, max(int(n_rows), 1), int(shard_rows))
    shards = tuple(
        ShardSpec(i, start, min(int(shard_rows), int(n_rows) - start), shard_seed(snapshot_seed, i))
        for i, start in enumerate(starts)
    )
    return ShardPlan(model_id, int(snapshot_seed), int(n_rows), int(shard_rows), int(chunk_rows), shards)


@dataclass(frozen=True)
class ShardOutput:
    """One sampled shard as Parquet bytes, with what the publish step needs to know of it."""

    index: int
    rows: int
    data: bytes
    sha256: str
    date_only: dict[str, bool | None]  # per datetime column: all midnights (True), not (False), no values (None)
    rule_report: dict[str, Any] | None
    seconds: float


@dataclass(frozen=True)
class ShardRecord:
    """A finished shard on disk."""

    index: int
    offset: int
    rows: int
    file: str  # the file's name in the snapshot's directory
    sha256: str
    date_only: dict[str, bool | None]
    rule_report: dict[str, Any] | None
    seconds: float


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (a shard file is never read whole)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class ShardStore:
    """The shards of one snapshot in a directory of the run's private area."""

    def __init__(self, directory: str | Path, plan: ShardPlan) -> None:
        self.directory = Path(directory)
        self.plan = plan

    def finished(self, spec: ShardSpec) -> ShardRecord | None:
        """The record of ``spec`` if its shard was written for this plan and its file is intact; else None."""
        record_path = self._path(spec.index).with_suffix(RECORD_SUFFIX)
        try:
            stored = json.loads(record_path.read_text())
        except (OSError, ValueError):
            return None
        if stored.get("plan") != self.plan.key() or stored.get("spec") != asdict(spec):
            return None
        record = ShardRecord(**stored["record"])
        path = self.directory / record.file
        if not path.is_file() or file_sha256(path) != record.sha256:
            return None
        return record

    def save(self, spec: ShardSpec, output: ShardOutput) -> ShardRecord:
        """Write a shard's file, then its record (both atomically): a shard without a record is not finished."""
        if output.index != spec.index or output.rows != spec.rows:
            raise StoreError(f"shard {spec.index}: a worker returned shard {output.index} with {output.rows} rows "
                             f"instead of {spec.rows}")
        if hashlib.sha256(output.data).hexdigest() != output.sha256:
            raise StoreError(f"shard {spec.index}: the Parquet bytes a worker returned do not match their hash")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(spec.index)
        with atomic_path(path) as tmp:
            tmp.write_bytes(output.data)
        record = ShardRecord(
            spec.index, spec.offset, spec.rows, path.name, output.sha256, output.date_only, output.rule_report,
            round(output.seconds, 3),
        )
        with atomic_path(path.with_suffix(RECORD_SUFFIX)) as tmp:
            tmp.write_text(json.dumps({"plan": self.plan.key(), "spec": asdict(spec), "record": asdict(record)}))
        return record

    def _path(self, index: int) -> Path:
        return self.directory / SHARD_FILE.format(index=index)

    def snapshot(self, records: Sequence[ShardRecord]) -> SnapshotShards:
        """The finished snapshot of ``records`` (every shard of the plan, in order); written as its manifest."""
        ordered = sorted(records, key=lambda r: r.index)
        if [r.index for r in ordered] != [s.index for s in self.plan.shards]:
            raise StoreError(f"the snapshot in {self.directory} is missing shards")
        shards = SnapshotShards(str(self.directory.resolve()), [asdict(r) for r in ordered], self.plan.key())
        with atomic_path(self.directory / MANIFEST_FILE) as tmp:
            tmp.write_text(json.dumps(shards.to_record(), indent=1))
        return shards


@dataclass
class SnapshotShards:
    """A sampled snapshot as ordered Parquet shard files: what assess judges and publish loads.

    Travels between steps as :meth:`to_record` (JSON). ``content_hash`` covers every
    shard's row count and file hash, in order, so it names exactly these rows.
    """

    directory: str
    shards: list[dict[str, Any]]
    plan: dict[str, Any]

    @property
    def paths(self) -> list[Path]:
        return [Path(self.directory) / shard["file"] for shard in self.shards]

    @property
    def num_rows(self) -> int:
        return sum(int(shard["rows"]) for shard in self.shards)

    @property
    def content_hash(self) -> str:
        parts = [f"{s['index']}:{s['rows']}:{s['sha256']}" for s in self.shards]
        return hashlib.sha256(("snapshot-shards\n" + "\n".join(parts)).encode()).hexdigest()

    @property
    def date_columns(self) -> list[str]:
        """Datetime columns that hold dates only in every shard that has values (published as DATE)."""
        names: dict[str, list[bool]] = {}
        for shard in self.shards:
            for name, flag in shard["date_only"].items():
                names.setdefault(name, [])
                if flag is not None:
                    names[name].append(bool(flag))
        return [name for name, flags in names.items() if flags and all(flags)]

    def rule_report(self) -> dict[str, Any] | None:
        """What rule enforcement did, summed over the shards (None without rules)."""
        from synth_pipeline.constraints.enforcement import SampleReport

        reports = [shard["rule_report"] for shard in self.shards if shard["rule_report"] is not None]
        if not reports:
            return None
        total = SampleReport()
        for report in reports:
            total.add(SampleReport(**{k: v for k, v in report.items()}))
        return total.to_dict()

    def verify(self) -> None:
        """Raise StoreError when a shard file is missing or differs from the one sampled (its hash)."""
        for shard, path in zip(self.shards, self.paths, strict=True):
            if not path.is_file():
                raise StoreError(f"shard {shard['index']} of the snapshot is missing: {path}")
            if file_sha256(path) != shard["sha256"]:
                raise StoreError(f"shard {shard['index']} of the snapshot changed since it was sampled: {path}")

    @property
    def files(self) -> TableFiles:
        """The shard files as one table handle (streamed reads, subsamples): :mod:`synth_pipeline.table_files`."""
        return TableFiles.of(self.paths)

    def iter_frames(self) -> Iterator[pd.DataFrame]:
        """The rows in bounded batches, in snapshot order."""
        return self.files.pandas_batches()

    def to_pandas(self) -> pd.DataFrame:
        """Every row in one DataFrame: for small snapshots (tests, a notebook); the pipeline never does this."""
        return self.files.to_pandas()

    def head_frame(self) -> pd.DataFrame:
        """An empty frame with the snapshot's columns and dtypes (for schemas and metadata)."""
        return self.files.schema.empty_table().to_pandas()

    def subsample(self, max_rows: int, *, random_state: int) -> pd.DataFrame:
        """A reproducible uniform sample of at most ``max_rows`` rows, in snapshot order, one row group at a time."""
        return self.files.sample(max_rows, seed=random_state).to_pandas()

    def to_record(self) -> dict[str, Any]:
        """JSON-ready data (what travels between the Dagster assets)."""
        return {"directory": self.directory, "shards": self.shards, "plan": self.plan,
                "num_rows": self.num_rows, "content_hash": self.content_hash}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> SnapshotShards:
        """Read back :meth:`to_record`."""
        try:
            return cls(str(record["directory"]), list(record["shards"]), dict(record["plan"]))
        except (KeyError, TypeError) as error:
            raise StoreError(f"not a sampled snapshot's record (missing {error})") from None


def cause(error: BaseException) -> str:
    """An error as a short cause: its message, with its type when it is not one of ours."""
    text = " ".join(str(error).split())[:500]
    return text if isinstance(error, SynthPipelineError) and text else f"{type(error).__name__}: {text}".rstrip(": ")


def shard_failure(index: int, total: int, why: str) -> ShardFailedError:
    """The error of a failed shard: its number, the cause, and that the finished shards are kept for a rerun."""
    return ShardFailedError(
        f"shard {index} of {total} failed: {why}; nothing was published (the finished shards are kept: a rerun "
        "samples only the missing ones)",
        index,
    )


__all__ = [
    "MANIFEST_FILE",
    "ShardOutput",
    "ShardPlan",
    "ShardRecord",
    "ShardSpec",
    "ShardStore",
    "SnapshotShards",
    "cause",
    "file_sha256",
    "plan_shards",
    "shard_failure",
    "shard_seed",
]
