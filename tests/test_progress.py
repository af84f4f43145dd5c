"""Live progress lines (training, sampling) and log lines that land above them instead of tearing them."""

import logging

import pytest

from synth_pipeline.generators.registry import make_generator
from synth_pipeline.progress import LiveProgress, TerminalLogHandler, terminal_logging


def test_log_lines_are_written_above_a_live_line(capsys):
    logger = logging.getLogger("synth_pipeline.test_progress")
    handler = TerminalLogHandler()
    logger.addHandler(handler)
    try:
        with LiveProgress("phase", unit="rows", total=10, enabled=True) as live:
            live.update(5)
            logger.warning("halfway")
            live.update(5)
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert "halfway\n" in err
    # the message sits on a line of its own, never glued to the bar's text
    assert all(line.endswith("halfway") is (line == "halfway") for line in err.replace("\r", "\n").splitlines())


def test_disabled_progress_writes_nothing(capsys):
    with LiveProgress("phase", unit="rows", total=10, enabled=False) as live:
        live.update(10, "done")
    assert capsys.readouterr().err == ""


def test_training_line_shows_epochs_losses_best_and_no_fake_total(churn, capsys, caplog):
    caplog.set_level(logging.INFO, logger="synth_pipeline")
    make_generator("argn", random_state=0, max_epochs=3, n_threads=1, show_progress=True).fit(churn.head(300))
    err = capsys.readouterr().err
    assert "argn training: epoch 3, loss " in err and "validation loss" in err and "best " in err
    assert "elapsed" in err and "/3" not in err and "/200" not in err and "left" not in err
    messages = [r.getMessage() for r in caplog.records]
    # with the live line, no log line per epoch; the outcome is logged
    assert not any(m.startswith("epoch ") for m in messages)
    assert any(m.startswith("training stopped after 3 epochs") for m in messages)


@pytest.mark.parametrize("show", [True, False])
def test_sampling_shows_rows_and_rate(churn, capsys, caplog, show):
    caplog.set_level(logging.INFO, logger="synth_pipeline")
    generator = make_generator("copula", random_state=0, show_progress=show).fit(churn)
    rows = sum(len(b) for b in generator.sample_batches(30_000, batch_rows=10_000))
    assert rows == 30_000
    err = capsys.readouterr().err
    messages = [r.getMessage() for r in caplog.records if r.name.endswith("sampling")]
    assert messages[-1].startswith("copula: sampled 30000 rows in ") and messages[-1].endswith(" rows/s)")
    if show:
        assert "copula sampling" in err and "rows/s" in err and "30.0k/30.0k" in err
        assert len(messages) == 1
    else:
        assert err == ""
        assert [m.split(" (")[0] for m in messages[:-1]] == [
            "copula: sampled 10000 of 30000 rows",
            "copula: sampled 20000 of 30000 rows",
        ]


def test_cli_logging_keeps_library_chatter_out_and_is_undone(capsys):
    root = logging.getLogger()
    handlers = list(root.handlers)
    with terminal_logging(quiet=False):
        logging.getLogger("alembic.runtime.migration").info("Running stamp_revision")
        logging.getLogger("great_expectations.data_context").info("Created temporary directory")
        logging.getLogger("synth_pipeline.cli_test").info("useful")
    err = capsys.readouterr().err
    assert "useful" in err and "stamp_revision" not in err and "temporary" not in err
    assert root.handlers == handlers
