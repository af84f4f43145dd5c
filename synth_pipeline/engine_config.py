"""The ``engine:`` setting of a dataset: where the shards of a snapshot are sampled.

``engine: local`` (the default) samples the shards in the run's own process, one after another;
``engine: {name: ray, address: ray://head:10001, workers: 8}`` sends them to a Ray cluster. The
engine never changes the rows: a shard's rows depend on the model, the snapshot's seed and the
shard's number only (:mod:`synth_pipeline.shards`), so the setting is left out of the config hash.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

#: rows per shard unless a dataset's ``shard_rows`` says otherwise (bounded memory per worker, 40 shards for 10M)
DEFAULT_SHARD_ROWS = 250_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class LocalEngine(_Strict):
    """Shards sampled in the run's process, one after another (memory: one chunk of rows at a time)."""

    name: Literal["local"] = Field("local", description="`local`")

    def describe(self) -> str:
        return "local (in the run's process)"


class RayEngine(_Strict):
    """Shards sampled as tasks on a Ray cluster, by workers that each load the model once (`synth-pipeline[ray]`)."""

    name: Literal["ray"] = Field(description="`ray`")
    address: str | None = Field(
        None,
        description="the cluster: `ray://host:10001` (Ray Client), `host:6379` (the head's GCS port), or `auto` "
        "(the cluster this machine belongs to); empty: start a private local Ray instance for the run",
    )
    workers: int | None = Field(
        None, ge=1, description="workers (Ray actors) sampling at once; default: the cluster's CPUs / cpus_per_worker"
    )
    cpus_per_worker: float = Field(1.0, gt=0, description="CPUs Ray reserves for each worker")
    connect_timeout_seconds: float = Field(
        20.0, gt=0, description="give up reaching the cluster's address after this many seconds"
    )

    def describe(self) -> str:
        return f"ray ({self.address or 'a local Ray instance'})"


def engine_from_name(value: Any) -> Any:
    """``engine: local`` / ``engine: ray`` written as a bare name."""
    return {"name": value} if isinstance(value, str) else value


EngineConfig = Annotated[Union[LocalEngine, RayEngine], Field(discriminator="name")]

__all__ = ["DEFAULT_SHARD_ROWS", "EngineConfig", "LocalEngine", "RayEngine", "engine_from_name"]
