"""What ``synth-pipeline run`` shows on the terminal: the run's log lines while it runs, one verdict per dataset.

Dagster's default console logger prints every event of a run, with stack traces
for each failed step (25-87 lines for one bad setting) and a blocking gate twice.
``run`` replaces it with :data:`terminal_logger`, which prints only the log
messages the assets and the core write (progress, warnings), one short line
each and above any live progress bar, and leaves the verdict to
:func:`outcome`: read from the run's events, it is a short summary when the
snapshot was published, one block with the failed gates when a gate blocked it
(exit 1), and one ``error:`` line when the data or the config is at fault (exit 2).
The run itself is still recorded in full in the Dagster instance.
"""

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster import AssetCheckSeverity, AssetKey, ExecuteInProcessResult, Field, InitLoggerContext, logger
from tqdm import tqdm

from synth_pipeline.cli import one_line
from synth_pipeline.errors import SynthPipelineError

#: Asset checks whose results the verdict block shows itself; their log lines would repeat it.
SUMMARIZED_CHECKS = ("quality_gates", "rule_adherence")

EXIT_BLOCKED = 1
EXIT_USER_ERROR = 2

_LOGGER_PREFIX = re.compile(r"^synth_pipeline[\w.]*: ")
_CLASS_PREFIX = re.compile(r"^[\w.]+(Error|Exception|Failure): ")
# the engine's note on each step skipped after a failure: the verdict says what failed
_SKIPPED_STEP = re.compile(r"^Dependencies for step \S+ (failed|were not executed)")


class _TerminalHandler(logging.Handler):
    """One line per message the run's code logged; Dagster's own events are left to the verdict."""

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        if meta.get("dagster_event") is not None:
            return
        step = meta.get("step_key") or ""
        if step.endswith(tuple(f"_{check}" for check in SUMMARIZED_CHECKS)):
            return
        message = _LOGGER_PREFIX.sub("", str(meta.get("orig_message", record.getMessage())))
        if _SKIPPED_STEP.match(message):
            return
        where = step.replace("__", "/", 1)
        level = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        stamp = self.formatter.formatTime(record, "%H:%M:%S") if self.formatter else ""
        # tqdm.write keeps a live progress bar below the line instead of tearing it
        tqdm.write(f"{stamp} {where}: {level}{message}".strip(), file=sys.stderr)


@logger(
    {"log_level": Field(str, is_required=False, default_value="INFO", description="lowest level shown")},
    description="The terminal of `synth-pipeline run`: one line per logged message, no event dumps or tracebacks.",
)
def terminal_logger(init_context: InitLoggerContext) -> logging.Logger:
    """Dagster logger for ``run``: prints the messages the run's code logs, one short line each."""
    level = logging.getLevelName(str(init_context.logger_config["log_level"]).upper())
    out = logging.Logger("synth_pipeline.run", level=level if isinstance(level, int) else logging.INFO)
    handler = _TerminalHandler()
    handler.setFormatter(logging.Formatter())
    out.addHandler(handler)
    return out


@dataclass
class Outcome:
    """What one dataset's run ended in: the lines to print, where, and the exit status."""

    status: int
    lines: list[str] = field(default_factory=list)

    @property
    def stream(self) -> Any:
        return sys.stdout if self.status == 0 else sys.stderr

    def print(self) -> None:
        print("\n".join(self.lines), file=self.stream)


def outcome(name: str, warehouse: str, result: ExecuteInProcessResult) -> Outcome:
    """The verdict of one dataset's lifecycle run, from its events."""
    failure = _step_failure(result)
    published = _materialization(result, name, "published_snapshot")
    if published is not None:
        report = _materialization(result, name, "quality_report")
        return Outcome(0, _published_lines(name, warehouse, published, report, _checks(result, "rule_adherence")))
    checks = _failed_checks(result)
    if checks or (failure and failure[0] == "Failure"):
        return Outcome(EXIT_BLOCKED, _blocked_lines(name, result, checks, failure))
    if failure is not None:
        cls_name, message = failure
        if cls_name in _user_error_names():
            return Outcome(EXIT_USER_ERROR, [f"error: {name}: {message}"])
        return Outcome(EXIT_BLOCKED, [f"error: {name}: unexpected {cls_name}: {message}"])
    return Outcome(EXIT_BLOCKED, [f"error: {name}: the run did not publish and reported no failure"])


