"""The project's exceptions: one base type, a few precise subclasses.

Every error a user can cause (bad config, bad input data, using an unfitted
generator) is raised as a :class:`SynthPipelineError` whose message names the
column or setting at fault and what to do about it.
"""


class SynthPipelineError(Exception):
    """Base class of every error synth_pipeline raises on purpose."""


class ConfigError(SynthPipelineError):
    """The configuration (YAML or keyword settings) is invalid."""


class InvalidDataError(SynthPipelineError):
    """An input table cannot be used as it is (empty, all-null column, wrong types...)."""


class NotFittedError(SynthPipelineError):
    """A generator was used before ``fit`` was called."""


class SourceError(SynthPipelineError):
    """The source could not be read: server unreachable, credentials refused, table missing, query rejected."""


class StoreError(SynthPipelineError):
    """The snapshot warehouse or model store could not complete an operation."""


class ConstraintViolationError(SynthPipelineError):
    """Generated rows still violate a declared rule after the allowed repairs."""


class ModelFileError(InvalidDataError):
    """A saved model's files are missing, corrupted, changed after saving, or inconsistent."""


class EngineError(SynthPipelineError):
    """The shard engine cannot run: its package is not installed, or its cluster cannot be reached."""


class ShardFailedError(SynthPipelineError):
    """A shard of a snapshot failed (it raised, or its worker died); nothing was published."""

    def __init__(self, message: str, shard: int | None = None) -> None:
        super().__init__(message)
        self.shard = shard
