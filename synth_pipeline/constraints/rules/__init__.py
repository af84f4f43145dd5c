"""Business rules as typed objects: declared in YAML or Python, checked on any table.

Every rule is a pydantic model whose ``type`` names its kind (one module per kind
in this package, listed in :data:`~synth_pipeline.constraints.rules.kinds.RULE_KINDS`),
and may be ``blocking`` (a gate: a violation stops publishing) or a warning. A rule
checks a table with ``check``, which returns two boolean arrays: which rows the rule
applies to (missing values are skipped, as Great Expectations does) and which of
those violate it. The same semantics drive enforcement during generation and the
Great Expectations expectations, so the three never disagree.

>>> rules = RuleSet.from_yaml('''
... - {type: range, column: age, min: 0, max: 120}
... - {type: inequality, left: start, op: "<", right: end}
... ''')
>>> [r.describe() for r in rules]
['age in [0, 120]', 'start < end']
"""

from synth_pipeline.constraints.rules.allowed_values import AllowedValuesRule
from synth_pipeline.constraints.rules.base import BaseRule
from synth_pipeline.constraints.rules.condition import Condition
from synth_pipeline.constraints.rules.conditional import ConditionalRule
from synth_pipeline.constraints.rules.dependency import DependencyRule
from synth_pipeline.constraints.rules.inequality import InequalityRule
from synth_pipeline.constraints.rules.kinds import RULE_KINDS, Rule, register_rule_kind
from synth_pipeline.constraints.rules.not_null import NotNullRule
from synth_pipeline.constraints.rules.range import RangeRule
from synth_pipeline.constraints.rules.regex import RegexRule
from synth_pipeline.constraints.rules.ruleset import RuleResult, RuleSet, parse_rules
from synth_pipeline.constraints.rules.sum import SumRule
from synth_pipeline.constraints.rules.unique import UniqueRule
from synth_pipeline.constraints.rules.values import series_keys, value_key

__all__ = [
    "RULE_KINDS",
    "AllowedValuesRule",
    "BaseRule",
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
    "register_rule_kind",
    "series_keys",
    "value_key",
]
