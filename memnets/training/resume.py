"""Stop cleanly and resume exactly: the checkpointing the CLI always uses.

A run stopped with Ctrl-C or SIGTERM, or ended by ``max_steps``, and resumed with
``--ckpt_path .../last.ckpt`` reaches the same weights and metrics as the run that was never
stopped (on CPU, fixed seed). Lightning saves the weights, optimiser, schedulers and loop
progress; a checkpoint needs three more things for that:

* where the training loader was in its epoch: ``tasks.loading.ResumableDataLoader``, whose
  state Lightning saves and restores itself;
* the random generators of Python, NumPy and torch (MemN2N's random noise draws from torch's),
  each process's own under DDP: :class:`TrainingStateCheckpoint`;
* a ``last.ckpt`` written where Lightning's restore logic picks up exactly:
  :class:`ResumableCheckpoint`.

Where that is: Lightning resumes exactly from the end of a training step
(``on_train_batch_end``) and the end of a validation (``on_validation_end``). It does not from
the end of an epoch (``on_train_epoch_end``, where ``ModelCheckpoint`` saves by default when
the validation runs once an epoch: a run resumed from there trains on other batches and logs
every later metric one step late), so the CLI's checkpoint sets ``save_on_train_epoch_end``
false: every checkpoint a run leaves behind, ``last.ckpt`` and the best ones, is written at
the end of a validation or of a step, and a run killed outright (SIGKILL, out of memory, a
power cut) resumes exactly from any of them (``tests/test_crash_resume.py``). Nor does it
resume exactly from the point where it raises on SIGTERM (after the
step's validation and bookkeeping): after a step with a validation, a run resumed from there
logs every later metric one step late. So :class:`ResumableCheckpoint` takes over SIGINT and
SIGTERM while training, writes ``last.ckpt`` at the end of the step during which the signal
came (and again at the end of that step's validation, if one runs), and only then lets
Lightning stop. The process exits with ``128 + signal`` (130 after Ctrl-C, 143 after SIGTERM).
A second Ctrl-C stops at once without saving; any other exception (a non-finite loss among
them) saves nothing, so ``last.ckpt`` stays the last one written from a good state. Under DDP
the decision to stop is taken by all ranks together (one signalled rank suffices).

Under DDP a checkpoint is written by rank 0 but its contents are built on every rank
(``Trainer.save_checkpoint`` is collective), and what differs between ranks travels once per
rank: :func:`gather_per_rank` collects a value from every rank into a list by global rank, and
:func:`for_this_rank` hands each rank its own entry back on resume. The random states and
callback metrics (:class:`TrainingStateCheckpoint`) and ``QAModule``'s epoch sums travel so;
the training loader's position does not need to (``DistributedSampler`` gives every rank the
same number of batches, so every rank's loader is at the same position). A resumed DDP run
replays the uninterrupted one exactly with the same number of processes
(``tests/test_ddp_data.py``); with another number it continues, each rank taking the entry of
rank ``rank % n``, with a warning (the data are dealt differently then anyway).

Not covered: epoch-level training metrics that a LightningModule accumulates through
``self.log(..., on_epoch=True)`` in ``training_step`` (Lightning does not checkpoint those
sums; after a mid-epoch resume they average the rest of the epoch only). memnets' modules log
training metrics per step, or keep their epoch sums themselves and checkpoint them
(``QAModule.on_save_checkpoint``).
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
from typing import Any

import lightning
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_warn
from lightning.pytorch.utilities.exceptions import SIGTERMException

__all__ = [
    "ResumableCheckpoint",
    "TrainingStateCheckpoint",
    "for_this_rank",
    "gather_per_rank",
    "random_states",
    "set_random_states",
]

_SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}

# helpers


def random_states() -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's global generators (CUDA's too, if in use).

    Plain Python values and tensors only: Lightning loads checkpoints with ``weights_only``.
    """
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss,
                  cached_gaussian),
        "torch": torch.get_rng_state(),
    }  # fmt: skip
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: dict[str, Any]) -> None:
    """Undo :func:`random_states`."""
    random.setstate(states["python"])
    kind, keys, position, has_gauss, cached_gaussian = states["numpy"]
    keys = keys.numpy().astype(np.uint32)
    np.random.set_state((kind, keys, position, has_gauss, cached_gaussian))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def gather_per_rank(trainer: lightning.Trainer, value: Any) -> list[Any]:
    """``value`` of every process, by global rank: ``[value]`` in a single process.

    For per-process state in a checkpoint (which rank 0 alone writes). A collective under DDP:
    every rank must call it, as every rank does in ``on_save_checkpoint`` (Lightning builds a
    checkpoint's contents on every rank). ``value`` is pickled: plain values and tensors.
    """
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if trainer.world_size == 1 or not distributed:
        return [value]
    values: list[Any] = [None] * trainer.world_size
    torch.distributed.all_gather_object(values, value)
    return values


