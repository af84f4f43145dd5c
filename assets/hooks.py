"""The failure hook of a dataset's jobs: a step that fails leaves a ``failed`` row in the warehouse catalog.

The step's name and the error's message (passwords removed) are recorded against
the version the run claimed, or as a new attempt when it failed before claiming one
(reading the source, training). See ``lifecycle.record_failure``.
"""

from dagster import HookContext, HookDefinition, failure_hook

from assets.metadata import attempt_id
from synth_pipeline import lifecycle
from synth_pipeline.config import DatasetConfig

# The lifecycle steps whose failure is an attempt's failure. A failed blocking check is not one: its step
# fails by design, and quality_report has already recorded the verdict as `blocked`.
LIFECYCLE_STEPS = ("source", "split", "generator_model", "synthetic", "quality_report", "published_snapshot")


def build_failure_hook(dataset: DatasetConfig) -> HookDefinition:
    """The hook that records a failed step of ``dataset``'s runs in the catalog."""

    @failure_hook(name=f"{dataset.name}_record_failure", required_resource_keys={"warehouse"})
    def record_failure(context: HookContext) -> None:
        step = context.step_key.removeprefix(f"{dataset.name}__")
        if step not in LIFECYCLE_STEPS:
            return
        error = context.op_exception or RuntimeError(f"step {step} failed")
        store = context.resources.warehouse.store()
        version = lifecycle.record_failure(dataset, store, run_id=attempt_id(context), step=step, error=error)
        if version is not None:
            context.log.info(f"{dataset.name}: recorded version {version} as failed at {step}")

    return record_failure
