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

import math
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from memnets._checks import check_positive, check_shape
from memnets.attention import (
    _cosine,
    _sharpen,
    _shift,
    _write,
    content_weights,
    interpolate,
    sharpen,
    shift,
)

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

INITIAL_FOCUS = 10.0  # logit of the focused slot in the initial read and write weights
MEMORY_INITS = ("constant", "learned", "random", "learned_random")
PARAMETER_INITS = ("pytorch_ntm", "pytorch_ntm_wide")
# The revision of the numbers an NTM configuration produces: bumped by a change of the
# mathematics, so that cached results of earlier code are not reused (bench/protocols.py).
REVISION = 1

# state and internals


class NTMState(NamedTuple):
    """Everything an NTM carries from one step to the next."""

    # LSTM (h, c), each (B, C), or (B, L, C) for L > 1 stacked layers; None if feed-forward
    controller: tuple[Tensor, Tensor] | None
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


def _focus(heads: int, slots: int, mode: str) -> Tensor:
    """Initial weight logits (H, N): INITIAL_FOCUS on one slot per head, 0 elsewhere; all 0
    (uniform weights) for ``mode="uniform"``."""
    logits = torch.zeros(heads, slots)
    if mode == "uniform":
        return logits
    for head in range(heads):
        logits[head, head * slots // heads if mode == "spread" else 0] = INITIAL_FOCUS
    return logits


def _check_shift_range(shift_range: int) -> None:
    if not isinstance(shift_range, int) or shift_range < 1 or shift_range % 2 == 0:
        raise ValueError(
            f"shift_range must be a positive odd integer (shifts -S//2..S//2), got {shift_range!r}"
        )


def _init_like_pytorch_ntm(cell: NTMCell, controller_input: int, *, wide: bool) -> None:
    """pytorch-ntm's initialisation (loudinthecloud/pytorch-ntm), in place: the LSTM's weights
    uniform in +-5 / sqrt(controller inputs + units) (every layer), its biases 0; each head's
    rows of the head projection Xavier-uniform with gain 1.4 (fan-out: one head's
    parameters), their biases N(0, 0.01^2); the output layer Xavier-uniform, biases N(0,
    0.01^2). A feed-forward controller keeps PyTorch's initialisation unless ``wide``: then its
    layer takes the LSTM's rule (pytorch-ntm has no feed-forward controller)."""
    with torch.no_grad():
        bound = 5 / (controller_input + cell.controller_size) ** 0.5
        if cell.controller_kind == "lstm":
            layers = [cell.controller, *cell.upper_layers]
        else:  # Linear, then Tanh
            layers = [cell.controller[0]] if wide else []
        for layer in layers:
            for name, parameter in layer.named_parameters():
                if name.startswith("weight"):
                    parameter.uniform_(-bound, bound)
                else:
                    parameter.zero_()
        for head in (cell.read_head, cell.write_head):
            fan_in, fan_out = head.projection.in_features, sum(head.parameter_sizes())
            bound = 1.4 * (6 / (fan_in + fan_out)) ** 0.5
            head.projection.weight.uniform_(-bound, bound)
            head.projection.bias.normal_(0.0, 0.01)
        nn.init.xavier_uniform_(cell.output.weight)
        cell.output.bias.normal_(0.0, 0.01)


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
        memory_init: Literal["constant", "learned", "random", "learned_random"],
        learned_initial_state: bool,
        access_order: Literal["write_then_read", "read_then_write"],
        initial_focus: Literal["first", "spread", "uniform"],
        cosine_eps: float | None,
        head_clip: float | None,
        forget_bias: float | None,
        controller_layers: int,
        parameter_init: Literal["pytorch_ntm", "pytorch_ntm_wide"] | None,
        read_strength_init: float | None,
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
            ("controller_layers", controller_layers),
        ]:
            check_positive(name, value)
        if controller_layers > 1 and controller != "lstm":
            raise ValueError("controller_layers > 1 needs controller='lstm'")
        _check_shift_range(shift_range)
        if controller not in ("lstm", "feedforward"):
            raise ValueError(f"controller must be 'lstm' or 'feedforward', got {controller!r}")
        if memory_init not in MEMORY_INITS:
            raise ValueError(f"memory_init must be one of {MEMORY_INITS}, got {memory_init!r}")
        if initial_focus not in ("first", "spread", "uniform"):
            raise ValueError(
                f"initial_focus must be 'first', 'spread' or 'uniform', got {initial_focus!r}"
            )
        if initial_focus == "uniform" and memory_init in ("constant", "learned"):
            raise ValueError(
                f"initial_focus='uniform' needs a random memory (memory_init 'random' or "
                f"'learned_random'), got memory_init={memory_init!r}: over a memory whose rows "
                f"are all alike uniform weights never break the symmetry"
            )
        for name, value in [("cosine_eps", cosine_eps), ("head_clip", head_clip)]:
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be None or a positive number, got {value!r}")
        if parameter_init is not None and parameter_init not in PARAMETER_INITS:
            raise ValueError(
                f"parameter_init must be None (PyTorch's) or one of {PARAMETER_INITS}, got "
                f"{parameter_init!r}"
            )
        if read_strength_init is not None and not (
            read_strength_init > 1 and math.isfinite(read_strength_init)
        ):
            raise ValueError(
                "read_strength_init must be None or a finite number over 1 (strength is 1 + "
                f"softplus), got {read_strength_init!r}"
            )
        if forget_bias is not None and controller != "lstm":
            raise ValueError(
                "forget_bias needs controller='lstm' (a feed-forward one has no gates)"
            )
        self.cosine_eps, self.head_clip = cosine_eps, head_clip
        if access_order not in ("write_then_read", "read_then_write"):
            raise ValueError(
                f"access_order must be 'write_then_read' or 'read_then_write', got {access_order!r}"
            )
        self.access_order = access_order
        self.input_size, self.output_size = input_size, output_size
        self.controller_kind, self.controller_size = controller, controller_size
        self.memory_slots, self.memory_width = memory_slots, memory_width
        self.num_read_heads, self.num_write_heads = num_read_heads, num_write_heads
        self.memory_init = memory_init

        controller_input = input_size + num_read_heads * memory_width
        self.controller_layers = controller_layers
        if controller == "lstm":
            self.controller = nn.LSTMCell(controller_input, controller_size)  # the first layer
            # layers 2..L of a stacked LSTM, each reading the layer below
            self.upper_layers = nn.ModuleList(
                nn.LSTMCell(controller_size, controller_size) for _ in range(controller_layers - 1)
            )
        else:
            self.controller = nn.Sequential(nn.Linear(controller_input, controller_size), nn.Tanh())
        head_args = dict(
            controller_size=controller_size, memory_width=memory_width, shift_range=shift_range
        )
        self.read_head = ReadHead(num_heads=num_read_heads, **head_args)
        self.write_head = WriteHead(num_heads=num_write_heads, **head_args)
        self.output = nn.Linear(controller_size + num_read_heads * memory_width, output_size)
        if parameter_init in PARAMETER_INITS:
            _init_like_pytorch_ntm(
                self, controller_input, wide=parameter_init == "pytorch_ntm_wide"
            )
        if forget_bias is not None:  # the forget gates' bias (i, f, g, o): b_ih + b_hh
            with torch.no_grad():
                gate = slice(controller_size, 2 * controller_size)
                for layer in [self.controller, *self.upper_layers]:
                    layer.bias_ih[gate] = forget_bias
                    layer.bias_hh[gate] = 0.0
        if read_strength_init is not None:  # 1 + softplus(bias) = read_strength_init
            excess = read_strength_init - 1.0  # softplus^-1(y) = y + log(1 - e^-y): no overflow
            with torch.no_grad():
                bias = self.read_head.projection.bias.view(num_read_heads, -1)  # (R, P)
                bias[:, memory_width] = excess + math.log(-math.expm1(-excess))  # strength
        # the fused step's row order of [write projection; read projection] (not saved)
        rows = _head_rows(num_read_heads, num_write_heads, memory_width, shift_range)
        self.register_buffer("head_rows", rows, persistent=False)

        # initial state: learned read vectors and weights (softmax of learned logits), or fixed
        self.initial_reads = nn.Parameter(
            torch.randn(num_read_heads, memory_width) * 0.01, requires_grad=learned_initial_state
        )
        # The initial weights start focused on one slot (softmax of logits 10 there, 0
        # elsewhere: ~99% of the weight over 128 slots): slot 0 for every head ("first"), or
        # head h of H at slot h N / H ("spread", read head h beside write head h); or uniform
        # ("uniform": the first step's addressing is then, in effect, content addressing of
        # the random memory, as in pytorch-ntm, whose previous weights start at zero). Uniform
        # initial weights over a constant memory never break symmetry: content, interpolation,
        # shift and sharpening all map uniform to uniform, every write reaches every row alike
        # and the heads cannot address.
        self.initial_read_logits = nn.Parameter(
            _focus(num_read_heads, memory_slots, initial_focus),
            requires_grad=learned_initial_state,
        )
        self.initial_write_logits = nn.Parameter(
            _focus(num_write_heads, memory_slots, initial_focus),
            requires_grad=learned_initial_state,
        )
        shape = (memory_slots, memory_width)
        if memory_init in ("random", "learned_random"):
            bound = (6 / (memory_slots + memory_width)) ** 0.5
            initial = torch.empty(shape).uniform_(-bound, bound)
        else:
            initial = torch.full(shape, 1e-6)
        if memory_init.startswith("learned"):
            self.initial_memory = nn.Parameter(initial)
        else:
            self.register_buffer("initial_memory", initial)

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
            if self.controller_layers > 1:
                shape = (batch_size, self.controller_layers, self.controller_size)
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
            shape = (batch, self.controller_size)
            if self.controller_layers > 1:
                shape = (batch, self.controller_layers, self.controller_size)
            for index, tensor in enumerate(state.controller):  # h, c
                check_shape(f"state.controller[{index}]", tensor, shape)

    def forward(self, x: Tensor, state: NTMState) -> tuple[Tensor, NTMState]:
        """One step: x (B, I), state -> output logits (B, O), new state."""
        batch = check_shape("x", x, ("B", self.input_size))["B"]
        self._check_state(state, batch)
        state = self._with_controller(state)
        weights, input_weight, input_bias = self.step_weights()
        gates_x = F.linear(x, input_weight, input_bias)  # (B, G)
        hidden, state = _step(self.layout(), weights, gates_x, state)
        output = F.linear(torch.cat([hidden, state.reads.flatten(1)], dim=-1), *self._out())
        return output, state  # (B, O)

    # the fused step's view of the parameters

    def layout(self) -> StepLayout:
        return StepLayout(
            controller=self.controller_kind,
            read_heads=self.num_read_heads,
            write_heads=self.num_write_heads,
            width=self.memory_width,
            shifts=self.read_head.shift_range,
            read_first=self.access_order == "read_then_write",
            cosine_eps=self.cosine_eps,
            head_clip=self.head_clip,
            layers=self.controller_layers,
        )

    def step_weights(self) -> tuple[StepWeights, Tensor, Tensor]:
        """The parameters laid out for :func:`_step`, and the input part of the controller.

        Returns (weights, input weight (G, I), input bias (G,)), G = 4C for the LSTM (its gates
        i, f, g, o) or C for the feed-forward controller. Built once per call of the model,
        differentiably: gradients reach the modules' own parameters.
        """
        inputs = self.input_size
        if self.controller_kind == "lstm":
            lstm = self.controller
            recurrent = torch.cat([lstm.weight_ih[:, inputs:], lstm.weight_hh], dim=1)
            input_weight, input_bias = lstm.weight_ih[:, :inputs], lstm.bias_ih + lstm.bias_hh
        else:
            linear = self.controller[0]
            recurrent = linear.weight[:, inputs:]  # (C, R*M)
            input_weight, input_bias = linear.weight[:, :inputs], linear.bias
        projections = [self.write_head.projection, self.read_head.projection]
        heads = torch.cat([p.weight for p in projections]).index_select(0, self.head_rows)
        heads_bias = torch.cat([p.bias for p in projections]).index_select(0, self.head_rows)
        upper = ()
        if self.controller_kind == "lstm":
            upper = tuple(
                (
                    torch.cat([layer.weight_ih, layer.weight_hh], dim=1),
                    layer.bias_ih + layer.bias_hh,
                )
                for layer in self.upper_layers
            )  # [input from below | own hidden] -> gates
        return StepWeights(recurrent, heads, heads_bias, upper), input_weight, input_bias

    def _out(self) -> tuple[Tensor, Tensor]:
        return self.output.weight, self.output.bias

    def _with_controller(self, state: NTMState) -> NTMState:
        """An LSTM state of None (allowed: zeros) as zeros."""
        if self.controller_kind == "lstm" and state.controller is None:
            zeros = state.memory.new_zeros(state.memory.shape[0], self.controller_size)
            if self.controller_layers > 1:
                zeros = zeros.unsqueeze(1).repeat(1, self.controller_layers, 1)  # (B, L, C)
            return state._replace(controller=(zeros, zeros.clone()))
        if self.controller_kind == "feedforward":
            return state._replace(controller=None)
        return state


