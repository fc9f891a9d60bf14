"""Neural Turing Machine (Graves, Wayne & Danihelka 2014, arXiv:1410.5401).

A controller (LSTM or feed-forward) reads an input and the previous read
vectors, emits addressing parameters for its read and write heads, and the
heads address an N x M memory by content and location (``memnets.attention``):

    key k (tanh), strength beta (1 + softplus)      content weights      (eqs. 5-6)
    gate g (sigmoid)                                interpolation        (eq. 7)
    shift s (softmax over S shifts)                 circular convolution (eq. 8)
    sharpening gamma (1 + softplus)                 sharpening           (eq. 9)
    erase e (sigmoid), add a (tanh)                 write                (eqs. 3-4)

One time step, in order: controller; write heads address and write; read heads
address and read the written memory; output = Linear([controller, reads]).
The output is unnormalised (logits); the training layer applies the loss.

State is explicit: ``output, state = ntm(x, state)`` with an ``NTMState`` made
by ``initial_state(batch_size, device=...)``; nothing is stored on the module,
so one module serves any batch size, device or number of parallel sequences.

Memory initialisation follows Collier & Beel 2018 ("Implementing Neural Turing
Machines"), who found a small constant (1e-6) converges fastest; learned
initial read vectors and addressing weights are the default, the weights
starting focused on slot 0 (with uniform initial weights over a constant memory
the heads could never address one slot apart from the others).

Tensor letters follow the package glossary (``memnets/__init__.py``): B batch, T time, I input
size, O output size, C controller size, N memory slots, M slot width, R read heads, W write
heads, S shift range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from memnets._checks import check_positive, check_shape
from memnets.attention import content_weights, interpolate, read, sharpen, shift, write

__all__ = [
    "NTMState",
    "NTMInternals",
    "Addressing",
    "ReadHead",
    "WriteHead",
    "NTMCell",
    "NTM",
    "ntm_copy",
    "ntm_repeat_copy",
    "ntm_associative_recall",
    "ntm_priority_sort",
]

INITIAL_FOCUS = 10.0  # logit of slot 0 in the initial read and write weights
# The revision of the numbers an NTM configuration produces: bumped by a change of the
# mathematics, so that cached results of earlier code are not reused (bench/protocols.py).
REVISION = 1

# state and internals


class NTMState(NamedTuple):
    """Everything an NTM carries from one step to the next."""

    controller: tuple[Tensor, Tensor] | None  # LSTM (h, c), each (B, C); None if feed-forward
    memory: Tensor  # (B, N, M)
    read_weights: Tensor  # (B, R, N)
    write_weights: Tensor  # (B, W, N)
    reads: Tensor  # (B, R, M) the last read vectors


@dataclass
class NTMInternals:
    """Addressing per step and per head, returned on request for pictures and tests."""

    read_weights: Tensor  # (B, T, R, N)
    write_weights: Tensor  # (B, T, W, N)
    memory: Tensor | None = None  # (B, T, N, M) after each step's write, if asked for


# heads


@dataclass
class Addressing:
    """Addressing parameters of H heads for one step."""

    key: Tensor  # (B, H, M)
    strength: Tensor  # (B, H)
    gate: Tensor  # (B, H)
    shift: Tensor  # (B, H, S)
    gamma: Tensor  # (B, H)

    def weights(self, memory: Tensor, previous: Tensor) -> Tensor:
        """Content, interpolation, shift, sharpening: (B, N, M), (B, H, N) -> (B, H, N)."""
        content = content_weights(memory, self.key, self.strength)  # (B, H, N)
        gated = interpolate(content, previous, self.gate)  # (B, H, N)
        return sharpen(shift(gated, self.shift), self.gamma)  # (B, H, N)


class ReadHead(nn.Module):
    """Maps the controller output to the addressing parameters of ``num_heads`` read heads."""

    def __init__(
        self, *, controller_size: int, memory_width: int, num_heads: int = 1, shift_range: int = 3
    ) -> None:
        super().__init__()
        check_positive("controller_size", controller_size)
        check_positive("num_heads", num_heads)
        check_positive("memory_width", memory_width)
        _check_shift_range(shift_range)
        self.num_heads, self.memory_width, self.shift_range = num_heads, memory_width, shift_range
        self.projection = nn.Linear(controller_size, num_heads * sum(self.parameter_sizes()))

    def parameter_sizes(self) -> list[int]:
        """Per head: key, strength, gate, shift, gamma."""
        return [self.memory_width, 1, 1, self.shift_range, 1]

    def _split(self, controller_output: Tensor) -> list[Tensor]:
        batch = controller_output.shape[0]
        raw = self.projection(controller_output).view(batch, self.num_heads, -1)  # (B, H, P)
        return list(raw.split(self.parameter_sizes(), dim=-1))

    def _addressing(self, key, strength, gate, shift_logits, gamma) -> Addressing:
        return Addressing(
            key=torch.tanh(key),  # (B, H, M)
            strength=1 + F.softplus(strength.squeeze(-1)),  # (B, H)
            gate=torch.sigmoid(gate.squeeze(-1)),  # (B, H)
            shift=torch.softmax(shift_logits, dim=-1),  # (B, H, S)
            gamma=1 + F.softplus(gamma.squeeze(-1)),  # (B, H)
        )

    def forward(self, controller_output: Tensor) -> Addressing:
        """controller_output (B, C) -> Addressing of H heads."""
        check_shape("controller_output", controller_output, (None, self.projection.in_features))
        return self._addressing(*self._split(controller_output))


class WriteHead(ReadHead):
    """Addressing parameters plus erase (sigmoid) and add (tanh) vectors of ``num_heads`` heads."""

    def parameter_sizes(self) -> list[int]:
        """Per head: key, strength, gate, shift, gamma, erase, add."""
        return super().parameter_sizes() + [self.memory_width, self.memory_width]

    def forward(self, controller_output: Tensor) -> tuple[Addressing, Tensor, Tensor]:
        """controller_output (B, C) -> (Addressing, erase (B, H, M), add (B, H, M))."""
        check_shape("controller_output", controller_output, (None, self.projection.in_features))
        *addressing, erase, add = self._split(controller_output)
        return self._addressing(*addressing), torch.sigmoid(erase), torch.tanh(add)


def _check_shift_range(shift_range: int) -> None:
    if not isinstance(shift_range, int) or shift_range < 1 or shift_range % 2 == 0:
        raise ValueError(
            f"shift_range must be a positive odd integer (shifts -S//2..S//2), got {shift_range!r}"
        )


# cell and sequence model


class NTMCell(nn.Module):
    """One NTM time step: ``output, state = cell(x, state)``.

    Built by :class:`NTM` (``NTM(...).cell``), whose signature holds the arguments' defaults
    and meaning; here every argument is required.
    """

    def __init__(
        self,
        *,
        input_size: int,
        output_size: int,
        controller: Literal["lstm", "feedforward"],
        controller_size: int,
        memory_slots: int,
        memory_width: int,
        num_read_heads: int,
        num_write_heads: int,
        shift_range: int,
        memory_init: Literal["constant", "learned", "random"],
        learned_initial_state: bool,
    ) -> None:
        super().__init__()
        for name, value in [
            ("input_size", input_size),
            ("output_size", output_size),
            ("controller_size", controller_size),
            ("memory_slots", memory_slots),
            ("memory_width", memory_width),
            ("num_read_heads", num_read_heads),
            ("num_write_heads", num_write_heads),
        ]:
            check_positive(name, value)
        _check_shift_range(shift_range)
        if controller not in ("lstm", "feedforward"):
            raise ValueError(f"controller must be 'lstm' or 'feedforward', got {controller!r}")
        if memory_init not in ("constant", "learned", "random"):
            raise ValueError(
                f"memory_init must be 'constant', 'learned' or 'random', got {memory_init!r}"
            )
        self.input_size, self.output_size = input_size, output_size
        self.controller_kind, self.controller_size = controller, controller_size
        self.memory_slots, self.memory_width = memory_slots, memory_width
        self.num_read_heads, self.num_write_heads = num_read_heads, num_write_heads
        self.memory_init = memory_init

        controller_input = input_size + num_read_heads * memory_width
        if controller == "lstm":
            self.controller = nn.LSTMCell(controller_input, controller_size)
        else:
            self.controller = nn.Sequential(nn.Linear(controller_input, controller_size), nn.Tanh())
        head_args = dict(
            controller_size=controller_size, memory_width=memory_width, shift_range=shift_range
        )
        self.read_head = ReadHead(num_heads=num_read_heads, **head_args)
        self.write_head = WriteHead(num_heads=num_write_heads, **head_args)
        self.output = nn.Linear(controller_size + num_read_heads * memory_width, output_size)

        # initial state: learned read vectors and weights (softmax of learned logits), or fixed
        self.initial_reads = nn.Parameter(
            torch.randn(num_read_heads, memory_width) * 0.01, requires_grad=learned_initial_state
        )
        # The initial weights start focused on slot 0 (softmax of logits 10 there, 0 elsewhere:
        # ~99% of the weight over 128 slots). Uniform initial weights over a constant memory
        # never break symmetry: content, interpolation, shift and sharpening all map uniform
        # to uniform, every write reaches every row alike and the heads cannot address.
        focus = torch.zeros(memory_slots)
        focus[0] = INITIAL_FOCUS
        self.initial_read_logits = nn.Parameter(
            focus.repeat(num_read_heads, 1), requires_grad=learned_initial_state
        )
        self.initial_write_logits = nn.Parameter(
            focus.repeat(num_write_heads, 1), requires_grad=learned_initial_state
        )
        if memory_init == "learned":
            self.initial_memory = nn.Parameter(torch.full((memory_slots, memory_width), 1e-6))
        elif memory_init == "random":
            bound = (6 / (memory_slots + memory_width)) ** 0.5
            self.register_buffer(
                "initial_memory", torch.empty(memory_slots, memory_width).uniform_(-bound, bound)
            )
        else:
            self.register_buffer("initial_memory", torch.full((memory_slots, memory_width), 1e-6))

    def initial_state(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> NTMState:
        """A fresh state for ``batch_size`` sequences (defaults: the parameters' device/dtype)."""
        check_positive("batch_size", batch_size)
        reference = self.initial_reads
        device = reference.device if device is None else device
        dtype = reference.dtype if dtype is None else dtype

        def expand(tensor: Tensor) -> Tensor:
            tensor = tensor.to(device=device, dtype=dtype)
            return tensor.unsqueeze(0).expand(batch_size, *tensor.shape).contiguous()

        controller = None
        if self.controller_kind == "lstm":
            shape = (batch_size, self.controller_size)
            controller = (
                torch.zeros(shape, device=device, dtype=dtype),  # (B, C) hidden
                torch.zeros(shape, device=device, dtype=dtype),  # (B, C) cell, a separate tensor
            )
        return NTMState(
            controller=controller,
            memory=expand(self.initial_memory),  # (B, N, M)
            read_weights=expand(torch.softmax(self.initial_read_logits, dim=-1)),  # (B, R, N)
            write_weights=expand(torch.softmax(self.initial_write_logits, dim=-1)),  # (B, W, N)
            reads=expand(self.initial_reads),  # (B, R, M)
        )

    def _check_state(self, state: NTMState, batch: int) -> None:
        """Every tensor of ``state`` must match this cell and the batch size of ``x``."""
        if not isinstance(state, NTMState):
            raise TypeError(
                f"state must be an NTMState (see initial_state), got {type(state).__name__}"
            )
        slots, width = self.memory_slots, self.memory_width
        check_shape("state.memory", state.memory, (batch, slots, width))
        check_shape("state.read_weights", state.read_weights, (batch, self.num_read_heads, slots))
        check_shape(
            "state.write_weights", state.write_weights, (batch, self.num_write_heads, slots)
        )
        check_shape("state.reads", state.reads, (batch, self.num_read_heads, width))
        if self.controller_kind == "lstm" and state.controller is not None:  # None: zeros
            if not isinstance(state.controller, (tuple, list)) or len(state.controller) != 2:
                raise TypeError(
                    "state.controller must be the LSTM's (h, c) pair, got "
                    f"{type(state.controller).__name__}"
                )
            for index, tensor in enumerate(state.controller):  # h, c
                check_shape(f"state.controller[{index}]", tensor, (batch, self.controller_size))

    def forward(self, x: Tensor, state: NTMState) -> tuple[Tensor, NTMState]:
        """x (B, I), state -> output logits (B, O), new state."""
        batch = check_shape("x", x, ("B", self.input_size))["B"]
        self._check_state(state, batch)
        controller_input = torch.cat([x, state.reads.flatten(1)], dim=-1)  # (B, I + R*M)
        if self.controller_kind == "lstm":
            hidden, cell = self.controller(controller_input, state.controller)  # (B, C) each
            controller_state = (hidden, cell)
        else:
            hidden, controller_state = self.controller(controller_input), None  # (B, C)

        addressing, erase, add = self.write_head(hidden)
        write_weights = addressing.weights(state.memory, state.write_weights)  # (B, W, N)
        memory = write(state.memory, write_weights, erase, add)  # (B, N, M)

        read_weights = self.read_head(hidden).weights(memory, state.read_weights)  # (B, R, N)
        reads = read(memory, read_weights)  # (B, R, M)

        output = self.output(torch.cat([hidden, reads.flatten(1)], dim=-1))  # (B, O)
        return output, NTMState(controller_state, memory, read_weights, write_weights, reads)


class NTM(nn.Module):
    """A Neural Turing Machine over whole sequences, called like ``nn.LSTM``.

    ``output, state = ntm(x, state)`` with x (B, T, I) (``batch_first=True``, the
    default) or (T, B, I); ``state=None`` starts from ``initial_state``. With
    ``return_internals=True`` a third value, :class:`NTMInternals`, holds the
    read/write weights of every step and head (and the memory if
    ``return_memory=True``).
    """

    def __init__(
        self,
        *,
        input_size: int,
        output_size: int,
        controller: Literal["lstm", "feedforward"] = "lstm",
        controller_size: int = 100,
        memory_slots: int = 128,
        memory_width: int = 20,
        num_read_heads: int = 1,
        num_write_heads: int = 1,
        shift_range: int = 3,
        memory_init: Literal["constant", "learned", "random"] = "constant",
        learned_initial_state: bool = True,
        batch_first: bool = True,
    ) -> None:
        super().__init__()
        self.cell = NTMCell(
            input_size=input_size,
            output_size=output_size,
            controller=controller,
            controller_size=controller_size,
            memory_slots=memory_slots,
            memory_width=memory_width,
            num_read_heads=num_read_heads,
            num_write_heads=num_write_heads,
            shift_range=shift_range,
            memory_init=memory_init,
            learned_initial_state=learned_initial_state,
        )
        self.batch_first = batch_first

    def initial_state(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> NTMState:
        return self.cell.initial_state(batch_size, device=device, dtype=dtype)

    def forward(
        self,
        x: Tensor,
        state: NTMState | None = None,
        *,
        return_internals: bool = False,
        return_memory: bool = False,
    ) -> tuple[Tensor, NTMState] | tuple[Tensor, NTMState, NTMInternals]:
        letters = ("B", "T") if self.batch_first else ("T", "B")
        sizes = check_shape("x", x, (*letters, self.cell.input_size))
        if sizes["T"] == 0:
            raise ValueError(f"x has shape {tuple(x.shape)}: a sequence needs at least one step")
        if not self.batch_first:
            x = x.transpose(0, 1)  # (B, T, I)
        if state is None:
            state = self.initial_state(sizes["B"], device=x.device, dtype=x.dtype)
        outputs, read_weights, write_weights, memories = [], [], [], []
        for step in range(sizes["T"]):
            output, state = self.cell(x[:, step], state)  # (B, O)
            outputs.append(output)
            if return_internals:
                read_weights.append(state.read_weights)
                write_weights.append(state.write_weights)
                if return_memory:
                    memories.append(state.memory)
        output = torch.stack(outputs, dim=1)  # (B, T, O)
        if not self.batch_first:
            output = output.transpose(0, 1)  # (T, B, O)
        if not return_internals:
            return output, state
        internals = NTMInternals(
            read_weights=torch.stack(read_weights, dim=1),  # (B, T, R, N)
            write_weights=torch.stack(write_weights, dim=1),  # (B, T, W, N)
            memory=torch.stack(memories, dim=1) if return_memory else None,  # (B, T, N, M)
        )
        return output, state, internals


# builders for the paper's configurations (Graves et al. 2014, tables 1-3)


def ntm_copy(**overrides) -> NTM:
    """Copy: LSTM 100, 1 read + 1 write head, 128 x 20 memory, shifts -1..1, 8-bit vectors."""
    config = dict(input_size=9, output_size=8, controller_size=100, memory_slots=128)
    return NTM(**{**config, "memory_width": 20, **overrides})


def ntm_repeat_copy(**overrides) -> NTM:
    """Repeat copy: as copy, with a repeat-count input channel and an end-marker output."""
    return ntm_copy(**{"input_size": 10, "output_size": 9, **overrides})


def ntm_associative_recall(**overrides) -> NTM:
    """Associative recall: LSTM 100, 1 read + 1 write head, 128 x 20, 6-bit items."""
    return ntm_copy(**{"input_size": 8, "output_size": 6, **overrides})


def ntm_priority_sort(**overrides) -> NTM:
    """Priority sort: LSTM with 5 read and 5 write heads (the paper's table 3 LSTM setting)."""
    config = dict(input_size=10, output_size=8, num_read_heads=5, num_write_heads=5)
    return ntm_copy(**{**config, **overrides})