# -- reading the run's events ---------------------------------------------------------------
def _values(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {key: getattr(value, "value", value) for key, value in metadata.items()}


def _materialization(result: ExecuteInProcessResult, name: str, step: str) -> dict[str, Any] | None:
    key = AssetKey([name, step])
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION" and event.asset_key == key:
            return _values(event.event_specific_data.materialization.metadata)
    return None


def _checks(result: ExecuteInProcessResult, check_name: str) -> list[Any]:
    """The evaluations of one asset check in the run."""
    return [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.asset_check_evaluation_data.check_name == check_name
    ]


def _failed_checks(result: ExecuteInProcessResult) -> list[Any]:
    """The blocking checks that failed (a failed warning check does not stop publishing)."""
    return [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.asset_check_evaluation_data.passed
        and e.asset_check_evaluation_data.severity == AssetCheckSeverity.ERROR
    ]


def _step_failure(result: ExecuteInProcessResult) -> tuple[str, str] | None:
    """(class name, message) of the first failed step's underlying error."""
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        error = event.event_specific_data.error
        while error.cause is not None and error.cls_name.startswith("Dagster"):
            error = error.cause
        return error.cls_name, one_line(_CLASS_PREFIX.sub("", error.message.strip()))
    return None


def _user_error_names() -> set[str]:
    """Names of every SynthPipelineError class: the errors a user's data or config causes."""
    names, todo = set(), [SynthPipelineError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


# -- the lines ------------------------------------------------------------------------------------
def _gates(report: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The gate entries of the quality_report's metadata: name -> {value, threshold, blocking, passed}."""
    return {
        key: value
        for key, value in (report or {}).items()
        if isinstance(value, Mapping) and {"value", "threshold", "passed"} <= set(value)
    }


def _gate_line(name: str, gate: Mapping[str, Any]) -> str:
    relation = ">=" if name.startswith("min_") else "<="
    value = "not computed" if gate["value"] is None else f"{gate['value']:.4f}"
    return f"{name} = {value}, required {relation} {gate['threshold']:g}"


def _number(values: Mapping[str, Any], key: str) -> str:
    value = values.get(key)
    return f"{value:.3f}" if isinstance(value, (int, float)) else "n/a"


def _not_learned(report: Mapping[str, Any]) -> str | None:
    columns = report.get("columns_not_learned")
    if not columns:
        return None
    if isinstance(columns, Mapping):
        return ", ".join(f"{column} ({why})" for column, why in columns.items())
    if isinstance(columns, str):
        return columns
    return ", ".join(
        f"{c['column']} ({c['reason']})" if isinstance(c, Mapping) and "column" in c else str(c) for c in columns
    )


def _published_lines(
    name: str,
    warehouse: str,
    published: Mapping[str, Any],
    report: Mapping[str, Any] | None,
    rule_checks: Iterable[Any],
) -> list[str]:
    version = published.get("version")
    table = published.get("table", f"{name}__v{version}")
    report = report or {}
    gates = _gates(report)
    lines = [
        f"{name}: published version {version} to {warehouse} (table {table}, view {name}_latest)",
        f"  rows {published.get('rows', published.get('dagster/row_count', 'n/a'))}; "
        f"overall accuracy {_number(report, 'accuracy_overall')} "
        f"(holdout ceiling {_number(report, 'accuracy_overall_max')}); "
        f"DCR share {_number(report, 'dcr_share')} (0.5 is ideal)",
    ]
    passed = [gate for gate, g in gates.items() if g["passed"]]
    lines.append(f"  gates passed: {', '.join(passed) if passed else 'none declared'}")
    lines += [f"  warning: {_gate_line(gate, g)}" for gate, g in gates.items() if not g["passed"]]
    lines += [f"  {check.check_name}: {check.description}" for check in rule_checks if check.description]
    not_learned = _not_learned(report)
    if not_learned:
        lines.append(f"  columns not learned (regenerated): {not_learned}")
    path = published.get("report") or report.get("report")
    if path:
        lines.append(f"  report: {path}")
    return lines


def _blocked_lines(
    name: str, result: ExecuteInProcessResult, checks: Iterable[Any], failure: tuple[str, str] | None
) -> list[str]:
    report = _materialization(result, name, "quality_report") or {}
    failed = [(gate, g) for gate, g in _gates(report).items() if not g["passed"] and g.get("blocking", True)]
    others = [check for check in checks if check.check_name != "quality_gates"]
    reasons = [f"{len(failed)} blocking gate(s) failed"] if failed else []
    reasons += [f"the blocking {check.check_name} check failed" for check in others]
    lines = [f"{name}: NOT published: " + (" and ".join(reasons) or "publishing was refused")]
    lines += [f"  {_gate_line(gate, g)}" for gate, g in failed]
    lines += [f"  {check.check_name}: {check.description}" for check in others if check.description]
    if failure and failure[0] == "Failure":
        lines.append(f"  {failure[1]}")
    if report.get("report"):
        lines.append(f"  report: {report['report']}")
    return lines
