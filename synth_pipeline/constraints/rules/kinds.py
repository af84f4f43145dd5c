"""The table of rule kinds: YAML ``type`` -> rule class, and the ``Rule`` field type that reads it.

A new kind is a :class:`~synth_pipeline.constraints.rules.base.BaseRule` subclass in its
own module plus one line in :data:`RULE_KINDS`; a kind defined outside the package (a
plug-in, a test) joins with :func:`register_rule_kind`. :data:`Rule` validates a mapping
by its ``type`` through this table (what a pydantic discriminated union would do, but
open to registered kinds) and serializes a rule with all its fields.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import SerializeAsAny, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

from synth_pipeline.constraints.rules.allowed_values import AllowedValuesRule
from synth_pipeline.constraints.rules.base import BaseRule
from synth_pipeline.constraints.rules.conditional import ConditionalRule
from synth_pipeline.constraints.rules.dependency import DependencyRule
from synth_pipeline.constraints.rules.inequality import InequalityRule
from synth_pipeline.constraints.rules.not_null import NotNullRule
from synth_pipeline.constraints.rules.range import RangeRule
from synth_pipeline.constraints.rules.regex import RegexRule
from synth_pipeline.constraints.rules.sum import SumRule
from synth_pipeline.constraints.rules.unique import UniqueRule

RULE_KINDS: dict[str, type[BaseRule]] = {
    "range": RangeRule,
    "not_null": NotNullRule,
    "unique": UniqueRule,
    "allowed_values": AllowedValuesRule,
    "regex": RegexRule,
    "dependency": DependencyRule,
    "inequality": InequalityRule,
    "sum": SumRule,
    "conditional": ConditionalRule,
}


def rule_type(kind: type[BaseRule]) -> str:
    """The ``type`` tag a rule class declares (its ``type: Literal[...]`` field's default)."""
    field = kind.model_fields.get("type")
    if field is None or not isinstance(field.default, str):
        raise TypeError(f"{kind.__name__} needs a field  type: Literal['<name>'] = '<name>'")
    return field.default


def register_rule_kind(kind: type[BaseRule]) -> type[BaseRule]:
    """Add a rule kind defined outside this package (usable as a class decorator)."""
    if not (isinstance(kind, type) and issubclass(kind, BaseRule)):
        raise TypeError(f"a rule kind must subclass BaseRule, got {kind!r}")
    RULE_KINDS[rule_type(kind)] = kind
    return kind


def _by_type(value: Any, handler: ValidatorFunctionWrapHandler) -> BaseRule:
    if isinstance(value, BaseRule):
        return value
    if not isinstance(value, dict):
        raise PydanticCustomError("model_type", "a rule is a mapping with a 'type', got {got}",
                                  {"got": type(value).__name__})
    if "type" not in value:
        raise PydanticCustomError("union_tag_not_found", "a rule needs a 'type', one of: {expected}",
                                  {"expected": ", ".join(RULE_KINDS)})
    kind = RULE_KINDS.get(value["type"]) if isinstance(value["type"], str) else None
    if kind is None:
        raise PydanticCustomError("union_tag_invalid", "unknown rule type '{got}'; the types are: {expected}",
                                  {"got": value["type"], "expected": ", ".join(RULE_KINDS)})
    return kind.model_validate(value)


#: any registered rule kind, read from a mapping by its ``type`` (a field type for config models)
Rule = Annotated[SerializeAsAny[BaseRule], WrapValidator(_by_type)]

__all__ = ["RULE_KINDS", "Rule", "register_rule_kind", "rule_type"]
