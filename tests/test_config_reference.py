"""docs/configuration.md is what the config models say: regenerate it when a setting changes."""

from pathlib import Path

from synth_pipeline.config import DatasetConfig, PipelineConfig
from synth_pipeline.config_reference import render_reference, type_name
from synth_pipeline.constraints.rules.kinds import RULE_KINDS
from synth_pipeline.generators.registry import generator_names, settings_model

PAGE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_the_checked_in_page_is_current():
    assert PAGE.read_text() == render_reference(), (
        "docs/configuration.md is stale: run  python -m synth_pipeline.config_reference --write docs/configuration.md"
    )


def test_every_key_is_documented_with_type_and_default():
    page = render_reference()
    models = [PipelineConfig, DatasetConfig, *RULE_KINDS.values(), *(settings_model(n) for n in generator_names())]
    for model in models:
        for name, field in model.model_fields.items():
            if (model, name) in {(DatasetConfig, "name")} or (name == "type" and model in RULE_KINDS.values()):
                continue
            assert f"| `{field.alias or name}` | {type_name(field.annotation)}" in page.replace("\\|", "|"), (
                model.__name__, name
            )
    assert "| `fraction` | number, > 0 and < 1 | `0.5` | share of source rows kept out of training |" in page
    assert "| `max_dcr_share` | [GateSpec](#gatespec) \\| null | `{\"threshold\": 0.6}` |" in page
    assert "| `if` | list of [Condition](#condition)" in page  # the YAML key, not the Python name
    assert "``" not in page and ":mod:" not in page
