"""A saved model is checked on load: its files, their checksums, generator.json's schema, the state's shapes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from synth_pipeline.errors import InvalidDataError, ModelFileError
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.persistence import ARRAYS_FILE, CHECKSUMS_FILE, MODEL_FILE, write_checksums
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.model_store import MODEL_METADATA_FILE, ModelStore
from synth_pipeline.simulate import simulate_churn


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    table = simulate_churn(300, random_state=0)
    root = tmp_path_factory.mktemp("models")
    paths = {}
    for name, settings in [("copula", {}), ("argn", {"max_epochs": 1})]:
        make_generator(name, random_state=0, **settings).fit(table).save(root / name)
        paths[name] = root / name
    return paths


def _copy(saved: dict[str, Path], name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(saved[name], target)
    return target


def _edit_json(path: Path, change: Callable[[dict], None], *, resign: bool = True) -> None:
    document = json.loads((path / MODEL_FILE).read_text())
    change(document)
    (path / MODEL_FILE).write_text(json.dumps(document))
    if resign:  # as someone who also rewrote the checksums would: the schema check must still catch it
        write_checksums(path, [MODEL_FILE])


def _edit_arrays(path: Path, change: Callable[[dict], None]) -> None:
    with np.load(path / ARRAYS_FILE) as npz:
        arrays = {key: npz[key] for key in npz.files}
    change(arrays)
    np.savez(path / ARRAYS_FILE, **arrays)
    write_checksums(path, [ARRAYS_FILE])


def _set(*keys: str, value) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        target = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


def _drop(key: str) -> Callable[[dict], None]:
    return lambda document: document.pop(key)


def _non_psd(arrays: dict) -> None:
    key = next(k for k in arrays if k.endswith("correlation"))
    matrix = arrays[key].copy()
    matrix[0, 1] = matrix[1, 0] = 1.5  # a "correlation" above 1 leaves the matrix indefinite
    arrays[key] = matrix


def _wrong_size(arrays: dict) -> None:
    key = next(k for k in arrays if "network" in k and arrays[k].ndim == 2)
    arrays[key] = np.zeros((arrays[key].shape[0] + 3, arrays[key].shape[1]), dtype=arrays[key].dtype)


TAMPERINGS = {
    "missing schema key": ("copula", lambda p: _edit_json(p, _drop("schema")), rf"{MODEL_FILE}.*schema: missing"),
    "negative row count": (
        "copula", lambda p: _edit_json(p, _set("n_training_rows", value=-5)), r"n_training_rows: .*greater than"
    ),
    "nonexistent device": ("argn", lambda p: _edit_json(p, _set("params", "device", value="cuda:7")), r"device"),
    "unknown generator": ("copula", lambda p: _edit_json(p, _set("generator", value="gan")), r"unknown generator"),
    "id columns disagree": (
        "copula", lambda p: _edit_json(p, _set("id_columns", "nope", value={"type": "number"})), r"id_columns name"
    ),
    "future format": ("copula", lambda p: _edit_json(p, _set("format_version", value=7)), r"format version 7"),
    "state entry missing": (
        "copula", lambda p: _edit_json(p, lambda d: d["state"].pop("marginals")), r"missing entry 'marginals'"
    ),
    "edited without checksum": (
        "copula", lambda p: _edit_json(p, _set("fit_seconds", value=1.0), resign=False), r"does not match the checksum"
    ),
    "checksums deleted": ("copula", lambda p: (p / CHECKSUMS_FILE).unlink(), rf"{CHECKSUMS_FILE} is missing"),
    "not json": (
        "copula",
        lambda p: ((p / MODEL_FILE).write_text("{not json"), write_checksums(p, [MODEL_FILE])),
        r"is not valid JSON",
    ),
    "corrupted zip": (
        "copula",
        lambda p: ((p / ARRAYS_FILE).write_bytes(b"PK\x03\x04 broken"), write_checksums(p, [ARRAYS_FILE])),
        rf"{ARRAYS_FILE} is not a readable array archive",
    ),
    "arrays deleted": ("argn", lambda p: (p / ARRAYS_FILE).unlink(), rf"{ARRAYS_FILE} is missing"),
    "array missing": ("argn", lambda p: _edit_arrays(p, lambda a: a.pop(next(iter(a)))), r"which arrays.npz lacks"),
    "wrong tensor size": ("argn", lambda p: _edit_arrays(p, _wrong_size), r"does not fit the model: .*size mismatch"),
    "non-PSD correlation": ("copula", lambda p: _edit_arrays(p, _non_psd), r"not positive semi-definite"),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_a_tampered_model_gives_one_clear_error_naming_the_file(saved, tmp_path, tampering):
    name, tamper, message = TAMPERINGS[tampering]
    path = _copy(saved, name, tmp_path)
    tamper(path)
    with pytest.raises(ModelFileError, match=message) as raised:
        Generator.load(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)
    assert isinstance(raised.value, InvalidDataError)  # the CLI reports it as a data error


def test_an_untampered_model_loads_and_samples(saved, tmp_path):
    for name in saved:
        path = _copy(saved, name, tmp_path)
        assert len(Generator.load(path).sample(20, random_state=1)) == 20


def test_a_model_of_format_1_without_checksums_still_loads(saved, tmp_path):
    path = _copy(saved, "copula", tmp_path)
    (path / CHECKSUMS_FILE).unlink()
    _edit_json(path, _set("format_version", value=1), resign=False)
    assert len(Generator.load(path).sample(5)) == 5


def test_the_model_store_checks_its_metadata_file_too(tmp_path):
    store = ModelStore(tmp_path / "models")
    info = store.save("churn", make_generator("copula", random_state=0).fit(simulate_churn(200, random_state=1)))
    metadata = json.loads((info.path / MODEL_METADATA_FILE).read_text())
    metadata["config_hash"] = "forged"
    (info.path / MODEL_METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(ModelFileError, match=rf"{MODEL_METADATA_FILE} does not match the checksum"):
        store.load("churn")


def test_a_copula_marginal_whose_arrays_do_not_fit_is_refused_even_with_fresh_checksums(tmp_path):
    import numpy as np

    from synth_pipeline.generators.copula import GaussianCopulaGenerator, _Marginal

    model = GaussianCopulaGenerator(random_state=0).fit(simulate_churn(300))
    states = [m.to_state() for m in model.marginals_]
    discrete = next(s for s in states if s["mode"] == "discrete")
    with pytest.raises(ValueError, match="interval edges"):
        _Marginal.from_state({**discrete, "cumulative": discrete["cumulative"][:-1]})
    with pytest.raises(ValueError, match="cumulative distribution"):
        _Marginal.from_state({**discrete, "cumulative": discrete["cumulative"][::-1].copy()})
    quantile = next(s for s in states if s["mode"] == "quantile")
    with pytest.raises(ValueError, match="grid values"):
        _Marginal.from_state({**quantile, "grid": quantile["grid"][:-1]})
    with pytest.raises(ValueError, match="not increasing"):
        _Marginal.from_state({**quantile, "grid": np.asarray(quantile["grid"])[::-1].copy()})
    for state in states:  # what the model saved loads as it is
        _Marginal.from_state(state)