# the fused step: pure functions of the parameters (StepWeights) and the state


@dataclass(frozen=True)
class StepLayout:
    """The sizes and options that shape one step (static under compilation)."""

    controller: str  # "lstm" or "feedforward"
    read_heads: int
    write_heads: int
    width: int  # M
    shifts: int  # S
    read_first: bool  # read-then-write instead of write-then-read
    cosine_eps: float | None = None  # added to squared norms in the cosine; None: by dtype
    head_clip: float | None = None  # head parameters clipped to +-head_clip before activation
    layers: int = 1  # stacked LSTM layers

    @property
    def heads(self) -> int:
        return self.read_heads + self.write_heads

    def sizes(self) -> list[int]:
        """Columns of the fused head projection, by kind: key, strength, gate, shift, gamma of
        every head (write heads first, then read heads), then erase and add of write heads."""
        heads, writes, width = self.heads, self.write_heads, self.width
        return [heads * width, heads, heads, heads * self.shifts, heads, writes * width] + [
            writes * width
        ]


class StepWeights(NamedTuple):
    """The parameters one step uses, laid out for one matrix product each."""

    recurrent: Tensor  # (G, R*M + C) LSTM: [reads | hidden] -> gates; feed-forward (C, R*M)
    heads: Tensor  # (P, C) every head's parameters, rows grouped by kind (StepLayout.sizes)
    heads_bias: Tensor  # (P,)
    upper: tuple[tuple[Tensor, Tensor], ...] = ()  # stacked LSTM layers 2..L: (4C, 2C), (4C,)


