"""LightningModule training an End-To-End Memory Network on bAbI question answering.

Training protocol of Sukhbaatar et al. 2015, section 4.2, as the authors' MATLAB code
(facebookarchive/MemNN, ``MemN2N-babi-matlab``) runs it:

    linear start  the first ``linear_start_epochs`` epochs (20 per task, 30 joint) train
                  without the softmax in the hops, at ``linear_start_lr`` (0.005), constant;
    then          the softmax is put back and training goes on at ``lr`` (0.01), halved
                  every ``lr_halve_every`` epochs (25 per task, 15 joint). As in the authors'
                  ``train.m`` (``if mod(ep, lrate_decay_step) == 0``, ``ep`` counted from 1
                  again when the softmax comes back), the halvings come at the START of the
                  softmax phase's epochs 25, 50, 75, 100 (1-based): its first period is 24
                  epochs, the others 25. See :func:`learning_rate`.

The authors' code trains 100 epochs AFTER the 20 linear-start ones (120 in all; the joint
config 30 + 60), so the configs set ``trainer.max_epochs`` to the sum. One difference we keep
on purpose: their ``config_babi.m`` overwrites ``init_lrate`` with the linear-start rate before
``train_linear_start.m`` saves it, so their softmax phase in fact restarts at 0.005, not the
0.01 the paper states; we follow the paper (pass ``lr: 0.005`` to follow the code).
``linear_start_epochs: 0`` trains with the softmax throughout, halvings counted from epoch 0.

Linear start is switched by the trainer's epoch, read at every step and passed to the model
as ``use_softmax=``, so a run resumed from a checkpoint picks the right phase; the learning
rate is a ``LambdaLR`` of the epoch whose state is checkpointed too. Evaluation uses the mode
the weights were last trained in (the ``softmax_on`` buffer, saved in checkpoints), so a model
tested after only linear-start epochs is tested as it was trained.

Answers (section 2.2): under adjacent tying the paper ties the answer matrix to the last
output embedding, W^T = C^K, with the answers as words. ``answers_as_words`` (the default for
adjacent tying) does this: the model's vocabulary gets one extra row per answer class, an
answer that is a vocabulary word is scored by its word's row (:func:`answer_word_ids`, set
from the data module's vocabulary at setup and saved in checkpoints), and the softmax runs
over the whole vocabulary, as in the authors' code; a prediction that is not the answer's
row is wrong. This matters: on the real task 11 one seed reached 0.5% test error tied and
13.5% with a separate W. ``answers_as_words=False`` (the default for layer-wise tying, where
the paper has a separate W) scores the answer classes with their own W.

Loss: cross-entropy over the answers, SUMMED over the batch ("cost is not averaged
over a batch", section 4.2; ``size_average = false`` in the authors' ``build_model.m``), so
lr 0.01 is per summed batch of 32: about 0.32 for a batch mean. ``loss_reduction="mean"``
averages instead. Gradient clipping: the Trainer's ``gradient_clip_val`` (40), applied by
default to each parameter's gradient on its own, as the authors' ``Weight.update`` does per
weight matrix (``clip_per_parameter=False``: Lightning's one global norm). The logged losses
are always means per question. Test questions whose answer never occurs in
training (``UNKNOWN_ANSWER_INDEX`` = -100) are left out of the loss and always count as wrong.
Logged: ``train/loss``, ``train/error``, ``train/use_softmax`` every ``log_every_n_steps``
steps, the epoch means ``train/loss_epoch``, ``train/error_epoch`` (over every step), and per
epoch ``val/loss``, ``val/error``, ``test/loss``, ``test/error`` and per bAbI task
``{val,test}/error_task{N}``; the learning rate comes from the CLI's LearningRateMonitor.

Speed: each batch is cut to the memory slots its stories use (:func:`trim_padding`, exact),
which halves the work on the many tasks with short stories, and the training metrics are
summed on the module rather than sent through ``self.log`` at every step (a ``self.log``
call costs about as much as a training step of this small model on a CPU).

Tensor letters as in the package glossary (``memnets/__init__.py``): B batch, O outputs.
"""

