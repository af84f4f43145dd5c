"""argn's AdamW gives torch.optim.AdamW's weights bit for bit, learning-rate drops included."""

from __future__ import annotations

import copy

import pytest
import torch

from synth_pipeline.generators.argn.model import ARGNNetwork
from synth_pipeline.generators.argn.optimizer import AdamW


def _network() -> ARGNNetwork:
    return ARGNNetwork([5, 17, 64, 300, 2], embedding_dim=8, hidden_size=16,
                       generator=torch.Generator().manual_seed(0))


def _codes(network: ARGNNetwork, rows: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, c, (rows,), generator=generator) for c in network.cardinalities], 1)


def test_weights_match_torch_adamw_bit_for_bit() -> None:
    ours, theirs = _network(), _network()
    optimizers = (AdamW(ours.parameters(), lr=3e-3, weight_decay=0.3),
                  torch.optim.AdamW(theirs.parameters(), lr=3e-3, weight_decay=0.3))
    mask = torch.tril(torch.ones(5, 5), -1)[None]
    for step in range(40):
        codes = _codes(ours, 128, step)
        for network, optimizer in zip((ours, theirs), optimizers, strict=True):
            loss = network.loss(codes, mask, dropout=0.25, generator=torch.Generator().manual_seed(step))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if step in (15, 30):  # what early stopping does: lower the learning rate between steps
            for optimizer in optimizers:
                for group in optimizer.param_groups:
                    group["lr"] *= 0.3
    before = _network().state_dict()
    for key, value in ours.state_dict().items():
        assert torch.equal(value, theirs.state_dict()[key]), key
        assert not torch.equal(value, before[key]), key  # and it trained


def test_a_parameter_without_gradient_is_an_error_not_a_silent_skip() -> None:
    network = _network()
    optimizer = AdamW(network.parameters(), lr=1e-3, weight_decay=0.0)
    network.embedding.grad = torch.zeros_like(network.embedding)
    with pytest.raises(RuntimeError, match="no gradient"):
        optimizer.step()


def test_no_trainable_parameters_is_refused() -> None:
    frozen = copy.deepcopy(_network()).requires_grad_(False)
    with pytest.raises(ValueError, match="no parameters"):
        AdamW(frozen.parameters(), lr=1e-3, weight_decay=0.0)