def _head_rows(read_heads: int, write_heads: int, width: int, shifts: int) -> Tensor:
    """Row order taking [write projection; read projection] (each head after head, every head's
    key, strength, gate, shift, gamma (, erase, add) together) to the fused kind-major layout."""
    sizes = dict(key=width, strength=1, gate=1, shift=shifts, gamma=1, erase=width, add=width)
    read_kinds = ["key", "strength", "gate", "shift", "gamma"]
    write_kinds = read_kinds + ["erase", "add"]

    def rows(group_start: int, kinds: list[str], head: int, kind: str) -> list[int]:
        per_head = sum(sizes[k] for k in kinds)
        start = group_start + head * per_head + sum(sizes[k] for k in kinds[: kinds.index(kind)])
        return list(range(start, start + sizes[kind]))

    read_start = write_heads * sum(sizes[k] for k in write_kinds)
    order: list[int] = []
    for kind in write_kinds:
        for head in range(write_heads):
            order += rows(0, write_kinds, head, kind)
        if kind in read_kinds:
            for head in range(read_heads):
                order += rows(read_start, read_kinds, head, kind)
    return torch.tensor(order, dtype=torch.long)


def _address(memory, previous, key, strength, gate, shift_weights, gamma, eps=None) -> Tensor:
    """Content, interpolation, shift, sharpening (eqs. 5-9) of H heads -> weights (B, H, N).

    memory (B, N, M), previous (B, H, N), key (B, H, M), shift_weights (B, H, S); strength,
    gate and gamma (B, H, 1).
    """
    content = torch.softmax(strength * _cosine(memory, key, eps), dim=-1)  # (B, H, N)
    gated = gate * content + (1 - gate) * previous  # (B, H, N)
    return _sharpen(_shift(gated, shift_weights), gamma)  # (B, H, N)


