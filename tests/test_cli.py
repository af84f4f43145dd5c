"""The synth-pipeline command, called as a user would (in a tmp working directory)."""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from assets.cli import COMMANDS, main
from synth_pipeline.cli import build_parser, parse_rebalance
from synth_pipeline.errors import ConfigError
from synth_pipeline.version import __version__

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.integration
def test_run_demo_then_list_show_export(workdir, capsys):
    config = workdir / "demo.yaml"
    shutil.copy(REPO / "examples" / "demo.yaml", config)
    config.write_text(config.read_text().replace("rows: 5000", "rows: 800"))
    assert main(["-q", "run", str(config)]) == 0
    out = capsys.readouterr().out
    assert "churn: published version 1 to .synth/warehouse.duckdb" in out
    assert main(["snapshots", "list"]) == 0
    listing = capsys.readouterr().out
    assert "churn__v1" in listing and "argn" in listing
    assert main(["snapshots", "export", "churn", "--out", "snap.parquet"]) == 0
    assert len(pd.read_parquet(workdir / "snap.parquet")) == 800
    assert main(["snapshots", "show", "churn", "--head", "3"]) == 0
    assert "(800 rows)" in capsys.readouterr().out


@pytest.mark.integration
def test_fit_sample_impute_evaluate(workdir, churn, capsys):
    churn.to_csv("churn.csv", index=False)
    assert main(["-q", "fit", "--data", "churn.csv", "--model-dir", "model", "--seed", "3"]) == 0
    assert (
        main(
            [
                "-q",
                "sample",
                "--model-dir",
                "model",
                "--rows",
                "2500",
                "--out",
                "s.parquet",
                "--seed",
                "1",
                "--batch-rows",
                "1000",
            ]
        )
        == 0
    )
    synthetic = pd.read_parquet("s.parquet")
    assert len(synthetic) == 2500 and synthetic.customer_id.is_unique
    assert (
        main(
            ["-q", "sample", "--model-dir", "model", "--rows", "1000", "--out", "r.csv", "--rebalance", "churn=Yes:0.8"]
        )
        == 0
    )
    assert (pd.read_csv("r.csv").churn == "Yes").mean() == pytest.approx(0.8, abs=0.01)
    pd.DataFrame({"contract": ["Two year"] * 5}).to_csv("seeds.csv", index=False)
    assert main(["-q", "sample", "--model-dir", "model", "--seed-data", "seeds.csv", "--out", "seeded.csv"]) == 0
    assert (pd.read_csv("seeded.csv").contract == "Two year").all()
    holes = churn.head(200).copy()
    holes.loc[::3, "tenure_months"] = None
    holes.to_csv("holes.csv", index=False)
    assert main(["-q", "impute", "--model-dir", "model", "--data", "holes.csv", "--out", "filled.csv"]) == 0
    assert pd.read_csv("filled.csv").tenure_months.notna().all()
    churn.iloc[:600].to_csv("training.csv", index=False)
    churn.iloc[600:].to_csv("holdout.csv", index=False)
    capsys.readouterr()
    assert (
        main(
            [
                "-q",
                "evaluate",
                "--training",
                "training.csv",
                "--holdout",
                "holdout.csv",
                "--synthetic",
                "s.parquet",
                "--target",
                "churn",
                "--json",
                "q.json",
                "--html",
                "q.html",
            ]
        )
        == 0
    )
    assert "accuracy_overall" in capsys.readouterr().out
    assert json.loads(Path("q.json").read_text())["accuracy"]["overall"] > 0.8
    assert Path("q.html").read_text().count("<html") == 1


def test_user_errors_are_one_line(workdir, capsys):
    assert main(["fit", "--data", "missing.csv", "--model-dir", "m"]) == 2
    assert capsys.readouterr().err.strip() == "error: file 'missing.csv' does not exist"
    assert main(["sample", "--model-dir", "nowhere", "--rows", "3", "--out", "x.csv"]) == 2
    assert "no saved generator" in capsys.readouterr().err
    Path("bad.yaml").write_text("datasets:\n  x:\n    source: {path: a.csv}\n    holdout: {fraction: 2}\n")
    assert main(["run", "bad.yaml"]) == 2
    err = capsys.readouterr().err
    assert "datasets.x.holdout.fraction" in err and err.count("\n") == 1  # one line
    assert err.startswith("error: bad.yaml is invalid: datasets.x.holdout.fraction: ")


def test_rebalance_syntax():
    assert parse_rebalance("income=>50K:0.5") == {"income": {">50K": 0.5}}
    assert parse_rebalance("c=a:0.2,b:0.3") == {"c": {"a": 0.2, "b": 0.3}}
    with pytest.raises(ConfigError, match="VALUE:SHARE"):
        parse_rebalance("income=>50K")


def test_help_lists_run_and_the_core_commands(capsys):
    with pytest.raises(SystemExit) as exit_status:
        main(["--help"])
    assert exit_status.value.code == 0
    listed = capsys.readouterr().out
    names = ["run", "fit", "rules", "sample", "impute", "evaluate", "schema", "snapshots"]
    positions = [listed.index(f"\n    {name} ") for name in names]
    assert positions == sorted(positions)
    # no reStructuredText markup from a module docstring
    assert "``" not in listed and ":func:" not in listed and ":mod:" not in listed


def _subparsers():
    parser = build_parser(COMMANDS)
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return parser, sub.choices


def test_every_flag_has_help_and_every_command_an_example():
    parser, commands = _subparsers()
    assert set(commands) == set(COMMANDS)
    for name, command in commands.items():
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"
        assert command.epilog and command.epilog.startswith("example:"), name
        for line in command.epilog.splitlines()[1:]:
            assert line.strip().startswith("synth-pipeline "), (name, line)
            assert f" {name} " in line or line.strip().endswith(f" {name}"), (name, line)
    for action in parser._actions:
        assert action.help, action.option_strings


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_status:
        main(["--version"])
    assert exit_status.value.code == 0
    assert capsys.readouterr().out.strip() == f"synth-pipeline {__version__}"


def test_subcommand_help_shows_its_example(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    out = capsys.readouterr().out
    assert "example:\n  synth-pipeline sample --model-dir model --rows 10000" in out
    assert "--temperature TEMPERATURE" in out and "more typical rows" in out


def test_the_core_command_imports_neither_dagster_nor_assets():
    code = (
        "import sys, synth_pipeline.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'assets')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "[]"
