"""Generator names used in configs and on the command line, mapped lazily to their classes and settings.

Two explicit tables (no class registers itself as an import side effect):
:data:`GENERATORS`, name -> ``"module:Class"``, and :data:`SETTINGS`, name ->
``"module:SettingsModel"``. The settings models live in modules that do not
import torch, so a config's generator name and settings are checked without
importing the generator (argn imports torch). A new generator is one line in
each table.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.settings import GeneratorSettings, check_setting_names, validate_settings

if TYPE_CHECKING:  # pragma: no cover
    from synth_pipeline.generators.base import Generator

GENERATORS: dict[str, str] = {
    "argn": "synth_pipeline.generators.argn.generator:ARGNGenerator",
    "copula": "synth_pipeline.generators.copula:GaussianCopulaGenerator",
}

SETTINGS: dict[str, str] = {
    "argn": "synth_pipeline.generators.argn.settings:ARGNSettings",
    "copula": "synth_pipeline.generators.copula:CopulaSettings",
}


def generator_names() -> list[str]:
    """The names a config or ``--generator`` may use."""
    return sorted(GENERATORS)


def check_generator_name(name: str, *, setting: str = "generator") -> str:
    """Return ``name`` if it is a known generator (nothing is imported), else raise :class:`ConfigError`."""
    if name not in GENERATORS:
        raise ConfigError(f"{setting}: unknown generator {name!r}; choose one of {', '.join(generator_names())}")
    return name


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)


def generator_class(name: str) -> type[Generator]:
    """The class behind ``name`` (imports its module)."""
    return _load(GENERATORS[check_generator_name(name)])


def settings_model(name: str) -> type[GeneratorSettings]:
    """The settings model of ``name``, imported without its generator's module.

    A generator added to :data:`GENERATORS` at run time without a :data:`SETTINGS`
    entry (a test double, say) is asked for its class's ``settings_model``.
    """
    check_generator_name(name)
    if name in SETTINGS:
        return _load(SETTINGS[name])
    return generator_class(name).settings_model


def check_generator_settings(name: str, settings: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` for an unknown generator, an unknown setting or a bad value.

    The settings are checked by the generator's settings model; the generator is not
    built and its module (torch, for argn) is not imported.
    """
    validate_settings(settings_model(name), settings, generator=name)


def make_generator(name: str, **settings: Any) -> Generator:
    """Build a generator by name, refusing settings it does not have."""
    klass = generator_class(name)
    check_setting_names(settings, klass.param_names(), generator=name)
    return klass(**settings)


__all__ = [
    "GENERATORS",
    "SETTINGS",
    "check_generator_name",
    "check_generator_settings",
    "generator_class",
    "generator_names",
    "make_generator",
    "settings_model",
]