def _step(
    layout: StepLayout, weights: StepWeights, gates_x: Tensor, state: NTMState
) -> tuple[Tensor, NTMState]:
    """One NTM step without checks: gates_x (B, G), the controller's input term (bias included)
    -> controller output (B, C), new state. Write heads address and write, then read heads
    address and read the written memory (``read_first``: read, then write)."""
    batch, writes = gates_x.shape[0], layout.write_heads
    reads = state.reads.flatten(1)  # (B, R*M)
    if layout.controller == "lstm":
        hiddens, cells = state.controller  # (B, C) each, or (B, L, C) when stacked
        if layout.layers > 1:
            hiddens, cells = hiddens.unbind(1), cells.unbind(1)  # L x (B, C)
        else:
            hiddens, cells = (hiddens,), (cells,)
        recurrent_input = torch.cat([reads, hiddens[0]], dim=-1)  # (B, R*M + C)
        gates = torch.addmm(gates_x, recurrent_input, weights.recurrent.t())  # (B, 4C)
        hidden, cell = _lstm_gates(gates, cells[0])
        new_hiddens, new_cells = [hidden], [cell]
        for (weight, bias), own_hidden, own_cell in zip(weights.upper, hiddens[1:], cells[1:]):
            layer_input = torch.cat([hidden, own_hidden], dim=-1)  # (B, 2C): layer below, own
            hidden, cell = _lstm_gates(torch.addmm(bias, layer_input, weight.t()), own_cell)
            new_hiddens.append(hidden)
            new_cells.append(cell)
        if layout.layers > 1:
            controller = (torch.stack(new_hiddens, dim=1), torch.stack(new_cells, dim=1))
        else:
            controller = (hidden, cell)
    else:
        hidden = torch.tanh(torch.addmm(gates_x, reads, weights.recurrent.t()))  # (B, C)
        controller = None

    raw = torch.addmm(weights.heads_bias, hidden, weights.heads.t())  # (B, P)
    if layout.head_clip is not None:  # Collier & Beel 2018 clip these to +-20
        raw = raw.clamp(-layout.head_clip, layout.head_clip)
    key, strength, gate, shift_logits, gamma, erase, add = raw.split(layout.sizes(), dim=-1)
    heads = layout.heads
    key = torch.tanh(key).view(batch, heads, layout.width)  # (B, H, M)
    strength = (1 + F.softplus(strength)).unsqueeze(-1)  # (B, H, 1)
    gate = torch.sigmoid(gate).unsqueeze(-1)  # (B, H, 1)
    shift_weights = torch.softmax(shift_logits.view(batch, heads, layout.shifts), dim=-1)
    gamma = (1 + F.softplus(gamma)).unsqueeze(-1)  # (B, H, 1)
    erase = torch.sigmoid(erase).view(batch, writes, layout.width)  # (B, W, M)
    add = torch.tanh(add).view(batch, writes, layout.width)  # (B, W, M)

    memory, eps = state.memory, layout.cosine_eps
    if layout.read_first:  # every head addresses the same memory: one pass for all heads
        previous = torch.cat([state.write_weights, state.read_weights], dim=1)  # (B, H, N)
        both = _address(memory, previous, key, strength, gate, shift_weights, gamma, eps)
        write_weights, read_weights = both[:, :writes], both[:, writes:]
        read_vectors = read_weights @ memory  # (B, R, M)
        memory = _write(memory, write_weights, erase, add)  # (B, N, M)
    else:
        w, r = slice(None, writes), slice(writes, None)
        heads = [(key[:, h], strength[:, h], gate[:, h], shift_weights[:, h], gamma[:, h])
                 for h in (w, r)]  # fmt: skip
        write_weights = _address(memory, state.write_weights, *heads[0], eps)  # (B, W, N)
        memory = _write(memory, write_weights, erase, add)  # (B, N, M)
        read_weights = _address(memory, state.read_weights, *heads[1], eps)  # (B, R, N)
        read_vectors = read_weights @ memory  # (B, R, M)
    return hidden, NTMState(controller, memory, read_weights, write_weights, read_vectors)


