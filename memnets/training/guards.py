"""Stop training at the first non-finite loss or gradient, with a message that says where.

Raising stops the Trainer before the optimiser step, so no checkpoint is written
from corrupted weights: the last good ``last.ckpt`` stays as it was.
"""

from __future__ import annotations

import torch
from torch import nn


class NonFiniteError(FloatingPointError):
    """Training produced NaN or Inf."""


def check_finite_loss(loss: torch.Tensor, *, step: int, name: str = "loss") -> None:
    if not torch.isfinite(loss).all():
        raise NonFiniteError(
            f"non-finite {name} ({loss.detach().float().item()}) at training step {step}; "
            "training stopped before the optimiser step, the last checkpoint is intact"
        )


def check_finite_gradients(module: nn.Module, *, step: int) -> None:
    """Raise naming the first parameter whose gradient holds NaN or Inf."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    norms = torch.stack(torch._foreach_norm([g.detach() for g in grads]))  # one op for all
    if torch.isfinite(norms).all():
        return
    for name, parameter in module.named_parameters():
        if parameter.grad is not None and not torch.isfinite(parameter.grad).all():
            raise NonFiniteError(
                f"non-finite gradient of {name} at training step {step}; training stopped "
                "before the optimiser step, the last checkpoint is intact"
            )
