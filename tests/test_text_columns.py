"""Free-text columns (kind ``text``): inference and override, argn's text model, its privacy guards, text QA."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError
from synth_pipeline.free_text import detokenize, fresh_token, token_rows, token_shape, tokenize
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.generators.privacy_budget import PrivacySettings
from synth_pipeline.quality import QualityReport, evaluate, render_html
from synth_pipeline.schema import infer_schema
from synth_pipeline.simulate_text import simulate_listings

FAST = {"max_epochs": 3, "text_max_epochs": 12, "random_state": 0, "n_threads": 1}


@pytest.fixture(scope="module")
def listings() -> tuple[pd.DataFrame, pd.DataFrame]:
    table = simulate_listings(1600, random_state=1)
    return table.iloc[:1000].reset_index(drop=True), table.iloc[1000:].reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(listings) -> tuple[ARGNGenerator, pd.DataFrame]:
    generator = ARGNGenerator(**FAST).fit(listings[0])
    return generator, generator.sample(1000)


def test_tokens_keep_their_spacing_and_rare_tokens_become_fresh_ones_of_their_shape():
    text = "GNU C Library:  shared libs (v2)"
    assert tokenize(text) == [" GNU", " C", " Library", ":", " shared", " libs", " (", "v2", ")"]
    assert detokenize(tokenize(text)) == "GNU C Library: shared libs (v2)"
    rng = np.random.default_rng(0)
    number = fresh_token(token_shape(" 48213"), rng)
    assert number.startswith(" ") and number[1:].isdigit() and len(number) == 6
    assert fresh_token(token_shape("Smith"), rng)[0].isupper()
    assert fresh_token(token_shape("™"), rng) == ""


def test_inference_tells_free_text_from_ids_and_says_why(listings):
    training = listings[0].assign(
        listing_id=[f"L-{i:05d}" for i in range(len(listings[0]))],
        note=[f"free text {i} {i * 7919 % 100003}" for i in range(len(listings[0]))],  # a template around counters
    )
    schema = infer_schema(training)
    assert schema.kind("title") is ColumnKind.TEXT
    assert schema["title"].reason.startswith("free text (") and "median" in schema["title"].reason
    assert schema.kind("listing_id") is ColumnKind.ID and "fewer than 3 words" in schema["listing_id"].reason
    assert schema.kind("note") is ColumnKind.ID and "a few fixed words" in schema["note"].reason
    overridden = infer_schema(training, {"title": "id", "neighbourhood": {"kind": "text"}})
    assert overridden.kind("title") is ColumnKind.ID and overridden.kind("neighbourhood") is ColumnKind.TEXT
    assert overridden["neighbourhood"].reason == "set in the configuration"


def test_argn_writes_titles_that_follow_the_row_and_keep_no_rare_token(listings, fitted):
    training, _ = listings
    generator, synthetic = fitted
    titles = synthetic["title"]
    assert 0.005 < titles.isna().mean() < 0.06  # training: 2 % missing
    written = titles.dropna()
    assert written.str.len().gt(0).mean() > 0.95 and written.nunique() > 0.9 * len(written)
    # the words follow the row: "garden" is a house's word, "balcony" a flat's
    house = synthetic["property_type"] == "house"
    assert titles[house].str.contains("garden").mean() > 0.45 > titles[~house].str.contains("garden").mean() + 0.4
    # no token seen in fewer than k rows of training comes out (k >= 5); fresh names and numbers stand there
    rows_of = token_rows(training["title"])
    produced = {t.strip() for text in written for t in tokenize(text)}
    assert not [t for t in produced if 0 < rows_of.get(t, 0) < 5]
    assert any(t.isdigit() and rows_of.get(t, 0) == 0 for t in produced)  # a fresh number


def test_the_text_model_is_saved_and_sampling_is_reproducible(tmp_path, fitted):
    generator, synthetic = fitted
    loaded = Generator.load(generator.save(tmp_path / "model"))
    pd.testing.assert_frame_equal(loaded.sample(200, random_state=5), generator.sample(200, random_state=5))
    cold = generator.sample(300, random_state=1, temperature=0.3)["title"].dropna()
    warm = generator.sample(300, random_state=1, temperature=1.5)["title"].dropna()
    known = set(generator.encoder_.encoders[-1].vocabulary)  # fresh names and numbers left aside

    def word_pairs(texts: pd.Series) -> set[tuple[str, str]]:
        rows = [[t for t in tokenize(text) if t in known] for text in texts]
        return {pair for words in rows for pair in zip(words, words[1:], strict=False)}

    assert len(word_pairs(cold)) < len(word_pairs(warm))  # a colder model writes fewer distinct word pairs


def test_no_copy_of_a_rare_training_text_while_frequent_texts_may_repeat():
    rng = np.random.default_rng(0)
    words = (["red", "blue", "green", "grey", "pink"], ["cat", "dog", "owl", "fox", "eel"], ["runs", "sits", "eats"])
    texts = [" ".join(rng.choice(w) for w in words) for _ in range(700)]
    table = pd.DataFrame({"group": rng.choice(["a", "b"], 700), "text": texts})
    generator = ARGNGenerator(**FAST, column_kinds={"text": "text"}).fit(table)
    synthetic = generator.sample(2000)["text"].dropna()
    counts = Counter(texts)
    rare = {t for t, n in counts.items() if n < 5}
    assert rare and not rare & set(synthetic)
    assert synthetic.isin(counts).mean() > 0.5  # the frequent ones are there, verbatim


def test_the_qa_report_measures_text_beside_the_holdout(tmp_path, listings, fitted):
    training, holdout = listings
    generator, synthetic = fitted
    report = evaluate(training, holdout, synthetic, schema=generator.schema_, metrics={"accuracy", "text"})
    assert "title" not in report.metadata.columns and "title" in report.metadata.excluded_columns
    (text,) = report.text
    assert text.column == "title" and text.reason.startswith("free text")
    assert text.rare_token_share_synthetic == 0.0 < text.rare_token_share_holdout
    assert text.verbatim_share_synthetic <= text.verbatim_share_holdout + 0.01
    assert text.length_accuracy > 0.8 and text.token_accuracy > 0.8
    assert abs(text.mean_tokens_synthetic - text.mean_tokens_training) < 1.5
    assert QualityReport.from_json(report.to_json()).text == report.text
    page = render_html(report, tmp_path / "report.html").read_text()
    assert "Free-text columns" in page and "copies of rare training texts" in page
    with pytest.raises(ConfigError, match="'title' is a free-text column"):
        evaluate(training, holdout, synthetic, schema=generator.schema_, target="title")


def test_seeded_titles_are_kept_and_missing_titles_are_imputed(listings, fitted):
    training, _ = listings
    generator, _ = fitted
    seeds = training[["property_type", "title"]].dropna().head(50).reset_index(drop=True)
    seeded = generator.sample(seed_data=seeds)
    assert seeded["title"].tolist() == seeds["title"].tolist()
    holes = training.head(200).copy()
    holes.loc[:49, "title"] = None
    filled = generator.impute(holes, columns=["title"])
    observed = holes["title"].notna()
    assert filled["title"].notna().all()
    assert filled.loc[observed, "title"].tolist() == holes.loc[observed, "title"].tolist()


class _PrivateStatisticsARGN(ARGNGenerator):
    """argn with its statistics under a privacy budget (plain SGD), as in tests/test_private_generators.py."""

    def _statistics_privacy(self) -> PrivacySettings:
        return PrivacySettings(epsilon=20.0, delta=1e-6)


def test_under_privacy_free_text_is_regenerated_and_listed(listings):
    generator = _PrivateStatisticsARGN(max_epochs=1, random_state=0, hidden_size=16).fit(listings[0].head(600))
    assert generator.schema_.kind("title") is ColumnKind.ID
    assert generator.schema_["title"].reason == "free text: argn's text model has no differential privacy"


def test_the_copula_says_it_has_no_text_model(listings):
    generator = GaussianCopulaGenerator(random_state=0).fit(listings[0])
    assert generator.schema_.kind("title") is ColumnKind.ID
    assert "the copula has no text model" in generator.schema_["title"].reason
