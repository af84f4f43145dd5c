"""Bad numbers on the command line and tampered models end in one clear line, exit status 2."""

import json

import pytest

from synth_pipeline.cli import main
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.simulate import simulate_churn


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "model"
    make_generator("copula", random_state=0).fit(simulate_churn(200, random_state=0)).save(path)
    return path


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--rows", "0", "error: --rows must be at least 1, got 0"),
        ("--rows", "-3", "error: --rows must be at least 1, got -3"),
        ("--batch-rows", "0", "error: --batch-rows must be at least 1, got 0"),
    ],
)
def test_sample_refuses_rows_it_cannot_write(model_dir, tmp_path, capsys, option, value, message):
    arguments = ["sample", "--model-dir", str(model_dir), "--out", str(tmp_path / "out.csv"), "--rows", "5"]
    assert main([*arguments, option, value]) == 2
    assert capsys.readouterr().err.strip() == message  # one line, no traceback
    assert not (tmp_path / "out.csv").exists()


def test_evaluate_refuses_max_rows_zero(capsys):
    arguments = ["evaluate", "--training", "t.csv", "--holdout", "h.csv", "--synthetic", "s.csv", "--max-rows", "0"]
    assert main(arguments) == 2
    assert capsys.readouterr().err.strip() == "error: --max-rows must be at least 1, got 0"


def test_sample_writes_rows_in_batches(model_dir, tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert main(["sample", "--model-dir", str(model_dir), "--out", str(out), "--rows", "7", "--batch-rows", "3"]) == 0
    assert "wrote 7 rows" in capsys.readouterr().out


def test_batch_rows_is_checked_in_the_python_api_too(model_dir):
    from synth_pipeline.generators.base import Generator

    with pytest.raises(ConfigError, match="batch_rows must be a positive integer, got 0"):
        list(Generator.load(model_dir).sample_batches(5, batch_rows=0))


def test_a_tampered_model_is_one_error_line_and_exit_2(model_dir, tmp_path, capsys):
    import shutil

    tampered = tmp_path / "tampered"
    shutil.copytree(model_dir, tampered)
    document = json.loads((tampered / "generator.json").read_text())
    document["n_training_rows"] = -5
    (tampered / "generator.json").write_text(json.dumps(document))
    assert main(["sample", "--model-dir", str(tampered), "--out", str(tmp_path / "o.csv"), "--rows", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "generator.json" in err and "checksum" in err and "\n" not in err