from __future__ import annotations

from typing import Literal

import lightning
import torch
import torch.nn.functional as F
from torch import Tensor

from memnets.memn2n import MemN2N
from memnets.training.guards import check_finite_gradients, check_finite_loss
from memnets.training.pictures import hop_attention_figure

__all__ = [
    "QAModule",
    "answer_errors",
    "learning_rate",
    "masked_cross_entropy",
    "use_softmax",
]

IGNORED_ANSWER = -100  # tasks.babi.vocab.UNKNOWN_ANSWER_INDEX, cross_entropy's ignore_index

# helpers


def use_softmax(epoch: int, linear_start_epochs: int) -> bool:
    """Whether the hops use the softmax in (0-based) ``epoch``: False during linear start.

    >>> [use_softmax(epoch, 2) for epoch in range(4)]
    [False, False, True, True]
    """
    return epoch >= linear_start_epochs


def learning_rate(
    epoch: int,
    *,
    lr: float,
    lr_halve_every: int,
    linear_start_epochs: int = 0,
    linear_start_lr: float | None = None,
) -> float:
    """The learning rate of (0-based) ``epoch``, as the authors' ``train.m`` schedules it.

    Linear-start epochs run at ``linear_start_lr`` (``lr`` if None), constant. After them,
    with e the 0-based epoch of the softmax phase, the rate is
    ``lr * 0.5 ** ((e + 1) // lr_halve_every)``: halved at the start of the phase's 1-based
    epochs 25, 50, 75, ... (``mod(ep, 25) == 0`` in the MATLAB code). ``lr_halve_every=0``
    keeps ``lr`` constant.

    >>> [learning_rate(e, lr=0.01, lr_halve_every=2, linear_start_epochs=1,
    ...                linear_start_lr=0.005) for e in range(5)]
    [0.005, 0.01, 0.005, 0.005, 0.0025]
    """
    if epoch < linear_start_epochs:
        return lr if linear_start_lr is None else linear_start_lr
    if lr_halve_every <= 0:
        return lr
    phase_epoch = epoch - linear_start_epochs  # 0-based epoch since the softmax came back
    return lr * 0.5 ** ((phase_epoch + 1) // lr_halve_every)


def masked_cross_entropy(logits: Tensor, answers: Tensor, *, reduction: str = "mean") -> Tensor:
    """Cross-entropy over the questions whose answer is known (not -100), their ``"mean"``
    or ``"sum"``.

    logits (B, O), answers (B,). Zero, not NaN, when every answer of the batch is unknown.
    """
    losses = F.cross_entropy(logits, answers, ignore_index=IGNORED_ANSWER, reduction="none")
    total = losses.sum()  # ignored entries are 0 in ``losses``
    if reduction == "sum":
        return total
    return total / answers.ne(IGNORED_ANSWER).sum().clamp_min(1)


def answer_errors(logits: Tensor, answers: Tensor) -> Tensor:
    """1.0 where the argmax answer is wrong, else 0.0; unknown answers (-100) are wrong. (B,)"""
    return logits.argmax(-1).ne(answers).to(logits.dtype)


# classes


class QAModule(lightning.LightningModule):
    """Trains the :class:`memnets.memn2n.MemN2N` it is given on bAbI (batches of ``BabiBatch``).

    The model is built by the caller (the CLI builds it from the YAML, with its vocabulary,
    answer classes, answer words and memory size linked from the data module). The training
    arguments are explained in the module docstring. Gradient clipping (norm 40 in the paper)
    takes the Trainer's ``gradient_clip_val``, per parameter unless
    ``clip_per_parameter=False``.
    """

    def __init__(
        self,
        model: MemN2N,
        *,
        optimizer: Literal["sgd", "adam"] = "sgd",
        loss_reduction: Literal["sum", "mean"] = "sum",
        clip_per_parameter: bool = True,
        lr: float = 0.01,
        lr_halve_every: int = 25,
        linear_start_epochs: int = 20,
        linear_start_lr: float = 0.005,
    ) -> None:
        super().__init__()
        if not isinstance(model, MemN2N):
            raise TypeError(f"model must be a memnets.memn2n.MemN2N, got {type(model).__name__}")
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
        if loss_reduction not in ("sum", "mean"):
            raise ValueError(f"loss_reduction must be 'sum' or 'mean', got {loss_reduction!r}")
        for name, value in (
            ("lr", lr),
            ("linear_start_lr", linear_start_lr),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        for name, value in (
            ("lr_halve_every", lr_halve_every),
            ("linear_start_epochs", linear_start_epochs),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        self.save_hyperparameters(ignore=["model"])
        self.model = model
        # The attention mode the weights were last trained in; evaluation uses it.
        self.register_buffer("softmax_on", torch.tensor(linear_start_epochs == 0))
        self._train_totals = torch.zeros(4)  # this epoch's sums, see on_train_epoch_start

    def forward(self, story: Tensor, question: Tensor, story_mask: Tensor | None = None, **kwargs):
        return self.model(story, question, story_mask, **kwargs)

    # set-up

    def setup(self, stage: str) -> None:
        """A data module that knows its sizes must agree with the model's (a checkpoint
        must be used with the data it was trained on)."""
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        model = self.model
        expected = {
            "vocab_size": model.vocab_size,
            "num_answers": model.num_answers,
            "memory_size": model.memory_size,
        }
        for name, value in expected.items():
            found = getattr(datamodule, name, None)
            if found is not None and found != value:
                raise ValueError(
                    f"the model has {name}={value} but the data module "
                    f"{type(datamodule).__name__} has {name}={found}; the CLI links these "
                    "sizes from the data, and a checkpoint must be used with its own data"
                )

    # steps

    def _use_softmax(self) -> bool:
        """Softmax in the hops now: from the trainer's epoch while training, else the
        mode the weights were last trained in."""
        if self.training and self._trainer is not None and self.trainer.training:
            return use_softmax(self.current_epoch, self.hparams.linear_start_epochs)
        return bool(self.softmax_on)

    def _evaluate(self, batch, *, softmax: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Returns logits (B, O), the summed loss, the number of known answers, errors (B,)."""
        logits = self.model(batch.story, batch.question, batch.story_mask, use_softmax=softmax)
        # (B, O): answer classes, or the whole vocabulary with answers as words
        targets = self.model.answer_targets(batch.answer)  # (B,)
        total = masked_cross_entropy(logits, targets, reduction="sum")
        known = targets.ne(IGNORED_ANSWER).sum()
        return logits, total, known, answer_errors(logits, targets)

    def _decode(self, output: int, vocabulary) -> str:
        """The text of the model's output index ``output``: an answer, or a word that is no
        answer."""
        answer = self.model.answer_class(output)
        if answer is not None:
            return vocabulary.decode_answer(answer)
        if output < len(vocabulary.words):
            return vocabulary.words[output]
        return vocabulary.decode_answer(output - len(vocabulary.words))

    def on_train_epoch_start(self) -> None:
        self.softmax_on.fill_(use_softmax(self.current_epoch, self.hparams.linear_start_epochs))
        # loss sum, known answers, errors, questions: the epoch means, without a self.log per
        # step (each costs milliseconds, as much as a step of this small model on a CPU)
        self._train_totals = torch.zeros(4, device=self.device)

    def training_step(self, batch, batch_idx: int) -> Tensor:
        softmax = self._use_softmax()
        _, total, known, errors = self._evaluate(batch, softmax=softmax)
        loss = total / known.clamp_min(1)  # mean per question
        check_finite_loss(loss, step=self.global_step)
        counts = torch.stack([known.to(loss.dtype), loss.new_tensor(float(errors.numel()))])
        self._train_totals += torch.stack(
            [total.detach(), counts[0], errors.sum().detach(), counts[1]]
        )
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:
            log = dict(on_step=True, on_epoch=False, batch_size=errors.numel())
            self.log("train/loss", loss, **log)
            self.log("train/error", errors.mean(), prog_bar=True, **log)
            self.log("train/use_softmax", float(softmax), **log)
        return total if self.hparams.loss_reduction == "sum" else loss

    def on_train_epoch_end(self) -> None:
        loss_sum, known, error_sum, questions = self._train_totals
        log = dict(on_step=False, on_epoch=True, sync_dist=True)
        self.log("train/loss_epoch", loss_sum / known.clamp_min(1), **log)
        self.log("train/error_epoch", error_sum / questions.clamp_min(1), **log)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # the epoch's sums so far: a run resumed mid-epoch reports the same epoch means
        checkpoint["train_totals"] = self._train_totals.detach().cpu().clone()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("state_dict", {})
        if "answer_word_ids" in state:  # written before the model held the answer words
            state["model.answer_word_ids"] = state.pop("answer_word_ids")
        if "train_totals" in checkpoint:
            self._train_totals = checkpoint["train_totals"].to(self.device)

    def _evaluation_step(self, batch, stage: str) -> None:
        _, total, known, errors = self._evaluate(batch, softmax=self._use_softmax())
        log = dict(on_step=False, on_epoch=True, sync_dist=True)
        self.log(f"{stage}/loss", total / known.clamp_min(1), batch_size=max(int(known), 1), **log)
        self.log(
            f"{stage}/error",
            errors.mean(),
            batch_size=errors.numel(),
            prog_bar=stage == "val",
            **log,
        )
        for task in torch.unique(batch.task).tolist():  # weighted means per bAbI task
            selected = batch.task == task  # (B,)
            self.log(
                f"{stage}/error_task{task}",
                errors[selected].mean(),
                batch_size=int(selected.sum()),
                **log,
            )

    def on_before_optimizer_step(self, optimizer) -> None:
        check_finite_gradients(self, step=self.global_step)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluation_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluation_step(batch, "test")

    # pictures

    def memory_figures(self, datamodule) -> dict:
        """Per-hop attention over the real sentences of the data module's fixed question."""
        example = datamodule.fixed_example()
        batch = example.batch.to(self.device)
        logits, internals = self.model(
            batch.story,
            batch.question,
            batch.story_mask,
            use_softmax=bool(self.softmax_on),
            return_internals=True,
        )  # (1, O), attention (1, H, S)
        real = batch.story_mask[0]  # (S,)
        attention = internals.attention[0][:, real].detach().float().cpu()  # (H, S real)
        sentences = [
            ("* " if supporting else "") + sentence
            for sentence, supporting, keep in zip(
                example.sentences, example.supporting, real.tolist()
            )
            if keep
        ]  # supporting sentences are starred
        predicted = self._decode(int(logits[0].argmax()), datamodule.vocabulary)
        question = example.question + ("" if bool(self.softmax_on) else "  [linear start]")
        return {
            "memory/hop_attention": hop_attention_figure(
                attention,
                sentences,
                question=question,
                answer=example.answer,
                predicted=predicted,
            )
        }

    # optimisation

    def configure_gradient_clipping(
        self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None
    ) -> None:
        """Clip each parameter's gradient norm on its own when ``clip_per_parameter``."""
        if (
            not self.hparams.clip_per_parameter
            or not gradient_clip_val
            or gradient_clip_algorithm not in (None, "norm")
        ):
            self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)
            return
        for parameter in self.parameters():
            if parameter.grad is not None:
                torch.nn.utils.clip_grad_norm_(parameter, gradient_clip_val)

    def configure_optimizers(self):
        hp = self.hparams
        if hp.optimizer == "adam":
            optimizer = torch.optim.Adam(self.parameters(), lr=hp.lr)
        else:
            optimizer = torch.optim.SGD(self.parameters(), lr=hp.lr)

        def factor(epoch: int) -> float:
            return (
                learning_rate(
                    epoch,
                    lr=hp.lr,
                    lr_halve_every=hp.lr_halve_every,
                    linear_start_epochs=hp.linear_start_epochs,
                    linear_start_lr=hp.linear_start_lr,
                )
                / hp.lr
            )

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }
