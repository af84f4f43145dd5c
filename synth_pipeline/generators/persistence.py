"""The saved-model format: ``generator.json`` (settings, schema, state) beside ``arrays.npz``, no pickle.

A generator's state is a nested dict of JSON values and numpy arrays; each array
is moved to the npz file under its path in the state (``state/encoder/0/atoms``)
and replaced in the JSON by ``{"__array__": path}``. Both files are written
atomically, the arrays first, then ``checksums.json`` (the SHA-256 of every file),
so a reader never finds a JSON without its arrays.

Loading checks, before it builds anything, that every file is there, that each
matches the checksum written at save, that ``generator.json`` fits its schema
(:class:`.model_document.SavedModelDocument`) and that the arrays it names are in ``arrays.npz``:
anything else is one :class:`ModelFileError` naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from synth_pipeline.columns import json_default
from synth_pipeline.errors import ModelFileError
from synth_pipeline.generators.model_document import MODEL_FORMAT_VERSION, validate_document
from synth_pipeline.io import atomic_path, write_text

MODEL_FILE = "generator.json"
ARRAYS_FILE = "arrays.npz"
CHECKSUMS_FILE = "checksums.json"


def write_model(path: Path, document: dict[str, Any], state: Any) -> Path:
    """Write ``document`` (the format version first, ``state`` last) into the directory ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    document = {"format_version": MODEL_FORMAT_VERSION, **document, "state": _pack(state, arrays, "state")}
    with atomic_path(path / ARRAYS_FILE) as tmp:
        np.savez(tmp, **arrays)
    write_text(path / MODEL_FILE, json.dumps(document, indent=1, default=json_default))
    write_checksums(path, [ARRAYS_FILE, MODEL_FILE])
    return path


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(path: Path, files: list[str]) -> None:
    """Record the checksums of ``files`` (names in the directory ``path``), beside those recorded already."""
    recorded = _read_checksums(path) if (path / CHECKSUMS_FILE).is_file() else {}
    recorded.update({name: file_digest(path / name) for name in files})
    write_text(path / CHECKSUMS_FILE, json.dumps({"sha256": dict(sorted(recorded.items()))}, indent=1))


def verify_checksums(path: Path) -> None:
    """Every file ``checksums.json`` lists is there and unchanged since it was saved (ModelFileError otherwise)."""
    for name, expected in _read_checksums(path).items():
        file = path / name
        if not file.is_file():
            raise ModelFileError(f"{file} is missing (the model was saved with it)")
        if file_digest(file) != expected:
            raise ModelFileError(
                f"{file} does not match the checksum written when the model was saved: it was changed or "
                "corrupted afterwards; restore it or train the model again"
            )


def _read_checksums(path: Path) -> dict[str, str]:
    file = path / CHECKSUMS_FILE
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{file} is missing (a model of format {MODEL_FORMAT_VERSION} is saved with it)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{file} is unreadable: {error}") from None
    sums = data.get("sha256") if isinstance(data, dict) else None
    valid = isinstance(sums, dict) and all(
        isinstance(k, str) and "/" not in k and isinstance(v, str) and len(v) == 64 for k, v in sums.items()
    )
    if not valid or MODEL_FILE not in sums or ARRAYS_FILE not in sums:
        raise ModelFileError(f"{file} is not a checksum list of the model's files")
    return dict(sums)


def read_model(path: Path) -> tuple[dict[str, Any], Any]:
    """The document (validated, see :class:`SavedModelDocument`) and the unpacked state of the model in ``path``."""
    model_file = path / MODEL_FILE
    if not model_file.is_file():
        raise ModelFileError(f"no saved generator in {str(path)!r} (missing {MODEL_FILE})")
    checked = (path / CHECKSUMS_FILE).exists()
    if checked:
        verify_checksums(path)
    try:
        data = json.loads(model_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{model_file} is not valid JSON: {error}") from None
    if not checked and isinstance(data, dict) and data.get("format_version") == MODEL_FORMAT_VERSION:
        verify_checksums(path)  # says that the checksums are missing
    validate_document(data, model_file)
    arrays = _read_arrays(path / ARRAYS_FILE)
    return data, _unpack(data["state"], arrays, model_file)


def _read_arrays(file: Path) -> dict[str, np.ndarray]:
    if not file.is_file():
        raise ModelFileError(f"{file} is missing")
    try:
        with np.load(file, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise ModelFileError(f"{file} is not a readable array archive: {error}") from None


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


def _unpack(value: Any, arrays: Mapping[str, np.ndarray], model_file: Path) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            if value["__array__"] not in arrays:
                raise ModelFileError(f"{model_file} names array {value['__array__']!r}, which {ARRAYS_FILE} lacks")
            return arrays[value["__array__"]]
        return {k: _unpack(v, arrays, model_file) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v, arrays, model_file) for v in value]
    return value
