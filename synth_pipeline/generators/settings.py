"""Generator settings as validated models: one list per generator of names, defaults and bounds.

A generator's constructor stores exactly the fields of its settings model (see
:class:`synth_pipeline.generators.base.Generator`), ``fit`` validates them
through the model, and a config is checked against the same model without
building the generator (or importing torch). Errors are :class:`ConfigError`
naming the setting.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from synth_pipeline.column_overrides import parse_overrides
from synth_pipeline.constraints.rules import parse_rules
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.privacy_budget import PrivacySettings
from synth_pipeline.generators.private_fit import check_no_rules


def _integer(value: Any) -> Any:
    # YAML and Python ints only: 2.5, "3" and True are mistakes, not integers
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"must be an integer, got {value!r}")
    return int(value)


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(float(value)):
        raise ValueError(f"must be a number, got {value!r}")
    return float(value)


def _flag(value: Any) -> Any:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"must be true or false, got {value!r}")
    return bool(value)


#: an int that refuses floats, text and booleans
Integer = Annotated[int, BeforeValidator(_integer)]
#: a finite float that refuses text and booleans
Number = Annotated[float, BeforeValidator(_number)]
#: a bool that refuses 0/1 and text
Flag = Annotated[bool, BeforeValidator(_flag)]


class GeneratorSettings(BaseModel):
    """The settings every generator has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    random_state: Integer | None = Field(None, description="seed of fit and sample (None: fresh randomness)")
    column_kinds: dict[str, str | dict[str, Any]] | None = Field(
        None, description="column name -> kind (or {kind: datetime, format: '%d/%m/%Y'}), overriding inference"
    )
    rules: Any = Field(None, description="rule dicts or objects honoured by construction")
    infer_rules: Flag = Field(False, description="add the rules that hold exactly in the training table")
    show_progress: Flag | None = Field(
        None, description="live progress line of training and sampling (None: when stderr is a terminal)"
    )
    privacy: PrivacySettings | None = Field(
        None, description="differential-privacy budget {epsilon, delta} of the whole model (None: no DP)"
    )
    #: whether the generator can honour ``privacy`` (else setting it is refused, never silently ignored)
    supports_privacy: ClassVar[bool] = False
    #: settings read when sampling: ``set_params`` changes them for a fitted model too (and its saved copy)
    read_when_sampling: ClassVar[frozenset[str]] = frozenset({"show_progress"})

    @field_validator("column_kinds")
    @classmethod
    def _parse_column_kinds(cls, column_kinds: Any) -> Any:
        try:
            parse_overrides(column_kinds, setting="column_kinds")
        except ConfigError as error:
            raise ValueError(str(error)) from None
        return column_kinds

    @field_validator("rules")
    @classmethod
    def _parse_rules(cls, rules: Any) -> Any:
        parse_rules(rules, origin="generator setting rules")
        return rules


def validate_settings(model: type[GeneratorSettings], settings: dict[str, Any], *, generator: str) -> GeneratorSettings:
    """``settings`` validated by ``model``; unknown names and bad values raise :class:`ConfigError` naming them."""
    check_setting_names(settings, list(model.model_fields), generator=generator)
    try:
        validated = model.model_validate(settings)
    except ValidationError as error:
        problems = [_problem(item) for item in error.errors()]
        raise ConfigError(f"generator {generator!r}: " + "; ".join(problems)) from None
    if validated.privacy is not None and not model.supports_privacy:
        raise ConfigError(
            f"generator {generator!r}: privacy is set, but {generator!r} cannot honour a differential-privacy "
            "budget (it would train a model without DP); remove privacy or use generator 'argn'"
        )
    check_no_rules(validated, generator)
    return validated


def check_setting_names(settings: dict[str, Any], allowed: list[str], *, generator: str) -> None:
    """Refuse setting names the generator does not have, listing the ones it has."""
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise ConfigError(
            f"generator {generator!r} has no setting(s) {', '.join(map(repr, unknown))}; "
            f"its settings are: {', '.join(allowed)}"
        )


def _problem(item: Any) -> str:
    name = ".".join(str(part) for part in item["loc"]) or "settings"
    message = item["msg"].removeprefix("Value error, ").removeprefix("Input should be ").removeprefix("Input ")
    if not message.startswith("must "):
        message = f"must be {message}"
    if "got " not in message and "input" in item:
        message = f"{message}, got {item['input']!r}"
    return f"{name} {message}"
