"""The models and the training layer on a CUDA device (skipped where there is none).

Each model computes on the GPU what it computes on the CPU (outputs and every parameter's
gradient, in float32 with TF32 off, to float rounding); the NTM's compiled chunk (Triton there)
equals its eager step; real CLI runs (NTM, DNC, MemN2N runs trained together) train on the
GPU, and their checkpoints load and test on a CPU with the same numbers. Not claimed: that a
MemN2N run on a GPU is the CPU run of the same seed (its random noise is drawn by generators on
the training device, another stream than the CPU's), nor bitwise repeats of the compiled NTM on
a GPU (the exact-resume tests pin the CPU).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from tiny_runs import tiny_dnc, tiny_ntm, tiny_qa

from memnets.dnc import DNC
from memnets.memn2n import MemN2N
from memnets.ntm import NTM
from memnets.training.cli import main

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def full_float32():
    """TF32 matmuls would differ from the CPU in the 3rd digit: off for the comparisons."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def outputs_and_gradients(model: torch.nn.Module, *inputs: torch.Tensor, **kwargs):
    output = model(*inputs, **kwargs)
    output = output[0] if isinstance(output, tuple) else output
    weights = torch.linspace(-1, 1, output.numel(), device=output.device).view_as(output)
    (output * weights).sum().backward()
    gradients = {name: p.grad.cpu() for name, p in model.named_parameters() if p.grad is not None}
    return output.detach().cpu(), gradients


def assert_same_on_both(model: torch.nn.Module, *inputs: torch.Tensor, **kwargs) -> None:
    on_gpu = copy.deepcopy(model).to(CUDA)
    expected, expected_gradients = outputs_and_gradients(model, *inputs, **kwargs)
    actual, gradients = outputs_and_gradients(on_gpu, *(x.to(CUDA) for x in inputs), **kwargs)
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)
    assert gradients.keys() == expected_gradients.keys() and len(gradients) >= 4
    for name, gradient in expected_gradients.items():
        torch.testing.assert_close(gradients[name], gradient, rtol=1e-3, atol=1e-5, msg=name)


@pytest.mark.parametrize(
    "options",
    [
        dict(controller="lstm", num_read_heads=2, num_write_heads=1),
        dict(controller="feedforward", num_read_heads=1, num_write_heads=2),
        dict(controller="lstm", access_order="read_then_write", controller_layers=2),
    ],
    ids=["lstm", "feedforward", "read-first-2-layers"],
)
def test_the_ntm_computes_on_the_gpu_what_it_computes_on_the_cpu(options):
    torch.manual_seed(0)
    model = NTM(input_size=5, output_size=4, controller_size=16, memory_slots=8,
                memory_width=6, memory_init="random", **options)  # fmt: skip
    x = torch.randn(3, 11, 5, generator=torch.Generator().manual_seed(1))
    assert_same_on_both(model, x)


def test_the_dnc_computes_on_the_gpu_what_it_computes_on_the_cpu():
    torch.manual_seed(0)
    model = DNC(input_size=4, output_size=3, controller_size=16, memory_slots=8,
                memory_width=5, num_read_heads=2)  # fmt: skip
    x = torch.randn(2, 9, 4, generator=torch.Generator().manual_seed(1))
    assert_same_on_both(model, x)


@pytest.mark.parametrize("attend_to_empty_slots", [False, True])
def test_memn2n_computes_on_the_gpu_what_it_computes_on_the_cpu(attend_to_empty_slots):
    torch.manual_seed(0)
    model = MemN2N(
        vocab_size=30, num_answers=6, memory_size=7, embedding_size=12,
        encoding="position_authors", attend_to_empty_slots=attend_to_empty_slots,
    )  # fmt: skip
    words = torch.Generator().manual_seed(1)
    story = torch.randint(0, 30, (4, 7, 5), generator=words)
    story[:, 5:] = 0  # two empty slots
    story[:, :, 4] = 0  # padding inside sentences
    question = torch.randint(1, 30, (4, 5), generator=words)
    assert_same_on_both(model.eval(), story, question)


def test_the_compiled_ntm_chunk_on_the_gpu_equals_the_eager_step():
    torch._dynamo.reset()
    torch.manual_seed(0)
    options = dict(input_size=5, output_size=4, controller_size=8, memory_slots=6, memory_width=4)
    compiled = NTM(**options, compile=True, compile_chunk=4).to(CUDA)
    eager = NTM(**options).to(CUDA)
    eager.load_state_dict(compiled.state_dict())
    for length in (3, 9, 14):
        x = torch.randn(2, length, 5, device=CUDA)
        (output, gradients), (expected, expected_gradients) = (
            outputs_and_gradients(model, x) for model in (compiled, eager)
        )
        torch.testing.assert_close(output, expected, rtol=1e-4, atol=1e-5)
        for name, gradient in expected_gradients.items():
            torch.testing.assert_close(gradients[name], gradient, rtol=1e-3, atol=1e-5, msg=name)
        compiled.zero_grad(), eager.zero_grad()


# real CLI runs on the GPU


def fit_on_gpu(arguments: list[str], save_dir: Path):
    return main(["fit", *arguments, "--trainer.accelerator", "gpu", "--trainer.devices", "1",
                 "--trainer.enable_progress_bar", "false",
                 "--trainer.logger.init_args.save_dir", str(save_dir)])  # fmt: skip


@pytest.mark.parametrize("kind", ["ntm", "dnc", "memn2n-runs-together"])
def test_a_cli_run_trains_on_the_gpu_and_its_checkpoint_tests_the_same_on_a_cpu(kind, tmp_path):
    if kind == "ntm":
        arguments = tiny_ntm(batches_per_epoch=4, episodes=8)
    elif kind == "dnc":
        arguments = tiny_dnc("dnc_copy", batches_per_epoch=4, episodes=8)
        arguments += ["--data.task.init_args.width", "4", "--data.task.init_args.max_length", "3"]
    else:
        arguments = [*tiny_qa(tmp_path / "babi"), "--data.init_args.run_seeds", "[0,1]"]
    fitted = fit_on_gpu([*arguments, "--trainer.max_epochs", "2"], tmp_path)
    assert fitted.trainer.global_step > 0
    assert fitted.trainer.strategy.root_device.type == CUDA.type
    on_gpu = {k: float(v) for k, v in fitted.trainer.callback_metrics.items() if "test/" in k}
    assert on_gpu and all(torch.isfinite(torch.tensor(list(on_gpu.values()))))
    callback = fitted.trainer.checkpoint_callback  # the fit tested its best checkpoint
    tested = main(
        ["test", *arguments, "--ckpt_path", callback.best_model_path,
         "--trainer.accelerator", "cpu", "--trainer.logger", "false",
         "--trainer.enable_progress_bar", "false"]
    )  # fmt: skip
    on_cpu = {k: float(v) for k, v in tested.trainer.callback_metrics.items() if "test/" in k}
    assert on_cpu.keys() == on_gpu.keys()
    for name, value in on_gpu.items():
        assert on_cpu[name] == pytest.approx(value, rel=1e-3, abs=1e-4), name
