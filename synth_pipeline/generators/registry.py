"""Generator names used in configs and on the command line, mapped to their classes."""

from __future__ import annotations

from typing import Any

from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.base import Generator

_GENERATORS: dict[str, type[Generator]] = {}


def register(klass: type[Generator]) -> type[Generator]:
    """Class decorator: make a generator available under ``klass.name``."""
    if not klass.name:
        raise TypeError(f"{klass.__name__} needs a class attribute 'name'")
    _GENERATORS[klass.name] = klass
    return klass


def _load_builtin() -> None:
    # Imported here so that importing the registry stays cheap (torch loads lazily).
    from synth_pipeline.generators import copula  # noqa: F401

    try:
        from synth_pipeline.generators import argn  # noqa: F401
    except ImportError as error:  # pragma: no cover - only while the flagship is missing
        if "synth_pipeline.generators.argn" not in str(error):
            raise


def generator_names() -> list[str]:
    _load_builtin()
    return sorted(_GENERATORS)


def generator_class(name: str) -> type[Generator]:
    _load_builtin()
    try:
        return _GENERATORS[name]
    except KeyError:
        raise ConfigError(f"unknown generator {name!r}; choose one of {', '.join(sorted(_GENERATORS))}") from None


def make_generator(name: str, **settings: Any) -> Generator:
    """Build a generator by name, refusing settings it does not have."""
    klass = generator_class(name)
    allowed = klass.param_names()
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise ConfigError(
            f"generator {name!r} has no setting(s) {', '.join(map(repr, unknown))}; "
            f"its settings are: {', '.join(allowed)}"
        )
    return klass(**settings)