def _lstm_gates(gates: Tensor, cell: Tensor) -> tuple[Tensor, Tensor]:
    """LSTM update from pre-activations (B, 4C) in the order i, f, g, o -> (hidden, cell)."""
    in_gate, forget_gate, candidate, out_gate = gates.chunk(4, dim=-1)  # (B, C) each
    cell = torch.sigmoid(forget_gate) * cell + torch.sigmoid(in_gate) * torch.tanh(candidate)
    return torch.sigmoid(out_gate) * torch.tanh(cell), cell  # (B, C), (B, C)


def _keep_where(valid: Tensor, new: NTMState, old: NTMState) -> NTMState:
    """``new`` where the 0-d bool ``valid`` holds, else ``old`` (padded steps change nothing)."""
    controller = None
    if new.controller is not None:
        controller = tuple(torch.where(valid, n, o) for n, o in zip(new.controller, old.controller))
    return NTMState(controller, *(torch.where(valid, n, o) for n, o in zip(new[1:], old[1:])))


def _run_steps(
    layout: StepLayout,
    weights: StepWeights,
    gates_x: Tensor,
    state: NTMState,
    valid: Tensor | None = None,
    *,
    internals: bool = False,
    memories: bool = False,
) -> tuple[Tensor, Tensor, NTMState, tuple[list[Tensor], list[Tensor], list[Tensor]]]:
    """Steps over gates_x (B, T, G) -> (controller outputs (B, T, C), read vectors (B, T, R*M),
    final state, per-step (read weights, write weights, memories) if asked for). ``valid``
    (T,) bool: steps where it is False (time padding) leave the state as it was."""
    hiddens, reads, read_weights, write_weights, memory = [], [], [], [], []
    for step in range(gates_x.shape[1]):
        hidden, new_state = _step(layout, weights, gates_x[:, step], state)
        state = new_state if valid is None else _keep_where(valid[step], new_state, state)
        hiddens.append(hidden)
        reads.append(new_state.reads.flatten(1))
        if internals:
            read_weights.append(state.read_weights)
            write_weights.append(state.write_weights)
            if memories:
                memory.append(state.memory)
    stacked = torch.stack(hiddens, dim=1), torch.stack(reads, dim=1)  # (B, T, C), (B, T, R*M)
    return *stacked, state, (read_weights, write_weights, memory)


