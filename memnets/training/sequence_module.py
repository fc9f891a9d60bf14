"""LightningModule training an NTM or a DNC on sequence-to-sequence bit tasks.

Loss: binary cross-entropy with logits on the masked target positions. Logged per
step and per validation: loss, cost in bits per sequence (the paper's measure)
and bit errors per sequence (thresholded outputs vs targets), plus the number of
training sequences seen, so curves can be read against the paper's x-axis.

The memory pictures depend on the model: an NTM shows its per-head write and read weights and
its memory; a DNC its write and read weights, usage, read modes, final links and memory.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Literal

import lightning
import torch
from torch import nn

from memnets.dnc import DNC, READ_MODES, DNCInternals
from memnets.ntm import NTMInternals
from memnets.training.guards import check_finite_gradients, check_finite_loss
from memnets.training.metrics import (
    bit_errors_per_sequence,
    cost_bits_per_sequence,
    masked_bce,
    normalised_entropy,
)
from memnets.training.pictures import (
    heads_figure,
    links_figure,
    memory_figure,
    read_modes_figure,
    sequence_figure,
    slots_over_time_figure,
)

# helpers: the figures of one episode's internals (the first sequence of the batch)


def ntm_figures(internals: NTMInternals) -> dict:
    """An NTM's write and read weights per head over time and its memory after the last step
    (``internals`` with ``memory``: the model called with ``return_memory=True``)."""
    return {
        "memory/write_weights": heads_figure(
            internals.write_weights[0].cpu(), title="write weights"
        ),  # (T, W, N)
        "memory/read_weights": heads_figure(
            internals.read_weights[0].cpu(), title="read weights"
        ),  # (T, R, N)
        "memory/memory": memory_figure(internals.memory[0, -1].cpu()),  # (N, M)
    }


def dnc_figures(internals: DNCInternals, memory: torch.Tensor) -> dict:
    """A DNC's write weights, read weights per head, usage and read modes per head over
    time, and its links and ``memory`` (B, N, M) after the last step."""
    return {
        "memory/write_weights": heads_figure(
            internals.write_weights[0].unsqueeze(1).cpu(), title="write weights"
        ),  # (T, 1, N): the one write head
        "memory/read_weights": heads_figure(
            internals.read_weights[0].cpu(), title="read weights"
        ),  # (T, R, N)
        "memory/usage": slots_over_time_figure(
            internals.usage[0].cpu(), title="usage", label="usage"
        ),  # (T, N)
        "memory/read_modes": read_modes_figure(
            internals.read_modes[0].cpu(), names=READ_MODES
        ),  # (T, R, 3)
        "memory/links": links_figure(internals.links[0].cpu()),  # (N, N)
        "memory/memory": memory_figure(memory[0].cpu()),  # (N, M)
    }


def model_figures(model: nn.Module, inputs: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Run ``model`` on one episode ``inputs`` (1, T, I): its logits and its memory figures
    (:func:`dnc_figures` for a DNC, which returns its memory in its state; otherwise
    :func:`ntm_figures`)."""
    if isinstance(model, DNC):
        logits, state, internals = model(inputs, return_internals=True)
        return logits, dnc_figures(internals, state.memory)
    logits, _, internals = model(inputs, return_internals=True, return_memory=True)
    return logits, ntm_figures(internals)


def cosine_factor(step: int, *, steps: int, final: float) -> float:
    """The learning rate's factor after ``step`` of ``steps`` updates: 1 at the start, half a
    cosine down to ``final`` at ``steps`` and ``final`` after."""
    progress = min(step, steps) / steps
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_factor(step: int, *, steps: int) -> float:
    """The learning rate's factor after ``step`` updates of a linear warm-up over ``steps``:
    ``(step + 1) / steps`` (the first update at ``1 / steps`` of the rate), 1 from ``steps - 1``
    on."""
    return min(1.0, (step + 1) / steps)


def _product(factors: list, step: int) -> float:
    return math.prod(factor(step) for factor in factors)


def make_optimizer(module: lightning.LightningModule) -> torch.optim.Optimizer:
    """The optimiser named by ``module.hparams`` (optimizer, lr, momentum, rmsprop_alpha,
    weight_decay) over its parameters: RMSprop, or Adam, fused (one kernel for the whole
    update) on a CPU or a GPU unless the precision is mixed: on a CPU torch's default loops
    over the parameter tensors, a noticeable share of a small model's step at batch 1
    (``bench/ntm_speed.py --fused``)."""
    hp = module.hparams
    if hp.optimizer == "rmsprop":
        return torch.optim.RMSprop(
            module.parameters(),
            lr=hp.lr,
            momentum=hp.momentum,
            alpha=hp.rmsprop_alpha,
            weight_decay=hp.weight_decay,
        )
    trainer = module._trainer  # mixed precision unscales gradients itself: no fused kernel
    mixed = trainer is not None and "mixed" in str(trainer.precision)
    fused = (module.device.type in ("cpu", "cuda") and not mixed) or None  # None: the default
    return torch.optim.Adam(
        module.parameters(), lr=hp.lr, weight_decay=hp.weight_decay, fused=fused
    )


