"""The sequence module's ``lr_decay: cosine`` through the real CLI on a tiny NTM: the logged
learning rate follows half a cosine to ``lr_final_fraction`` at ``max_steps`` (expected values
computed here from the formula), a linear warm-up multiplies it (or stands alone), a stopped
run resumes exactly, AnnealWhenSolved scales the schedule, and bad settings are named."""

from __future__ import annotations

import math
import re
import signal

import pytest
import torch
from test_annealing import ANNEAL, learning_rates
from test_resume import NTM, NTM_NAME, assert_same_run, checkpoint, fit

from memnets.training.sequence_module import SequenceTaskModule, cosine_factor, warmup_factor

LR = 0.004
STEPS = 8  # NTM's max_steps
COSINE = ["--model.init_args.lr", str(LR), "--model.init_args.lr_decay", "cosine",
          "--model.init_args.lr_final_fraction", "0.25"]  # fmt: skip


def expected(step: int, final: float = 0.25) -> float:
    # by hand: 1 at step 0, final + (1 - final) / 2 half way, final at STEPS
    return LR * (final + (1 - final) * (1 + math.cos(math.pi * step / STEPS)) / 2)


def test_the_cosine_factor_by_hand():
    assert cosine_factor(0, steps=8, final=0.25) == pytest.approx(1.0)
    assert cosine_factor(4, steps=8, final=0.25) == pytest.approx(0.625)
    assert cosine_factor(8, steps=8, final=0.25) == pytest.approx(0.25)
    assert cosine_factor(12, steps=8, final=0.25) == pytest.approx(0.25)  # after: the floor
    assert cosine_factor(2, steps=8, final=0.0) == pytest.approx((1 + math.sqrt(0.5)) / 2)


def test_a_warmup_of_true_is_refused_in_python():
    with pytest.raises(ValueError, match="lr_warmup_steps must be an integer >= 1, got True"):
        SequenceTaskModule(torch.nn.Linear(1, 1), lr_warmup_steps=True)


def test_the_warmup_factor_by_hand():
    assert [warmup_factor(step, steps=4) for step in range(6)] == [0.25, 0.5, 0.75, 1, 1, 1]
    assert warmup_factor(0, steps=1) == 1.0


@pytest.mark.parametrize("decay", [True, False])
def test_the_warmup_raises_the_rate_linearly_then_the_cosine_goes_on(tmp_path, decay):
    options = COSINE if decay else ["--model.init_args.lr", str(LR)]
    assert fit(NTM, tmp_path, *options, "--model.init_args.lr_warmup_steps", "3") == 0
    logged = learning_rates(tmp_path / NTM_NAME)
    assert sorted(logged) == list(range(STEPS))
    for step, value in logged.items():  # by hand: 1/3, 2/3, then the whole rate
        warm = min(1.0, (step + 1) / 3)
        assert value == pytest.approx((expected(step) if decay else LR) * warm), step


@pytest.fixture(scope="module")
def decayed(tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("decayed")
    assert fit(NTM, save_dir, *COSINE) == 0
    return save_dir / NTM_NAME


def test_the_rate_follows_the_cosine_to_the_final_fraction_at_max_steps(decayed):
    logged = learning_rates(decayed)
    assert sorted(logged) == list(range(STEPS))
    for step, value in logged.items():
        assert value == pytest.approx(expected(step)), step
    last = checkpoint(decayed / "version_0" / "checkpoints" / "last.ckpt")
    assert last["optimizer_states"][0]["param_groups"][0]["lr"] == pytest.approx(LR * 0.25)


@pytest.mark.parametrize("warmup", [[], ["--model.init_args.lr_warmup_steps", "5"]],
                         ids=["cosine", "warmup"])  # fmt: skip
def test_a_decayed_run_stopped_part_way_resumes_exactly(decayed, tmp_path, warmup):
    stop = ["--trainer.callbacks+=test_resume.SignalAt", "--trainer.callbacks.init_args.step=3"]
    schedule = [*COSINE, *warmup]
    if warmup:  # stopped within the warm-up: against the same schedule run without a stop
        assert fit(NTM, tmp_path / "whole", *schedule) == 0
        decayed = tmp_path / "whole" / NTM_NAME
    assert fit(NTM, tmp_path, *schedule, *stop) == 128 + signal.SIGTERM
    last = tmp_path / NTM_NAME / "version_0" / "checkpoints" / "last.ckpt"
    assert fit(NTM, tmp_path, *schedule, "--ckpt_path", str(last)) == 0
    assert_same_run(decayed, tmp_path / NTM_NAME, final="version_1", tests="test/")


def test_annealing_scales_the_schedule_from_the_first_solved_validation(tmp_path):
    anneal = [ANNEAL, "--trainer.callbacks.init_args.threshold=1e9",
              "--trainer.callbacks.init_args.factor=0.5",
              "--trainer.callbacks.init_args.validations_after=10"]  # fmt: skip
    assert fit(NTM, tmp_path, *COSINE, *anneal) == 0
    logged = learning_rates(tmp_path / NTM_NAME)
    assert sorted(logged) == list(range(STEPS))
    # the first validation (after step 2) is "solved": from step 2 on, half the schedule
    for step, value in logged.items():
        assert value == pytest.approx(expected(step) * (0.5 if step >= 2 else 1.0)), step


@pytest.mark.parametrize(
    "options, message",
    [
        (["--model.init_args.lr_final_fraction", "1.5"],
         "lr_final_fraction must be in [0, 1], got 1.5"),
        (["--model.init_args.lr_warmup_steps", "0"],
         "lr_warmup_steps must be an integer >= 1, got 0"),
        (["--trainer.max_steps", "-1", "--trainer.max_epochs", "1"],
         "lr_decay 'cosine' decays over trainer.max_steps, which is -1: set --trainer.max_steps"),
    ],
)  # fmt: skip
def test_bad_decay_settings_are_named(tmp_path, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        fit(NTM, tmp_path, *COSINE, *options)
