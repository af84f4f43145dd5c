"""Every column the pipeline does not learn is listed, with kind and reason, in the QA report and its metadata."""

import json

import numpy as np
import pandas as pd

from assets.metadata import assessment_metadata
from synth_pipeline.config import parse_config
from synth_pipeline.quality import QualityReport
from tests.lifecycle_run import run_lifecycle


def _source(tmp_path, rows: int = 400) -> str:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "customer": np.arange(1, rows + 1),
            "note": [f"free text {i} {rng.integers(10**6)}" for i in range(rows)],
            "shop": rng.permutation([f"shop {i // 2}" for i in range(rows)]),  # every value seen twice: all rare
            "plan": rng.choice(["basic", "plus", "pro"], rows),
            "spend": rng.gamma(2.0, 30.0, rows).round(2),
        }
    )
    path = tmp_path / "source.csv"
    table.to_csv(path, index=False)
    return str(path)


def test_the_qa_report_and_its_metadata_list_the_columns_not_learned(tmp_path):
    config = parse_config(
        {
            "warehouse": str(tmp_path / "warehouse.duckdb"),
            "private_dir": str(tmp_path / "private"),
            "datasets": {
                "shops": {
                    "source": {"path": _source(tmp_path)},
                    "generator": {"name": "argn", "settings": {"max_epochs": 2}},
                    "quality_max_rows": 400,
                }
            },
        }
    )
    dataset = config.datasets["shops"]
    assessment = run_lifecycle(tmp_path, dataset).assessment
    listed = {c.column: c for c in assessment.report.columns_not_learned}
    assert set(listed) == {"customer", "note", "shop"}
    assert all(c.kind == "id" and "not learned" in c.reason for c in listed.values())
    assert "row id" in listed["customer"].reason and "near-unique" in listed["note"].reason
    assert "every value is rare" in listed["shop"].reason
    saved = QualityReport.load_json(assessment.report_json_path)
    assert [c.column for c in saved.columns_not_learned] == ["customer", "note", "shop"]
    metadata = assessment_metadata(assessment)["columns_not_learned"]
    assert [c["column"] for c in metadata.data] == ["customer", "note", "shop"]
    assert json.dumps(metadata.data)  # plain JSON for the CLI to print