# modules


class SequenceTaskModule(lightning.LightningModule):
    """Trains the sequence model it is given (an :class:`~memnets.ntm.NTM`, a
    :class:`~memnets.dnc.DNC`, or any module called as ``logits, state = model(inputs)`` that
    returns an NTM's internals with ``return_internals=True, return_memory=True``, for the
    pictures) on a bit-sequence task (copy, repeat copy, recall, sort).

    The model is built by the caller; the CLI builds it from the YAML with its input and
    output sizes linked from the data module. Optimisers: ``"rmsprop"`` is the paper's
    (Graves et al.: lr 1e-4, momentum 0.9, alpha 0.95); ``"adam"`` (lr 1e-3) is what Collier &
    Beel 2018 found reliable. Gradient clipping is the Trainer's (``gradient_clip_val`` in the
    configs); compilation is the model's (``NTM(compile=True)``). ``loss_reduction``:
    ``"sequence"`` sums each sequence's cross-entropy over its target steps (the paper's cost
    per sequence, divided by the output width), so that with same-length batches a batch of
    long sequences weighs more than one of short ones; ``"bit"`` is the mean over target bits
    (copy with mixed-length batches, seeds 0-2: see the README). ``run_seeds`` (runs trained
    together, which the CLI links from a data module that has them) is not implemented here:
    it must stay None. ``lr_decay``: None (the default) keeps the rate; ``"cosine"`` lowers it
    every step along half a cosine to ``lr_final_fraction`` of it (None: 0.1) at
    ``trainer.max_steps`` (a task that is never solved, such as priority sort, trains its whole
    budget). ``lr_warmup_steps``: None (the default) starts at the full rate; N raises it
    linearly over the first N updates (times the cosine when both are set). All three default
    to None, so that configs resolved before they existed keep their
    protocol hashes (``bench/protocols.py``). ``read_entropy_penalty``: None (the default)
    trains on the task's loss alone; a weight w adds w times the read weights' mean entropy
    (over every step, read head and sequence, a batch's padding steps included, divided by
    log N: 0 on one slot, 1 uniform) to
    the training loss, a push towards sharp reads (the model must return ``read_weights``
    (B, T, R, N) in its internals; logged as ``train/read_entropy``; ``train/loss`` stays the
    task's).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        run_seeds: list[int] | None = None,
        optimizer: Literal["adam", "rmsprop"] = "adam",
        lr: float = 1e-3,
        momentum: float = 0.9,
        rmsprop_alpha: float = 0.95,
        weight_decay: float = 0.0,
        loss_reduction: Literal["bit", "sequence"] = "sequence",
        lr_decay: Literal["cosine"] | None = None,
        lr_final_fraction: float | None = None,
        lr_warmup_steps: int | None = None,
        read_entropy_penalty: float | None = None,
    ) -> None:
        super().__init__()
        if optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"optimizer must be 'adam' or 'rmsprop', got {optimizer!r}")
        if loss_reduction not in ("bit", "sequence"):
            raise ValueError(f"loss_reduction must be 'bit' or 'sequence', got {loss_reduction!r}")
        if lr_decay not in (None, "cosine"):
            raise ValueError(f"lr_decay must be null or 'cosine', got {lr_decay!r}")
        if lr_final_fraction is not None and not 0.0 <= lr_final_fraction <= 1.0:
            raise ValueError(f"lr_final_fraction must be in [0, 1], got {lr_final_fraction}")
        if lr_warmup_steps is not None and (
            not isinstance(lr_warmup_steps, int)
            or isinstance(lr_warmup_steps, bool)
            or lr_warmup_steps < 1
        ):
            raise ValueError(f"lr_warmup_steps must be an integer >= 1, got {lr_warmup_steps!r}")
        if read_entropy_penalty is not None and not read_entropy_penalty >= 0:
            raise ValueError(
                f"read_entropy_penalty must be None or >= 0, got {read_entropy_penalty!r}"
            )
        if run_seeds is not None:
            raise ValueError(
                "runs trained together (run_seeds) are implemented for the QA module only; "
                "train one run per process"
            )
        self.save_hyperparameters(ignore=["model", "run_seeds"])
        self.model = model

    def forward(self, inputs: torch.Tensor, **kwargs):
        return self.model(inputs, **kwargs)

    # steps

    def _shared_step(self, batch, stage: str, *, name: str | None = None) -> torch.Tensor:
        penalty = self.hparams.read_entropy_penalty if stage == "train" else None
        if penalty is not None:
            logits, _, internals = self.model(batch.inputs, return_internals=True)  # (B, T, O)
            entropy = normalised_entropy(internals.read_weights)  # (B, T, R, N) -> scalar
            self.log("train/read_entropy", entropy, on_step=True, on_epoch=False)
        else:
            logits, _ = self.model(batch.inputs)  # (B, T, O)
        loss = masked_bce(logits, batch.targets, batch.mask, reduction=self.hparams.loss_reduction)
        batch_size = batch.inputs.shape[0]
        prefix = name or stage
        on_step = stage == "train"
        cost = cost_bits_per_sequence(logits, batch.targets, batch.mask).mean()
        per_sequence = bit_errors_per_sequence(logits, batch.targets, batch.mask)  # (B,)
        errors = per_sequence.mean()
        log = dict(batch_size=batch_size, on_step=on_step, on_epoch=not on_step)
        sync = stage != "train"
        self.log(f"{prefix}/loss", loss, sync_dist=sync, add_dataloader_idx=False, **log)
        self.log(f"{prefix}/cost_bits", cost, sync_dist=sync, add_dataloader_idx=False, **log)
        if stage == "test":  # sequences with no wrong bit (the generalisation table)
            perfect = per_sequence.eq(0).to(logits.dtype).mean()
            self.log(f"{prefix}/perfect", perfect, sync_dist=sync, add_dataloader_idx=False, **log)
        self.log(
            f"{prefix}/bit_errors",
            errors,
            prog_bar=stage in ("train", "val"),
            sync_dist=sync,
            add_dataloader_idx=False,
            **log,
        )
        return loss if penalty is None else loss + penalty * entropy

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss = self._shared_step(batch, "train")
        check_finite_loss(loss, step=self.global_step)
        sequences = (self.global_step + 1) * batch.inputs.shape[0] * self.trainer.world_size
        self.log("train/sequences", float(sequences), on_step=True, on_epoch=False)
        return loss

    def on_before_optimizer_step(self, optimizer) -> None:
        check_finite_gradients(self, step=self.global_step)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._shared_step(batch, "test", name=self._test_split_name(dataloader_idx))

    def _test_split_name(self, dataloader_idx: int) -> str:
        if dataloader_idx == 0:
            return "test"
        datamodule = self.trainer.datamodule
        sets = getattr(datamodule, "generalisation_sets", None)
        if sets is not None:  # test_length_L, or test_length_L_repeats_R
            return sets[dataloader_idx - 1][0]
        lengths = getattr(datamodule, "generalisation_lengths", None) or []
        return f"test_length_{lengths[dataloader_idx - 1]}"

    # pictures

    def memory_figures(self, datamodule) -> dict:
        """Figures for one fixed validation episode: input, target and output, then the
        model's own (:func:`dnc_figures` for a DNC, :func:`ntm_figures` otherwise)."""
        batch = datamodule.fixed_episode().to(self.device)
        length = int(batch.lengths[0])
        inputs = batch.inputs[:, :length]  # (1, T, I)
        logits, figures = model_figures(self.model, inputs)
        sequences = sequence_figure(
            batch.inputs[0, :length].cpu(),
            batch.targets[0, :length].cpu(),
            torch.sigmoid(logits[0]).cpu(),
            batch.mask[0, :length].cpu(),
        )
        return {"memory/input_target_output": sequences, **figures}

    # optimisation

    def configure_optimizers(self):
        optimizer = make_optimizer(self)
        factors = []
        if self.hparams.get("lr_decay") is not None:
            steps = self.trainer.max_steps
            if steps is None or steps <= 0:
                raise ValueError(
                    f"lr_decay {self.hparams.lr_decay!r} decays over trainer.max_steps, which "
                    f"is {steps}: set --trainer.max_steps"
                )
            final = self.hparams.lr_final_fraction
            factors.append(
                partial(cosine_factor, steps=steps, final=0.1 if final is None else final)
            )
        if self.hparams.get("lr_warmup_steps") is not None:
            factors.append(partial(warmup_factor, steps=self.hparams.lr_warmup_steps))
        if not factors:
            return optimizer
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(_product, factors))
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
