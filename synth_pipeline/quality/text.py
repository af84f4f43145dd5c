"""QA of free-text columns: lengths, token frequencies, verbatim copies and rare tokens, each beside the holdout's.

Free text (kind ``text``) is left out of the table metrics (binned accuracy, discriminator, distances:
nearly every text is its own category there). This section measures it on its own terms, always
synthetic vs training next to holdout vs training (what a fresh real sample reaches):

* **length accuracy**: 1 - TVD of the number of tokens, cut into (up to) 10 quantile bins of training;
* **token accuracy**: 1 - TVD of the token frequencies (the 1,000 most frequent training tokens seen in at
  least :data:`RARE_ROWS` rows, the rest pooled into one "other" bin), tokens as :mod:`synth_pipeline.free_text`
  cuts them, case kept, leading spaces dropped;
* **verbatim share**: the share of texts found exactly (spacing normalised) among the training texts, and
  the share found among training texts held by fewer than :data:`RARE_ROWS` rows (a copy of a rare text);
* **rare-token share**: the share of tokens that occur in only 1 to ``RARE_ROWS - 1`` training rows (a name,
  a number): the holdout has its own; a generator that protects rare tokens has none.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synth_pipeline.free_text import detokenize, token_rows, tokenize

RARE_ROWS = 5
TOP_TOKENS = 1000
LENGTH_BINS = 10


class TextColumnQuality(BaseModel):
    """The text measures of one free-text column (``*_holdout``: the same for holdout, the reference)."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(description="The column.")
    reason: str = Field(description="Why schema inference (or the configuration) made it free text.")
    mean_tokens_training: float = Field(description="Mean tokens per text in training.")
    mean_tokens_synthetic: float = Field(description="Mean tokens per text in synthetic.")
    mean_tokens_holdout: float = Field(description="Mean tokens per text in holdout.")
    length_accuracy: float = Field(description="1 - TVD of the binned token counts, synthetic vs training.")
    length_accuracy_holdout: float = Field(description="The same for holdout vs training (the ceiling).")
    token_accuracy: float = Field(description="1 - TVD of token frequencies (top tokens + other), synthetic.")
    token_accuracy_holdout: float = Field(description="The same for holdout vs training (the ceiling).")
    verbatim_share_synthetic: float = Field(description="Share of synthetic texts found verbatim in training.")
    verbatim_share_holdout: float = Field(description="Share of holdout texts found verbatim in training.")
    rare_verbatim_share_synthetic: float = Field(
        description=f"Share of synthetic texts equal to a training text held by fewer than {RARE_ROWS} rows."
    )
    rare_verbatim_share_holdout: float = Field(description="The same for holdout texts.")
    rare_token_share_synthetic: float = Field(
        description=f"Share of synthetic tokens that occur in 1 to {RARE_ROWS - 1} training rows (names, numbers)."
    )
    rare_token_share_holdout: float = Field(description="The same for holdout tokens.")
    distinct_share_synthetic: float = Field(description="Distinct texts / texts, synthetic.")
    distinct_share_holdout: float = Field(description="Distinct texts / texts, holdout.")


def compute_text_quality(
    columns: dict[str, str], training: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame
) -> list[TextColumnQuality]:
    """The text measures of each column in ``columns`` (name -> reason of its kind), on equal-sized samples."""
    return [
        _column(name, reason, training[name], holdout[name], synthetic[name]) for name, reason in columns.items()
    ]


