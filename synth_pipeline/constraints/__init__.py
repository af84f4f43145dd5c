"""Business rules: declare, infer, enforce during generation, and validate with Great Expectations.

* :mod:`.rules`: the rule kinds (one module per kind, pydantic models read by ``type``) and :class:`RuleSet`;
* :mod:`.validation`: rules against a schema (kinds, contradictions) before anything is fitted;
* :mod:`.derivation`: model space, where dependencies, sums and inequalities hold by construction;
* :mod:`.enforcement`: :class:`RuleEnforcer`, the redraw/repair loop every generator samples through;
* :mod:`.expectations`: :func:`build_suite` / :func:`validate_rules` (Great Expectations, imported lazily);
* :mod:`.inference`: :func:`infer_rules` proposes rules that hold exactly in a table.

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

from synth_pipeline.constraints import rules
from synth_pipeline.constraints.enforcement import RuleEnforcer, RuleViolationWarning, fit_enforcer
from synth_pipeline.constraints.expectations import build_suite, validate_rules
from synth_pipeline.constraints.inference import infer_rules
from synth_pipeline.constraints.rules import *  # noqa: F403 - the rule kinds, RuleSet and parse_rules, as rules.__all__ lists them
from synth_pipeline.constraints.validation import check_rules

__all__ = [
    *rules.__all__,
    "RuleEnforcer",
    "RuleViolationWarning",
    "build_suite",
    "check_rules",
    "fit_enforcer",
    "infer_rules",
    "validate_rules",
]