_COMPILED: dict[tuple, Callable] = {}  # (layout, device type, internals) -> compiled chunk
_COMPILE_FAILED: list[str] = []  # the first failure's message: from then on eager, said once


def _compiled_chunk(layout: StepLayout, device_type: str, internals: bool) -> Callable:
    """``_run_steps`` for one chunk of time steps, compiled with static shapes (one graph per
    layout, batch size, chunk length, dtype and device; a new episode length reuses it); with
    ``internals`` it also returns the chunk's read and write weights (B, K, R, N), (B, K, W, N)."""
    key = (layout, device_type, internals)
    if key not in _COMPILED:

        def chunk(weights: StepWeights, gates_x: Tensor, state: NTMState, valid: Tensor):
            hiddens, reads, state, (read_weights, write_weights, _) = _run_steps(
                layout, weights, gates_x, state, valid, internals=internals
            )
            if not internals:
                return hiddens, reads, state, None, None
            return (
                hiddens,
                reads,
                state,
                torch.stack(read_weights, 1),
                torch.stack(write_weights, 1),
            )

        # a code object of its own per layout: torch caches compiled graphs, and counts them
        # against its recompile limit (8), per code object, not per function object
        code = chunk.__code__.replace(co_name=f"ntm_chunk_{len(_COMPILED)}")
        chunk = types.FunctionType(code, chunk.__globals__, code.co_name, None, chunk.__closure__)
        # the default mode on every device: CUDA graphs ("reduce-overhead") would overwrite
        # the outputs of one chunk with the next chunk's, and no GPU was at hand to test them.
        # On a CPU the graphs are called through a C++ wrapper: a small model's step is a few
        # microseconds of kernels, and the default Python wrapper (an allocation and a call
        # per buffer and kernel, ~250 lines per chunk) cost as much again
        options = {"cpp_wrapper": True} if device_type == "cpu" else None
        _COMPILED[key] = torch.compile(chunk, dynamic=False, fullgraph=True, options=options)
    return _COMPILED[key]


def _canonical(tensor: Tensor) -> Tensor:
    """``tensor`` with row-major strides, size-1 axes included (torch's guards compare those
    too), requiring grad (a constant initial memory does not): one compiled graph for every
    chunk and every call."""
    strides, stride = [], 1
    for size in reversed(tensor.shape):
        strides.append(stride)
        stride *= size
    if tensor.stride() != tuple(reversed(strides)):
        tensor = torch.empty(tensor.shape, dtype=tensor.dtype, device=tensor.device).copy_(tensor)
    return tensor if tensor.requires_grad else tensor.detach().requires_grad_()


