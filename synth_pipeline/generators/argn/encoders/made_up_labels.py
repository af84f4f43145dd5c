"""Made-up labels: what a drawn rare code of a text category is written as.

A category seen fewer than ``k`` times in training is pooled into the rare code (value protection).
When the model draws that code, the row needs a value that is none of training's rare values. A
frequent value (a *stand-in*) is one, but it moves the rare rows' mass onto values that training holds
often, so the synthetic table holds fewer rare values than any real sample of the same size and the
rows lean toward the training half (a value is kept because training holds it often enough, so it
is, by selection, less often in the holdout). A *made-up label* keeps the value rare, as a real
sample's rare values are: a frequent label drawn uniformly is taken as a template, its tokens that
several frequent labels share (``Street``, ``host``, punctuation) are kept and every other token is
replaced by a fresh token of its shape (random digits, a made-up word of fixed syllables:
:func:`synth_pipeline.free_text.fresh_token`), so ``"017 Ashoak Street"`` becomes
``"482 Bapolne Street"``.

Value protection's guarantee holds: a made-up label equal to a frequent label or to one of training's
rare labels is drawn again (rare labels are checked by keyed 64-bit hashes kept with the model, as
the text encoder keeps its rare tokens'; never in the output), and after :data:`MAX_DRAWS` the row
gets a frequent stand-in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from synth_pipeline.free_text import detokenize, fresh_token, keyed_hash, token_shape, tokenize

MAX_DRAWS = 20
#: a template token is kept when at least this many frequent labels hold it
SHARED_LABELS = 2


@dataclass
class MadeUpLabels:
    """The rare labels' keyed hashes and the tokens that frequent labels share."""

    key: str
    guard: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    shared: frozenset[str] = frozenset()
    _rare: set[int] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def fit(cls, frequent: list[str], rare: list[str], rng: np.random.Generator) -> MadeUpLabels:
        """From the frequent labels (the templates) and training's rare labels (only their hashes are kept)."""
        made = cls(key=rng.bytes(16).hex(), shared=frozenset(shared_tokens(frequent)))
        made.guard = np.unique(np.array([made.hash(v) for v in rare], dtype=np.uint64))
        return made

    def hash(self, label: str) -> int:
        """The keyed 64-bit hash of ``label``."""
        return keyed_hash(label, self.key)

    def label(self, template: str, frequent: set[str], rng: np.random.Generator) -> str | None:
        """A made-up label in ``template``'s shape that is no training label; None after ``MAX_DRAWS``."""
        if self._rare is None:
            self._rare = set(self.guard.tolist())
        tokens = tokenize(template)
        for _ in range(MAX_DRAWS):
            words = [t if t.strip() in self.shared else fresh_token(token_shape(t), rng) for t in tokens]
            label = detokenize(words)
            if label and label not in frequent and self.hash(label) not in self._rare:
                return label
        return None

    def to_state(self) -> dict[str, object]:
        """JSON values and an array (the hashes), for the encoder's saved state."""
        return {"key": self.key, "guard": self.guard, "shared": sorted(self.shared)}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> MadeUpLabels:
        """What :meth:`to_state` wrote."""
        return cls(
            key=str(state["key"]),
            guard=np.asarray(state["guard"], dtype=np.uint64),
            shared=frozenset(str(t) for t in state["shared"]),  # type: ignore[union-attr]
        )


def shared_tokens(labels: list[str]) -> set[str]:
    """Tokens (stripped) held by at least :data:`SHARED_LABELS` of ``labels``, and every punctuation mark."""
    held = Counter(t.strip() for label in labels for t in set(tokenize(label)))
    return {t for t, n in held.items() if n >= SHARED_LABELS or not any(c.isalnum() for c in t)}
