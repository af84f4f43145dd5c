"""The conditional text model of free-text columns: a small word-level GRU that writes a text given its row.

Token ids: :data:`PAD` (padding), :data:`UNK` (a word outside the vocabulary),
:data:`BOS` (start), then the vocabulary's words. The row's context is every
sub-column code of the row (the text's own length code included), each with an
embedding of its own; they are summed through one linear layer into the GRU's
first hidden state and added to every step's input, so the words follow the
row's other columns (a description that fits the package's section). Every step's
input also holds an embedding of the number of tokens still to come, so a text ends
where its length says (a bracket opened three tokens before the end is closed at the
end; without it the model measured 0.916 token-frequency accuracy against 0.935 with it
and the learning-rate decay, see ``benchmarks/text_columns.py``).

The output layer is an adaptive softmax (:class:`torch.nn.AdaptiveLogSoftmaxWithLoss`) over the
tokens ranked by how often training has them: a head with the most frequent eighth of the
vocabulary, and two tails through 4x and 16x narrower projections that only the tokens of
their cluster pay for in training; padding gets no scores at all. A full softmax over a
4,000-word vocabulary took most of each epoch (an epoch on 12,000 rows: 6.3 to 7.7 s of
CPU before, 2.8 to 3.0 s after). A vocabulary under :data:`MIN_ADAPTIVE` tokens, and a model
saved before, keep one full softmax.

Training: AdamW; after each epoch without a better validation loss the learning rate
drops (x :attr:`TextTrainingPlan.decay`), and training stops after
:attr:`TextTrainingPlan.patience` such epochs in a row, keeping the best weights; or earlier, with a
warning, at :attr:`TextTrainingPlan.max_tokens_seen` training tokens (a count: the same on every machine)
or at :attr:`TextTrainingPlan.max_seconds` when that is set (off by default: it depends on the machine).

Sampling writes exactly the number of tokens the row's length code says (the
table model drew the length jointly with the other columns), never draws
:data:`PAD`, :data:`UNK` (a token of a shape training never had) or :data:`BOS`,
adds each token's calibration bias (:func:`.text_calibration.calibrate_token_bias`: after training,
texts drawn for rows the table model sampled are counted against training's, so each
word comes out about as often as training has it) and divides the scores by a temperature.
Word level on purpose: a character or sub-word model can spell a rare name out
of frequent pieces; this one can only write words that many rows share.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from synth_pipeline.generators.argn.budget import COUNT, LEFT, Budget
from synth_pipeline.generators.argn.optimizer import AdamW
from synth_pipeline.generators.argn.text_rules import RuleState, TokenRules

log = logging.getLogger("synth_pipeline.generators.argn")

PAD, UNK, BOS = 0, 1, 2
N_SPECIAL = 3
SAMPLE_CHUNK = 4096
#: each tail of the adaptive softmax projects the state to this many times fewer dimensions than the one before
OUTPUT_DIV = 4.0
#: the adaptive softmax's head holds this share of the vocabulary's most frequent tokens, its first tail up to
#: :data:`OUTPUT_SPLITS`'s second share, its second tail the rest; a vocabulary under :data:`MIN_ADAPTIVE` tokens
#: keeps one full softmax (cheap enough, and too few rare tokens to split)
OUTPUT_SPLITS = (0.125, 0.5)
MIN_ADAPTIVE = 1024


def output_cutoffs(vocabulary_size: int) -> list[int]:
    """The adaptive softmax's cutoffs for ``vocabulary_size`` token ids ([] below :data:`MIN_ADAPTIVE`)."""
    if vocabulary_size < MIN_ADAPTIVE:
        return []
    return [round(share * vocabulary_size) for share in OUTPUT_SPLITS]


def frequency_order(targets: np.ndarray, vocabulary_size: int) -> np.ndarray:
    """Token id -> its rank by how often it occurs in ``targets`` (most frequent first; ties by id; padding last)."""
    counts = np.bincount(targets.ravel(), minlength=vocabulary_size)[:vocabulary_size].astype(np.int64)
    counts[PAD] = -1
    ranked = np.argsort(-counts, kind="stable")
    order = np.empty(vocabulary_size, dtype=np.int64)
    order[ranked] = np.arange(vocabulary_size)
    return order