def _column(name: str, reason: str, training: pd.Series, holdout: pd.Series, synthetic: pd.Series) -> TextColumnQuality:
    texts = {key: _normalized(series) for key, series in (("t", training), ("h", holdout), ("s", synthetic))}
    tokens = {key: [tokenize(t) for t in values] for key, values in texts.items()}
    lengths = {key: np.array([len(t) for t in rows], dtype=np.float64) for key, rows in tokens.items()}
    edges = np.unique(np.quantile(lengths["t"], np.linspace(0, 1, LENGTH_BINS + 1))) if len(lengths["t"]) else []
    rows_of = token_rows(pd.Series(texts["t"], dtype=object))
    counts = Counter(texts["t"])
    vocabulary = [t for t, n in rows_of.most_common() if n >= RARE_ROWS][:TOP_TOKENS]
    frequencies = {key: _token_frequencies(rows, vocabulary) for key, rows in tokens.items()}
    binned = {key: _length_shares(values, edges) for key, values in lengths.items()}

    def verbatim(key: str, rare: bool) -> float:
        found = [counts.get(t, 0) for t in texts[key]]
        return _share([0 < c < RARE_ROWS if rare else c > 0 for c in found])

    def rare_tokens(key: str) -> float:
        return _share([0 < rows_of.get(t.strip(), 0) < RARE_ROWS for row in tokens[key] for t in row])

    return TextColumnQuality(
        column=name,
        reason=reason,
        mean_tokens_training=_mean(lengths["t"]),
        mean_tokens_synthetic=_mean(lengths["s"]),
        mean_tokens_holdout=_mean(lengths["h"]),
        length_accuracy=_accuracy(binned["s"], binned["t"]),
        length_accuracy_holdout=_accuracy(binned["h"], binned["t"]),
        token_accuracy=_accuracy(frequencies["s"], frequencies["t"]),
        token_accuracy_holdout=_accuracy(frequencies["h"], frequencies["t"]),
        verbatim_share_synthetic=verbatim("s", rare=False),
        verbatim_share_holdout=verbatim("h", rare=False),
        rare_verbatim_share_synthetic=verbatim("s", rare=True),
        rare_verbatim_share_holdout=verbatim("h", rare=True),
        rare_token_share_synthetic=rare_tokens("s"),
        rare_token_share_holdout=rare_tokens("h"),
        distinct_share_synthetic=_share_distinct(texts["s"]),
        distinct_share_holdout=_share_distinct(texts["h"]),
    )


def _normalized(series: pd.Series) -> list[str]:
    return [detokenize(tokenize(str(v))) for v in series.dropna()]


def _token_frequencies(rows: list[list[str]], vocabulary: list[str]) -> np.ndarray:
    """Shares of each vocabulary token and of "other" (last) among all tokens of ``rows``."""
    index = {t: i for i, t in enumerate(vocabulary)}
    counts = np.zeros(len(vocabulary) + 1)
    for row in rows:
        for token in row:
            counts[index.get(token.strip(), len(vocabulary))] += 1
    return counts / max(counts.sum(), 1.0)


def _length_shares(lengths: np.ndarray, edges: np.ndarray) -> np.ndarray:
    if len(edges) < 2:
        return np.ones(1)
    bins = np.clip(np.searchsorted(edges, lengths, side="right") - 1, 0, len(edges) - 2)
    return np.bincount(bins, minlength=len(edges) - 1) / max(len(lengths), 1)


def _accuracy(p: np.ndarray, q: np.ndarray) -> float:
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0


def _share(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else 0.0


def _share_distinct(texts: list[str]) -> float:
    return len(set(texts)) / len(texts) if texts else 0.0


def text_features(texts: pd.Series, vocabulary: list[str]) -> np.ndarray:
    """Numbers a discriminator can read from texts: token count, character count, one 0/1 column per token.

    >>> text_features(pd.Series(["a b", None]), ["a"]).tolist()
    [[2.0, 3.0, 1.0], [nan, nan, nan]]
    """
    index = {t: i for i, t in enumerate(vocabulary)}
    out = np.full((len(texts), 2 + len(vocabulary)), np.nan)
    for r, value in enumerate(texts):
        if pd.isna(value):
            continue
        tokens = tokenize(str(value))
        out[r, :] = 0.0
        out[r, 0], out[r, 1] = len(tokens), len(str(value))
        for token in tokens:
            if token.strip() in index:
                out[r, 2 + index[token.strip()]] = 1.0
    return out
