"""An ordered list of rules: parsing with errors that name the rule, YAML round trip, table checks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from synth_pipeline.constraints.rules.base import BaseRule
from synth_pipeline.constraints.rules.kinds import RULE_KINDS, Rule
from synth_pipeline.constraints.rules.values import value_key
from synth_pipeline.errors import ConfigError

_RULE_LIST = TypeAdapter(list[Rule])


def parse_rules(data: Any, *, origin: str = "rules") -> list[BaseRule]:
    """Rules from plain data (a list of dicts, or rule objects); errors name the rule and the field."""
    if data is None:
        return []
    if isinstance(data, RuleSet):
        return list(data.rules)
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    if not isinstance(data, (list, tuple)):
        raise ConfigError(f"{origin}: expected a list of rules, got {type(data).__name__}")
    items = [r.to_dict() if isinstance(r, BaseRule) else r for r in data]
    try:
        return _RULE_LIST.validate_python(items)
    except ValidationError as error:
        problems = [_problem(item) for item in error.errors()]
        raise ConfigError(f"{origin} is invalid:\n  " + "\n  ".join(problems)) from None


def _problem(item: Any) -> str:
    loc = list(item["loc"])
    where = f"rule {loc[0] + 1}" if loc and isinstance(loc[0], int) else "rules"
    detail = ".".join(str(p) for p in loc[1:])
    message = item["msg"].removeprefix("Value error, ")
    if item["type"] == "extra_forbidden":
        message = "unknown field (check the spelling)"
    if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
        message = f"'type' must be one of {', '.join(RULE_KINDS)}"
    return f"{where}{' ' + detail if detail else ''}: {message}"


class RuleResult(BaseModel):
    """How a table fares against one rule (or one Great Expectations expectation built from it)."""

    rule: str = Field(description="the rule's label")
    type: str = Field(description="the rule kind")
    expectation: str = Field("", description="the Great Expectations expectation that checked it")
    blocking: bool
    rows_checked: int = Field(description="rows the rule applies to (missing cells are skipped)")
    violations: int
    success_share: float = Field(description="share of checked rows that satisfy the rule (1.0 when none apply)")
    examples: list[Any] = Field(default_factory=list, description="a few offending values")

    @property
    def passed(self) -> bool:
        """No row violates the rule."""
        return self.violations == 0


class RuleSet(BaseModel):
    """An ordered list of rules with YAML round trip, table checks and the QA report hook.

    >>> from synth_pipeline.constraints.rules import RangeRule
    >>> ruleset = RuleSet([RangeRule(column="age", min=0)])
    >>> ruleset.adherence(pd.DataFrame({"age": [3, -1]}))[0]["success_share"]
    0.5
    """

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list)

    def __init__(self, rules: Iterable[Any] | None = None, **data: Any) -> None:
        if rules is not None:
            data["rules"] = parse_rules(list(rules))
        super().__init__(**data)

    def __iter__(self) -> Iterator[BaseRule]:  # type: ignore[override]
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, index: int) -> BaseRule:
        return self.rules[index]

    def __add__(self, other: RuleSet | Sequence[Any]) -> RuleSet:
        return RuleSet([*self.rules, *parse_rules(other)])

    @classmethod
    def from_dicts(cls, data: Any) -> RuleSet:
        """Rules from plain data (see :func:`parse_rules`)."""
        return cls(parse_rules(data))

    def to_dicts(self) -> list[dict[str, Any]]:
        """The rules as plain data."""
        return [rule.to_dict() for rule in self.rules]

    def columns(self) -> list[str]:
        """Every column some rule reads, each once."""
        return list(dict.fromkeys(c for rule in self.rules for c in rule.columns()))

    # -- YAML -----------------------------------------------------------------------------
    def to_yaml(self, *, header: str | None = None) -> str:
        """YAML a person can review: one commented entry per rule."""
        lines = [f"# {line}" for line in (header or "").splitlines()]
        for rule in self.rules:
            lines.append(f"# {rule.describe()}")
            text = yaml.safe_dump([rule.to_dict()], sort_keys=False, default_flow_style=None, width=110)
            lines.append(text.rstrip())
        return "\n".join(lines) + "\n" if lines else "[]\n"

    @classmethod
    def from_yaml(cls, source: str | Path) -> RuleSet:
        """Read rules from YAML text or a file: a list of rules, or a mapping with a ``rules`` list."""
        origin = "rules"
        text = source
        if isinstance(source, Path) or ("\n" not in str(source) and str(source).endswith((".yaml", ".yml"))):
            path = Path(source)
            if not path.is_file():
                raise ConfigError(f"rules file {str(path)!r} does not exist")
            text, origin = path.read_text(), str(path)
        try:
            data = yaml.safe_load(str(text))
        except yaml.YAMLError as error:
            raise ConfigError(f"{origin} is not valid YAML: {error}") from None
        return cls(parse_rules(data or [], origin=origin))

    # -- checking -------------------------------------------------------------------------
    def results(self, df: pd.DataFrame) -> list[RuleResult]:
        """Check ``df`` against every rule with pandas (no Great Expectations involved)."""
        out = []
        for rule in self.rules:
            applies, violated = rule.check(df)
            checked, bad = int(applies.sum()), int(violated.sum())
            examples = []
            if bad:
                rows = df.loc[violated, rule.columns()].head(3)
                examples = [{k: value_key(v) for k, v in row.items()} for row in rows.to_dict("records")]
            out.append(
                RuleResult(
                    rule=rule.label,
                    type=rule.type,  # type: ignore[attr-defined]
                    blocking=rule.blocking,
                    rows_checked=checked,
                    violations=bad,
                    success_share=1.0 - bad / checked if checked else 1.0,
                    examples=examples,
                )
            )
        return out

    def adherence(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        """One entry per rule (the hook :func:`synth_pipeline.quality.evaluate` calls)."""
        keys = ("rule", "type", "blocking", "rows_checked", "violations")
        return [{**{k: getattr(r, k) for k in keys}, "success_share": round(r.success_share, 6)}
                for r in self.results(df)]


__all__ = ["RuleResult", "RuleSet", "parse_rules"]
