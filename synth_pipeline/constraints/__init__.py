"""Business rules: declare, infer, enforce during generation, and validate with Great Expectations.

* :mod:`.rules`: the rule kinds (pydantic models, ``type``-discriminated) and :class:`RuleSet`;
* :mod:`.inference`: :func:`infer_rules` proposes rules that hold exactly in a table;
* :mod:`.enforcement`: :class:`RuleEnforcer`, used by every generator to honour rules by construction;
* :mod:`.expectations`: :func:`build_suite` / :func:`validate_rules` (Great Expectations, imported lazily).

In a dataset's config::

    datasets:
      census:
        source: {path: ../shared/data/census.csv.gz}
        infer_rules: true            # also every rule that holds exactly in training
        rules:
          - {type: dependency, determinant: education, dependent: education_num, one_to_one: true}
          - {type: range, column: age, min: 17, max: 90}
          - {type: inequality, left: start_date, op: "<", right: end_date}
          - {type: sum, total: total, parts: [a, b, c], tolerance: 0.01}
          - type: conditional
            if: {column: employment, equals: unemployed}
            then: {column: income, in: [0, null]}
            blocking: false          # a warning, not a gate

From Python: ``make_generator("argn", rules=RuleSet.from_yaml("rules.yaml"))`` (or ``infer_rules=True``);
``generator.rules_`` holds the effective rules, and ``generator.sample(..., return_report=True)`` returns
with the rows what enforcement needed (rows redrawn, rows repaired, per rule). From a shell:
``synth-pipeline rules infer --data FILE --out rules.yaml``, ``synth-pipeline fit ... --rules rules.yaml``,
``synth-pipeline rules check --data FILE --rules rules.yaml``.
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


def __getattr__(name: str):  # noqa: ANN202 - lazy access keeps GX and the enforcer out of a plain import
    if name in ("infer_rules",):
        from synth_pipeline.constraints.inference import infer_rules

        return infer_rules
    if name in ("validate_rules", "build_suite"):
        from synth_pipeline.constraints import expectations

        return getattr(expectations, name)
    if name in ("RuleEnforcer", "RuleViolationWarning", "check_rules"):
        from synth_pipeline.constraints import enforcement

        return getattr(enforcement, name)
    raise AttributeError(f"module 'synth_pipeline.constraints' has no attribute {name!r}")


__all__ = [
    "AllowedValuesRule",
    "RuleEnforcer",
    "RuleViolationWarning",
    "build_suite",
    "check_rules",
    "infer_rules",
    "validate_rules",
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
