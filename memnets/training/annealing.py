"""Train on at a lower learning rate once a task is solved, then stop.

Stopping the moment the validation error first falls under a threshold (``EarlyStopping``'s
``stopping_threshold``) leaves a model that has only just solved its validation set: on the
copy task one seed in five then fails the held-out test set and the bit errors at length 100
vary from 0.8 to 13 by seed. Training on at the same learning rate instead let two of three
copy runs collapse (``bench/ntm_ablation.py``, arm ``patience``). This callback does what a
learning-rate schedule after convergence does: at the first validation under ``threshold``
it scales every parameter group's learning rate by ``factor`` (once; a schedule's base rates
too, so ``lr_decay: cosine`` goes on from the lowered rate), trains
``validations_after`` more validation periods, and stops.

    trainer:
      callbacks:
        - class_path: memnets.training.annealing.AnnealWhenSolved
          init_args: {threshold: 0.1, factor: 0.1, validations_after: 20}

The first validation under the threshold is still the run's "solved" point (the learning
rate's drop in TensorBoard's ``lr-*`` scalar marks it); the lowered rate is in the
optimiser's state and the count of validations in this callback's, so a run resumed from
``last.ckpt`` goes on exactly.
"""

from __future__ import annotations

import math

import lightning
from lightning.pytorch.trainer.states import TrainerFn


class AnnealWhenSolved(lightning.Callback):
    """At the first validation with ``monitor`` < ``threshold``, multiply the learning rate by
    ``factor``; stop after ``validations_after`` more validations (0: stop at once, as
    ``EarlyStopping(stopping_threshold=threshold)``)."""

    def __init__(
        self,
        monitor: str = "val/bit_errors",
        threshold: float = 0.1,
        factor: float = 0.1,
        validations_after: int = 20,
    ) -> None:
        if not 0.0 < factor <= 1.0:
            raise ValueError(f"factor must be in (0, 1], got {factor}")
        if validations_after < 0:
            raise ValueError(f"validations_after must be >= 0, got {validations_after}")
        self.monitor = monitor
        self.threshold = threshold
        self.factor = factor
        self.validations_after = validations_after
        self.solved_at_step: int | None = None  # the global step of the first solved validation
        self.validations_since = 0

    def on_validation_end(self, trainer: lightning.Trainer, pl_module) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if self.solved_at_step is None:
            if value is None or not math.isfinite(float(value)) or float(value) >= self.threshold:
                return
            self.solved_at_step = trainer.global_step
            for optimizer in trainer.optimizers:
                for group in optimizer.param_groups:
                    group["lr"] *= self.factor
            for config in trainer.lr_scheduler_configs:  # a schedule goes on from the new rate
                scheduler = config.scheduler
                scheduler.base_lrs = [lr * self.factor for lr in scheduler.base_lrs]
        else:
            self.validations_since += 1
        if self.validations_since >= self.validations_after:
            trainer.should_stop = True

    def state_dict(self) -> dict:
        return {"solved_at_step": self.solved_at_step, "validations_since": self.validations_since}

    def load_state_dict(self, state_dict: dict) -> None:
        self.solved_at_step = state_dict["solved_at_step"]
        self.validations_since = state_dict["validations_since"]
