"""A callback that kills its own process with SIGKILL at a chosen point of training, as an
out-of-memory kill, a preempted machine or a power cut would: no handler runs, nothing is
saved, and what the run left on disk is all there is to resume from.

Used by ``tests/test_crash_resume.py`` in real ``train.py fit`` subprocesses
(``--trainer.callbacks+=crash_points.KillAt``, with ``tests/`` on ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import signal

import lightning


class KillAt(lightning.Callback):
    """SIGKILL this process when training step ``step + 1`` starts (``during_validation``
    false: right after step ``step`` and everything that followed it, its validation and
    checkpoints included), or at the first batch of the validation after step ``step``
    (``during_validation`` true: before that validation's checkpoints are written)."""

    def __init__(self, step: int = 1, during_validation: bool = False) -> None:
        self.step = step
        self.during_validation = during_validation

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if not self.during_validation and trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, *_) -> None:
        if self.during_validation and not trainer.sanity_checking:
            if trainer.global_step == self.step:
                os.kill(os.getpid(), signal.SIGKILL)
