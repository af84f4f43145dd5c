"""The private model store: trained generators with their metadata, under versioned paths.

A directory tree in the private work area:
``root/<dataset>/<model_id>/`` holds the generator (``Generator.save``) and a
``metadata.json`` (fingerprint, drift profile, config hash, generator name,
creation time). A model is written into a temporary directory and renamed into
place, so a crash never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synth_pipeline.columns import json_default, validate_dataset_name
from synth_pipeline.errors import ConfigError, StoreError
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.persistence import write_checksums
from synth_pipeline.version import __version__

MODEL_METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class ModelInfo:
    """One saved model: where it is and what it was trained on."""

    dataset: str
    model_id: str
    path: Path
    generator: str
    created_at: str
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class ModelStore:
    """Trained generators on disk under versioned paths, with their metadata.

    ``root/<dataset>/<model_id>/`` holds what ``Generator.save`` writes plus
    ``metadata.json``. Model ids sort by creation time:
    ``<dataset>-<UTC timestamp>-<8 hex digits of the model's content hash>``.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ModelStore({str(self.root)!r})"

    def _dataset_dir(self, dataset: str) -> Path:
        return self.root / validate_dataset_name(dataset)

    def save(self, dataset: str, generator: Generator, metadata: Mapping[str, Any] | None = None) -> ModelInfo:
        """Save a fitted generator with ``metadata`` (fingerprint, drift profile, config hash, ...).

        The model is written to a temporary directory and renamed into place.
        """
        directory = self._dataset_dir(dataset)
        metadata = dict(metadata or {})
        name = getattr(generator, "name", "") or type(generator).__name__
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".tmp-{uuid.uuid4().hex}"
        try:
            generator.save(tmp)
            created = datetime.now(UTC)
            digest = hashlib.sha256()
            for file in sorted(p for p in tmp.rglob("*") if p.is_file()):
                digest.update(file.relative_to(tmp).as_posix().encode())
                digest.update(file.read_bytes())
            model_id = f"{dataset}-{created.strftime('%Y%m%dT%H%M%S%f')}Z-{digest.hexdigest()[:8]}"
            document = {
                **metadata,
                "model_id": model_id,
                "dataset": dataset,
                "generator": name,
                "created_at": created.isoformat(),
                "library_version": __version__,
            }
            try:
                text = json.dumps(document, default=json_default, indent=1, sort_keys=True)
            except (TypeError, ValueError) as error:
                raise ConfigError(f"model metadata cannot be stored as JSON: {error}") from None
            (tmp / MODEL_METADATA_FILE).write_text(text)
            write_checksums(tmp, [MODEL_METADATA_FILE])  # loading then notices a changed metadata file too
            final = directory / model_id
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return ModelInfo(dataset, model_id, final, name, document["created_at"], json.loads(text))

    def list(self, dataset: str) -> list[ModelInfo]:
        """The complete models saved for ``dataset``, oldest first."""
        directory = self._dataset_dir(dataset)
        if not directory.is_dir():
            return []
        models = []
        for path in directory.iterdir():
            if path.name.startswith(".") or not (path / MODEL_METADATA_FILE).is_file():
                continue  # temporary or foreign directories
            try:
                metadata = json.loads((path / MODEL_METADATA_FILE).read_text())
            except (OSError, json.JSONDecodeError) as error:
                raise StoreError(f"model metadata {str(path / MODEL_METADATA_FILE)!r} is unreadable: {error}") from None
            models.append(
                ModelInfo(
                    dataset,
                    path.name,
                    path,
                    str(metadata.get("generator", "")),
                    str(metadata.get("created_at", "")),
                    metadata,
                )
            )
        return sorted(models, key=lambda m: (m.created_at, m.model_id))

    def latest_id(self, dataset: str) -> str | None:
        """The id of the newest model of ``dataset``, or None."""
        models = self.list(dataset)
        return models[-1].model_id if models else None

    def info(self, dataset: str, model_id: str | None = None) -> ModelInfo:
        """Metadata of one model (the newest by default) without loading the generator."""
        models = self.list(dataset)
        if not models:
            raise StoreError(f"no trained model for dataset {dataset!r} under {str(self.root)!r}; train one first")
        if model_id is None:
            return models[-1]
        for model in models:
            if model.model_id == model_id:
                return model
        raise StoreError(
            f"dataset {dataset!r} has no model {model_id!r} under {str(self.root)!r}; "
            f"available: {', '.join(m.model_id for m in models)}"
        )

    def load(self, dataset: str, model_id: str | None = None) -> tuple[Generator, dict[str, Any]]:
        """Load a saved generator (the newest by default) and its metadata."""
        info = self.info(dataset, model_id)
        return Generator.load(info.path), dict(info.metadata)


__all__ = ["MODEL_METADATA_FILE", "ModelInfo", "ModelStore"]
