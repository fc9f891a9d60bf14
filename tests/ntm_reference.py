"""The NTM step as memnets computed it before the fused step (issue 11): the tests' oracle.

Unfused and unoptimised on purpose: per-head projections, cosine similarity through
normalised copies of keys and memory, circular shift by gathering with index tensors, the
controller and output layer applied step by step, write heads then read heads. It reads
the parameters of a ``memnets.ntm.NTM`` (whose layout did not change), so the fused model
and this oracle compute with the same weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def unit(x: Tensor, eps: float) -> Tensor:
    return x * torch.rsqrt((x * x).sum(dim=-1, keepdim=True) + eps)


def cosine(memory: Tensor, keys: Tensor) -> Tensor:
    eps = {torch.float64: 1e-12, torch.float16: 1e-6}.get(memory.dtype, 1e-8)
    return unit(keys, eps) @ unit(memory, eps).transpose(1, 2)  # (B, H, N)


def shift(weights: Tensor, shift_weights: Tensor) -> Tensor:
    slots, shifts = weights.shape[-1], shift_weights.shape[-1]
    offsets = torch.arange(shifts) - shifts // 2  # (S,)
    source = (torch.arange(slots).unsqueeze(1) - offsets.unsqueeze(0)) % slots  # (N, S)
    return (weights[..., source] * shift_weights.unsqueeze(2)).sum(dim=-1)  # (B, H, N)


def sharpen(weights: Tensor, gamma: Tensor) -> Tensor:
    eps = 1e-30 if weights.dtype == torch.float64 else 1e-12
    return torch.softmax(gamma.unsqueeze(-1) * torch.log(weights + eps), dim=-1)


def write(memory: Tensor, weights: Tensor, erase: Tensor, add: Tensor) -> Tensor:
    keep = 1 - weights.unsqueeze(-1) * erase.unsqueeze(2)  # (B, H, N, M)
    return memory * keep.prod(dim=1) + weights.transpose(1, 2) @ add


def addressing(projection, hidden: Tensor, heads: int, width: int, shifts: int, extra: int):
    raw = projection(hidden).view(hidden.shape[0], heads, -1)  # (B, H, P)
    sizes = [width, 1, 1, shifts, 1] + [width] * extra
    key, strength, gate, shift_logits, gamma, *rest = raw.split(sizes, dim=-1)
    return (
        torch.tanh(key),
        1 + F.softplus(strength.squeeze(-1)),
        torch.sigmoid(gate.squeeze(-1)),
        torch.softmax(shift_logits, dim=-1),
        1 + F.softplus(gamma.squeeze(-1)),
        rest,
    )


def weights(memory, previous, key, strength, gate, shift_weights, gamma) -> Tensor:
    content = torch.softmax(strength.unsqueeze(-1) * cosine(memory, key), dim=-1)
    gated = gate.unsqueeze(-1) * content + (1 - gate.unsqueeze(-1)) * previous
    return sharpen(shift(gated, shift_weights), gamma)


def reference_forward(ntm, x: Tensor, state=None, *, read_first: bool = False):
    """x (B, T, I) -> (outputs (B, T, O), read weights (B, T, R, N), write weights (B, T, W, N))."""
    cell = ntm.cell
    state = state if state is not None else ntm.initial_state(x.shape[0], dtype=x.dtype)
    memory, reads = state.memory, state.reads
    read_w, write_w = state.read_weights, state.write_weights
    controller_state = state.controller
    width, shifts = cell.memory_width, cell.read_head.shift_range
    outputs, all_read, all_write = [], [], []
    for step in range(x.shape[1]):
        controller_input = torch.cat([x[:, step], reads.flatten(1)], dim=-1)
        if cell.controller_kind == "lstm" and cell.controller_layers > 1:  # stacked: (B, L, C)
            hs, cs = controller_state if controller_state is not None else (None, None)
            layer_input, new_h, new_c = controller_input, [], []
            for index, layer in enumerate([cell.controller, *cell.upper_layers]):
                pair = None if hs is None else (hs[:, index], cs[:, index])
                layer_input, c = layer(layer_input, pair)
                new_h.append(layer_input)
                new_c.append(c)
            hidden = layer_input
            controller_state = (torch.stack(new_h, dim=1), torch.stack(new_c, dim=1))
        elif cell.controller_kind == "lstm":
            hidden, c = cell.controller(controller_input, controller_state)
            controller_state = (hidden, c)
        else:
            hidden = cell.controller(controller_input)
        *write_params, (erase, add) = addressing(
            cell.write_head.projection, hidden, cell.num_write_heads, width, shifts, 2
        )
        *read_params, _ = addressing(
            cell.read_head.projection, hidden, cell.num_read_heads, width, shifts, 0
        )
        if read_first:
            read_w = weights(memory, read_w, *read_params)
            reads = read_w @ memory
            write_w = weights(memory, write_w, *write_params)
            memory = write(memory, write_w, torch.sigmoid(erase), torch.tanh(add))
        else:
            write_w = weights(memory, write_w, *write_params)
            memory = write(memory, write_w, torch.sigmoid(erase), torch.tanh(add))
            read_w = weights(memory, read_w, *read_params)
            reads = read_w @ memory
        outputs.append(cell.output(torch.cat([hidden, reads.flatten(1)], dim=-1)))
        all_read.append(read_w)
        all_write.append(write_w)
    stack = lambda items: torch.stack(items, dim=1)  # noqa: E731
    return stack(outputs), stack(all_read), stack(all_write)
