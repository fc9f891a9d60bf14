"""Seeded regression pins: fixed seeds and data give these exact numbers.

They hold the models' outputs and a few real training steps through the CLI to values
recorded before a refactor, so that a change of structure provably changes no number. A
change that alters the mathematics on purpose re-records them in its own commit and says
why (torchtune's habit). Tolerances are float32 round-off, not slack.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny_runs import tiny_ntm, tiny_qa

from memnets.memn2n import MemN2N
from memnets.ntm import NTM
from memnets.training.cli import main

ROOT = Path(__file__).resolve().parents[1]
QUIET = [  # pinned on a CPU: a GPU draws the noise from its own generator (another stream)
    "--trainer.accelerator", "cpu",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.callbacks", "[]",
    "--pictures.every_n_steps", "1000",
]  # fmt: skip


def parameter_checksum(module: torch.nn.Module) -> float:
    """Sum of |w| over every parameter: one number that moves with any trained weight."""
    return float(sum(parameter.detach().abs().sum().double() for parameter in module.parameters()))


# the models


def test_ntm_outputs_are_pinned():
    torch.manual_seed(0)
    ntm = NTM(
        input_size=5,
        output_size=4,
        controller_size=16,
        memory_slots=10,
        memory_width=6,
        num_read_heads=2,
        num_write_heads=1,
        memory_init="constant",
        initial_focus="first",
    )  # fmt: skip (the defaults before issue 12, as recorded)
    x = torch.rand(3, 7, 5, generator=torch.Generator().manual_seed(1))  # (B, T, I)
    output, state = ntm(x)  # (B, T, O)
    assert output.sum().item() == pytest.approx(-1.3208932876586914, abs=1e-5)
    expected_last = [-0.15395745635032654, 0.1272042989730835, -0.02670377492904663, 0.0521332174]
    assert output[0, -1].tolist() == pytest.approx(expected_last, abs=1e-6)
    assert state.memory.sum().item() == pytest.approx(11.643145561218262, abs=1e-4)


def test_memn2n_outputs_are_pinned():
    generator = torch.Generator().manual_seed(1)
    torch.rand(3, 7, 5, generator=generator)  # the NTM pin's draw: same stream as recorded
    torch.manual_seed(0)
    model = MemN2N(vocab_size=30, memory_size=8, embedding_size=6, hops=3).eval()
    story = torch.randint(1, 30, (2, 5, 4), generator=generator)  # (B, S, W)
    story[0, :2] = 0  # two empty slots
    story[1, 1, 3] = 0  # padding inside a sentence
    question = torch.randint(1, 30, (2, 4), generator=generator)  # (B, W)
    logits = model(story, question)  # (B, V)
    assert logits.sum().item() == pytest.approx(-0.1561301201581955, abs=1e-6)
    expected = [0.0, -0.0357997827231884, 0.026947500184178352, -0.045992977917194366,
                0.02183004468679428]  # fmt: skip
    assert logits[0, :5].tolist() == pytest.approx(expected, abs=1e-6)


# training through the CLI


@pytest.mark.parametrize(
    "memory_init, pin", [("constant", "ntm_after_4_steps"), (None, "ntm_default_after_4_steps")]
)
def test_ntm_training_steps_are_pinned(tmp_path, memory_init, pin):
    """With the fixed 1e-6 memory of the recorded value, and with today's default memory
    (learned_random, drawn from the seed); both with the model settings copy's config had
    when they were recorded (before it took pytorch-ntm's recipe: bench/ntm_before_recipe.yaml)."""
    memory = [] if memory_init is None else ["--model.init_args.model.init_args.memory_init",
                                              memory_init]  # fmt: skip
    memory = ["--config", str(ROOT / "bench" / "ntm_before_recipe.yaml"), *memory]
    cli = main(
        ["fit", *tiny_ntm(batches_per_epoch=4, episodes=4), *QUIET, *memory,
         "--trainer.max_steps", "4", "--trainer.limit_val_batches", "0",
         "--trainer.logger.init_args.save_dir", str(tmp_path)]
    )  # fmt: skip
    assert cli.trainer.global_step == 4
    assert parameter_checksum(cli.model) == pytest.approx(PINNED[pin], rel=1e-7)


def test_qa_training_steps_are_pinned(tmp_path):
    cli = main(
        ["fit", *tiny_qa(tmp_path / "generated"), *QUIET,
         "--trainer.max_epochs", "2", "--trainer.limit_val_batches", "0",
         "--trainer.logger.init_args.save_dir", str(tmp_path)]
    )  # fmt: skip
    assert cli.trainer.current_epoch == 2  # one linear-start epoch, one with the softmax
    assert parameter_checksum(cli.model) == pytest.approx(PINNED["qa_after_2_epochs"], rel=1e-7)


def test_a_checkpoint_written_by_fit_loads_in_test(tmp_path):
    """``train.py fit`` then ``train.py test --ckpt_path last.ckpt`` on the same config gives
    the test metrics of the fitted weights."""
    arguments = [
        *tiny_ntm(batches_per_epoch=3, episodes=8), *QUIET,
        "--trainer.max_steps", "3", "--trainer.logger.init_args.save_dir", str(tmp_path),
    ]  # fmt: skip
    fitted = main(["fit", *arguments])
    last = fitted.trainer.checkpoint_callback.last_model_path
    assert last
    expected = fitted.trainer.test(fitted.model, datamodule=fitted.datamodule, verbose=False)
    tested = main(["test", *arguments, "--ckpt_path", last])
    got = {name: float(value) for name, value in tested.trainer.callback_metrics.items()}
    assert got["test/bit_errors"] == pytest.approx(expected[0]["test/bit_errors"], abs=1e-6)
    assert got["test/loss"] == pytest.approx(expected[0]["test/loss"], abs=1e-6)


PINNED = {
    "ntm_after_4_steps": 181.463087759912,  # memory_init constant (the default before issue 12)
    "ntm_default_after_4_steps": 194.39460982009768,  # the default learned_random memory
    "qa_after_2_epochs": 88.35304594039917,
}
