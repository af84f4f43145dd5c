"""Business rules: declare, infer, enforce during generation, and validate with Great Expectations.

* :mod:`.rules`: the rule kinds (pydantic models, ``type``-discriminated) and :class:`RuleSet`;
* :mod:`.inference`: :func:`infer_rules` proposes rules that hold exactly in a table;
* :mod:`.enforcement`: :class:`RuleEnforcer`, used by every generator to honour rules by construction;
* :mod:`.expectations`: :func:`build_suite` / :func:`validate_rules` (Great Expectations, imported lazily).
"""

from synth_pipeline.constraints.rules import (
    AllowedValuesRule,
    Condition,
    ConditionalRule,
    DependencyRule,
    InequalityRule,
    NotNullRule,
    RangeRule,
    RegexRule,
    Rule,
    RuleResult,
    RuleSet,
    SumRule,
    UniqueRule,
    parse_rules,
)

__all__ = [
    "AllowedValuesRule",
    "Condition",
    "ConditionalRule",
    "DependencyRule",
    "InequalityRule",
    "NotNullRule",
    "RangeRule",
    "RegexRule",
    "Rule",
    "RuleResult",
    "RuleSet",
    "SumRule",
    "UniqueRule",
    "parse_rules",
]
