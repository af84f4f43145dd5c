"""AdamW for the argn and text networks: torch's update, step for step, in a few list-wide operations.

``torch.optim.AdamW`` on CPU updates one tensor after another in Python, through wrappers that import
``torch._dynamo`` on the first step: census' fit paid 1.8 s for that import and about 3 ms a step of
Python around some 25 small tensors (about 2,000 steps). This class does the same arithmetic as
torch's default (single-tensor, non-capturable, decoupled weight decay) with ``torch._foreach_*``
operations, in the same order and with the same Python-float coefficients, so the weights it gives are
bit-identical to torch's (``tests/test_argn_optimizer.py`` checks it against ``torch.optim.AdamW``).
Only what training uses exists: one parameter group whose ``"lr"`` may be changed between steps.
DP training keeps ``torch.optim.AdamW``, which opacus wraps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class AdamW:
    """Adam with decoupled weight decay over ``params`` (every one must receive a gradient each step)."""

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        *,
        lr: float,
        weight_decay: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("AdamW got no parameters to train")
        #: torch's shape: one group, so learning-rate drops written for torch.optim work unchanged
        self.param_groups: list[dict[str, Any]] = [{"lr": float(lr), "weight_decay": float(weight_decay)}]
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.steps = 0
        self.exp_avgs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (set to None, as torch's default does)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update from the parameters' ``.grad``."""
        grads = [p.grad for p in self.params]
        if any(g is None for g in grads):
            raise RuntimeError("AdamW: a parameter received no gradient this step")
        group = self.param_groups[0]
        lr, weight_decay = float(group["lr"]), float(group["weight_decay"])
        beta1, beta2 = self.betas
        self.steps += 1
        step = float(self.steps)
        if weight_decay != 0:
            torch._foreach_mul_(self.params, 1 - lr * weight_decay)
        torch._foreach_lerp_(self.exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(self.exp_avg_sqs, beta2)
        torch._foreach_addcmul_(self.exp_avg_sqs, grads, grads, value=1 - beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        denominators = torch._foreach_sqrt(self.exp_avg_sqs)
        torch._foreach_div_(denominators, bias_correction2**0.5)
        torch._foreach_add_(denominators, self.eps)
        torch._foreach_addcdiv_(self.params, self.exp_avgs, denominators, value=-step_size)
