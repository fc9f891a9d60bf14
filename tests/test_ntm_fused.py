"""The fused NTM step equals the step as it was (tests/ntm_reference.py), and compiles once.

The oracle is the unfused code the fused step replaced: per-head projections, normalised
copies of memory for the cosine, shift by index gathering, controller and output layer step by
step. The fused model and the oracle read the same parameters (the layout did not change), so
outputs and every parameter's gradient must agree in float64 to rounding.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from ntm_reference import reference_forward

import memnets.ntm as ntm
from memnets.ntm import NTM, NTMCell

D = torch.float64

CASES = [  # controller, read heads, write heads, shift range, slots
    ("lstm", 1, 1, 3, 7),
    ("lstm", 2, 3, 5, 6),
    ("lstm", 3, 2, 1, 5),
    ("feedforward", 1, 1, 3, 7),
    ("feedforward", 2, 1, 5, 4),
    ("lstm", 1, 2, 9, 3),  # the shift range wraps the memory more than once
    ("lstm", 2, 1, 3, 6, 3),  # three stacked LSTM layers (an option added since)
]


def build(controller, reads, writes, shifts, slots, layers=1, **options) -> NTM:
    torch.manual_seed(0)
    return NTM(
        input_size=5, output_size=4, controller=controller, controller_size=12,
        memory_slots=slots, memory_width=4, num_read_heads=reads, num_write_heads=writes,
        shift_range=shifts, memory_init="random", controller_layers=layers, **options,
    ).to(D)  # fmt: skip


def gradients(model: NTM) -> dict[str, torch.Tensor]:
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("case", CASES, ids=lambda case: "-".join(map(str, case)))
@pytest.mark.parametrize("order", ["write_then_read", "read_then_write"])
def test_fused_step_equals_the_unfused_step_in_outputs_and_gradients(case, order) -> None:
    model = build(*case, access_order=order)
    x = torch.randn(3, 9, 5, dtype=D, generator=torch.Generator().manual_seed(1))
    target = torch.randn(3, 9, 4, dtype=D, generator=torch.Generator().manual_seed(2))

    output, _, internals = model(x, return_internals=True)
    (output * target).sum().backward()
    fused = gradients(model)
    model.zero_grad()
    expected, read_weights, write_weights = reference_forward(
        model, x, read_first=order == "read_then_write"
    )
    (expected * target).sum().backward()
    unfused = gradients(model)

    torch.testing.assert_close(output, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(internals.read_weights, read_weights, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(internals.write_weights, write_weights, rtol=1e-10, atol=1e-12)
    assert fused.keys() == unfused.keys() and len(fused) >= 8
    for name in fused:
        torch.testing.assert_close(fused[name], unfused[name], rtol=1e-9, atol=1e-12, msg=name)


def test_the_cell_steps_as_the_sequence_model_does() -> None:
    model = build("lstm", 2, 1, 3, 6)
    x = torch.randn(2, 4, 5, dtype=D)
    output, final = model(x)
    cell: NTMCell = model.cell
    state = model.initial_state(2)
    steps = []
    for step in range(4):
        out, state = cell(x[:, step], state)
        steps.append(out)
    torch.testing.assert_close(torch.stack(steps, dim=1), output)
    torch.testing.assert_close(state.memory, final.memory)


def test_a_state_passed_in_continues_the_sequence() -> None:
    model = build("lstm", 1, 1, 3, 6)
    x = torch.randn(2, 8, 5, dtype=D)
    whole, _ = model(x)
    first, state = model(x[:, :3])
    second, _ = model(x[:, 3:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)
    expected, _, _ = reference_forward(model, x[:, 3:], state)
    torch.testing.assert_close(second, expected)


def test_compiled_equals_eager_and_ten_lengths_compile_one_graph() -> None:
    """Lengths that are not multiples of the chunk, one compiled graph for all of them."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    options = dict(input_size=5, output_size=4, controller_size=8, memory_slots=6, memory_width=4)
    compiled = NTM(**options, compile=True, compile_chunk=2)
    eager = NTM(**options)
    eager.load_state_dict(compiled.state_dict())
    generator = torch.Generator().manual_seed(3)
    for length in (3, 9, 1, 15, 5, 17, 7, 11, 21, 13):  # odd: never a multiple of 2
        x = torch.randn(1, length, 5, generator=generator)  # batch 1: size-1 axes' strides
        outputs, gradients_of = [], []
        for model in (compiled, eager):
            output, state = model(x)
            (output.square().sum() + state.memory.sum()).backward()
            outputs.append((output, state.memory))
            gradients_of.append(gradients(model))
            model.zero_grad()
        (output, memory), (expected, expected_memory) = outputs
        torch.testing.assert_close(output, expected, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(memory, expected_memory, rtol=1e-4, atol=1e-5)
        for name, gradient in gradients_of[1].items():
            torch.testing.assert_close(gradients_of[0][name], gradient, rtol=1e-3, atol=1e-5)
    assert counters["stats"]["unique_graphs"] == 1
    # evaluation runs eagerly: no further graph
    with torch.no_grad():
        compiled.eval()(torch.randn(1, 5, 5))
    assert counters["stats"]["unique_graphs"] == 1


def test_compiled_internals_equal_eager_and_carry_gradients() -> None:
    """A training step that asks for the read and write weights (a penalty on them) compiles
    too: the same weights as the eager step, padded steps cut off, and the same gradients
    through a loss on them."""
    torch.manual_seed(0)
    options = dict(input_size=5, output_size=4, controller_size=8, memory_slots=6, memory_width=4,
                   num_read_heads=2)  # fmt: skip
    compiled = NTM(**options, compile=True, compile_chunk=4)
    eager = NTM(**options)
    eager.load_state_dict(compiled.state_dict())
    x = torch.randn(2, 7, 5, generator=torch.Generator().manual_seed(1))  # 7: two chunks of 4
    results = []
    for model in (compiled, eager):
        output, _, internals = model(x, return_internals=True)
        assert internals.read_weights.shape == (2, 7, 2, 6)
        assert internals.write_weights.shape == (2, 7, 1, 6)
        assert internals.memory is None
        (output.sum() + internals.read_weights.square().sum()).backward()
        results.append((output, internals, gradients(model)))
        model.zero_grad()
    assert not ntm._COMPILE_FAILED and (compiled.cell.layout(), "cpu", True) in ntm._COMPILED
    (output, internals, grads), (expected, expected_internals, expected_grads) = results
    torch.testing.assert_close(output, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(internals.read_weights, expected_internals.read_weights,
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    torch.testing.assert_close(internals.write_weights, expected_internals.write_weights,
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    for name, gradient in expected_grads.items():
        torch.testing.assert_close(grads[name], gradient, rtol=1e-3, atol=1e-5)


def test_without_a_compiler_a_warning_says_so_once_and_training_runs_eagerly(tmp_path) -> None:
    """A real failure (no C++ compiler for inductor), in a fresh process: never silent."""
    script = textwrap.dedent(
        """
        import warnings, torch
        from memnets import NTM
        torch.manual_seed(0)
        model = NTM(input_size=3, output_size=2, controller_size=4, memory_slots=4,
                    memory_width=3, compile=True)
        eager = NTM(input_size=3, output_size=2, controller_size=4, memory_slots=4,
                    memory_width=3)
        eager.load_state_dict(model.state_dict())
        x = torch.randn(2, 5, 3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):
                output, _ = model(x)
                output.sum().backward()
        messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        assert len(messages) == 1 and "running eagerly" in messages[0], messages
        assert torch.equal(output, eager(x)[0])
        print("OK")
        """
    )
    environment = {
        **os.environ,
        "CXX": "/nonexistent/g++",
        "TORCHINDUCTOR_CACHE_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == "OK", done.stderr[-2000:]
