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

import copy
import warnings
from dataclasses import dataclass
from typing import Literal

import lightning
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from memnets.memn2n import MemN2N
from memnets.training.guards import check_finite_gradients, check_finite_loss
from memnets.training.pictures import hop_attention_figure
from memnets.training.resume import for_this_rank, gather_per_rank

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

    logits (..., B, O), answers (..., B): one value per leading index (runs trained together).
    Zero, not NaN, when every answer of the batch is unknown.
    """
    losses = F.cross_entropy(
        logits.flatten(0, -2), answers.flatten(), ignore_index=IGNORED_ANSWER, reduction="none"
    ).view_as(answers)  # (..., B), ignored entries 0
    total = losses.sum(-1)  # (...)
    if reduction == "sum":
        return total
    return total / answers.ne(IGNORED_ANSWER).sum(-1).clamp_min(1)


def answer_errors(logits: Tensor, answers: Tensor) -> Tensor:
    """1.0 where the argmax answer is wrong, else 0.0; unknown answers (-100) are wrong. (B,)"""
    return logits.argmax(-1).ne(answers).to(logits.dtype)


def _stacked_runs(model: MemN2N, seeds: list[int]) -> nn.ParameterDict:
    """The parameters of ``len(seeds)`` copies of ``model``, each initialised from its seed
    (``reset_parameters`` after ``torch.manual_seed``), stacked along a leading run axis R.
    Names are the model's with ``__`` for ``.`` (a ParameterDict key has no dots)."""
    copies = []
    for seed in seeds:
        run = copy.deepcopy(model)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            run.reset_parameters()
        copies.append(run)
    parameters, _ = torch.func.stack_module_state(copies)  # name -> (R, ...)
    return nn.ParameterDict(
        {name.replace(".", "__"): nn.Parameter(value) for name, value in parameters.items()}
    )


def stacked_names(parameters: dict[str, Tensor]) -> dict[str, Tensor]:
    """``_stacked_runs`` keys back to the names of ``_Network``'s parameters."""
    return {"model." + name.replace("__", "."): value for name, value in parameters.items()}


@dataclass
class _Questions:
    """The parts of a batch the network reads (for ``QAModule.forward``)."""

    story: Tensor
    question: Tensor
    story_mask: Tensor