class NTM(nn.Module):
    """A Neural Turing Machine over whole sequences, called like ``nn.LSTM``.

    ``output, state = ntm(x, state)`` with x (B, T, I) (``batch_first=True``, the
    default) or (T, B, I); ``state=None`` starts from ``initial_state``. With
    ``return_internals=True`` a third value, :class:`NTMInternals`, holds the
    read/write weights of every step and head (and the memory if
    ``return_memory=True``).

    ``access_order``: ``"write_then_read"`` (each step writes, then reads the written memory)
    or ``"read_then_write"`` (reads the memory as the previous step left it, then writes; the
    order of Collier & Beel 2018 and pytorch-ntm).

    Options from the public implementations (see the README for what was measured):
    ``memory_init`` ``"learned_random"`` (the default: uniform, trainable; on copy it solved in
    9.6-15k sequences where the fixed 1e-6 memory took 18-64k, 3 seeds each), ``"constant"``
    (1e-6, fixed: the default before), ``"learned"`` (a trainable memory started at 1e-6:
    Collier & Beel's constant initialisation) or ``"random"`` (uniform, fixed);
    ``initial_focus`` ``"spread"`` (the default: head h of H on slot h N / H, read head h beside
    write head h; with one read and one write head that is slot 0 for both), ``"first"``
    (every head's initial weights on slot 0) or ``"uniform"`` (1/N on every slot; it needs a
    random memory). Off by default: ``cosine_eps`` the epsilon
    added to squared norms in content addressing (None: 1e-8 in float32, which swamps rows of
    1e-6: every unwritten row then has cosine ~0; e.g. 1e-16 tells them apart); ``head_clip``
    clips the heads' raw parameters to +-head_clip before their activations (Collier & Beel:
    20); ``forget_bias`` the LSTM forget gate's initial bias (Collier & Beel: 1; None:
    PyTorch's uniform initialisation); ``controller_layers`` stacked LSTM layers (the paper's
    priority-sort LSTM had 2 x 100),
    the top layer's output feeding the heads and the output layer; the state's (h, c) are
    then (B, L, C); ``parameter_init`` ``"pytorch_ntm"``: the controller (LSTM), head and
    output layers initialised as pytorch-ntm does (wider than PyTorch's defaults; see
    ``_init_like_pytorch_ntm``), ``"pytorch_ntm_wide"`` the same and a feed-forward
    controller's layer too, by the LSTM's rule; None: PyTorch's defaults;
    ``read_strength_init`` the read heads' key strength (beta) where the controller output is
    zero: their strength bias set to softplus^-1(read_strength_init - 1), applied after
    ``parameter_init`` (None: that initialisation's bias, a strength near 1.7; a
    ``head_clip`` clips that bias too, capping the strength at 1 + softplus(head_clip)).

    ``compile=True`` runs training steps (grad enabled, module in training mode, no memory
    asked for) through ``torch.compile``: time is cut into chunks of ``compile_chunk`` steps,
    the last chunk padded with steps that change nothing, so every sequence length runs the
    same compiled graph (one per batch size and dtype, and one more for a training step that
    asks for the read and write weights, e.g. for a penalty on them; the first call
    compiles, a minute or so on a CPU, where the graph is called through inductor's C++
    wrapper). Evaluation, ``no_grad`` and ``return_memory`` run the same step eagerly, so
    validation and pictures never compile. Where compilation fails (no C++ compiler, an
    unsupported platform) a warning says so once and the model runs eagerly.
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
        memory_init: Literal["constant", "learned", "random", "learned_random"] = "learned_random",
        learned_initial_state: bool = True,
        access_order: Literal["write_then_read", "read_then_write"] = "write_then_read",
        initial_focus: Literal["first", "spread", "uniform"] = "spread",
        cosine_eps: float | None = None,
        head_clip: float | None = None,
        forget_bias: float | None = None,
        controller_layers: int = 1,
        parameter_init: Literal["pytorch_ntm", "pytorch_ntm_wide"] | None = None,
        read_strength_init: float | None = None,
        batch_first: bool = True,
        compile: bool = False,
        compile_chunk: int = 1,
    ) -> None:
        super().__init__()
        check_positive("compile_chunk", compile_chunk)
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
            access_order=access_order,
            initial_focus=initial_focus,
            cosine_eps=cosine_eps,
            head_clip=head_clip,
            forget_bias=forget_bias,
            controller_layers=controller_layers,
            parameter_init=parameter_init,
            read_strength_init=read_strength_init,
        )
        self.batch_first = batch_first
        # not `self.compile`: that is nn.Module.compile, which compiles the whole module
        self.compile_steps, self.compile_chunk = compile, compile_chunk

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
        cell = self.cell
        letters = ("B", "T") if self.batch_first else ("T", "B")
        sizes = check_shape("x", x, (*letters, cell.input_size))
        if sizes["T"] == 0:
            raise ValueError(f"x has shape {tuple(x.shape)}: a sequence needs at least one step")
        if not self.batch_first:
            x = x.transpose(0, 1)  # (B, T, I)
        if state is None:
            state = self.initial_state(sizes["B"], device=x.device, dtype=x.dtype)
        else:
            cell._check_state(state, sizes["B"])
        state = cell._with_controller(state)

        weights, input_weight, input_bias = cell.step_weights()
        gates_x = F.linear(x, input_weight, input_bias)  # (B, T, G): the input term, all steps
        layout = cell.layout()
        if self._compiled_path(return_memory):
            hiddens, reads, state, internals = self._run_compiled(
                layout, weights, gates_x, state, internals=return_internals
            )
        else:
            hiddens, reads, state, per_step = _run_steps(
                layout,
                weights,
                gates_x,
                state,
                internals=return_internals,
                memories=return_memory,
            )
            internals = _stacked(per_step) if return_internals else None
        # the output layer once over all steps: (B, T, C + R*M) -> (B, T, O)
        output = F.linear(torch.cat([hiddens, reads], dim=-1), *cell._out())
        if not self.batch_first:
            output = output.transpose(0, 1)  # (T, B, O)
        if not return_internals:
            return output, state
        return output, state, internals

    def _compiled_path(self, return_memory: bool) -> bool:
        return (
            self.compile_steps
            and self.training
            and torch.is_grad_enabled()
            and not return_memory
            and not _COMPILE_FAILED
            and not torch.compiler.is_compiling()  # inside a user's compiled code: inline
        )

    def _run_compiled(
        self,
        layout: StepLayout,
        weights: StepWeights,
        gates_x: Tensor,
        state: NTMState,
        *,
        internals: bool,
    ) -> tuple[Tensor, Tensor, NTMState, NTMInternals | None]:
        """Chunks of ``compile_chunk`` steps through one compiled graph; eager if it fails.
        With ``internals``, the read and write weights of every step (no memories), else
        None."""
        batch, steps, gate_size = gates_x.shape
        chunk = self.compile_chunk
        chunks = -(-steps // chunk)  # ceil
        padded = F.pad(gates_x, (0, 0, 0, chunks * chunk - steps))  # (B, chunks*K, G)
        # one copy to chunk-major order, then row-major chunks (their backward: one stack)
        padded = padded.view(batch, chunks, chunk, gate_size).transpose(0, 1)  # (chunks, B, K, G)
        inputs = padded.contiguous().unbind(0)  # chunks x (B, K, G)
        valid = (torch.arange(chunks * chunk, device=gates_x.device) < steps).view(chunks, chunk)
        controller = state.controller
        state = NTMState(
            None if controller is None else tuple(_canonical(t) for t in controller),
            *(_canonical(t) for t in state[1:]),
        )
        run = _compiled_chunk(layout, gates_x.device.type, internals)
        hiddens, reads, read_weights, write_weights = [], [], [], []
        try:
            for index in range(chunks):
                chunk_hiddens, chunk_reads, state, chunk_read_w, chunk_write_w = run(
                    weights, _canonical(inputs[index]), state, valid[index]
                )
                hiddens.append(chunk_hiddens)
                reads.append(chunk_reads)
                read_weights.append(chunk_read_w)
                write_weights.append(chunk_write_w)
        except Exception as error:  # noqa: BLE001 -- any compiler failure: say so, run eagerly
            if index > 0:  # a failure after a compiled chunk ran is not the compiler's
                raise
            _COMPILE_FAILED.append(f"{type(error).__name__}: {error}")
            warnings.warn(
                "NTM(compile=True): torch.compile failed, running eagerly from now on ("
                f"{_COMPILE_FAILED[0].splitlines()[0][:300]})",
                RuntimeWarning,
                stacklevel=3,
            )
            hiddens, reads, state, per_step = _run_steps(
                layout, weights, gates_x, state, internals=internals
            )
            return hiddens, reads, state, _stacked(per_step) if internals else None
        hiddens = torch.cat(hiddens, dim=1)[:, :steps]  # (B, T, C)
        reads = torch.cat(reads, dim=1)[:, :steps]  # (B, T, R*M)
        if not internals:
            return hiddens, reads, state, None
        return (
            hiddens,
            reads,
            state,
            NTMInternals(
                read_weights=torch.cat(read_weights, dim=1)[:, :steps],  # (B, T, R, N)
                write_weights=torch.cat(write_weights, dim=1)[:, :steps],  # (B, T, W, N)
                memory=None,
            ),
        )


def _stacked(per_step: tuple[list[Tensor], list[Tensor], list[Tensor]]) -> NTMInternals:
    """``_run_steps``'s per-step (read weights, write weights, memories) as NTMInternals (no
    memories recorded: memory None)."""
    read_weights, write_weights, memories = per_step
    return NTMInternals(
        read_weights=torch.stack(read_weights, dim=1),  # (B, T, R, N)
        write_weights=torch.stack(write_weights, dim=1),  # (B, T, W, N)
        memory=torch.stack(memories, dim=1) if memories else None,  # (B, T, N, M)
    )


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
    """Priority sort: 5 read and 5 write heads, as in the paper's table 2 (the NTM with an LSTM
    controller), whose controller had 2 layers of 100; here one layer of 100."""
    config = dict(input_size=10, output_size=8, num_read_heads=5, num_write_heads=5)
    return ntm_copy(**{**config, **overrides})
