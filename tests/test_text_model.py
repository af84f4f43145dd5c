"""argn's text model on its own: texts that end where their length says, the learning-rate decay, old states."""

from __future__ import annotations

import numpy as np
import torch

from synth_pipeline.free_text import WORD_LENGTH_CLASSES, fresh_token, token_shape
from synth_pipeline.generators.argn.text_model import (
    N_SPECIAL,
    TextNetwork,
    TextTrainingPlan,
    padded,
    sample_tokens,
    train_text_model,
)

OPEN, CLOSE, WORDS = N_SPECIAL, N_SPECIAL + 1, list(range(N_SPECIAL + 2, N_SPECIAL + 8))


def _bracketed_texts(n: int, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """Texts of 3 to 12 tokens: random words, then the last three "( word )"; codes: one constant sub-column."""
    texts = []
    for length in rng.integers(3, 13, n):
        texts.append(np.array([*rng.choice(WORDS, length - 3), OPEN, rng.choice(WORDS), CLOSE], dtype=np.int64))
    return texts, np.zeros((n, 1), dtype=np.int64)


def _fit(max_remaining: int, rng: np.random.Generator) -> tuple[TextNetwork, dict]:
    texts, codes = _bracketed_texts(400, rng)
    targets, lengths = padded(texts, 12)
    network = TextNetwork(
        N_SPECIAL + 8, [1], embedding_dim=16, hidden_size=32, max_remaining=max_remaining,
        generator=torch.Generator().manual_seed(0),
    )
    plan = TextTrainingPlan(max_seconds=60, max_epochs=25, patience=2, learning_rate=1e-2)
    return network, train_text_model(network, codes, targets, lengths, plan, rng)


def test_the_text_model_knows_how_many_tokens_are_left_and_closes_where_the_text_ends():
    torch.set_num_threads(1)
    lengths = np.random.default_rng(1).integers(3, 13, 400)
    closed = {}
    for max_remaining in (0, 12):
        network, _ = _fit(max_remaining, np.random.default_rng(0))
        tokens = sample_tokens(network, np.zeros((400, 1), dtype=np.int64), lengths, temperature=1.0,
                               generator=torch.Generator().manual_seed(2))
        ends = tokens[np.arange(400), lengths - 1] == CLOSE
        opens = tokens[np.arange(400), lengths - 3] == OPEN
        closed[max_remaining] = float((ends & opens).mean())
    # without the count of tokens to come it cannot tell where "( word )" goes; with it, nearly always right
    assert closed[12] > 0.9 > 0.6 > closed[0]


def test_the_learning_rate_decays_after_epochs_without_progress_and_old_states_load():
    network, report = _fit(12, np.random.default_rng(0))
    assert report["final_learning_rate"] < 1e-2  # lowered (x0.3) after each epoch that did not improve
    state = network.to_state()
    assert state["config"]["max_remaining"] == 12
    assert TextNetwork.from_state(state).max_remaining == 12
    # a model saved before the count of tokens to come existed has no such embedding, and still samples
    old = TextNetwork(N_SPECIAL + 8, [1], embedding_dim=16, hidden_size=32).to_state()
    del old["config"]["max_remaining"]
    loaded = TextNetwork.from_state(old)
    assert loaded.max_remaining == 0 and not hasattr(loaded, "remaining_embedding")
    drawn = sample_tokens(loaded, np.zeros((5, 1), dtype=np.int64), np.array([1, 2, 3, 4, 5]), temperature=1.0,
                          generator=torch.Generator().manual_seed(0))
    assert drawn.shape == (5, 5) and (drawn[4] >= N_SPECIAL).all()


def test_a_fresh_word_keeps_the_length_class_of_the_rare_word_it_stands_for():
    rng = np.random.default_rng(0)
    assert token_shape(" Smith") == " \x00Aa5" and token_shape("GTK") == "\x00AA3" and token_shape(" 123") == " \x00d3"
    for word in ["x", "abc", "Debian", "Jonathanson", "superlongpackagename"]:
        least = max(c for c in WORD_LENGTH_CLASSES if c <= len(word))
        bigger = [c for c in WORD_LENGTH_CLASSES if c > least]
        for _ in range(20):
            fresh = fresh_token(token_shape(" " + word), rng)
            assert fresh.startswith(" ") and fresh[1:].isalpha() and fresh[1:] != word
            assert least <= len(fresh) - 1 < (bigger[0] if bigger else 19)
    # a placeholder as models saved before wrote it (no length class): a word of 2 or 3 syllables
    assert fresh_token(" \x00Aa", rng)[1].isupper()
