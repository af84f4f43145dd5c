"""Free text, once: how it is cut into tokens, joined back, and told apart from ids.

One tokenizer serves the text encoder (what the text model learns), the QA report
(token frequencies, lengths) and schema inference, so a "word" means the same
everywhere. A token is a run of word characters or one punctuation mark, with a
leading space when a space preceded it or it starts the text (``"Fast web server"``
becomes ``[" Fast", " web", " server"]``), so joining the tokens gives the text back with
its spacing normalised to single spaces.

A string column is *free text* (kind ``text``), not an id, when its values are
mostly distinct, are written as several words (median at least
:data:`MIN_MEDIAN_WORDS`), and most of their words are shared by many rows
(:data:`MIN_SHARED_WORD_SHARE` of word occurrences are words with letters seen
in at least :data:`SHARED_WORD_ROWS` rows, and there are
:data:`MIN_SHARED_VOCABULARY` such words). Codes, hashes, e-mails and names of
one or two words fail the word count; strings of random tokens fail the
sharing; a few fixed words around counters fail the vocabulary.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])")
_LETTER = re.compile(r"[^\W\d_]")
MIN_MEDIAN_WORDS = 3
SHARED_WORD_ROWS = 5
MIN_SHARED_WORD_SHARE = 0.4
#: distinct shared words at least: a language, not a template of a few fixed words around counters
MIN_SHARED_VOCABULARY = 20
#: share of distinct values above which a wordy column is free text rather than categorical
MIN_DISTINCT_SHARE = 0.5


def tokenize(text: str) -> list[str]:
    """The tokens of ``text``: words and punctuation, each with a leading space when one preceded it.

    >>> tokenize("GNU C Library: shared libs")
    [' GNU', ' C', ' Library', ':', ' shared', ' libs']
    """
    # the text starts after a space, so a word at the start is the same token as in the middle
    tokens = [m.group(0) for m in _TOKEN.finditer(" " + text.lstrip())]
    out = []
    for token in tokens:
        core = token.lstrip()
        out.append(core if len(core) == len(token) else " " + core)
    return out


def detokenize(tokens: list[str]) -> str:
    """The text of ``tokens`` (the inverse of :func:`tokenize` up to spacing)."""
    return "".join(tokens).strip()


#: what a rare token becomes: its shape (a number of so many digits, a word in lower, Capital or UPPER case
#: and of about so many letters, a rare mark), written back as a fresh token of that shape that no training
#: row supplied
_FRESH_SYLLABLES = ("ba", "ne", "ti", "pol", "ru", "sa", "me", "gor", "li", "va", "den", "hu")
#: a rare word's length is kept as one of these classes (the least length of each): a made-up word of the
#: same class stands for it, so texts keep their length in characters (names are longer than 2 syllables)
WORD_LENGTH_CLASSES = (1, 3, 4, 5, 6, 7, 8, 9, 11, 14)
_LONGEST_FRESH_WORD = 18


def keyed_hash(text: str, key: str) -> int:
    """The 64-bit blake2b hash of ``text`` under the hex ``key``: rare training values are kept as these."""
    digest = hashlib.blake2b(text.encode(), digest_size=8, key=bytes.fromhex(key)).digest()
    return int.from_bytes(digest, "little")


#: the placeholder of a rare mark (no letters, no digits), its leading space aside
MARK_PLACEHOLDER = "\x00p"


def token_shape(token: str) -> str:
    """The placeholder of a rare ``token`` (its leading space kept): ``" Smith"`` -> ``" \x00Aa5"``."""
    space, core = (" ", token[1:]) if token.startswith(" ") else ("", token)
    if core.isdigit():
        return f"{space}\x00d{min(len(core), 6)}"
    if not _LETTER.search(core):
        return space + MARK_PLACEHOLDER
    length = max(c for c in WORD_LENGTH_CLASSES if c <= len(core))
    if core.isupper() and len(core) > 1:
        return f"{space}\x00AA{length}"
    return f"{space}\x00Aa{length}" if core[0].isupper() else f"{space}\x00aa{length}"


def fresh_token(placeholder: str, rng: np.random.Generator) -> str:
    """A new token of a placeholder's shape: random digits, or a made-up word of fixed syllables ("" for a mark).

    A word's length is drawn within its placeholder's length class (a placeholder without one, as models
    saved before wrote them: 2 or 3 syllables).
    """
    space, shape = (" ", placeholder[2:]) if placeholder.startswith(" ") else ("", placeholder[1:])
    if shape.startswith("d"):
        digits = int(shape[1:])
        return space + str(int(rng.integers(1, 10))) + "".join(str(d) for d in rng.integers(0, 10, digits - 1))
    if shape == "p":
        return ""
    case, length_class = shape[:2], shape[2:]
    word = "".join(rng.choice(_FRESH_SYLLABLES, int(rng.integers(2, 4))))
    if length_class:
        least = int(length_class)
        bigger = [c for c in WORD_LENGTH_CLASSES if c > least]
        length = int(rng.integers(least, bigger[0] if bigger else _LONGEST_FRESH_WORD + 1))
        word = "".join(rng.choice(_FRESH_SYLLABLES, length))[:length]
    return space + (word.upper() if case == "AA" else word.capitalize() if case == "Aa" else word)


def is_placeholder(token: str) -> bool:
    """Whether ``token`` is a shape placeholder (see :func:`token_shape`)."""
    return "\x00" in token


def token_rows(texts: pd.Series) -> Counter[str]:
    """For each token (its leading space dropped), the number of distinct rows of ``texts`` it occurs in."""
    counts: Counter[str] = Counter()
    for text in texts.dropna():
        counts.update({t.strip() for t in tokenize(str(text))})
    return counts


@dataclass(frozen=True)
class TextEvidence:
    """What decides free text versus ids for one string column."""

    distinct: int
    rows: int
    median_words: float
    shared_word_share: float
    shared_vocabulary: int

    @property
    def is_free_text(self) -> bool:
        return (
            self.distinct >= MIN_DISTINCT_SHARE * self.rows
            and self.median_words >= MIN_MEDIAN_WORDS
            and self.shared_word_share >= MIN_SHARED_WORD_SHARE
            and self.shared_vocabulary >= MIN_SHARED_VOCABULARY
        )

    def reason(self) -> str:
        """One line: why the column is free text, or why it is not (for a near-unique column: an id)."""
        facts = (
            f"{self.distinct} distinct values in {self.rows} rows, median {self.median_words:g} words, "
            f"{self.shared_word_share:.0%} of words shared by {SHARED_WORD_ROWS}+ rows, "
            f"{self.shared_vocabulary} such words"
        )
        if self.is_free_text:
            return f"free text ({facts})"
        if self.median_words < MIN_MEDIAN_WORDS:
            why = f"fewer than {MIN_MEDIAN_WORDS} words"
        elif self.shared_vocabulary < MIN_SHARED_VOCABULARY:
            why = "a few fixed words around unique parts"
        else:
            why = "its words are mostly unique to their rows"
        return f"near-unique, an identifier rather than free text ({facts}: {why})"


def text_evidence(text: pd.Series, *, max_rows: int = 20_000) -> TextEvidence:
    """The evidence of a column of strings (missing values dropped), read on at most ``max_rows`` rows."""
    values = text.dropna().astype(str)
    distinct = int(values.nunique())
    sample = values if len(values) <= max_rows else values.sample(max_rows, random_state=0)
    words = sample.str.split()
    n_words = words.str.len().to_numpy(dtype=np.float64)
    rows_of: Counter[str] = Counter()
    for row in words:
        rows_of.update(set(row))
    total = float(n_words.sum())
    # a shared word has letters: numbers repeated across rows (counters, amounts) are no vocabulary
    vocabulary = {w for w, n in rows_of.items() if n >= SHARED_WORD_ROWS and _LETTER.search(w)}
    shared = sum(1 for row in words for w in row if w in vocabulary)
    return TextEvidence(
        distinct=distinct,
        rows=len(values),
        median_words=float(np.median(n_words)) if len(n_words) else 0.0,
        shared_word_share=shared / total if total else 0.0,
        shared_vocabulary=len(vocabulary),
    )
