"""argn's text model on its own: texts that end where their length says, the learning-rate decay, old states,
the adaptive softmax over frequency-ranked tokens."""

from __future__ import annotations

import numpy as np
import torch

from synth_pipeline.free_text import WORD_LENGTH_CLASSES, fresh_token, token_shape
from synth_pipeline.generators.argn.text_calibration import calibrate_token_bias
from synth_pipeline.generators.argn.text_model import (
    N_SPECIAL,
    TextNetwork,
    TextTrainingPlan,
    frequency_order,
    keep_nucleus,
    output_cutoffs,
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


def _fit(max_remaining: int, rng: np.random.Generator, cutoffs: list[int] | None = None) -> tuple[TextNetwork, dict]:
    texts, codes = _bracketed_texts(400, rng)
    targets, lengths = padded(texts, 12)
    network = TextNetwork(
        N_SPECIAL + 8, [1], embedding_dim=16, hidden_size=32, max_remaining=max_remaining,
        output_cutoffs=cutoffs or [], output_order=frequency_order(targets, N_SPECIAL + 8),
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


def test_tokens_are_ranked_by_frequency_and_only_a_large_vocabulary_gets_an_adaptive_softmax():
    targets = np.array([[5, 5, 5, 4, 0], [4, 3, 5, 0, 0]])
    order = frequency_order(targets, 6)
    assert order.tolist()[5] == 0 and order[4] == 1 and order[3] == 2 and order[0] == 5  # padding last
    assert sorted(order.tolist()) == list(range(6))
    assert output_cutoffs(500) == [] and output_cutoffs(4000) == [500, 2000]


def test_the_adaptive_softmax_learns_the_brackets_saves_and_draws_the_same_whatever_the_threads():
    network, _ = _fit(12, np.random.default_rng(0), cutoffs=[4, 7])
    assert network.config()["output_cutoffs"] == [4, 7]
    lengths = np.random.default_rng(1).integers(3, 13, 5000)  # more rows than one sampling chunk
    codes = np.zeros((len(lengths), 1), dtype=np.int64)
    previous, drawn = torch.get_num_threads(), []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            drawn.append(sample_tokens(network, codes, lengths, temperature=1.0,
                                       generator=torch.Generator().manual_seed(2)))
    finally:
        torch.set_num_threads(previous)
    tokens = drawn[0]
    assert np.array_equal(drawn[0], drawn[1])
    rows = np.arange(len(lengths))
    # the columns of the ranked output map back to the right token ids: "( word )" closes where the text ends
    assert ((tokens[rows, lengths - 1] == CLOSE) & (tokens[rows, lengths - 3] == OPEN)).mean() > 0.9
    written = np.arange(tokens.shape[1])[None, :] < lengths[:, None]
    assert (tokens[written] >= N_SPECIAL).all() and (tokens[~written] == 0).all()  # no unknown token, no start
    loaded = TextNetwork.from_state(network.to_state())
    again = sample_tokens(loaded, codes, lengths, temperature=1.0, generator=torch.Generator().manual_seed(2))
    assert np.array_equal(again, tokens)


def test_no_token_is_drawn_glued_to_a_word_it_would_run_into():
    from synth_pipeline.columns import ColumnKind
    from synth_pipeline.free_text import detokenize, tokenize
    from synth_pipeline.generators.argn.encoders.text import TextEncoder

    vocabulary = [" lib", "dev", "-", " (", ")", "2", "\x00Aa5", " \x00d3", "\x00p"]
    encoder = TextEncoder("t", ColumnKind.TEXT, False, vocabulary=vocabulary)
    spacing = encoder.token_rules()
    by_token = dict(zip(vocabulary, range(N_SPECIAL, N_SPECIAL + len(vocabulary)), strict=True))
    assert [t for t, i in by_token.items() if spacing.glued[i]] == ["dev", "2", "\x00Aa5"]
    assert [t for t, i in by_token.items() if spacing.ends_word[i]] == [" lib", "dev", "2", "\x00Aa5", " \x00d3"]
    network = TextNetwork(N_SPECIAL + len(vocabulary), [1], embedding_dim=8, hidden_size=16,
                          generator=torch.Generator().manual_seed(0))  # untrained: any pair is likely
    lengths = np.full(3000, 6)
    codes = np.zeros((len(lengths), 1), dtype=np.int64)
    free, spaced = (sample_tokens(network, codes, lengths, temperature=1.0, generator=torch.Generator().manual_seed(1),
                                  rules=s) for s in (None, spacing))

    def glued_pairs(tokens: np.ndarray) -> int:
        return int((spacing.ends_word[tokens[:, :-1]] & spacing.glued[tokens[:, 1:]]).sum())

    assert glued_pairs(free) > 100 and glued_pairs(spaced) == 0
    # so every text reads back as the tokens drawn (placeholders aside)
    plain = [v for v in vocabulary if "\x00" not in v]
    for row in spaced[:200]:
        words = [vocabulary[i - N_SPECIAL] for i in row]
        if all(w in plain for w in words):
            assert tokenize(detokenize(words)) == [w if i else " " + w.lstrip() for i, w in enumerate(words)]


def test_brackets_training_keeps_balanced_are_closed_and_never_closed_unopened():
    import pandas as pd

    from synth_pipeline.columns import ColumnKind
    from synth_pipeline.generators.argn.encoders.text import TextEncoder
    from synth_pipeline.generators.argn.text_rules import balanced_brackets

    texts = pd.Series(["a (b) c", "x (y z)", "no brackets", "[one] two", "smile :)", "[list"] * 5)
    assert balanced_brackets(texts.iloc[:4]) == ["()", "[]"]
    assert balanced_brackets(texts) == []  # ":)" and "[list": training does not keep them balanced
    vocabulary = [" a", " b", " (", "(", ")", " [", "]"]
    encoder = TextEncoder("t", ColumnKind.TEXT, False, vocabulary=vocabulary, balanced_brackets=["()"])
    ids = dict(zip(vocabulary, range(N_SPECIAL, N_SPECIAL + len(vocabulary)), strict=True))
    network = TextNetwork(N_SPECIAL + len(vocabulary), [1], embedding_dim=8, hidden_size=16,
                          generator=torch.Generator().manual_seed(0))  # untrained: brackets anywhere
    lengths = np.random.default_rng(0).integers(1, 9, 3000)
    codes = np.zeros((len(lengths), 1), dtype=np.int64)

    def depths(rules) -> tuple[np.ndarray, np.ndarray]:
        tokens = sample_tokens(network, codes, lengths, temperature=1.0, generator=torch.Generator().manual_seed(1),
                               rules=rules)
        change = np.isin(tokens, [ids[" ("], ids["("]]).astype(int) - (tokens == ids[")"]).astype(int)
        return np.cumsum(change, axis=1), tokens

    free, _ = depths(None)
    assert (free.min(axis=1) < 0).mean() > 0.1 and (free[:, -1] != 0).mean() > 0.1
    closed, tokens = depths(encoder.token_rules())
    assert closed.min() == 0 and (closed[:, -1] == 0).all()  # never closed before opened; all closed at the end
    assert (tokens == ids[")"]).sum() > 300  # brackets are still written
    assert np.isin(tokens, [ids[" ["], ids["]"]]).sum() > 300  # a pair training does not balance: no rule


def test_calibration_brings_drawn_token_frequencies_to_training_and_is_saved_with_the_model():
    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    shares = np.array([0.4, 0.3, 0.15, 0.1, 0.04, 0.01])
    texts = [rng.choice(WORDS, n, p=shares).astype(np.int64) for n in rng.integers(3, 13, 3000)]
    targets, lengths = padded(texts, 12)
    codes = np.zeros((len(texts), 1), dtype=np.int64)
    # an untrained network draws its words about uniformly: far from training's frequencies
    network = TextNetwork(N_SPECIAL + 8, [1], embedding_dim=16, hidden_size=32, max_remaining=12,
                          generator=torch.Generator().manual_seed(0))
    report = calibrate_token_bias(network, codes, lengths, targets, generator=torch.Generator().manual_seed(1),
                                  rules=None, top_p=1.0)
    assert report["token_tvd_before"] > 0.2 and report["token_tvd_after"] < 0.05, report
    assert network.token_bias[WORDS[0]] > network.token_bias[WORDS[-1]]
    loaded = TextNetwork.from_state(network.to_state())
    assert torch.equal(loaded.token_bias, network.token_bias)
    draw = {"temperature": 1.0, "generator": torch.Generator().manual_seed(2)}
    assert np.array_equal(sample_tokens(loaded, codes[:50], lengths[:50], **draw),
                          sample_tokens(network, codes[:50], lengths[:50], **draw | {
                              "generator": torch.Generator().manual_seed(2)}))
    # a model saved before calibration existed loads with no bias
    old = network.to_state()
    del old["arrays"]["token_bias"]
    assert not TextNetwork.from_state(old).token_bias.any()


def test_nucleus_sampling_cuts_the_unlikely_tail_and_draws_the_same_whatever_the_threads():
    logits = torch.log(torch.tensor([[0.05, 0.6, 0.3, 0.04, 0.01], [0.2, 0.2, 0.2, 0.2, 0.2]]))
    kept = logits.clone()
    keep_nucleus(kept, 0.85)
    # row 0: 0.6 + 0.3 are needed to hold 0.85, the rest is cut; row 1: 0.8 is below 0.85, so all five stay
    assert torch.isfinite(kept).tolist() == [[False, True, True, False, False], [True, True, True, True, True]]
    assert torch.equal(kept[torch.isfinite(kept)], logits[torch.isfinite(kept)])
    single = torch.log(torch.tensor([[0.95, 0.05]]))
    keep_nucleus(single, 0.5)
    assert torch.isfinite(single).tolist() == [[True, False]]  # the most likely token always stays
    network, _ = _fit(12, np.random.default_rng(0), cutoffs=[4, 7])
    lengths = np.random.default_rng(1).integers(3, 13, 5000)
    codes = np.zeros((len(lengths), 1), dtype=np.int64)
    previous, drawn = torch.get_num_threads(), []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            drawn.append(sample_tokens(network, codes, lengths, temperature=1.0, top_p=0.9,
                                       generator=torch.Generator().manual_seed(2)))
    finally:
        torch.set_num_threads(previous)
    assert np.array_equal(drawn[0], drawn[1])
    everything = sample_tokens(network, codes, lengths, temperature=1.0, generator=torch.Generator().manual_seed(2))
    assert not np.array_equal(drawn[0], everything)
    written = np.arange(drawn[0].shape[1])[None, :] < lengths[:, None]
    assert (drawn[0][written] >= N_SPECIAL).all()


def test_calibration_moves_a_long_tail_of_rare_words_as_a_whole():
    """Words too rare to move one by one (a few counts each) move in pooled bands: the tail's share comes right."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(5)
    frequent, tail_a, tail_b = N_SPECIAL, np.arange(N_SPECIAL + 1, N_SPECIAL + 501), np.arange(N_SPECIAL + 501,
                                                                                                 N_SPECIAL + 1001)
    size = N_SPECIAL + 1001
    words = np.concatenate([[frequent], tail_a, tail_b])
    shares = np.concatenate([[0.5], np.full(500, 0.4 / 500), np.full(500, 0.1 / 500)])
    texts = [rng.choice(words, 7, p=shares).astype(np.int64) for _ in range(600)]
    targets, lengths = padded(texts, 7)
    codes = np.zeros((len(texts), 1), dtype=np.int64)
    network = TextNetwork(size, [1], embedding_dim=8, hidden_size=16, max_remaining=7,
                          generator=torch.Generator().manual_seed(0))
    calibrate_token_bias(network, codes, lengths, targets, generator=torch.Generator().manual_seed(1),
                         rules=None, top_p=1.0)
    drawn = sample_tokens(network, np.zeros((4000, 1), dtype=np.int64), np.full(4000, 7),
                          temperature=1.0, generator=torch.Generator().manual_seed(2))
    # each tail_b word has about one real count and four drawn before calibration: alone, none would move
    assert abs(np.isin(drawn, tail_b).mean() - 0.1) < 0.03
    assert abs((drawn == frequent).mean() - 0.5) < 0.05
