"""What a config (or a generator's ``column_kinds``) declares about a column: its kind, and how its text is written.

Two forms, both accepted everywhere::

    columns:
      age: integer                                   # the short form: a kind
      when: {kind: datetime, format: "%d/%m/%Y"}     # the long form: a kind and the dates' format

A declared format wins over inference; values that do not fit it are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer, model_validator

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError
from synth_pipeline.text_values import check_date_format


class ColumnOverride(BaseModel):
    """A column's declared kind and, for dates written as text, their format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ColumnKind = Field(description="the column kind: " + ", ".join(k.value for k in ColumnKind))
    format: str | None = Field(
        None, description="datetime only: the strftime format its text is written in (e.g. '%d/%m/%Y'), or ISO8601"
    )

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> ColumnKind:
        try:
            return ColumnKind.parse(value)
        except ConfigError as error:
            raise ValueError(str(error).removeprefix("kind: ")) from None

    @model_validator(mode="after")
    def _format(self) -> ColumnOverride:
        if self.format is not None:
            if self.kind is not ColumnKind.DATETIME:
                raise ValueError(f"format applies to datetime columns only, not to {self.kind.value}")
            try:
                check_date_format(self.format, setting="format")
            except ConfigError as error:
                raise ValueError(str(error)) from None
        return self

    @model_serializer(mode="wrap")
    def _short_form(self, handler: Any) -> Any:
        # a bare kind stays a bare kind, so configs written before the long form keep their hash
        return self.kind.value if self.format is None else handler(self)

    def to_setting(self) -> str | dict[str, str]:
        """The override as plain data (a generator's ``column_kinds`` value)."""
        return self.kind.value if self.format is None else {"kind": self.kind.value, "format": self.format}


def short_form_to_mapping(value: Any) -> Any:
    """A bare kind (``"integer"``) as ``{"kind": "integer"}``; anything else unchanged (for validators)."""
    if isinstance(value, (str, ColumnKind)):
        return {"kind": value}
    return value


def parse_override(value: Any, *, setting: str) -> ColumnOverride:
    """One override from either form, with a ConfigError naming ``setting``."""
    if isinstance(value, ColumnOverride):
        return value
    if not isinstance(value, (str, ColumnKind, Mapping)):
        raise ConfigError(f"{setting}: expected a column kind or {{kind: ..., format: ...}}, got {value!r}")
    try:
        return ColumnOverride.model_validate(short_form_to_mapping(value))
    except ValidationError as error:
        problems = "; ".join(
            (".".join(map(str, item["loc"])) + ": " if item["loc"] else "") + item["msg"].removeprefix("Value error, ")
            for item in error.errors()
        )
        raise ConfigError(f"{setting}: {problems}") from None


def parse_overrides(overrides: Mapping[str, Any] | None, *, setting: str = "columns") -> dict[str, ColumnOverride]:
    """Every override of a ``columns`` mapping, each checked."""
    return {str(name): parse_override(value, setting=f"{setting}.{name}") for name, value in (overrides or {}).items()}


__all__ = ["ColumnOverride", "parse_override", "parse_overrides", "short_form_to_mapping"]
