"""The schema of a saved model's ``generator.json``: what loading checks before it builds anything.

A tampered or corrupted file (a missing key, a negative row count, a device
that does not exist, a schema whose id columns disagree with the recorded id
formats) is refused with one :class:`ModelFileError` naming the file and the
problem, instead of a ``KeyError`` deep inside loading.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError, ModelFileError
from synth_pipeline.generators.registry import check_generator_settings

#: format 1: generator.json + arrays.npz; format 2 adds checksums.json (written at save, checked at load)
MODEL_FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SavedColumn(_Strict):
    name: str = Field(min_length=1)
    kind: ColumnKind
    has_missing: StrictBool = False
    reason: str = ""
    format: str | None = None


class SavedSchema(_Strict):
    columns: list[SavedColumn] = Field(min_length=1)

    @field_validator("columns")
    @classmethod
    def _unique(cls, columns: list[SavedColumn]) -> list[SavedColumn]:
        names = [c.name for c in columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"column(s) {', '.join(map(repr, repeated))} appear more than once")
        return columns


class IdFormat(_Strict):
    type: Literal["number", "string"]
    prefix: str = ""
    width: StrictInt = Field(1, ge=1, le=64)
    start: StrictInt = Field(0, ge=-1, description="ids count from here (above every real id); -1: down from -1")


class SavedModelDocument(_Strict):
    """``generator.json``: the format version, the generator and its settings, the schema, the learned state."""

    format_version: Literal[1, 2]
    generator: str
    library_version: str
    params: dict[str, Any]
    column_schema: SavedSchema = Field(alias="schema")
    n_training_rows: StrictInt = Field(ge=1)
    id_columns: dict[str, IdFormat]
    frequencies: dict[str, dict[str, float]]
    fitted_at: str
    fit_seconds: float = Field(ge=0)
    rules: list[dict[str, Any]] = Field(default_factory=list)
    constraints: dict[str, Any] | None = None
    state: dict[str, Any]

    @field_validator("fitted_at")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        datetime.fromisoformat(value)  # ValueError: not an ISO timestamp
        return value

    def check_consistent(self) -> None:
        """The settings fit the generator; id formats and frequencies name columns of the schema (ValueError)."""
        try:
            check_generator_settings(self.generator, self.params)
        except ConfigError as error:
            raise ValueError(f"params: {error}") from None
        kinds = {c.name: c.kind for c in self.column_schema.columns}
        ids = {name for name, kind in kinds.items() if kind is ColumnKind.ID}
        if set(self.id_columns) != ids:
            raise ValueError(
                f"id_columns name {sorted(self.id_columns)} but the schema's id columns are {sorted(ids)}"
            )
        unknown = sorted(set(self.frequencies) - set(kinds))
        if unknown:
            raise ValueError(f"frequencies name column(s) {unknown} that the schema does not have")


def validate_document(data: Any, path: Path) -> SavedModelDocument:
    """``data`` (the parsed ``generator.json`` at ``path``) checked against the schema, or ModelFileError."""
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: expected a JSON object, got {type(data).__name__}")
    version = data.get("format_version")
    if version not in READABLE_FORMAT_VERSIONS:
        raise ModelFileError(
            f"{path} has format version {version!r}; this version of synth_pipeline reads "
            f"{', '.join(map(str, READABLE_FORMAT_VERSIONS))}"
        )
    try:
        document = SavedModelDocument.model_validate(data)
        document.check_consistent()
    except ValidationError as error:
        problems = []
        for item in error.errors()[:5]:
            where = ".".join(str(p) for p in item["loc"]) or "(top level)"
            message = "missing" if item["type"] == "missing" else item["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}")
        raise ModelFileError(f"{path} is not a valid saved model: " + "; ".join(problems)) from None
    except ValueError as error:
        raise ModelFileError(f"{path} is not a valid saved model: {error}") from None
    return document


__all__ = ["MODEL_FORMAT_VERSION", "READABLE_FORMAT_VERSIONS", "SavedModelDocument", "validate_document"]
