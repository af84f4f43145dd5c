"""Free-text columns: a *length* sub-column for the table model, and a conditional word model for the words.

The table model sees a text column as one sub-column: its number of tokens
(code 0 is "missing" when training had missing texts), so lengths are drawn
jointly with the other columns. The words come from
:mod:`synth_pipeline.generators.argn.text_model`, trained after the table is
encoded and conditioned on every sub-column code of the row; it writes exactly
the drawn number of tokens (see :mod:`synth_pipeline.free_text` for tokens).
After training, the texts it writes for :data:`CALIBRATION_ROWS` rows that the trained
table model sampled (the contexts and lengths sampling will write for; the generator
draws them) are counted against training's texts, and each vocabulary token's score
gets a bias that brings its drawn frequency to training's (see
:func:`~synth_pipeline.generators.argn.text_calibration.calibrate_token_bias`). Calibrated on
training rows' own contexts instead, as a first version did, the model wrote its
shape placeholders 15-20% more often than training on sampled rows, where it is vaguer
(``benchmarks/text_columns.py``).

Privacy guards:

* the vocabulary holds only tokens seen in at least ``k`` training rows (``k`` the
  model's rare-value threshold, as for categories); every rarer token (names,
  numbers, typos) is replaced by a placeholder of its *shape* (a number of so many
  digits, a capitalised word, ...), and where the model writes a placeholder the
  text gets a fresh token of that shape (random digits, a made-up word of fixed
  syllables, see :func:`synth_pipeline.free_text.fresh_token`), so no rare token
  of training can appear in the output and texts keep their form ("ref 48213"); a
  fresh token that happens to equal a rare training token is drawn again;
* a generated text equal to a training text seen fewer than ``k`` times is drawn
  again (a little hotter each time, eight times at most, then left missing and
  logged). Both checks use keyed 64-bit hashes of the rare training texts and
  tokens; the key and hashes are kept with the model, in the private store beside the
  training data, never in the output. Texts seen at least ``k`` times may come
  out verbatim, like frequent categories.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from synth_pipeline.columns import ColumnKind
from synth_pipeline.free_text import (
    MARK_PLACEHOLDER,
    detokenize,
    fresh_token,
    is_placeholder,
    keyed_hash,
    token_shape,
    tokenize,
)
from synth_pipeline.generators.argn.encoders.base import ColumnEncoder, EncoderSettings, RowDecoding, SubColumn
from synth_pipeline.generators.argn.text_calibration import calibrate_token_bias
from synth_pipeline.generators.argn.text_model import (
    N_SPECIAL,
    UNK,
    TextNetwork,
    TextTrainingPlan,
    frequency_order,
    output_cutoffs,
    padded,
    sample_tokens,
    train_text_model,
)
from synth_pipeline.generators.argn.text_rules import TokenRules, balanced_brackets

log = logging.getLogger("synth_pipeline.generators.argn")

MAX_REDRAWS = 8
MAX_FRESH_DRAWS = 20
REDRAW_HEAT = 1.25
EMBEDDING_DIM = 48
HIDDEN_SIZE = 128
#: sampling draws each token from the most likely ones holding this share of the probability (nucleus): on
#: benchmarks/text_model_probe.py, seeds 0/1, token-frequency accuracy 0.9528/0.9529 -> 0.9534/0.9538 and the
#: discriminator 0.606/0.606 -> 0.604/0.597; 0.98 and 0.95 were better on one seed only
TOP_P = 0.99
WEIGHT_DECAY = 0.01
#: sampled rows whose texts calibrate the drawn token frequencies after training (see calibrate_token_bias)
CALIBRATION_ROWS = 8000
_WORD_CHAR = re.compile(r"\w")


@dataclass
class TextEncoder(ColumnEncoder):
    """Codes: missing (when seen), then the token counts 0..``max_tokens``; words by the text model."""

    vocabulary: list[str] = field(default_factory=list)
    max_tokens: int = 0
    rare_threshold: int = 1
    temperature: float = 1.0
    max_tokens_seen: int = 20_000_000
    max_seconds: float | None = None
    max_epochs: int = 60
    guard_key: str = ""
    guard: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    token_guard: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    #: the bracket pairs training texts keep balanced (sampling closes them too)
    balanced_brackets: list[str] = field(default_factory=list)
    network: TextNetwork | None = None
    report: dict[str, Any] = field(default_factory=dict)
    _rare_tokens: set[int] | None = field(default=None, repr=False, compare=False)
    _rules: TokenRules | None = field(default=None, repr=False, compare=False)

    @classmethod
    def fit(cls, name: str, kind: ColumnKind, values: pd.Series, settings: EncoderSettings) -> TextEncoder:
        present = values.dropna().astype(str)
        rows_of: dict[str, int] = {}
        for text in present:
            for token in set(tokenize(text)):
                rows_of[token] = rows_of.get(token, 0) + 1
        k = settings.rare_threshold
        ranked = sorted((t for t, n in rows_of.items() if n >= k), key=lambda t: (-rows_of[t], t))
        frequent = ranked[: settings.text_vocabulary]
        known = set(frequent)
        placeholders = sorted({token_shape(t) for t in rows_of if t not in known})
        lengths = present.map(lambda text: len(tokenize(text)))
        top = int(lengths.quantile(0.999)) if len(lengths) else 0
        return cls(
            name,
            kind,
            bool(values.isna().any()),
            vocabulary=sorted(frequent) + placeholders,
            max_tokens=max(1, min(settings.text_max_tokens, top)),
            rare_threshold=k,
            temperature=settings.text_temperature,
            max_tokens_seen=settings.text_max_tokens_seen,
            max_seconds=settings.text_max_seconds,
            max_epochs=settings.text_max_epochs,
        )

    # -- the table model's view: lengths ---------------------------------------------------
    @property
    def first_cardinality(self) -> int:
        return int(self.has_missing) + self.max_tokens + 1

    def sub_columns(self) -> list[SubColumn]:
        return [SubColumn(self.name, "length", self.first_cardinality)]

    def code_positions(self) -> list[np.ndarray]:
        positions = np.arange(self.max_tokens + 1) / max(self.max_tokens, 1)
        return [np.concatenate([[np.nan], positions]) if self.has_missing else positions]

    def encode(self, values: pd.Series) -> np.ndarray:
        missing = values.isna().to_numpy()
        counts = np.array([0 if m else len(tokenize(str(v))) for v, m in zip(values, missing, strict=True)])
        codes = int(self.has_missing) + np.minimum(counts, self.max_tokens).astype(np.int64)
        codes[missing] = 0
        return codes[:, None]

    # -- the words ---------------------------------------------------------------------------
    def token_ids(self, values: pd.Series) -> list[np.ndarray]:
        """Each text as vocabulary ids, a rare token as its shape's placeholder; missing texts are empty.

        :data:`UNK` only for a token whose shape training never had (in conditions, never in training).
        """
        index = {token: N_SPECIAL + i for i, token in enumerate(self.vocabulary)}
        return [
            np.zeros(0, dtype=np.int64)
            if pd.isna(v)
            else np.array([index.get(t, index.get(token_shape(t), UNK)) for t in tokenize(str(v))], dtype=np.int64)
            for v in values
        ]

    def fit_in_context(
        self, values: pd.Series, row_codes: np.ndarray, cardinalities: list[int], rng: np.random.Generator,
        sampled: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.guard_key = rng.bytes(16).hex()
        counts = values.dropna().astype(str).map(normalized).value_counts()
        self.guard = np.unique(self._hashes(counts.index[counts < self.rare_threshold].tolist()))
        known = set(self.vocabulary)
        rare_tokens = {t.strip() for text in values.dropna().astype(str) for t in tokenize(text) if t not in known}
        self.token_guard = np.unique(self._hashes(sorted(rare_tokens)))
        self._rare_tokens = None
        self.balanced_brackets = balanced_brackets(values.dropna().astype(str))
        self._rules = None
        targets, lengths = padded(self.token_ids(values), self.max_tokens)
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        size = N_SPECIAL + len(self.vocabulary)
        self.network = TextNetwork(
            size, cardinalities,
            embedding_dim=EMBEDDING_DIM, hidden_size=HIDDEN_SIZE, max_remaining=self.max_tokens,
            output_cutoffs=output_cutoffs(size), output_order=frequency_order(targets, size), generator=generator,
        )
        log.info(
            "argn: text column %r: %d tokens in the vocabulary (seen in >= %d rows), up to %d tokens per text",
            self.name, len(self.vocabulary), self.rare_threshold, self.max_tokens,
        )
        plan = TextTrainingPlan(
            max_tokens_seen=self.max_tokens_seen, max_seconds=self.max_seconds, max_epochs=self.max_epochs,
            weight_decay=WEIGHT_DECAY,
        )
        self.report = train_text_model(self.network, row_codes, targets, lengths, plan, rng)
        if sampled is not None:  # rows the table model drew: the contexts and lengths sampling will write for
            contexts, drawn_lengths = sampled[0], self._lengths(sampled[1][:, 0])
        else:  # training rows' own
            rows = np.sort(rng.permutation(len(values))[:CALIBRATION_ROWS])
            contexts, drawn_lengths = row_codes[rows], lengths[rows]
        written = drawn_lengths > 0
        if written.any():
            self.report["calibration"] = calibrate_token_bias(
                self.network, contexts[written], drawn_lengths[written], targets[lengths > 0], generator=generator,
                rules=self.token_rules(), top_p=TOP_P,
            )
            self.report["calibration"]["contexts"] = "sampled" if sampled is not None else "training"

    def _missing(self, first: np.ndarray) -> np.ndarray:
        """Where the column's first sub-column says the text is missing."""
        return first == 0 if self.has_missing else np.zeros(len(first), dtype=bool)

    def _lengths(self, first: np.ndarray) -> np.ndarray:
        """Token counts from the column's first sub-column (0 where the text is missing)."""
        return np.where(self._missing(first), 0, first - int(self.has_missing)).astype(np.int64)

    def decode(self, codes: np.ndarray, uniform: np.ndarray, references: list[np.ndarray] | None = None) -> pd.Series:
        raise TypeError(f"text column {self.name!r} is written from its whole row: use decode_row")

    def decode_row(
        self, codes: np.ndarray, uniform: np.ndarray, references: list[np.ndarray] | None, row: RowDecoding
    ) -> pd.Series:
        assert self.network is not None, "the text model is trained by fit_in_context"
        first = codes[:, 0]
        missing, lengths = self._missing(first), self._lengths(first)
        generator = torch.Generator().manual_seed(int(row.rng.integers(0, 2**63 - 1)))
        texts = np.array([None] * len(first), dtype=object)
        todo = np.flatnonzero(~missing)
        temperature = row.temperature * self.temperature
        for _attempt in range(MAX_REDRAWS + 1):
            if len(todo) == 0:
                break
            tokens = sample_tokens(
                self.network, row.codes[todo], lengths[todo], temperature=temperature, generator=generator,
                rules=self.token_rules(), top_p=TOP_P,
            )
            texts[todo] = [self._text(ids[:n], row.rng) for ids, n in zip(tokens, lengths[todo], strict=True)]
            todo = todo[np.isin(self._hashes(texts[todo].tolist()), self.guard)]
            log.info("argn: %d texts of %r drawn at temperature %.3g match rare training texts",
                     len(todo), self.name, temperature)
            temperature *= REDRAW_HEAT
        if len(todo):
            log.warning("argn: %d texts of %r kept matching rare training texts; left missing", len(todo), self.name)
            texts[todo] = None
        return pd.Series(texts, dtype=object)

    def token_rules(self) -> TokenRules:
        """What sampling may not write next (see :mod:`synth_pipeline.generators.argn.text_rules`).

        A placeholder stands for a word or number unless its shape is a mark's. Built once, from the vocabulary.
        """
        if self._rules is None:
            self._rules = self._token_rules()
        return self._rules

    def _token_rules(self) -> TokenRules:
        ends_word = np.zeros(N_SPECIAL + len(self.vocabulary), dtype=bool)
        glued = ends_word.copy()
        for i, token in enumerate(self.vocabulary, start=N_SPECIAL):
            spaced = token.startswith(" ")
            core = token[1:] if spaced else token
            if is_placeholder(core):
                ends_word[i] = starts = core != MARK_PLACEHOLDER
            else:
                ends_word[i], starts = bool(_WORD_CHAR.match(core[-1])), bool(_WORD_CHAR.match(core[0]))
            glued[i] = starts and not spaced
        ids = {}
        for i, token in enumerate(self.vocabulary, start=N_SPECIAL):
            ids.setdefault(token.strip(), []).append(i)
        brackets = [
            (np.array(ids[pair[0]], dtype=np.int64), np.array(ids[pair[1]], dtype=np.int64))
            for pair in self.balanced_brackets
            if pair[0] in ids and pair[1] in ids
        ]
        return TokenRules(ends_word=ends_word, glued=glued, brackets=brackets)

    def _text(self, ids: np.ndarray, rng: np.random.Generator) -> str:
        # a placeholder marks where training texts had a rare token: a fresh token of its shape stands there
        words = [self.vocabulary[i - N_SPECIAL] for i in ids]
        return detokenize([self._fresh(w, rng) if is_placeholder(w) else w for w in words])

    def _fresh(self, placeholder: str, rng: np.random.Generator) -> str:
        """A fresh token of ``placeholder``'s shape that is none of training's rare tokens (by chance it could be)."""
        if self._rare_tokens is None:
            self._rare_tokens = set(self.token_guard.tolist())
        for _ in range(MAX_FRESH_DRAWS):
            token = fresh_token(placeholder, rng)
            if self._hash(token.strip()) not in self._rare_tokens:
                return token
        return ""

    def _hash(self, text: str) -> int:
        return keyed_hash(text, self.guard_key)

    def _hashes(self, texts: list[str]) -> np.ndarray:
        return np.array([self._hash(t) for t in texts], dtype=np.uint64)

    # -- persistence ---------------------------------------------------------------------------
    def _own_state(self) -> dict[str, Any]:
        assert self.network is not None, "a text encoder is saved after its text model is trained"
        return {
            "vocabulary": list(self.vocabulary),
            "max_tokens": self.max_tokens,
            "text": {
                "rare_threshold": self.rare_threshold,
                "temperature": self.temperature,
                "guard_key": self.guard_key,
                "balanced_brackets": list(self.balanced_brackets),
                "guard": self.guard,
                "token_guard": self.token_guard,
                "network": self.network.to_state(),
                "report": self.report,
            },
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TextEncoder:
        text = state["text"]
        return cls(
            name=state["name"],
            kind=ColumnKind(state["kind"]),
            has_missing=bool(state["has_missing"]),
            vocabulary=list(state["vocabulary"]),
            max_tokens=int(state["max_tokens"]),
            rare_threshold=int(text["rare_threshold"]),
            temperature=float(text["temperature"]),
            guard_key=str(text["guard_key"]),
            balanced_brackets=list(text.get("balanced_brackets", [])),
            guard=np.asarray(text["guard"], dtype=np.uint64),
            token_guard=np.asarray(text["token_guard"], dtype=np.uint64),
            network=TextNetwork.from_state(text["network"]),
            report=dict(text["report"]),
        )


def normalized(text: str) -> str:
    """``text`` as the text model would write it (tokens joined back: single spaces, no padding)."""
    return detokenize(tokenize(text))
