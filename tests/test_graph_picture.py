"""The README's asset-graph picture is the graph Dagster builds for the demo."""

import re
from pathlib import Path

from assets.definitions import build_definitions
from assets.graph_picture import mermaid
from synth_pipeline.config import load_config

REPO = Path(__file__).resolve().parents[1]


def test_readme_picture_is_the_demo_graph():
    defs = build_definitions(load_config(REPO / "examples" / "demo.yaml"))
    drawn = mermaid(defs, "churn")
    block = re.search(r"<!-- asset-graph:begin -->\n```mermaid\n(.*?)```\n<!-- asset-graph:end -->",
                      (REPO / "README.md").read_text(), re.S)
    assert block, "README lost its asset-graph block"
    assert block.group(1) == drawn, "README's asset graph is stale: python -m assets.graph_picture examples/demo.yaml"
    for edge in ("source --> training", "generator_model --> synthetic", "quality_report --> published_snapshot",
                 "quality_report -.- quality_gates", "quality_report -.- rule_adherence"):
        assert edge in drawn