class _Network(nn.Module):
    """``model.network`` as a module's forward, for ``torch.func.functional_call``."""

    def __init__(self, model: MemN2N) -> None:
        super().__init__()
        self.model = model

    def forward(self, story, question, story_mask, time, *, use_softmax: bool = True):
        return self.model.network(story, question, story_mask, time, use_softmax=use_softmax)


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
        run_seeds: list[int] | None = None,
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
        if run_seeds is not None and (not run_seeds or len(set(run_seeds)) != len(run_seeds)):
            raise ValueError(f"run_seeds must be distinct seeds, at least one, got {run_seeds!r}")
        self.save_hyperparameters(ignore=["model"])
        self.model = model
        self.runs = 1 if run_seeds is None else len(run_seeds)  # R
        self.run_parameters: nn.ParameterDict | None = None
        if run_seeds is not None:
            self.run_parameters = _stacked_runs(model, run_seeds)
            model.requires_grad_(False)  # the template: structure, buffers, no training
        self._generators: list[torch.Generator] | None = None  # per run, see _run_generators
        self._generator_states: list[Tensor] | None = None  # from a checkpoint, applied lazily
        # The attention mode the weights were last trained in; evaluation uses it.
        self.register_buffer("softmax_on", torch.tensor(linear_start_epochs == 0))
        self._train_totals = torch.zeros(self.runs, 4)  # this epoch's sums per run

    def forward(
        self, story: Tensor, question: Tensor, story_mask: Tensor | None = None, **kwargs
    ) -> Tensor:
        """The model's logits (B, O); with runs trained together, every run's (R, B, O)
        (``use_softmax`` the only option then)."""
        if self.run_parameters is None:
            return self.model(story, question, story_mask, **kwargs)
        if set(kwargs) - {"use_softmax"}:
            raise ValueError(f"runs trained together take only use_softmax, got {sorted(kwargs)}")
        if story_mask is None:
            story_mask = story.ne(0).any(-1)  # (B, N)
        batch = _Questions(story=story, question=question, story_mask=story_mask)
        softmax = kwargs.get("use_softmax", True)
        return self._logits(batch, softmax=softmax, per_run_data=False)  # (R, B, O)

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
        if model.answers_as_words:  # the rows that score the answers: the data's words
            expected["answer_word_ids"] = model.answer_word_ids.tolist()
        for name, value in expected.items():
            found = getattr(datamodule, name, None)
            if found is not None and found != value:
                raise ValueError(
                    f"the model has {name}={value} but the data module "
                    f"{type(datamodule).__name__} has {name}={found}; the CLI links these "
                    "from the data, and a checkpoint must be used with its own data"
                )
        if self.run_parameters is not None and self.trainer.world_size > 1:
            raise ValueError(
                "runs trained together (run_seeds) train in one process: use one device, or "
                f"one run per process for DDP (world size {self.trainer.world_size})"
            )

    # steps

    def _use_softmax(self) -> bool:
        """Softmax in the hops now: from the trainer's epoch while training, else the
        mode the weights were last trained in."""
        if self.training and self._trainer is not None and self.trainer.training:
            return use_softmax(self.current_epoch, self.hparams.linear_start_epochs)
        return bool(self.softmax_on)

    def _run_generators(self) -> list[torch.Generator]:
        """One generator per run for its random noise, seeded from its seed."""
        if self._generators is None or self._generators[0].device != self.device:
            self._generators = [
                torch.Generator(device=self.device).manual_seed(seed)
                for seed in self.hparams.run_seeds
            ]
            states, self._generator_states = self._generator_states, None
            for generator, state in zip(self._generators, states or []):
                try:  # a checkpoint's states: exact resume on the device they were saved on
                    generator.set_state(state)
                except RuntimeError:
                    warnings.warn(
                        "the runs' noise generators were saved on another kind of device; "
                        "they start again from their seeds",
                        stacklevel=2,
                    )
                    break
        return self._generators

    def _logits(self, batch, *, softmax: bool, per_run_data: bool) -> Tensor:
        """Logits (R, B, O) of every run. Training batches hold one batch per run (R, B, ...)
        when runs are trained together (``per_run_data``); evaluation batches are shared."""
        if self.run_parameters is None:  # one run: the model itself, torch's global generator
            return self.model(
                batch.story, batch.question, batch.story_mask, use_softmax=softmax
            ).unsqueeze(0)  # (1, B, O)
        parts = (batch.story, batch.question, batch.story_mask)
        if per_run_data:  # run r's own batch and noise: (R, B, N', L), (R, B, N'), (R, B, N')
            story, mask, time = self.model.prepare_runs(*parts, generators=self._run_generators())
        else:  # one batch for every run: (B, N', L), (B, N'), (B, N')
            story, mask, time = self.model.prepare(*parts, generator=self._run_generators()[0])
        question = batch.question  # (R, B, L') or (B, L')
        data_dim = 0 if per_run_data else None
        buffers = dict(self.model.named_buffers())

        def network(parameters, story, question, mask, time):
            return torch.func.functional_call(
                _Network(self.model),
                {**stacked_names(parameters), **{f"model.{k}": v for k, v in buffers.items()}},
                (story, question, mask, time),
                {"use_softmax": softmax},
            )[0]  # (B, O)

        return torch.func.vmap(network, in_dims=(0, data_dim, data_dim, data_dim, data_dim))(
            dict(self.run_parameters), story, question, mask, time
        )  # (R, B, O)

    def _evaluate(
        self, batch, *, softmax: bool, per_run_data: bool = False
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Per run: logits (R, B, O), the summed loss (R,), the known answers (R,), errors
        (R, B)."""
        logits = self._logits(batch, softmax=softmax, per_run_data=per_run_data)  # (R, B, O)
        answers = batch.answer if per_run_data else batch.answer.expand(self.runs, -1)  # (R, B)
        if self.run_parameters is None:
            answers = answers.reshape(1, -1)  # (1, B)
        targets = self.model.answer_targets(answers)  # (R, B)
        total = masked_cross_entropy(logits, targets, reduction="sum")  # (R,)
        known = targets.ne(IGNORED_ANSWER).sum(-1)  # (R,)
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
        # per run: loss sum, known answers, errors, questions: the epoch means, without a
        # self.log per step (each costs milliseconds, as much as a step of this small model)
        self._train_totals = torch.zeros(self.runs, 4, device=self.device)

    def training_step(self, batch, batch_idx: int) -> Tensor:
        softmax = self._use_softmax()
        _, total, known, errors = self._evaluate(
            batch, softmax=softmax, per_run_data=self.run_parameters is not None
        )  # (R,), (R,), (R, B)
        loss = total / known.clamp_min(1)  # (R,) mean per question
        check_finite_loss(loss.sum(), step=self.global_step)
        questions = loss.new_full((self.runs,), float(errors.shape[-1]))  # (R,)
        self._train_totals = self._train_totals.to(self.device)  # (R, 4), restored on CPU
        self._train_totals += torch.stack(
            [total.detach(), known.to(loss.dtype), errors.sum(-1).detach(), questions], dim=-1
        )  # (R, 4)
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:
            log = dict(on_step=True, on_epoch=False, batch_size=errors.shape[-1])
            self.log("train/loss", loss.mean(), **log)
            self.log("train/error", errors.mean(), prog_bar=True, **log)
            self.log("train/use_softmax", float(softmax), **log)
        # runs share no parameter: the sum trains each run on its own loss
        return total.sum() if self.hparams.loss_reduction == "sum" else loss.sum()

    def on_train_epoch_end(self) -> None:
        loss_sum, known, error_sum, questions = self._train_totals.unbind(-1)  # (R,) each
        log = dict(on_step=False, on_epoch=True, sync_dist=True)
        losses, errors = loss_sum / known.clamp_min(1), error_sum / questions.clamp_min(1)
        self.log("train/loss_epoch", losses.mean(), **log)
        self.log("train/error_epoch", errors.mean(), **log)
        if self.run_parameters is not None:
            for run in range(self.runs):
                self.log(f"train/error_epoch_run{run}", errors[run], **log)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # the epoch's sums so far: a run resumed mid-epoch reports the same epoch means; every
        # rank's own under DDP, a list by global rank (a collective: every rank is here)
        totals = self._train_totals.detach().cpu().clone()
        trainer = self._trainer
        checkpoint["train_totals"] = (
            [totals] if trainer is None else gather_per_rank(trainer, totals)
        )
        if self._generators is not None:  # each run's noise stream, for an exact resume
            checkpoint["run_generators"] = [g.get_state() for g in self._generators]

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("state_dict", {})
        if "answer_word_ids" in state:  # written before the model held the answer words
            state["model.answer_word_ids"] = state.pop("answer_word_ids")
        if "train_totals" in checkpoint:
            totals = checkpoint["train_totals"]  # a tensor before the sums were per rank
            if isinstance(totals, list):
                trainer = self._trainer
                totals = (
                    totals[0]
                    if trainer is None
                    else for_this_rank(trainer, totals, what="training sums of the epoch")
                )
            totals = totals.to(self.device)
            self._train_totals = totals.reshape(self.runs, 4)  # (4,) before runs existed
        if "run_generators" in checkpoint and self.run_parameters is not None:
            self._generator_states = checkpoint["run_generators"]  # set on the model's device
            self._generators = None
        tables = [value for name, value in state.items() if "embeddings" in name]
        if any(bool(table[..., 0, :].any()) for table in tables):
            warnings.warn(
                "this checkpoint's nil-word rows are not zero: it was trained before the nil "
                "word was fixed (memnets.memn2n.REVISION 1); the model ignores those rows now, "
                "so its numbers differ from the ones it was trained to",
                stacklevel=2,
            )

    def _evaluation_step(self, batch, stage: str) -> None:
        _, total, known, errors = self._evaluate(batch, softmax=self._use_softmax())
        # (R,), (R,), (R, B)
        log = dict(on_step=False, on_epoch=True, sync_dist=True)
        questions = max(int(known[0]), 1)  # every run sees the same questions
        self.log(f"{stage}/loss", (total / known.clamp_min(1)).mean(), batch_size=questions, **log)
        batch_size = errors.shape[-1]
        self.log(
            f"{stage}/error",
            errors.mean(),
            batch_size=batch_size,
            prog_bar=stage == "val",
            **log,
        )
        per_run = self.run_parameters is not None
        if per_run:
            for run in range(self.runs):
                error = errors[run].mean()
                self.log(f"{stage}/error_run{run}", error, batch_size=batch_size, **log)
        for task in torch.unique(batch.task).tolist():  # weighted means per bAbI task
            selected = batch.task == task  # (B,)
            count = int(selected.sum())
            task_errors = errors[:, selected].mean(-1)  # (R,)
            self.log(f"{stage}/error_task{task}", task_errors.mean(), batch_size=count, **log)
            if per_run:
                for run in range(self.runs):
                    name = f"{stage}/error_task{task}_run{run}"
                    self.log(name, task_errors[run], batch_size=count, **log)

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
        arguments = (batch.story, batch.question, batch.story_mask)
        options = {"use_softmax": bool(self.softmax_on), "return_internals": True}
        if self.run_parameters is None:
            logits, internals = self.model(*arguments, **options)  # (1, O), (1, K, N)
        else:  # the first run's weights
            first = {name: value[0] for name, value in stacked_names(self.run_parameters).items()}
            logits, internals = torch.func.functional_call(
                self.model, {k[len("model.") :]: v for k, v in first.items()}, arguments, options
            )
        real = batch.story_mask[0]  # (N,)
        attention = internals.attention[0][:, real].detach().float().cpu()  # (K, N real)
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
        if self.run_parameters is not None:
            if gradient_clip_val:
                self._clip_runs(gradient_clip_val, gradient_clip_algorithm)
            return
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

    def _clip_runs(self, max_norm: float, algorithm: str | None) -> None:
        """Gradient clipping of runs trained together: each run on its own, by value, by the
        norm of each of its parameters (``clip_per_parameter``) or by its global norm."""
        grads = [p.grad for p in self.run_parameters.values() if p.grad is not None]
        if algorithm == "value":
            for grad in grads:
                grad.clamp_(-max_norm, max_norm)
            return
        norms = torch.stack([grad.flatten(1).norm(dim=1) for grad in grads])  # (P, R)
        if not self.hparams.clip_per_parameter:
            norms = norms.norm(dim=0, keepdim=True).expand_as(norms)  # (P, R) each run's total
        coefficients = (max_norm / (norms + 1e-6)).clamp(max=1.0)  # (P, R) as clip_grad_norm_
        for grad, coefficient in zip(grads, coefficients):
            grad.mul_(coefficient.view(-1, *([1] * (grad.dim() - 1))))

    def _trained_parameters(self) -> list[nn.Parameter]:
        return [parameter for parameter in self.parameters() if parameter.requires_grad]

    def configure_optimizers(self):
        hp = self.hparams
        if hp.optimizer == "adam":
            optimizer = torch.optim.Adam(self._trained_parameters(), lr=hp.lr)
        else:
            optimizer = torch.optim.SGD(self._trained_parameters(), lr=hp.lr)

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
