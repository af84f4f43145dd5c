"""Per-row clipped gradients of the argn network without materialising per-row gradients ("ghost clipping").

DP-SGD clips every row's gradient to norm ``C`` before summing. Materialising each
row's gradient costs rows × parameters memory and time (30-100× a plain step on CPU
for this network, measured). Every parameter of the network enters its loss linearly
through one product of a per-row input and a weight, so each row's gradient norm
follows from the activations and the gradients of the layer outputs that one ordinary
backward pass yields (Goodfellow 2015; Li et al. 2022, "ghost clipping"):

* a weight used as ``y_b = x_b W``: ``‖∇_W ℓ_b‖² = ‖x_b‖² ‖∂ℓ_b/∂y_b‖²`` (per head);
* a bias or a mask-selected table (``absent``): the squared output gradient, times
  how many entries select it;
* the embedding: every sub-column of a row reads its own table row (codes are offset
  per sub-column), so the row's gradient norm is that of its embedded inputs' gradients.

With the per-row factors ``c_b = min(1, C / ‖∇ℓ_b‖)``, a second backward pass of
``Σ_b c_b ℓ_b`` gives exactly the sum of clipped per-row gradients, which opacus'
optimizer then noises. The forward below is :meth:`ARGNNetwork.loss` without dropout,
written out to keep its intermediate tensors; a test checks its loss and its norms
against ``torch.func`` per-row gradients, and :func:`clipped_gradients` refuses a
network with a parameter it does not know (a new layer must be added here first).
"""

from __future__ import annotations

import torch

from synth_pipeline.generators.argn.model import ARGNNetwork, group_bounds


def _known_parameters(network: ARGNNetwork) -> set[str]:
    buckets = range(len(network.bucket_sizes))
    return {"embedding", "w1", "b1", "absent", "w_skip"} | {f"w2.{b}" for b in buckets} | {f"b2.{b}" for b in buckets}


def check_parameters(network: ARGNNetwork) -> None:
    """Refuse a network with a parameter whose per-row gradient norm this module does not compute."""
    unknown = sorted({name for name, _ in network.named_parameters()} - _known_parameters(network))
    if unknown:
        raise RuntimeError(
            f"DP-SGD cannot clip the per-row gradients of parameter(s) {', '.join(unknown)}: "
            "add them to synth_pipeline.generators.argn.private_gradients"
        )


def row_losses_and_norms(network: ARGNNetwork, codes: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(per-row losses, per-row gradient norms); the losses keep their graph for the clipped backward pass."""
    codes = codes.long()  # training keeps compact integer codes
    n, n_sub = codes.shape
    d = network.embedding_dim
    embedded = network.embed(codes)  # (n, S, d)
    flat = embedded.reshape(n, n_sub * d)
    bounds = group_bounds(n, masks.shape[0])
    pre_parts, input_weight, absent_count = [], [], []
    for g in range(masks.shape[0]):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        if hi == lo:
            continue
        visible = masks[g].repeat_interleave(d, dim=1)  # (T, S*d)
        absent = torch.einsum("ts,tsh->th", 1.0 - masks[g], network.absent)
        pre_parts.append(torch.einsum("bk,tkh->bth", flat[lo:hi], network.w1 * visible[:, :, None]) + absent)
        input_weight.append((flat[lo:hi].detach() ** 2) @ visible.T)  # (rows, T): ‖x_b masked for head t‖²
        absent_count.append((1.0 - masks[g]).sum(1).expand(hi - lo, -1))  # (rows, T)
    pre = torch.cat(pre_parts) + network.b1
    hidden = torch.relu(pre)
    skip = torch.einsum("bth,thk->btk", hidden, network.w_skip)
    top = hidden + torch.relu(skip)
    losses = embedded.new_zeros(n)
    logits_list, tops = [], []
    for b in range(len(network.bucket_sizes)):
        targets = getattr(network, f"targets_{b}")
        top_b = top[:, targets]
        logits = torch.einsum("bth,thc->btc", top_b, network.w2[b]) + network.b2[b] + getattr(network, f"pad_{b}")
        log_probs = torch.log_softmax(logits, dim=-1)
        losses = losses - log_probs.gather(2, codes[:, targets].unsqueeze(2)).sum(dim=(1, 2))
        logits_list.append(logits)
        tops.append(top_b)
    outputs = [embedded, pre, skip, *logits_list]
    grads = torch.autograd.grad(losses.sum(), outputs, retain_graph=True)
    d_embedded, d_pre, d_skip, d_logits = grads[0], grads[1], grads[2], grads[3:]
    pre_sq = (d_pre**2).sum(2)  # (n, T)
    squared = (d_embedded**2).sum(dim=(1, 2))  # embedding
    squared = squared + (pre_sq * (torch.cat(input_weight) + torch.cat(absent_count) + 1.0)).sum(1)  # w1, absent, b1
    squared = squared + ((hidden.detach() ** 2).sum(2) * (d_skip**2).sum(2)).sum(1)  # w_skip
    for top_b, d_logit in zip(tops, d_logits, strict=True):
        out_sq = (d_logit**2).sum(2)
        squared = squared + (((top_b.detach() ** 2).sum(2) + 1.0) * out_sq).sum(1)  # w2, b2
    return losses, torch.sqrt(squared)


def clipped_gradients(network: ARGNNetwork, codes: torch.Tensor, masks: torch.Tensor, max_grad_norm: float) -> float:
    """Set every parameter's ``.grad`` to the sum over rows of the row's gradient clipped to ``max_grad_norm``.

    Returns the sum of the rows' losses. An empty batch sets zero gradients.
    """
    check_parameters(network)
    parameters = list(network.parameters())
    if len(codes) == 0:
        for p in parameters:
            p.grad = torch.zeros_like(p)
        return 0.0
    losses, norms = row_losses_and_norms(network, codes, masks)
    factors = (max_grad_norm / (norms + 1e-6)).clamp(max=1.0).detach()
    grads = torch.autograd.grad((losses * factors).sum(), parameters, allow_unused=True)
    for p, g in zip(parameters, grads, strict=True):
        p.grad = torch.zeros_like(p) if g is None else g
    return float(losses.detach().sum())
