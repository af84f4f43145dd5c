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

Training: AdamW; after each epoch without a better validation loss the learning rate
drops (x :attr:`TextTrainingPlan.decay`), and training stops after
:attr:`TextTrainingPlan.patience` such epochs in a row, keeping the best weights.

Sampling writes exactly the number of tokens the row's length code says (the
table model drew the length jointly with the other columns), never draws
:data:`PAD`, :data:`UNK` (a token of a shape training never had) or :data:`BOS`,
and divides the logits by a temperature.
Word level on purpose: a character or sub-word model can spell a rare name out
of frequent pieces; this one can only write words that many rows share.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger("synth_pipeline.generators.argn")

PAD, UNK, BOS = 0, 1, 2
N_SPECIAL = 3
SAMPLE_CHUNK = 4096


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
        self.out = nn.Linear(self.hidden_size, self.vocabulary_size)
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
        """Logits (n, T, vocabulary) of the next token after each of ``inputs`` (n, T), given the rows ``codes``.

        ``lengths``: each row's number of tokens (the step before token ``t`` has ``lengths - t`` to come).
        """
        context = self.context(codes)
        remaining = lengths[:, None] - torch.arange(inputs.shape[1])[None, :]
        steps = self.step_inputs(inputs, remaining) + self.context_step(context)[:, None, :]
        hidden, _ = self.gru(steps, context[None].contiguous())
        return self.out(hidden)

    def config(self) -> dict[str, Any]:
        """The sizes that rebuild the network's shape."""
        return {
            "vocabulary_size": self.vocabulary_size,
            "context_cardinalities": self.context_cardinalities,
            "embedding_dim": self.embedding_dim,
            "hidden_size": self.hidden_size,
            "max_remaining": self.max_remaining,
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
        )
        arrays = state["arrays"]
        network.load_state_dict({k.replace("__", "."): torch.as_tensor(np.asarray(v)) for k, v in arrays.items()})
        network.eval()
        return network


@dataclass(frozen=True)
class TextTrainingPlan:
    """How long and how the text model trains."""

    max_seconds: float
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
    started = time.monotonic()
    rows = np.flatnonzero(lengths > 0)
    rows = rows[rng.permutation(len(rows))]
    n_validation = round(plan.validation_share * len(rows)) if len(rows) >= 20 else 0
    validation, training = rows[:n_validation], rows[n_validation:]
    codes_t, targets_t = torch.as_tensor(codes, dtype=torch.long), torch.as_tensor(targets, dtype=torch.long)
    batch_size = plan.batch_size or int(np.clip(2 ** round(math.log2(max(len(training), 1) / 40)), 32, 256))
    optimizer = torch.optim.AdamW(network.parameters(), lr=plan.learning_rate, weight_decay=plan.weight_decay)
    best, best_state, bad, epochs, stopped = math.inf, copy.deepcopy(network.state_dict()), 0, 0, ""
    for epoch in range(1, plan.max_epochs + 1):
        epochs = epoch
        network.train()
        for batch in _batches(training, lengths, batch_size, rng):
            loss = _loss(network, codes_t, targets_t, batch, lengths)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            if time.monotonic() - started > plan.max_seconds:
                break
        loss_now = _validation_loss(network, codes_t, targets_t, validation if len(validation) else training, lengths)
        elapsed = time.monotonic() - started
        log.info("text model epoch %d: validation loss %.4f per token, %.1f s", epoch, loss_now, elapsed)
        if loss_now < best - 1e-4:
            best, best_state, bad = loss_now, copy.deepcopy(network.state_dict()), 0
        else:
            bad += 1
            for group in optimizer.param_groups:
                group["lr"] *= plan.decay
        if time.monotonic() - started > plan.max_seconds:
            stopped = f"time budget of {plan.max_seconds:g} s reached"
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
        "seconds": time.monotonic() - started,
        "final_learning_rate": float(optimizer.param_groups[0]["lr"]),
    }


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
    logits = network(codes[index], inputs, torch.as_tensor(lengths[batch]))
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=PAD)


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
) -> np.ndarray:
    """(n, max(lengths)) token ids: row ``i`` gets exactly ``lengths[i]`` words (PAD after them)."""
    n = len(codes)
    width = int(lengths.max()) if n else 0
    out = np.full((n, max(width, 1)), PAD, dtype=np.int64)
    for start in range(0, n, SAMPLE_CHUNK):
        stop = min(n, start + SAMPLE_CHUNK)
        out[start:stop] = _sample_chunk(
            network, torch.as_tensor(codes[start:stop], dtype=torch.long), lengths[start:stop], width,
            temperature, generator,
        )
    return out


def _sample_chunk(
    network: TextNetwork,
    codes: torch.Tensor,
    lengths: np.ndarray,
    width: int,
    temperature: float,
    generator: torch.Generator,
) -> np.ndarray:
    context = network.context(codes)
    step_bias = network.context_step(context)
    hidden = context[None].contiguous()
    tokens = torch.full((len(codes), max(width, 1)), PAD, dtype=torch.long)
    previous = torch.full((len(codes),), BOS, dtype=torch.long)
    lengths_t = torch.as_tensor(lengths)
    for t in range(width):
        rows = torch.nonzero(lengths_t > t).squeeze(1)
        if len(rows) == 0:
            break
        step = network.step_inputs(previous[rows], lengths_t[rows] - t) + step_bias[rows]
        output, new_hidden = network.gru(step[:, None, :], hidden[:, rows].contiguous())
        hidden[:, rows] = new_hidden
        logits = network.out(output[:, 0]) / temperature
        logits[:, [PAD, UNK, BOS]] = -torch.inf
        uniform = torch.rand(logits.shape, generator=generator).clamp_(min=1e-20)
        drawn = torch.argmax(logits - torch.log(-torch.log(uniform)), dim=1)
        tokens[rows, t] = drawn
        previous[rows] = drawn
    return tokens.numpy()
