"""Generator names used in configs and on the command line, mapped lazily to their classes.

An explicit table (name -> ``"module:Class"``), so a name can be checked
without importing the generator's module (argn imports torch), and no class
registers itself as an import side effect.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from synth_pipeline.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from synth_pipeline.generators.base import Generator

GENERATORS: dict[str, str] = {
    "argn": "synth_pipeline.generators.argn.generator:ARGNGenerator",
    "copula": "synth_pipeline.generators.copula:GaussianCopulaGenerator",
}


def generator_names() -> list[str]:
    """The names a config or ``--generator`` may use."""
    return sorted(GENERATORS)


def check_generator_name(name: str, *, setting: str = "generator") -> str:
    """Return ``name`` if it is a known generator (nothing is imported), else raise :class:`ConfigError`."""
    if name not in GENERATORS:
        raise ConfigError(f"{setting}: unknown generator {name!r}; choose one of {', '.join(generator_names())}")
    return name


def check_generator_settings(name: str, settings: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` for an unknown generator or a bad setting.

    The settings are checked without building the generator.
    """
    # TODO(house): validate against the generator's torch-free settings model instead of building it
    make_generator(name, **settings)


def generator_class(name: str) -> type[Generator]:
    """The class behind ``name`` (imports its module)."""
    module, _, attribute = GENERATORS[check_generator_name(name)].partition(":")
    return getattr(import_module(module), attribute)


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


__all__ = [
    "GENERATORS",
    "check_generator_name",
    "check_generator_settings", "generator_class", "generator_names", "make_generator"]