def for_this_rank(trainer: lightning.Trainer, values: list[Any], *, what: str) -> Any:
    """This process's entry of a :func:`gather_per_rank` list read from a checkpoint.

    A checkpoint written by another number of processes cannot be replayed exactly (the data
    are dealt to the ranks differently): each rank then takes the entry of rank
    ``rank % len(values)``, and rank 0 warns naming ``what``.
    """
    if len(values) != trainer.world_size:
        rank_zero_warn(
            f"the checkpoint holds the {what} of {len(values)} process(es) and this run has "
            f"{trainer.world_size}: each process takes those of process rank % "
            f"{len(values)}; the run continues but does not replay the stopped one exactly"
        )
    return values[trainer.global_rank % len(values)]


def _set_lightning_stop(trainer: lightning.Trainer, value: bool) -> None:
    # Lightning's SIGTERM flag lives on its (private) signal connector; its loops read it through
    # ``trainer.received_sigterm`` after each step and raise ``SIGTERMException``.
    trainer._signal_connector.received_sigterm = value


# callbacks


class TrainingStateCheckpoint(lightning.Callback):
    """Save the global random generators' states and the trainer's ``callback_metrics`` in
    every checkpoint; restore them on resume.

    The metrics matter for a checkpoint written at the end of the validation that closes an
    epoch: after it, in the same epoch, early stopping (``check_on_train_epoch_end``) and
    epoch-end callbacks read that validation's metrics, which a resumed run, not repeating the
    validation, would otherwise not have (a strict ``EarlyStopping`` stops with "metric ...
    not available", a lenient one skips a check the uninterrupted run made).

    Both are per process: the checkpoint holds a list with every rank's, by global rank
    (:func:`gather_per_rank`; one entry in a single process), and each rank restores its own
    (:func:`for_this_rank`). Under DDP the ranks' generators differ when each rank is seeded
    on its own, or as soon as the ranks draw different amounts (MemN2N's noise with empty slots
    out of the attention draws as many numbers as the longest story of the rank's batch needs),
    and each rank's training metrics are its own; restoring rank 0's on every rank would make
    the resumed run differ from the uninterrupted one. Checkpoints written before the states
    were per process hold one dict of states and one of metrics: every rank restores those.
    """

    key = "random_states"
    metrics_key = "callback_metrics"
    _metrics: dict[str, torch.Tensor] | None = None  # loaded, put back when training starts

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        metrics = {
            name: value.detach().cpu()
            for name, value in trainer.callback_metrics.items()
            if isinstance(value, torch.Tensor)
        }
        checkpoint[self.key] = gather_per_rank(trainer, random_states())  # collective
        checkpoint[self.metrics_key] = gather_per_rank(trainer, metrics)

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        if trainer.state.fn != TrainerFn.FITTING:
            return
        states = checkpoint.get(self.key)
        if isinstance(states, list):
            states = for_this_rank(trainer, states, what="random generators")
        if states is not None:
            set_random_states(states)
        metrics = checkpoint.get(self.metrics_key)
        if isinstance(metrics, list):  # the warning about process counts came with the states
            metrics = metrics[trainer.global_rank % len(metrics)]
        self._metrics = metrics

    def on_train_start(self, trainer, pl_module) -> None:
        # after Lightning has reset its metrics for the run (which it does after restoring)
        if self._metrics:
            trainer.callback_metrics.update(
                {name: value.to(pl_module.device) for name, value in self._metrics.items()}
            )
        self._metrics = None


class ResumableCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint`` (same arguments) with an exactly resumable ``last.ckpt``.

    On top of ``ModelCheckpoint``:

    * Ctrl-C or SIGTERM during training: ``last.ckpt`` is written at the end of the current
      step (and of its validation, if one is due), then training stops; see the module
      docstring. A second Ctrl-C stops at once, without saving.
    * ``last.ckpt`` is written at the end of every validation, not only beside a new best
      checkpoint as Lightning does, so a run killed outright loses at most the steps since.
    * ``max_steps`` reached: ``last.ckpt`` is written at the end of the last step (and of its
      validation), so a longer run resumed from it replays the never-stopped one. The same for
      ``max_time`` and early stopping (the weights replay exactly; the validation Lightning runs
      when it stops early is one the longer run would not have had). At the end of fitting for
      any other reason ``last.ckpt`` is brought up to date if it is behind.
    * The record of the best checkpoints survives a resume into a new log version (Lightning
      forgets it when the checkpoint directory changes, and the resumed run could then keep a
      worse "best" than the run that was never stopped). The old files stay where they are:
      Lightning removes no checkpoint outside its own directory.
    """

    # run state, as class defaults: __init__ is ModelCheckpoint's, so the CLI sees its arguments
    _signal: int | None = None  # the first SIGINT/SIGTERM received during training
    _stopping: int | None = None  # the signal the ranks agreed to stop for
    _last_saved_step: int = -1  # global step of the last write of last.ckpt by this class
    _saved_handlers: dict[int, Any] | None = None

    # last.ckpt

    def _last_path(self) -> str:
        assert self.dirpath is not None, "setup() resolves dirpath before training"
        return os.path.join(self.dirpath, self.CHECKPOINT_NAME_LAST + self.FILE_EXTENSION)

    def _save_last(self, trainer: lightning.Trainer) -> None:
        """Write last.ckpt now (collective under DDP: every rank calls it)."""
        self.last_model_path = self._last_path()  # part of the state being saved
        trainer.save_checkpoint(self.last_model_path)
        self._last_saved_step = trainer.global_step

    @staticmethod
    def _fitting(trainer: lightning.Trainer) -> bool:
        return (
            trainer.state.fn == TrainerFn.FITTING
            and not trainer.sanity_checking
            and not trainer.fast_dev_run  # ModelCheckpoint saves nothing then, nor do we
        )

    @staticmethod
    def _ending(trainer: lightning.Trainer) -> bool:
        """Whether fitting ends after this step: ``max_steps``, or a stop set by ``max_time``
        (Lightning's Timer) or early stopping, whose callbacks run before checkpointing."""
        max_steps_reached = trainer.max_steps != -1 and trainer.global_step >= trainer.max_steps
        return max_steps_reached or trainer.should_stop

    # signals

    def _install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # handlers can only be set from the main thread; Lightning's stay in place
        self._signal, self._stopping = None, None
        self._saved_handlers = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }

    def _restore_handlers(self) -> None:
        for signum, handler in (self._saved_handlers or {}).items():
            signal.signal(signum, handler)
        self._saved_handlers = None

    def _on_signal(self, signum: int, frame) -> None:
        if signum == signal.SIGINT and self._signal == signal.SIGINT:
            self._restore_handlers()
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, save nothing
        if self._signal is None:
            self._signal = signum
            again = " (Ctrl-C again stops at once, without saving)"
            print(
                f"\n{_SIGNAL_NAMES.get(signum, signum)}: stopping after the current training "
                f"step and saving last.ckpt{again if signum == signal.SIGINT else ''}",
                file=sys.stderr,
                flush=True,
            )

    def _agree_to_stop(self, trainer: lightning.Trainer) -> bool:
        """Whether any rank was signalled; a collective under DDP (all ranks call it)."""
        if self._stopping is not None:
            return True
        requested = self._signal is not None
        if trainer.world_size > 1:
            requested = trainer.strategy.reduce_boolean_decision(requested, all=False)
        if requested:
            self._stopping = self._signal or signal.SIGTERM
        return requested

    # hooks

    def on_train_start(self, trainer, pl_module) -> None:
        super().on_train_start(trainer, pl_module)
        self._install_handlers()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if not self._fitting(trainer):
            return
        last_of_epoch = batch_idx + 1 == trainer.num_training_batches
        if (batch_idx + 1) % trainer.accumulate_grad_batches and not last_of_epoch:
            return  # between micro-batches of an accumulated step: not a step boundary
        stop = self._agree_to_stop(trainer)
        if stop or (self.save_last and self._ending(trainer)):
            self._save_last(trainer)
        if stop:
            _set_lightning_stop(trainer, True)  # Lightning stops after the step (and validation)

    def on_validation_batch_end(self, trainer, pl_module, *args, **kwargs) -> None:
        if self._fitting(trainer) and self._stopping is not None:
            _set_lightning_stop(trainer, False)  # hold the stop until the validation is complete

    def on_validation_end(self, trainer, pl_module) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._fitting(trainer):
            return
        stop = self._agree_to_stop(trainer)
        # Lightning writes last.ckpt at a validation only beside a new top-k checkpoint: after
        # a validation that did not improve, a crash would lose the steps since
        behind = self._last_global_step_saved != trainer.global_step
        if stop or (self.save_last and (behind or self._ending(trainer))):
            self._save_last(trainer)  # the state Lightning resumes a validation-end save from
        if stop:
            _set_lightning_stop(trainer, True)

    def on_train_end(self, trainer, pl_module) -> None:
        self._restore_handlers()
        if not self._fitting(trainer) or trainer.global_step == 0:
            return
        if self.save_last and self._last_saved_step != trainer.global_step:
            self._save_last(trainer)  # max_epochs, max_time or early stopping ended fitting

    def teardown(self, trainer, pl_module, stage: str) -> None:
        self._restore_handlers()
        super().teardown(trainer, pl_module, stage)

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        self._restore_handlers()
        super().on_exception(trainer, pl_module, exception)  # saves only if save_on_exception
        if isinstance(exception, SIGTERMException) and self._stopping is not None:
            exception.code = 128 + self._stopping  # the exit status of the process
            if trainer.is_global_zero:
                path = self._last_path()
                print(
                    f"\nstopped by {_SIGNAL_NAMES.get(self._stopping, self._stopping)} after "
                    f"training step {trainer.global_step}; {path} holds it\n"
                    f"resume with the same command and --ckpt_path {path}",
                    file=sys.stderr,
                    flush=True,
                )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if self.dirpath and state_dict.get("monitor") == self.monitor:
            state_dict = {**state_dict, "dirpath": self.dirpath}
            state_dict["last_model_path"] = self.last_model_path  # last.ckpt is per directory
        super().load_state_dict(state_dict)
