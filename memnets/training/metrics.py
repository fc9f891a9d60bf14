"""Masked losses and metrics for sequence tasks (pure functions of tensors).

Tensor letters as in the package glossary (``memnets/__init__.py``): B batch, T time, O output
bits.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _bits_per_position(logits: Tensor, targets: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none")  # (B, T, O) nats


def masked_bce(logits: Tensor, targets: Tensor, mask: Tensor, *, reduction: str = "bit") -> Tensor:
    """Binary cross-entropy (nats) over the target bits where ``mask`` is True.

    logits, targets (B, T, O); mask (B, T) bool. ``reduction="bit"``: the mean over target
    bits; ``"sequence"``: summed over each sequence's target steps, averaged over sequences and
    output channels (the paper's cost per sequence, over O), so a batch of long sequences
    weighs more than one of short sequences, as it does in a batch of mixed lengths.
    """
    weights = mask.unsqueeze(-1).to(logits.dtype).expand_as(logits)  # (B, T, O)
    total = (_bits_per_position(logits, targets) * weights).sum()
    if reduction == "sequence":
        return total / (logits.shape[0] * logits.shape[-1])
    return total / weights.sum().clamp_min(1)


def cost_bits_per_sequence(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """The paper's cost: cross-entropy in bits summed over a sequence's targets -> (B,)."""
    nats = _bits_per_position(logits, targets) * mask.unsqueeze(-1).to(logits.dtype)
    return nats.sum(dim=(1, 2)) / math.log(2)


def bit_errors_per_sequence(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Number of wrong bits per sequence after thresholding at 0.5 -> (B,)."""
    wrong = ((logits > 0) != (targets > 0.5)) & mask.unsqueeze(-1)  # (B, T, O)
    return wrong.sum(dim=(1, 2)).to(logits.dtype)


def normalised_entropy(weights: Tensor) -> Tensor:
    """Mean entropy of attention weights over their last axis (B, ..., N), divided by log N:
    0 for weights on one slot, 1 for uniform weights -> a scalar."""
    slots = weights.shape[-1]
    if slots < 2:
        raise ValueError(f"weights have shape {tuple(weights.shape)}: entropy needs N >= 2 slots")
    tiny = torch.finfo(weights.dtype).tiny  # 0 log 0 = 0, in any float dtype
    entropy = -(weights * weights.clamp_min(tiny).log()).sum(-1)  # (B, ...)
    return entropy.mean() / math.log(slots)