class TextNetwork(nn.Module):
    """Context embeddings -> first hidden state; token embeddings (+ context) -> GRU -> next-token logits."""

    def __init__(
        self,
        vocabulary_size: int,
        context_cardinalities: list[int],
        *,
        embedding_dim: int,
        hidden_size: int,
        max_remaining: int = 0,
        output_cutoffs: Sequence[int] = (),
        output_order: np.ndarray | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.vocabulary_size = int(vocabulary_size)
        self.context_cardinalities = [int(c) for c in context_cardinalities]
        self.embedding_dim = int(embedding_dim)
        self.hidden_size = int(hidden_size)
        self.max_remaining = int(max_remaining)
        offsets = np.concatenate([[0], np.cumsum(self.context_cardinalities)[:-1]]).astype(np.int64)
        self.register_buffer("offsets", torch.as_tensor(offsets), persistent=False)
        self.context_embedding = nn.Parameter(torch.zeros(int(sum(self.context_cardinalities)), self.embedding_dim))
        self.context_in = nn.Linear(len(self.context_cardinalities) * self.embedding_dim, self.hidden_size)
        self.context_step = nn.Linear(self.hidden_size, self.embedding_dim)
        self.token_embedding = nn.Parameter(torch.zeros(self.vocabulary_size, self.embedding_dim))
        # how many tokens are still to come (0: the model without it, as saved before): endings that fit
        if self.max_remaining:
            self.remaining_embedding = nn.Parameter(torch.zeros(self.max_remaining + 1, self.embedding_dim))
        self.gru = nn.GRU(self.embedding_dim, self.hidden_size, batch_first=True)
        # the output layer: an adaptive softmax over the frequency-ranked tokens (a frequent head, rarer tails
        # through narrower projections), or one full softmax (no cutoffs: a small vocabulary, models saved before)
        self.output_cutoffs = [int(c) for c in output_cutoffs]
        if self.output_cutoffs:
            order = np.arange(self.vocabulary_size) if output_order is None else np.asarray(output_order)
            # token id -> its place in the output (0: the most frequent token); saved with the weights
            self.register_buffer("output_order", torch.as_tensor(order, dtype=torch.long))
            self.output = nn.AdaptiveLogSoftmaxWithLoss(
                self.hidden_size, self.vocabulary_size, self.output_cutoffs, div_value=OUTPUT_DIV
            )
        else:
            self.out = nn.Linear(self.hidden_size, self.vocabulary_size)
        # added to the scores when sampling (in output order): how far each token's drawn frequency fell from
        # training's (see calibrate_token_bias); zeros until calibrated, and in models saved before
        self.register_buffer("token_bias", torch.zeros(self.vocabulary_size))
        # every weight drawn from ``generator`` (torch's own initialisers would use the global RNG)
        with torch.no_grad():
            for parameter in self.parameters():
                bound = 1.0 / math.sqrt(parameter.shape[-1]) if parameter.dim() > 1 else 0.0
                parameter.uniform_(-bound, bound, generator=generator)
            self.context_embedding.normal_(0.0, 0.1, generator=generator)
            self.token_embedding.normal_(0.0, 0.1, generator=generator)
            if self.max_remaining:
                self.remaining_embedding.normal_(0.0, 0.1, generator=generator)

    def context(self, codes: torch.Tensor) -> torch.Tensor:
        """(n, S) row codes -> (n, hidden) context."""
        embedded = nn.functional.embedding(codes + self.offsets, self.context_embedding).reshape(len(codes), -1)
        return torch.tanh(self.context_in(embedded))

    def step_inputs(self, tokens: torch.Tensor, remaining: torch.Tensor) -> torch.Tensor:
        """The embeddings of ``tokens`` plus, in a model that has it, of the tokens still to come."""
        embedded = nn.functional.embedding(tokens, self.token_embedding)
        if self.max_remaining:
            embedded = embedded + nn.functional.embedding(
                remaining.clamp(0, self.max_remaining), self.remaining_embedding
            )
        return embedded

    def forward(self, codes: torch.Tensor, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The GRU's states (n, T, hidden) after each of ``inputs`` (n, T), given the rows ``codes``.

        ``lengths``: each row's number of tokens (the step before token ``t`` has ``lengths - t`` to come).
        """
        context = self.context(codes)
        remaining = lengths[:, None] - torch.arange(inputs.shape[1])[None, :]
        steps = self.step_inputs(inputs, remaining) + self.context_step(context)[:, None, :]
        hidden, _ = self.gru(steps, context[None].contiguous())
        return hidden

    def token_loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of the tokens ``targets`` (n, T) after the states ``hidden`` (n, T, hidden).

        Padding is dropped before the output layer (no scores for it are computed).
        """
        real = targets != PAD
        states, tokens = hidden[real], targets[real]
        if self.output_cutoffs:
            return self.output(states, self.output_order[tokens]).loss
        return nn.functional.cross_entropy(self.out(states), tokens)

    def next_scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """(n, vocabulary) scores of the next token after the states ``hidden`` (n, hidden), in output order.

        Log-probabilities up to a constant per row (the logits of the full softmax, the adaptive softmax's
        log-probabilities): dividing by a temperature and drawing gives the same distribution either way.
        Column ``j`` is the token :meth:`tokens_at` gives for ``j`` (the token id itself without cutoffs).
        """
        if self.output_cutoffs:
            return self.output.log_prob(hidden)
        return self.out(hidden)

    def output_positions(self, tokens: torch.Tensor) -> torch.Tensor:
        """The columns of :meth:`next_scores` that score the token ids ``tokens``."""
        return self.output_order[tokens] if self.output_cutoffs else tokens

    def tokens_at(self, positions: torch.Tensor) -> torch.Tensor:
        """The token ids the columns ``positions`` of :meth:`next_scores` score."""
        return torch.argsort(self.output_order)[positions] if self.output_cutoffs else positions

    def config(self) -> dict[str, Any]:
        """The sizes that rebuild the network's shape."""
        return {
            "vocabulary_size": self.vocabulary_size,
            "context_cardinalities": self.context_cardinalities,
            "embedding_dim": self.embedding_dim,
            "hidden_size": self.hidden_size,
            "max_remaining": self.max_remaining,
            "output_cutoffs": self.output_cutoffs,
        }

    def to_state(self) -> dict[str, Any]:
        """Config and weights (numpy arrays under keys without dots)."""
        arrays = {k.replace(".", "__"): v.detach().cpu().numpy().copy() for k, v in self.state_dict().items()}
        return {"config": self.config(), "arrays": arrays}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TextNetwork:
        """The network :meth:`to_state` wrote."""
        config = state["config"]
        network = cls(
            config["vocabulary_size"],
            list(config["context_cardinalities"]),
            embedding_dim=config["embedding_dim"],
            hidden_size=config["hidden_size"],
            max_remaining=int(config.get("max_remaining", 0)),
            output_cutoffs=list(config.get("output_cutoffs", [])),
        )
        weights = {k.replace("__", "."): torch.as_tensor(np.asarray(v)) for k, v in state["arrays"].items()}
        weights.setdefault("token_bias", torch.zeros(network.vocabulary_size))  # saved before calibration existed
        network.load_state_dict(weights)
        network.eval()
        return network


@dataclass(frozen=True)
class TextTrainingPlan:
    """How long and how the text model trains."""

    #: wall-clock limit (None: none; a model it stops depends on the machine's speed)
    max_seconds: float | None = None
    #: training tokens seen (padding not counted, summed over steps; validation passes do not count) at most
    max_tokens_seen: int = 20_000_000
    max_epochs: int = 60
    patience: int = 3
    #: the learning rate is multiplied by this after each epoch without a better validation loss
    decay: float = 0.3
    batch_size: int = 0  # 0: from the number of texts, 32 to 256
    learning_rate: float = 5e-3
    weight_decay: float = 0.01
    validation_share: float = 0.1


def padded(token_ids: list[np.ndarray], max_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, max_tokens) token ids padded with :data:`PAD`, and each row's length."""
    lengths = np.array([min(len(t), max_tokens) for t in token_ids], dtype=np.int64)
    out = np.full((len(token_ids), max(max_tokens, 1)), PAD, dtype=np.int64)
    for i, ids in enumerate(token_ids):
        out[i, : lengths[i]] = ids[: lengths[i]]
    return out, lengths


def train_text_model(
    network: TextNetwork,
    codes: np.ndarray,
    targets: np.ndarray,
    lengths: np.ndarray,
    plan: TextTrainingPlan,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Fit ``network`` to the rows' ``targets`` (n, T) given their ``codes``; the best validation weights are kept."""
    budget = Budget(plan.max_tokens_seen, plan.max_seconds)
    rows = np.flatnonzero(lengths > 0)
    rows = rows[rng.permutation(len(rows))]
    n_validation = round(plan.validation_share * len(rows)) if len(rows) >= 20 else 0
    validation, training = rows[:n_validation], rows[n_validation:]
    codes_t, targets_t = torch.as_tensor(codes, dtype=torch.long), torch.as_tensor(targets, dtype=torch.long)
    batch_size = plan.batch_size or int(np.clip(2 ** round(math.log2(max(len(training), 1) / 40)), 32, 256))
    optimizer = AdamW(network.parameters(), lr=plan.learning_rate, weight_decay=plan.weight_decay)
    best, best_state, bad, epochs, stopped = math.inf, copy.deepcopy(network.state_dict()), 0, 0, ""
    for epoch in range(1, plan.max_epochs + 1):
        epochs = epoch
        network.train()
        spent = LEFT
        for batch in _batches(training, lengths, batch_size, rng):
            loss = _loss(network, codes_t, targets_t, batch, lengths)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            spent = budget.spend(int(lengths[batch].sum()))
            if spent != LEFT:
                break
        loss_now = _validation_loss(network, codes_t, targets_t, validation if len(validation) else training, lengths)
        elapsed = time.monotonic() - budget.started
        log.info("text model epoch %d: validation loss %.4f per token, %.1f s", epoch, loss_now, elapsed)
        if loss_now < best - 1e-4:
            best, best_state, bad = loss_now, copy.deepcopy(network.state_dict()), 0
        else:
            bad += 1
            for group in optimizer.param_groups:
                group["lr"] *= plan.decay
        if spent != LEFT:
            stopped = _out_of_budget(plan, epoch, spent)
            break
        if bad >= plan.patience:
            stopped = f"validation loss did not improve for {plan.patience} epochs"
            break
    network.load_state_dict(best_state)
    network.eval()
    return {
        "epochs": epochs,
        "validation_loss_per_token": best,
        "stopped_because": stopped or f"max_epochs={plan.max_epochs} reached",
        "tokens_seen": budget.count,
        "seconds": time.monotonic() - budget.started,
        "final_learning_rate": float(optimizer.param_groups[0]["lr"]),
    }


def _out_of_budget(plan: TextTrainingPlan, epoch: int, spent: str) -> str:
    """Why the text model stopped at a budget before early stopping, with a warning that says what that means."""
    if spent == COUNT:
        log.warning(
            "argn: the text model stopped at its token budget (text_max_tokens_seen=%d) after %d epochs, before "
            "early stopping: it is reproducible (the same data, settings and seed give it on any machine) but "
            "may be under-trained; raise text_max_tokens_seen to let early stopping end training",
            plan.max_tokens_seen, epoch,
        )
        return f"token budget of {plan.max_tokens_seen:,} reached"
    log.warning(
        "argn: the text model stopped at its time budget (text_max_seconds=%g) after %d epochs, before early "
        "stopping: it depends on this machine's speed and load; for a model that the same data, settings and "
        "seed reproduce anywhere, leave text_max_seconds unset and cap text_max_tokens_seen or text_max_epochs",
        plan.max_seconds, epoch,
    )
    return f"time budget of {plan.max_seconds:g} s reached"


def _batches(rows: np.ndarray, lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Random batches of rows of similar length (less padding): shuffled, sorted by length in pools, shuffled."""
    shuffled = rows[rng.permutation(len(rows))]
    pool = batch_size * 20
    batches = []
    for start in range(0, len(shuffled), pool):
        part = shuffled[start : start + pool]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _loss(
    network: TextNetwork, codes: torch.Tensor, targets: torch.Tensor, batch: np.ndarray, lengths: np.ndarray
) -> torch.Tensor:
    """Mean negative log-likelihood per token of the rows ``batch``."""
    width = int(lengths[batch].max())
    index = torch.as_tensor(batch)
    target = targets[index, :width]
    inputs = torch.cat([torch.full((len(batch), 1), BOS, dtype=torch.long), target[:, :-1]], dim=1)
    return network.token_loss(network(codes[index], inputs, torch.as_tensor(lengths[batch])), target)


@torch.no_grad()
def _validation_loss(
    network: TextNetwork, codes: torch.Tensor, targets: torch.Tensor, rows: np.ndarray, lengths: np.ndarray
) -> float:
    network.eval()
    total = tokens = 0.0
    for start in range(0, len(rows), 2048):
        batch = rows[start : start + 2048]
        n = float(lengths[batch].sum())
        total += float(_loss(network, codes, targets, batch, lengths)) * n
        tokens += n
    return total / max(tokens, 1.0)


@torch.no_grad()
def sample_tokens(
    network: TextNetwork,
    codes: np.ndarray,
    lengths: np.ndarray,
    *,
    temperature: float,
    generator: torch.Generator,
    rules: TokenRules | None = None,
    top_p: float = 1.0,
) -> np.ndarray:
    """(n, max(lengths)) token ids: row ``i`` gets exactly ``lengths[i]`` words (PAD after them).

    With ``rules``, no token they forbid (see :mod:`synth_pipeline.generators.argn.text_rules`). With
    ``top_p`` < 1, each step draws only from its most likely tokens that together hold that share of the
    probability (nucleus sampling: the long tail of unlikely words is cut).
    """
    n = len(codes)
    width = int(lengths.max()) if n else 0
    out = np.full((n, max(width, 1)), PAD, dtype=np.int64)
    for start in range(0, n, SAMPLE_CHUNK):
        stop = min(n, start + SAMPLE_CHUNK)
        out[start:stop] = _sample_chunk(
            network, torch.as_tensor(codes[start:stop], dtype=torch.long), lengths[start:stop], width,
            temperature, generator, rules, top_p,
        )
    return out


def _sample_chunk(
    network: TextNetwork,
    codes: torch.Tensor,
    lengths: np.ndarray,
    width: int,
    temperature: float,
    generator: torch.Generator,
    rules: TokenRules | None,
    top_p: float = 1.0,
) -> np.ndarray:
    context = network.context(codes)
    step_bias = network.context_step(context)
    hidden = context[None].contiguous()
    tokens = torch.full((len(codes), max(width, 1)), PAD, dtype=torch.long)
    previous = torch.full((len(codes),), BOS, dtype=torch.long)
    lengths_t = torch.as_tensor(lengths)
    never = network.output_positions(torch.tensor([PAD, UNK, BOS]))
    state = RuleState(rules, network.output_positions, len(codes)) if rules is not None else None
    for t in range(width):
        rows = torch.nonzero(lengths_t > t).squeeze(1)
        if len(rows) == 0:
            break
        step = network.step_inputs(previous[rows], lengths_t[rows] - t) + step_bias[rows]
        output, new_hidden = network.gru(step[:, None, :], hidden[:, rows].contiguous())
        hidden[:, rows] = new_hidden
        logits = (network.next_scores(output[:, 0]) + network.token_bias) / temperature
        logits[:, never] = -torch.inf
        if state is not None:
            state.forbid(logits, rows, previous[rows], lengths_t[rows] - t)
        if top_p < 1.0:
            keep_nucleus(logits, top_p)
        uniform = torch.rand(logits.shape, generator=generator).clamp_(min=1e-20)
        drawn = network.tokens_at(torch.argmax(logits - torch.log(-torch.log(uniform)), dim=1))
        tokens[rows, t] = drawn
        previous[rows] = drawn
        if state is not None:
            state.drawn(rows, drawn)
    return tokens.numpy()


@torch.no_grad()
def keep_nucleus(logits: torch.Tensor, top_p: float) -> None:
    """Sets to -inf, in place, each row's tokens beyond its most likely ones that together hold ``top_p``.

    The most likely token always stays; ties are ordered by column (the same result whatever the threads).
    """
    ordered, order = torch.sort(logits, dim=1, descending=True, stable=True)
    shares = torch.softmax(ordered, dim=1)
    before = torch.cumsum(shares, dim=1) - shares
    logits.scatter_(1, order, ordered.masked_fill(before > top_p, -torch.inf))
