"""AnnealWhenSolved through the real CLI on a tiny NTM: the learning rate drops once, at the
first validation under the threshold, training stops the given number of validations later,
and a run stopped in between resumes exactly (the callback's count is in the checkpoint)."""

from __future__ import annotations

import signal

import pytest
from test_resume import NTM, NTM_NAME, assert_same_run, checkpoint, fit, scalars

from memnets.training.annealing import AnnealWhenSolved

LR = 0.004
ANNEAL = "--trainer.callbacks+=memnets.training.annealing.AnnealWhenSolved"


def anneal(threshold: float, factor: float = 0.5, validations_after: int = 2) -> list[str]:
    # NTM validates every 2 steps; 20 steps unless the callback stops the run
    return [
        "--model.init_args.lr", str(LR),
        "--trainer.max_steps", "20",
        ANNEAL,
        f"--trainer.callbacks.init_args.threshold={threshold}",
        f"--trainer.callbacks.init_args.factor={factor}",
        f"--trainer.callbacks.init_args.validations_after={validations_after}",
    ]  # fmt: skip


def learning_rates(run_dir) -> dict[int, float]:
    return {step: value for (tag, step), value in scalars(run_dir).items() if tag == "lr-Adam"}


@pytest.fixture(scope="module")
def annealed(tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("annealed")
    # every validation is "solved" (bit errors < 1e9): the first, after step 2, drops the rate
    assert fit(NTM, save_dir, *anneal(threshold=1e9)) == 0
    return save_dir / NTM_NAME


def test_the_rate_drops_once_at_the_first_solved_validation_and_the_run_stops_after(annealed):
    last = checkpoint(annealed / "version_0" / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 6  # validations after steps 2 (solved), 4 and 6 (stop)
    rates = learning_rates(annealed)
    assert sorted(rates) == [0, 1, 2, 3, 4, 5]
    # steps 0 and 1 at the configured rate; from step 2 on (after the first validation) half,
    # and halved once only, though validations 4 and 6 were "solved" too
    assert rates[0] == rates[1] == pytest.approx(LR)
    assert all(rates[step] == pytest.approx(LR / 2) for step in (2, 3, 4, 5))
    assert last["optimizer_states"][0]["param_groups"][0]["lr"] == pytest.approx(LR / 2)
    state = next(v for k, v in last["callbacks"].items() if "AnnealWhenSolved" in k)
    assert state == {"solved_at_step": 2, "validations_since": 2}


def test_an_unsolved_run_keeps_its_rate_to_max_steps(tmp_path):
    assert fit(NTM, tmp_path, *anneal(threshold=-1.0)) == 0  # never under -1
    last = checkpoint(tmp_path / NTM_NAME / "version_0" / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 20
    rates = learning_rates(tmp_path / NTM_NAME)
    assert len(rates) == 20 and all(rate == pytest.approx(LR) for rate in rates.values())


def test_no_validations_after_stops_at_the_first_solved_one_as_a_threshold_stop(tmp_path):
    assert fit(NTM, tmp_path, *anneal(threshold=1e9, validations_after=0)) == 0
    last = checkpoint(tmp_path / NTM_NAME / "version_0" / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 2


def test_a_run_stopped_after_solving_resumes_exactly(annealed, tmp_path):
    stop = ["--trainer.callbacks+=test_resume.SignalAt", "--trainer.callbacks.init_args.step=3"]
    assert fit(NTM, tmp_path, *anneal(threshold=1e9), *stop) == 128 + signal.SIGTERM
    last = tmp_path / NTM_NAME / "version_0" / "checkpoints" / "last.ckpt"
    assert checkpoint(last)["global_step"] == 3  # solved at step 2, stopped before step 6
    # resumed without the callback's state the rate would drop again at step 4's validation
    assert fit(NTM, tmp_path, *anneal(threshold=1e9), "--ckpt_path", str(last)) == 0
    assert_same_run(annealed, tmp_path / NTM_NAME, final="version_1", tests="test/")


@pytest.mark.parametrize(
    ("arguments", "named"),
    [({"factor": 0.0}, "factor"), ({"factor": 1.5}, "factor"),
     ({"validations_after": -1}, "validations_after")],
)  # fmt: skip
def test_bad_arguments_are_named(arguments, named):
    with pytest.raises(ValueError, match=named):
        AnnealWhenSolved(**arguments)
