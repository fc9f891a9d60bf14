"""A tiny NTM trained through a real Lightning Trainer on short copies learns measurably."""

import lightning
import pytest

from memnets.ntm import NTM
from memnets.training.sequence_module import SequenceTaskModule
from tasks.algorithmic import CopyTask
from tasks.sequence_data import AlgorithmicDataModule


def train_copy(*, max_length: int, steps: int, seed: int = 0, **model):
    lightning.seed_everything(seed, verbose=False)
    data = AlgorithmicDataModule(
        CopyTask(width=4, min_length=1, max_length=max_length),
        batch_size=16,
        train_batches_per_epoch=50,
        val_episodes=64,
        seed=seed,
    )
    ntm = NTM(
        input_size=data.input_size,
        output_size=data.output_size,
        **{"controller_size": 32, "memory_slots": 8, "memory_width": 8, **model},
    )
    module = SequenceTaskModule(ntm, lr=3e-3)
    trainer = lightning.Trainer(
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        gradient_clip_val=10,
        gradient_clip_algorithm="value",
    )
    before = trainer.validate(module, datamodule=data, verbose=False)[0]["val/bit_errors"]
    trainer.fit(module, datamodule=data)
    after = trainer.validate(module, datamodule=data, verbose=False)[0]["val/bit_errors"]
    return before, after


def test_tiny_copy_run_drives_bit_errors_down():
    before, after = train_copy(max_length=3, steps=300)
    # a random guess gets half of the ~8 target bits wrong; learning must at least halve that
    assert after < 0.5 * before, (before, after)


@pytest.mark.slow
def test_copy_lengths_one_to_five_is_solved():
    before, after = train_copy(max_length=5, steps=3000)
    assert after < 0.1, (before, after)
