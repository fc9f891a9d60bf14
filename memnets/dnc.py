"""Differentiable Neural Computer (Graves et al. 2016, "Hybrid computing using a neural network
with dynamic external memory", Nature 538, 471-476; the equations of its methods section).

A controller (LSTM or feed-forward) reads the input and the previous read vectors and emits an
interface vector; one write head and R read heads use it to address an N x M memory by content,
by dynamic allocation of free slots and by the temporal order of writes:

    interface (one linear map of the controller output, parsed by ``parse_interface``):
        read keys k^r_i, write key k^w, write vector v          (unsquashed)
        read strengths beta^r_i, write strength beta^w          oneplus = 1 + softplus
        erase e, free gates f_i, allocation g^a and write g^w   sigmoid
        read modes pi_i                                         softmax over 3
    content      C(M, k, beta)[n] = softmax_n(beta * cos(k, M[n]))  (``content_weights``)
    retention    psi = prod_i (1 - f_i w^r_{i,t-1})                  (``retention``)
    usage        u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} w^w_{t-1}) psi (``update_usage``)
    allocation   phi = slots sorted by ascending u_t (the free list),
                 a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i]        (``allocation``)
    write        w^w_t = g^w (g^a a_t + (1 - g^a) C(M_{t-1}, k^w, beta^w))  (``write_weighting``)
                 M_t = M_{t-1} (1 - w^w_t e^T) + w^w_t v^T            (``memnets.attention.write``)
    links        L_t[i, j] = (1 - w^w_t[i] - w^w_t[j]) L_{t-1}[i, j] + w^w_t[i] p_{t-1}[j],
                 L_t[i, i] = 0                                        (``update_links``)
    precedence   p_t = (1 - sum_n w^w_t[n]) p_{t-1} + w^w_t            (``update_precedence``)
    directions   f_i = L_t w^r_{i,t-1} (forward), b_i = L_t^T w^r_{i,t-1} (backward)
                                                                      (``directional_weights``)
    read         w^r_{i,t} = pi_i[0] b_i + pi_i[1] C(M_t, k^r_i, beta^r_i) + pi_i[2] f_i
                 (modes in the paper's order: backward, content, forward)  (``read_weighting``)
                 r_i = M_t^T w^r_{i,t}                                (``memnets.attention.read``)
    output       y_t = W_y [h_t; r_{1,t}; ...; r_{R,t}]   (logits; the training layer adds the loss)

One time step, in the paper's order: controller on [x_t; r_{t-1}] -> interface -> retention and
usage (from the previous step's write and read weights) -> allocation -> write content weights on
the previous memory -> write weights -> erase and add -> links (with the previous precedence),
then precedence -> read weights from the new memory and the new links -> reads -> output.

State is explicit: ``output, state = dnc(x, state)`` with a ``DNCState`` made by
``initial_state(batch_size, device=...)`` (all zeros, as in DeepMind's release: an empty memory,
nothing used, no links, no previous reads); nothing is stored on the module.

Tensor letters follow the package glossary (``memnets/__init__.py``): B batch, T time, I input
size, O output size, C controller size, N memory slots, M slot width, R read heads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from memnets._checks import check_positive, check_shape
from memnets.attention import _content_weights, _write

__all__ = [
    "retention",
    "update_usage",
    "allocation",
    "write_weighting",
    "update_precedence",
    "update_links",
    "directional_weights",
    "read_weighting",
    "interface_size",
    "parse_interface",
    "access",
    "DNCInterface",
    "DNCState",
    "DNCInternals",
    "DNC",
    "dnc_copy",
    "dnc_babi",
]

READ_MODES = ("backward", "content", "forward")  # the order of the last axis of read modes
# The revision of the numbers a DNC configuration produces: bumped by a change of the
# mathematics, so that cached results of earlier code are not reused (bench/protocols.py).
REVISION = 1

# state, interface and internals


class DNCState(NamedTuple):
    """Everything a DNC carries from one step to the next (fields as in ``NTMState``)."""

    controller: tuple[Tensor, Tensor] | None  # LSTM (h, c), each (B, C); None if feed-forward
    memory: Tensor  # (B, N, M)
    usage: Tensor  # (B, N) u_t, in [0, 1]
    links: Tensor  # (B, N, N) L[i, j]: how much slot i was written right after slot j
    precedence: Tensor  # (B, N) how much each slot was the last one written
    read_weights: Tensor  # (B, R, N)
    write_weights: Tensor  # (B, N)
    reads: Tensor  # (B, R, M) the last read vectors


@dataclass
class DNCInterface:
    """The interface vector of one step, parsed and squashed (``parse_interface``)."""

    read_keys: Tensor  # (B, R, M)
    read_strengths: Tensor  # (B, R) >= 1
    write_key: Tensor  # (B, M)
    write_strength: Tensor  # (B, 1) >= 1
    erase: Tensor  # (B, M) in [0, 1]
    write_vector: Tensor  # (B, M)
    free_gates: Tensor  # (B, R) in [0, 1]
    allocation_gate: Tensor  # (B, 1) in [0, 1]
    write_gate: Tensor  # (B, 1) in [0, 1]
    read_modes: Tensor  # (B, R, 3) backward, content, forward; sums to 1


@dataclass
class DNCInternals:
    """Addressing per step, returned on request for pictures and tests."""

    usage: Tensor  # (B, T, N) u_t, the usage the step's allocation was computed from
    allocation: Tensor  # (B, T, N)
    write_weights: Tensor  # (B, T, N)
    read_weights: Tensor  # (B, T, R, N)
    read_modes: Tensor  # (B, T, R, 3) backward, content, forward
    free_gates: Tensor  # (B, T, R)
    allocation_gate: Tensor  # (B, T)
    write_gate: Tensor  # (B, T)
    links: Tensor  # (B, N, N) the link matrix after the last step


# helpers: the memory equations, pure functions of tensors


def retention(free_gates: Tensor, read_weights: Tensor) -> Tensor:
    """Memory retention psi = prod_i (1 - f_i w^r_i): free_gates (B, R), read_weights (B, R, N)
    -> (B, N). A slot read with a free gate of 1 is released (psi = 0)."""
    sizes = check_shape("read_weights", read_weights, ("B", "R", "N"))
    check_shape("free_gates", free_gates, (sizes["B"], sizes["R"]))
    return _retention(free_gates, read_weights)


def _retention(free_gates: Tensor, read_weights: Tensor) -> Tensor:
    return torch.prod(1 - free_gates.unsqueeze(-1) * read_weights, dim=1)  # (B, N)


def update_usage(usage: Tensor, write_weights: Tensor, retention: Tensor) -> Tensor:
    """u_t = (u + w - u w) psi: usage, the previous write_weights and retention (B, N) -> (B, N).

    Computed as ``(u + w (1 - u)) psi``, the same value, which in floating point never exceeds 1
    for u, w in [0, 1] (so 1 - u in ``allocation`` is never negative).
    """
    sizes = check_shape("usage", usage, ("B", "N"))
    check_shape("write_weights", write_weights, (sizes["B"], sizes["N"]))
    check_shape("retention", retention, (sizes["B"], sizes["N"]))
    return _update_usage(usage, write_weights, retention)


def _update_usage(usage: Tensor, write_weights: Tensor, retention: Tensor) -> Tensor:
    return (usage + write_weights * (1 - usage)) * retention  # (B, N)


def allocation(usage: Tensor) -> Tensor:
    """Allocation weights from usage (B, N) -> (B, N).

    The free list phi sorts the slots by ascending usage; the j-th slot in it gets
    (1 - u[phi_j]) prod_{i<j} u[phi_i] (an exclusive cumulative product, so no division and
    no log: exact for usages of exactly 0 or 1, with finite gradients there, so usage needs no
    clamping). The weights sum to 1 - prod_n u[n] <= 1; a full memory (all usages 1) gets all
    zeros, an empty one (all 0) a one-hot on slot 0.

    Ties: the sort is stable, so among slots of equal usage the lower slot index comes first in
    the free list and gets the larger share (usage [0.2, 0.2, 0.5] -> [0.8, 0.16, 0.02]).

    Gradients flow through the sorted usage values, not through the sort order (the paper's
    methods likewise ignore the discontinuities where the order changes).
    """
    check_shape("usage", usage, ("B", "N"))
    return _allocation(usage)


def _allocation(usage: Tensor) -> Tensor:
    sorted_usage, free_list = torch.sort(usage, dim=-1, stable=True)  # (B, N) ascending
    leading_one = sorted_usage.new_ones(usage.shape[0], 1)  # (B, 1)
    used_before = torch.cumprod(torch.cat([leading_one, sorted_usage[:, :-1]], dim=-1), dim=-1)
    sorted_allocation = (1 - sorted_usage) * used_before  # (B, N) in free-list order
    return torch.zeros_like(usage).scatter(-1, free_list, sorted_allocation)  # (B, N) slot order


def write_weighting(
    allocation: Tensor, content: Tensor, allocation_gate: Tensor, write_gate: Tensor
) -> Tensor:
    """w^w = g^w (g^a a + (1 - g^a) c): allocation, content (B, N), gates (B, 1) -> (B, N)."""
    sizes = check_shape("allocation", allocation, ("B", "N"))
    check_shape("content", content, (sizes["B"], sizes["N"]))
    check_shape("allocation_gate", allocation_gate, (sizes["B"], 1))
    check_shape("write_gate", write_gate, (sizes["B"], 1))
    return _write_weighting(allocation, content, allocation_gate, write_gate)


def _write_weighting(
    allocation: Tensor, content: Tensor, allocation_gate: Tensor, write_gate: Tensor
) -> Tensor:
    return write_gate * (allocation_gate * allocation + (1 - allocation_gate) * content)  # (B, N)


def update_precedence(precedence: Tensor, write_weights: Tensor) -> Tensor:
    """p_t = (1 - sum_n w[n]) p_{t-1} + w: precedence, write_weights (B, N) -> (B, N)."""
    sizes = check_shape("precedence", precedence, ("B", "N"))
    check_shape("write_weights", write_weights, (sizes["B"], sizes["N"]))
    return _update_precedence(precedence, write_weights)


def _update_precedence(precedence: Tensor, write_weights: Tensor) -> Tensor:
    return (1 - write_weights.sum(dim=-1, keepdim=True)) * precedence + write_weights  # (B, N)


def update_links(links: Tensor, precedence: Tensor, write_weights: Tensor) -> Tensor:
    """L_t[i, j] = (1 - w[i] - w[j]) L_{t-1}[i, j] + w[i] p_{t-1}[j], diagonal 0.

    links (B, N, N), the PREVIOUS step's precedence (B, N), this step's write_weights (B, N)
    -> (B, N, N). Row i, column j: how much slot i was written right after slot j.
    """
    sizes = check_shape("links", links, ("B", "N", "N"))
    check_shape("precedence", precedence, (sizes["B"], sizes["N"]))
    check_shape("write_weights", write_weights, (sizes["B"], sizes["N"]))
    return _update_links(links, precedence, write_weights, _off_diagonal(links))


def _off_diagonal(links: Tensor) -> Tensor:
    """(N, N): 1 off the diagonal, 0 on it, for links (B, N, N)."""
    slots = links.shape[-1]
    return 1 - torch.eye(slots, dtype=links.dtype, device=links.device)  # (N, N)


def _update_links(
    links: Tensor, precedence: Tensor, write_weights: Tensor, off_diagonal: Tensor
) -> Tensor:
    written_i = write_weights.unsqueeze(2)  # (B, N, 1)
    written_j = write_weights.unsqueeze(1)  # (B, 1, N)
    links = (1 - written_i - written_j) * links + written_i * precedence.unsqueeze(1)  # (B, N, N)
    return links * off_diagonal  # (B, N, N)


def directional_weights(links: Tensor, read_weights: Tensor) -> tuple[Tensor, Tensor]:
    """Forward f_i = L w^r_i and backward b_i = L^T w^r_i of every read head.

    links (B, N, N), the PREVIOUS read_weights (B, R, N) -> (forward, backward), each
    (B, R, N). Forward moves each head to the slots written after the ones it read.
    """
    sizes = check_shape("links", links, ("B", "N", "N"))
    check_shape("read_weights", read_weights, (sizes["B"], "R", sizes["N"]))
    return _directional_weights(links, read_weights)


def _directional_weights(links: Tensor, read_weights: Tensor) -> tuple[Tensor, Tensor]:
    forward = read_weights @ links.transpose(1, 2)  # (B, R, N): f[r, i] = sum_j L[i, j] w[r, j]
    backward = read_weights @ links  # (B, R, N): b[r, j] = sum_i L[i, j] w[r, i]
    return forward, backward


def read_weighting(backward: Tensor, content: Tensor, forward: Tensor, modes: Tensor) -> Tensor:
    """w^r = pi[0] b + pi[1] c + pi[2] f (the paper's order: backward, content, forward).

    backward, content, forward (B, R, N); modes (B, R, 3) -> (B, R, N).
    """
    sizes = check_shape("content", content, ("B", "R", "N"))
    check_shape("backward", backward, (sizes["B"], sizes["R"], sizes["N"]))
    check_shape("forward", forward, (sizes["B"], sizes["R"], sizes["N"]))
    check_shape("modes", modes, (sizes["B"], sizes["R"], len(READ_MODES)))
    return _read_weighting(backward, content, forward, modes)


def _read_weighting(backward: Tensor, content: Tensor, forward: Tensor, modes: Tensor) -> Tensor:
    backward_mode, content_mode, forward_mode = modes.unsqueeze(-1).unbind(dim=2)  # (B, R, 1)
    return backward_mode * backward + content_mode * content + forward_mode * forward  # (B, R, N)


def interface_size(num_read_heads: int, memory_width: int) -> int:
    """Length of the interface vector: R M + 3 M + 5 R + 3 (``parse_interface``)."""
    return sum(_interface_sizes(num_read_heads, memory_width))


def _interface_sizes(num_read_heads: int, memory_width: int) -> list[int]:
    heads, width = num_read_heads, memory_width
    # read keys, read strengths, write key, write strength, erase, write vector,
    # free gates, allocation gate, write gate, read modes: the paper's order
    return [heads * width, heads, width, 1, width, width, heads, 1, 1, heads * len(READ_MODES)]


def parse_interface(raw: Tensor, *, num_read_heads: int, memory_width: int) -> DNCInterface:
    """Split and squash the interface vector raw (B, R M + 3 M + 5 R + 3) -> DNCInterface.

    Layout, in the paper's order: R read keys (head after head, M each), R read strengths, the
    write key (M), the write strength, erase (M), the write vector (M), R free gates, the
    allocation gate, the write gate, R read modes (head after head: backward, content, forward).
    """
    check_shape("raw", raw, ("B", interface_size(num_read_heads, memory_width)))
    return _parse_interface(raw, num_read_heads, memory_width)


def _parse_interface(raw: Tensor, num_read_heads: int, memory_width: int) -> DNCInterface:
    heads, width, batch = num_read_heads, memory_width, raw.shape[0]
    (
        read_keys,
        read_strengths,
        write_key,
        write_strength,
        erase,
        write_vector,
        free_gates,
        allocation_gate,
        write_gate,
        read_modes,
    ) = raw.split(_interface_sizes(heads, width), dim=-1)
    return DNCInterface(
        read_keys=read_keys.reshape(batch, heads, width),  # (B, R, M)
        read_strengths=1 + F.softplus(read_strengths),  # (B, R)
        write_key=write_key,  # (B, M)
        write_strength=1 + F.softplus(write_strength),  # (B, 1)
        erase=torch.sigmoid(erase),  # (B, M)
        write_vector=write_vector,  # (B, M)
        free_gates=torch.sigmoid(free_gates),  # (B, R)
        allocation_gate=torch.sigmoid(allocation_gate),  # (B, 1)
        write_gate=torch.sigmoid(write_gate),  # (B, 1)
        read_modes=torch.softmax(read_modes.reshape(batch, heads, len(READ_MODES)), dim=-1),
    )


def access(state: DNCState, interface: DNCInterface) -> tuple[DNCState, Tensor]:
    """One step of memory access: the new state (controller untouched) and the allocation
    weights (B, N), in the paper's order (see the module docstring)."""
    if not isinstance(state, DNCState):
        raise TypeError(f"state must be a DNCState, got {type(state).__name__}")
    if not isinstance(interface, DNCInterface):
        raise TypeError(
            "interface must be a DNCInterface (see parse_interface), got "
            f"{type(interface).__name__}"
        )
    sizes = check_shape("state.memory", state.memory, ("B", "N", "M"))
    batch, slots, width = sizes["B"], sizes["N"], sizes["M"]
    heads = check_shape("state.read_weights", state.read_weights, (batch, "R", slots))["R"]
    for name, tensor, shape in [
        ("state.usage", state.usage, (batch, slots)),
        ("state.links", state.links, (batch, slots, slots)),
        ("state.precedence", state.precedence, (batch, slots)),
        ("state.write_weights", state.write_weights, (batch, slots)),
        ("interface.read_keys", interface.read_keys, (batch, heads, width)),
        ("interface.read_strengths", interface.read_strengths, (batch, heads)),
        ("interface.write_key", interface.write_key, (batch, width)),
        ("interface.write_strength", interface.write_strength, (batch, 1)),
        ("interface.erase", interface.erase, (batch, width)),
        ("interface.write_vector", interface.write_vector, (batch, width)),
        ("interface.free_gates", interface.free_gates, (batch, heads)),
        ("interface.allocation_gate", interface.allocation_gate, (batch, 1)),
        ("interface.write_gate", interface.write_gate, (batch, 1)),
        ("interface.read_modes", interface.read_modes, (batch, heads, len(READ_MODES))),
    ]:
        check_shape(name, tensor, shape)
    return _access(state, interface, _off_diagonal(state.links))


def _access(
    state: DNCState, interface: DNCInterface, off_diagonal: Tensor
) -> tuple[DNCState, Tensor]:
    """:func:`access` without checks; ``off_diagonal`` (N, N) from :func:`_off_diagonal`."""
    psi = _retention(interface.free_gates, state.read_weights)  # (B, N)
    usage = _update_usage(state.usage, state.write_weights, psi)  # (B, N)
    allocation_weights = _allocation(usage)  # (B, N)
    write_content = _content_weights(
        state.memory, interface.write_key.unsqueeze(1), interface.write_strength.unsqueeze(1)
    ).squeeze(1)  # (B, N)
    write_weights = _write_weighting(
        allocation_weights, write_content, interface.allocation_gate, interface.write_gate
    )  # (B, N)
    memory = _write(
        state.memory,
        write_weights.unsqueeze(1),
        interface.erase.unsqueeze(1),
        interface.write_vector.unsqueeze(1),
    )  # (B, N, M)
    links = _update_links(state.links, state.precedence, write_weights, off_diagonal)  # (B, N, N)
    precedence = _update_precedence(state.precedence, write_weights)  # (B, N)
    forward, backward = _directional_weights(links, state.read_weights)  # (B, R, N) each
    read_content = _content_weights(
        memory, interface.read_keys, interface.read_strengths.unsqueeze(-1)
    )  # (B, R, N)
    read_weights = _read_weighting(backward, read_content, forward, interface.read_modes)
    reads = read_weights @ memory  # (B, R, M); read_weights (B, R, N)
    new_state = DNCState(
        state.controller, memory, usage, links, precedence, read_weights, write_weights, reads
    )
    return new_state, allocation_weights


# model


class DNC(nn.Module):
    """A Differentiable Neural Computer over whole sequences, called like ``nn.LSTM``.

    ``output, state = dnc(x, state)`` with x (B, T, I) (``batch_first=True``, the default) or
    (T, B, I), output logits (B, T, O) (or (T, B, O)); ``state=None`` starts from
    ``initial_state``. With ``return_internals=True`` a third value, :class:`DNCInternals`,
    holds every step's usage, allocation, gates, modes and weights and the final links.

    The controller, a one-layer LSTM (``"lstm"``) or a tanh layer (``"feedforward"``) of
    ``controller_size`` units, reads [x_t; r_{t-1}]; one linear layer maps its output to the
    interface vector (``parse_interface``), another maps [h_t; r_t] to the output. One write
    head, as in the paper; ``num_read_heads`` read heads.
    """

    def __init__(
        self,
        *,
        input_size: int,
        output_size: int,
        controller: Literal["lstm", "feedforward"] = "lstm",
        controller_size: int = 64,
        memory_slots: int = 16,
        memory_width: int = 16,
        num_read_heads: int = 1,
        batch_first: bool = True,
    ) -> None:
        super().__init__()
        for name, value in [
            ("input_size", input_size),
            ("output_size", output_size),
            ("controller_size", controller_size),
            ("memory_slots", memory_slots),
            ("memory_width", memory_width),
            ("num_read_heads", num_read_heads),
        ]:
            check_positive(name, value)
        if controller not in ("lstm", "feedforward"):
            raise ValueError(f"controller must be 'lstm' or 'feedforward', got {controller!r}")
        self.input_size, self.output_size = input_size, output_size
        self.controller_kind, self.controller_size = controller, controller_size
        self.memory_slots, self.memory_width = memory_slots, memory_width
        self.num_read_heads, self.batch_first = num_read_heads, batch_first

        reads_size = num_read_heads * memory_width
        if controller == "lstm":
            self.controller = nn.LSTMCell(input_size + reads_size, controller_size)
        else:
            self.controller = nn.Sequential(
                nn.Linear(input_size + reads_size, controller_size), nn.Tanh()
            )
        self.interface = nn.Linear(controller_size, interface_size(num_read_heads, memory_width))
        self.output = nn.Linear(controller_size + reads_size, output_size)

    def initial_state(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> DNCState:
        """All zeros for ``batch_size`` sequences (defaults: the parameters' device/dtype)."""
        check_positive("batch_size", batch_size)
        reference = self.output.weight
        device = reference.device if device is None else device
        dtype = reference.dtype if dtype is None else dtype
        batch, slots, heads = batch_size, self.memory_slots, self.num_read_heads

        def zeros(*shape: int) -> Tensor:
            return torch.zeros(batch, *shape, device=device, dtype=dtype)

        controller = None
        if self.controller_kind == "lstm":
            controller = (zeros(self.controller_size), zeros(self.controller_size))  # (B, C) each
        return DNCState(
            controller=controller,
            memory=zeros(slots, self.memory_width),  # (B, N, M)
            usage=zeros(slots),  # (B, N)
            links=zeros(slots, slots),  # (B, N, N)
            precedence=zeros(slots),  # (B, N)
            read_weights=zeros(heads, slots),  # (B, R, N)
            write_weights=zeros(slots),  # (B, N)
            reads=zeros(heads, self.memory_width),  # (B, R, M)
        )

    def forward(
        self, x: Tensor, state: DNCState | None = None, *, return_internals: bool = False
    ) -> tuple[Tensor, DNCState] | tuple[Tensor, DNCState, DNCInternals]:
        letters = ("B", "T") if self.batch_first else ("T", "B")
        sizes = check_shape("x", x, (*letters, self.input_size))
        if sizes["T"] == 0:
            raise ValueError(f"x has shape {tuple(x.shape)}: a sequence needs at least one step")
        if not self.batch_first:
            x = x.transpose(0, 1)  # (B, T, I)
        if state is None:
            state = self.initial_state(sizes["B"], device=x.device, dtype=x.dtype)
        else:
            self._check_state(state, sizes["B"])
            if self.controller_kind == "lstm" and state.controller is None:  # None: zeros
                zeros = state.memory.new_zeros(sizes["B"], self.controller_size)  # (B, C)
                state = state._replace(controller=(zeros, zeros.clone()))

        off_diagonal = _off_diagonal(state.links)  # (N, N), once per call
        hiddens, reads, steps = [], [], []
        for x_t in x.unbind(dim=1):  # (B, I)
            hidden, state, interface, allocation_weights = self._step(x_t, state, off_diagonal)
            hiddens.append(hidden)
            reads.append(state.reads.flatten(1))  # (B, R*M)
            if return_internals:
                steps.append((state, interface, allocation_weights))
        # the output layer once over all steps: (B, T, C + R*M) -> (B, T, O)
        output = self.output(torch.cat([torch.stack(hiddens, 1), torch.stack(reads, 1)], -1))
        if not self.batch_first:
            output = output.transpose(0, 1)  # (T, B, O)
        if not return_internals:
            return output, state

        states, interfaces, allocations = zip(*steps)

        def stacked(tensors) -> Tensor:
            return torch.stack(list(tensors), dim=1)  # (B, T, ...)

        internals = DNCInternals(
            usage=stacked(s.usage for s in states),  # (B, T, N)
            allocation=stacked(allocations),  # (B, T, N)
            write_weights=stacked(s.write_weights for s in states),  # (B, T, N)
            read_weights=stacked(s.read_weights for s in states),  # (B, T, R, N)
            read_modes=stacked(i.read_modes for i in interfaces),  # (B, T, R, 3)
            free_gates=stacked(i.free_gates for i in interfaces),  # (B, T, R)
            allocation_gate=stacked(i.allocation_gate.squeeze(-1) for i in interfaces),  # (B, T)
            write_gate=stacked(i.write_gate.squeeze(-1) for i in interfaces),  # (B, T)
            links=state.links,  # (B, N, N)
        )
        return output, state, internals

    def _step(
        self, x: Tensor, state: DNCState, off_diagonal: Tensor
    ) -> tuple[Tensor, DNCState, DNCInterface, Tensor]:
        """x (B, I) -> controller output (B, C), new state, interface, allocation (B, N);
        no checks (``forward`` checked x and the state once)."""
        controller_input = torch.cat([x, state.reads.flatten(1)], dim=-1)  # (B, I + R*M)
        if self.controller_kind == "lstm":
            hidden, cell = self.controller(controller_input, state.controller)  # (B, C) each
            controller = (hidden, cell)
        else:
            hidden, controller = self.controller(controller_input), None  # (B, C)
        interface = _parse_interface(self.interface(hidden), self.num_read_heads, self.memory_width)
        state, allocation_weights = _access(state, interface, off_diagonal)
        return hidden, state._replace(controller=controller), interface, allocation_weights

    def _check_state(self, state: DNCState, batch: int) -> None:
        """Every tensor of ``state`` must match this model and the batch size of ``x``."""
        if not isinstance(state, DNCState):
            raise TypeError(
                f"state must be a DNCState (see initial_state), got {type(state).__name__}"
            )
        slots, width, heads = self.memory_slots, self.memory_width, self.num_read_heads
        check_shape("state.memory", state.memory, (batch, slots, width))
        check_shape("state.usage", state.usage, (batch, slots))
        check_shape("state.links", state.links, (batch, slots, slots))
        check_shape("state.precedence", state.precedence, (batch, slots))
        check_shape("state.read_weights", state.read_weights, (batch, heads, slots))
        check_shape("state.write_weights", state.write_weights, (batch, slots))
        check_shape("state.reads", state.reads, (batch, heads, width))
        if self.controller_kind == "lstm" and state.controller is not None:
            if not isinstance(state.controller, (tuple, list)) or len(state.controller) != 2:
                raise TypeError(
                    "state.controller must be the LSTM's (h, c) pair, got "
                    f"{type(state.controller).__name__}"
                )
            for index, tensor in enumerate(state.controller):  # h, c
                check_shape(f"state.controller[{index}]", tensor, (batch, self.controller_size))


# builders


def dnc_copy(**overrides) -> DNC:
    """Copy of 8-bit vectors (input 9: 8 bits and a delimiter channel, output 8): LSTM 64,
    16 x 16 memory, 1 read head. Small sizes of our choosing (the defaults of ``DNC``), not a
    configuration from the paper."""
    return DNC(**{"input_size": 9, "output_size": 8, **overrides})


def dnc_babi(*, input_size: int, output_size: int, **overrides) -> DNC:
    """bAbI as in the paper's methods: one LSTM layer of 256, 256 x 64 memory, 4 read heads.

    ``input_size`` and ``output_size`` come from the data (the word encoding and the answer
    vocabulary), so the caller gives them; there is no default.
    """
    config = dict(controller_size=256, memory_slots=256, memory_width=64, num_read_heads=4)
    return DNC(input_size=input_size, output_size=output_size, **{**config, **overrides})
