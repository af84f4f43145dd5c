"""The asset graph of one dataset as a Mermaid flowchart, drawn from the Definitions themselves.

The README's picture is this module's output for the demo config
(``tests/test_graph_picture.py`` checks that it still is), so it shows the
graph Dagster builds, not one drawn by hand::

    python -m assets.graph_picture examples/demo.yaml
"""

import argparse
import sys

from dagster import Definitions

from assets.definitions import build_definitions
from synth_pipeline.config import load_config


def mermaid(defs: Definitions, dataset: str) -> str:
    """``flowchart LR`` of ``dataset``'s assets (edges from their inputs) and the checks on them (dotted)."""
    graph = defs.resolve_asset_graph()
    keys = sorted((k for k in graph.get_all_asset_keys() if k.path[0] == dataset), key=lambda k: k.path[-1])
    order = {step: i for i, step in enumerate(_topological(graph, keys))}
    lines = ["flowchart LR"]
    for key in sorted(keys, key=lambda k: order[k.path[-1]]):
        for parent in sorted(graph.get(key).parent_keys, key=lambda k: order.get(k.path[-1], 0)):
            lines.append(f"  {parent.path[-1]} --> {key.path[-1]}")
    for check in sorted(graph.asset_check_keys, key=lambda c: c.name):
        if check.asset_key.path[0] == dataset:
            lines.append(f"  {check.asset_key.path[-1]} -.- {check.name}{{{{{check.name}}}}}")
    return "\n".join(lines) + "\n"


def _topological(graph, keys) -> list[str]:  # noqa: ANN001 - Dagster's internal graph type
    done: list[str] = []
    remaining = list(keys)
    while remaining:
        ready = [k for k in remaining if all(p.path[-1] in done for p in graph.get(k).parent_keys if p in keys)]
        for key in sorted(ready, key=lambda k: k.path[-1]):
            done.append(key.path[-1])
            remaining.remove(key)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="pipeline YAML, e.g. examples/demo.yaml")
    parser.add_argument("--dataset", help="the dataset to draw (default: the config's first)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    sys.stdout.write(mermaid(build_definitions(config), args.dataset or next(iter(config.datasets))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
