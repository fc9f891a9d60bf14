"""LightningModule training a recurrent memory model (a DNC, an NTM) on bAbI stories read one
word per step, the DNC paper's format (``tasks.babi.sequences``).

The model is called as ``logits, state = model(x)`` on one-hot words x (B, T, V) and scores
every word at every step (B, T, V); the loss is the cross-entropy at the answer steps ('-')
only, averaged over the batch's answer words. Logged: loss; the error rate per question (a
question is right only if all of its answer words are) over all questions and per bAbI task
(``val/error_task3``); the number of training stories seen. The pictures are those of the
algorithmic tasks' module (``dnc_figures``, ``ntm_figures``) for one fixed validation story.
"""

from __future__ import annotations

from typing import Literal

import lightning
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from memnets.training.guards import check_finite_gradients, check_finite_loss
from memnets.training.sequence_module import make_optimizer, model_figures

IGNORED = -100  # targets away from the answer steps (cross_entropy's ignore_index)

# helpers


def question_errors(logits: Tensor, targets: Tensor, questions: Tensor) -> tuple[Tensor, Tensor]:
    """Which questions were answered wrong: logits (B, T, V), targets and questions (B, T)
    -> (wrong (B, Q) bool, asked (B, Q) bool), Q = the most questions of a story.

    A question is wrong if any of its answer steps' argmax differs from the target (a target
    the vocabulary lacks, -100, is never matched).
    """
    answer_steps = questions >= 0  # (B, T)
    wrong_steps = (logits.argmax(dim=-1) != targets) & answer_steps  # (B, T)
    count = int(questions.max()) + 1 if answer_steps.any() else 0
    index = questions.clamp_min(0)  # (B, T): steps off the answers add nothing below
    shape = (questions.shape[0], count)
    if count == 0:  # no answer step: no question (scattering into Q = 0 columns would fail)
        asked = torch.zeros(shape, dtype=torch.bool, device=logits.device)
        return asked.clone(), asked
    wrong = torch.zeros(shape, dtype=torch.long, device=logits.device)
    wrong = wrong.scatter_add(1, index, wrong_steps.long()) > 0  # (B, Q)
    asked = torch.zeros(shape, dtype=torch.long, device=logits.device)
    asked = asked.scatter_add(1, index, answer_steps.long()) > 0  # (B, Q)
    return wrong, asked


# module


class SequenceQAModule(lightning.LightningModule):
    """Trains the sequence model it is given on bAbI word sequences (``BabiSequenceDataModule``).

    The CLI builds the model from the YAML with its input and output sizes (the vocabulary)
    linked from the data module. Optimisers: ``"rmsprop"`` (the DNC paper's for bAbI: lr 1e-4,
    momentum 0.9) or ``"adam"``. Gradient clipping is the Trainer's. ``run_seeds`` must stay
    None (runs trained together are the MemN2N QA module's).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        run_seeds: list[int] | None = None,
        optimizer: Literal["adam", "rmsprop"] = "rmsprop",
        lr: float = 1e-4,
        momentum: float = 0.9,
        rmsprop_alpha: float = 0.95,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        if optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"optimizer must be 'adam' or 'rmsprop', got {optimizer!r}")
        if run_seeds is not None:
            raise ValueError(
                "runs trained together (run_seeds) are implemented for the QA module only; "
                "train one run per process"
            )
        self.save_hyperparameters(ignore=["model", "run_seeds"])
        self.model = model
        self.stories_seen = 0  # training stories so far, all ranks (kept in checkpoints)

    def forward(self, words: Tensor, **kwargs):
        """words (B, T) int64 -> the model's output on their one-hot vectors."""
        return self.model(self._one_hot(words), **kwargs)

    def _one_hot(self, words: Tensor) -> Tensor:
        size = self.model.input_size
        if int(words.max()) >= size:
            raise ValueError(
                f"word id {int(words.max())} is outside the model's input_size {size}: the "
                "model was built for another vocabulary"
            )
        return F.one_hot(words, size).to(self.dtype)  # (B, T, V)

    # steps

    def _shared_step(self, batch, stage: str) -> Tensor:
        logits, _ = self(batch.inputs)  # (B, T, V)
        answers = batch.targets != IGNORED  # (B, T) answer steps whose word the vocabulary has
        known = int(answers.sum())
        if known:  # the mean over the known answer words
            loss = F.cross_entropy(logits[answers], batch.targets[answers])
        else:  # no answer word the model can name: nothing to learn from, no loss to log
            loss = logits.sum() * 0.0
        wrong, asked = question_errors(logits, batch.targets, batch.questions)  # (B, Q) each
        questions = max(int(asked.sum()), 1)
        error = wrong.sum() / questions
        log = dict(on_step=stage == "train", on_epoch=stage != "train", sync_dist=stage != "train")
        if known:
            self.log(f"{stage}/loss", loss, batch_size=known, **log)
        self.log(f"{stage}/error", error, batch_size=questions, prog_bar=True, **log)
        if stage != "train":
            for task in torch.unique(batch.task).tolist():  # weighted means per bAbI task
                selected = batch.task == task  # (B,)
                count = max(int(asked[selected].sum()), 1)
                task_error = wrong[selected].sum() / count
                self.log(f"{stage}/error_task{task}", task_error, batch_size=count, **log)
        return loss

    def training_step(self, batch, batch_idx: int) -> Tensor:
        loss = self._shared_step(batch, "train")
        check_finite_loss(loss, step=self.global_step)
        self.stories_seen += len(batch) * self.trainer.world_size  # the last batch may be short
        self.log("train/stories", float(self.stories_seen), on_step=True, on_epoch=False)
        return loss

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["stories_seen"] = self.stories_seen

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.stories_seen = int(checkpoint.get("stories_seen", 0))

    def on_before_optimizer_step(self, optimizer) -> None:
        check_finite_gradients(self, step=self.global_step)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._shared_step(batch, "test")

    # pictures

    def memory_figures(self, datamodule) -> dict:
        """The model's memory pictures (``dnc_figures`` or ``ntm_figures``) over one fixed
        validation story."""
        example = datamodule.fixed_story()
        one_hot = self._one_hot(example.batch.inputs.to(self.device))  # (1, T, V)
        return model_figures(self.model, one_hot)[1]

    # optimisation

    def configure_optimizers(self):
        return make_optimizer(self)
