"""The saved-model format: ``generator.json`` (settings, schema, state) beside ``arrays.npz``, no pickle.

A generator's state is a nested dict of JSON values and numpy arrays; each array
is moved to the npz file under its path in the state (``state/encoder/0/atoms``)
and replaced in the JSON by ``{"__array__": path}``. Both files are written
atomically, the arrays first, so a reader never finds a JSON without its arrays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from synth_pipeline.columns import json_default
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.io import atomic_path, write_text

MODEL_FORMAT_VERSION = 1
MODEL_FILE = "generator.json"
ARRAYS_FILE = "arrays.npz"


def write_model(path: Path, document: dict[str, Any], state: Any) -> Path:
    """Write ``document`` (the format version first, ``state`` last) into the directory ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    document = {"format_version": MODEL_FORMAT_VERSION, **document, "state": _pack(state, arrays, "state")}
    with atomic_path(path / ARRAYS_FILE) as tmp:
        np.savez(tmp, **arrays)
    write_text(path / MODEL_FILE, json.dumps(document, indent=1, default=json_default))
    return path


def read_model(path: Path) -> tuple[dict[str, Any], Any]:
    """The document and the unpacked state of the model saved in ``path``."""
    model_file = path / MODEL_FILE
    if not model_file.is_file():
        raise InvalidDataError(f"no saved generator in {str(path)!r} (missing {MODEL_FILE})")
    try:
        document = json.loads(model_file.read_text())
    except json.JSONDecodeError as error:
        raise InvalidDataError(f"{model_file} is not valid JSON: {error}") from None
    if document.get("format_version") != MODEL_FORMAT_VERSION:
        raise InvalidDataError(
            f"{model_file} has format version {document.get('format_version')}, expected {MODEL_FORMAT_VERSION}"
        )
    with np.load(path / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return document, _unpack(document["state"], arrays)


def _pack(value: Any, arrays: dict[str, np.ndarray], key: str) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"state entry {key} is an object array; store lists of strings instead")
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {str(k): _pack(v, arrays, f"{key}/{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pack(v, arrays, f"{key}/{i}") for i, v in enumerate(value)]
    return value


def _unpack(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        return {k: _unpack(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v, arrays) for v in value]
    return value
