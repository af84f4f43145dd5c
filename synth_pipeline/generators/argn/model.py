"""The network: shared embeddings and one small head per sub-column, all heads vectorized.

Each sub-column ``s`` has an embedding table. For a given autoregressive order,
the head of sub-column ``t`` sees the embeddings of the sub-columns that come
before ``t`` (the others are masked to zero), passes them through a hidden
layer and predicts the code of ``t``. The heads' first layers are one weight
tensor ``(targets, inputs, hidden)``; masking an order folds into that tensor,
so a batch costs one matrix product for all heads together. Output layers are
grouped into buckets of similar cardinality and padded within a bucket.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

_BUCKETS = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_PAD_LOGIT = -1e9


def group_bounds(n_rows: int, groups: int) -> np.ndarray:
    """Row boundaries of the ``groups`` consecutive parts of a batch that share one order each."""
    return np.linspace(0, n_rows, groups + 1).astype(int)


def _normal(generator: torch.Generator | None, *shape: int, std: float) -> nn.Parameter:
    return nn.Parameter(torch.randn(*shape, generator=generator) * std)


def _bucket_size(cardinality: int) -> int:
    for size in _BUCKETS:
        if cardinality <= size:
            return size
    return int(cardinality)


class ARGNNetwork(nn.Module):
    """Autoregressive network over discrete sub-columns with order masking."""

    def __init__(
        self,
        cardinalities: list[int],
        *,
        embedding_dim: int,
        hidden_size: int,
        generator: torch.Generator | None = None,
        code_positions: list[np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        self.cardinalities = [int(c) for c in cardinalities]
        self.embedding_dim = int(embedding_dim)
        self.hidden_size = int(hidden_size)
        n_sub = len(self.cardinalities)
        width = n_sub * self.embedding_dim
        offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]]).astype(np.int64)
        self.register_buffer("offsets", torch.as_tensor(offsets), persistent=False)
        # Parameters are drawn in this order from ``generator``: embedding, w1, w_skip, w2 per bucket.
        self.embedding = _normal(generator, int(sum(self.cardinalities)), self.embedding_dim, std=1.0)
        self._init_number_inputs(code_positions, offsets)
        self.w1 = _normal(generator, n_sub, width, self.hidden_size, std=(2.0 / max(width, 1)) ** 0.5)
        self.b1 = nn.Parameter(torch.zeros(n_sub, self.hidden_size))
        # What a head adds for each sub-column it cannot see: it knows which inputs are absent.
        self.absent = nn.Parameter(torch.zeros(n_sub, n_sub, self.hidden_size))
        self.w_skip = _normal(generator, n_sub, self.hidden_size, self.hidden_size, std=(1.0 / self.hidden_size) ** 0.5)
        self._init_output_heads(generator)

    def _init_number_inputs(self, code_positions: list[np.ndarray] | None, offsets: np.ndarray) -> None:
        """Mark the number sub-columns (for the sparsity penalty) and start their embeddings smooth.

        A loaded network has no code positions: its buffers and weights come from the saved state.
        """
        numeric_inputs = torch.zeros(len(self.cardinalities))
        for s, positions in enumerate(code_positions or []):
            numeric_inputs[s] = float(np.isfinite(positions).sum() >= 2)
        self.register_buffer("numeric_inputs", numeric_inputs, persistent=False)
        if code_positions is None:
            return
        # Numbers start with smooth embeddings of their place on the number line
        # (cosines of rising frequency), so neighbouring bins begin alike.
        frequencies = np.arange(1, self.embedding_dim + 1)
        with torch.no_grad():
            for offset, positions in zip(offsets, code_positions, strict=True):
                ordinal = np.flatnonzero(np.isfinite(positions))
                if len(ordinal) < 2:
                    continue
                waves = np.sqrt(2.0) * np.cos(np.pi * positions[ordinal, None] * frequencies[None, :] / 2)
                self.embedding[offset + ordinal] = torch.as_tensor(waves, dtype=torch.float32)

    def _init_output_heads(self, generator: torch.Generator | None) -> None:
        """Output layers grouped by padded cardinality: one weight tensor per bucket of similar sizes."""
        n_sub = len(self.cardinalities)
        sizes = [_bucket_size(c) for c in self.cardinalities]
        self.bucket_sizes = sorted(set(sizes))
        self.bucket_targets: list[list[int]] = [[t for t in range(n_sub) if sizes[t] == b] for b in self.bucket_sizes]
        self.target_slot: list[tuple[int, int]] = [(0, 0)] * n_sub
        self.w2 = nn.ParameterList()
        self.b2 = nn.ParameterList()
        for b, (size, targets) in enumerate(zip(self.bucket_sizes, self.bucket_targets, strict=True)):
            for slot, t in enumerate(targets):
                self.target_slot[t] = (b, slot)
            std = (1.0 / self.hidden_size) ** 0.5
            self.w2.append(_normal(generator, len(targets), self.hidden_size, size, std=std))
            self.b2.append(nn.Parameter(torch.zeros(len(targets), size)))
            pad = torch.zeros(len(targets), size)
            for slot, t in enumerate(targets):
                pad[slot, self.cardinalities[t] :] = _PAD_LOGIT
            self.register_buffer(f"pad_{b}", pad, persistent=False)
            self.register_buffer(f"targets_{b}", torch.as_tensor(targets, dtype=torch.long), persistent=False)

    # -- shared pieces ----------------------------------------------------------------
    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """(n, S) codes -> (n, S, d) embeddings.

        ``F.embedding``, not indexing: the backward of indexing accumulates with a parallel
        ``index_put_`` whose sum order varies between runs on several threads.
        """
        return torch.nn.functional.embedding(codes + self.offsets, self.embedding)

    def _hidden(self, pre: torch.Tensor, t: slice | int) -> torch.Tensor:
        hidden = torch.relu(pre)
        return hidden + torch.relu(hidden @ self.w_skip[t]) if isinstance(t, int) else hidden + torch.relu(
            torch.einsum("bth,thk->btk", hidden, self.w_skip)
        )

    # -- training ------------------------------------------------------------------------
    def loss(
        self,
        codes: torch.Tensor,
        masks: torch.Tensor,
        *,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean over rows of the summed negative log-likelihood of all sub-columns.

        ``weights`` (n, S), when given, weigh each row's term of each head (see
        :mod:`synth_pipeline.generators.argn.rare_contexts`).

        ``masks`` is (G, S, S): for group ``g`` of rows (the batch split into G
        equal consecutive parts), ``masks[g, t, s]`` is 1 when sub-column ``s``
        precedes ``t`` in that group's order.
        """
        n, n_sub = codes.shape
        groups = masks.shape[0]
        embedded = self.embed(codes).reshape(n, n_sub * self.embedding_dim)
        bounds = group_bounds(n, groups)
        pre_parts = []
        for g in range(groups):
            part = embedded[bounds[g] : bounds[g + 1]]
            if len(part) == 0:
                continue
            weight = self.w1 * masks[g].repeat_interleave(self.embedding_dim, dim=1)[:, :, None]
            absent = torch.einsum("ts,tsh->th", 1.0 - masks[g], self.absent)
            pre_parts.append(torch.einsum("bk,tkh->bth", part, weight) + absent)
        pre = torch.cat(pre_parts, dim=0) + self.b1
        hidden = self._hidden(pre, slice(None))
        if dropout > 0:
            # Drawn from the caller's generator (torch's dropout would use the global RNG).
            keep = torch.rand(hidden.shape, generator=generator, device=hidden.device) >= dropout
            hidden = hidden * keep / (1.0 - dropout)
        total = codes.new_zeros((), dtype=hidden.dtype)
        for b in range(len(self.bucket_sizes)):
            targets = getattr(self, f"targets_{b}")
            logits = torch.einsum("bth,thc->btc", hidden[:, targets], self.w2[b])
            logits = logits + self.b2[b] + getattr(self, f"pad_{b}")
            log_probs = torch.log_softmax(logits, dim=-1).gather(2, codes[:, targets].unsqueeze(2)).squeeze(2)
            if weights is not None:
                log_probs = log_probs * weights[:, targets]
            total = total - log_probs.sum()
        return total / n

    def input_group_norms(self) -> torch.Tensor:
        """Sum over heads and number input sub-columns of the norm of that input's first-layer weights.

        The group-lasso penalty: it pushes whole inputs of a head to zero rather than
        shrinking all weights a little, so each head ends up reading few number sub-columns.
        Categorical inputs are left free: a rare class is weak evidence the penalty would
        silence, and conditioning on it is what rebalancing needs.
        """
        n_sub = len(self.cardinalities)
        blocks = self.w1.reshape(n_sub, n_sub, self.embedding_dim * self.hidden_size)
        return (torch.sqrt((blocks**2).sum(dim=2) + 1e-8) * self.numeric_inputs).sum()

    # -- sampling ------------------------------------------------------------------------
    def logits(self, embedded: torch.Tensor, visible: torch.Tensor, t: int) -> torch.Tensor:
        """Logits (n, cardinality) of sub-column ``t`` given (n, S, d) embeddings and (n, S) visibility."""
        n = embedded.shape[0]
        context = (embedded * visible[:, :, None]).reshape(n, -1)
        hidden = self._hidden(context @ self.w1[t] + (1.0 - visible) @ self.absent[t] + self.b1[t], t)
        b, slot = self.target_slot[t]
        out = hidden @ self.w2[b][slot] + self.b2[b][slot]
        return out[:, : self.cardinalities[t]]

    def prefix_logits(self, embedded: torch.Tensor, t: int) -> torch.Tensor:
        """Logits of sub-column ``t`` when exactly the sub-columns before it (table order) are visible.

        ``embedded`` is (n, S * d); plain sampling uses this path, which reads only the
        visible part of the first-layer weights.
        """
        width = t * self.embedding_dim
        pre = embedded[:, :width] @ self.w1[t, :width] + (self.absent[t, t:].sum(0) + self.b1[t])
        hidden = self._hidden(pre, t)
        b, slot = self.target_slot[t]
        out = hidden @ self.w2[b][slot] + self.b2[b][slot]
        return out[:, : self.cardinalities[t]]

    # -- persistence -----------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The sizes that rebuild the network's shape."""
        return {
            "cardinalities": self.cardinalities,
            "embedding_dim": self.embedding_dim,
            "hidden_size": self.hidden_size,
        }

    def numpy_state(self) -> dict[str, np.ndarray]:
        """The weights as numpy arrays (keys without dots, for the npz file)."""
        return {key.replace(".", "__"): value.detach().cpu().numpy().copy() for key, value in self.state_dict().items()}

    @classmethod
    def from_numpy_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> ARGNNetwork:
        """The network :meth:`config` and :meth:`numpy_state` describe."""
        network = cls(config["cardinalities"], embedding_dim=config["embedding_dim"], hidden_size=config["hidden_size"])
        state = {key.replace("__", "."): torch.as_tensor(np.asarray(value)) for key, value in arrays.items()}
        network.load_state_dict(state)
        return network
