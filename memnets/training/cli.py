"""The command line: Lightning's ``LightningCLI`` with memnets' defaults.

    python train.py fit --config configs/ntm_copy.yaml
    python train.py validate --config configs/ntm_copy.yaml --ckpt_path runs/.../last.ckpt
    python train.py fit --config configs/ntm_copy.yaml --print_config

Model and data are chosen by ``class_path`` in the YAML configs: the training module
(``model``) receives the model (``model.init_args.model``), and the sizes that come from the
data module (``DATA_SIZES``) are linked into the model. Checkpointing
(``last.ckpt`` and the best by the validation metric) and the memory pictures
are always on and configurable under ``checkpoint:`` and ``pictures:``.
After ``fit`` the best checkpoint (the final weights when none is kept) is tested and a
summary printed; the metrics at the end of fitting stay in ``cli.fit_metrics``.

Ctrl-C or SIGTERM stops after the current training step and writes ``last.ckpt``; resuming
from it with ``--ckpt_path`` replays the uninterrupted run exactly, as does resuming a run
that ended at ``max_steps`` with a larger ``max_steps`` (see :mod:`memnets.training.resume`).
A non-finite loss or gradient stops with an error naming the step and leaves ``last.ckpt`` as
it was.
"""

from __future__ import annotations

import importlib
import sys
import time
from functools import partial
from pathlib import Path

import torch
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.cli import LightningCLI

from memnets.training.configs import ConfigError, expand_config_args
from memnets.training.generalisation import GeneralisationReport
from memnets.training.guards import NonFiniteError
from memnets.training.migrate import migrate_module_arguments
from memnets.training.pictures import MemoryPictures
from memnets.training.resume import ResumableCheckpoint, TrainingStateCheckpoint

# sizes that come from the data, linked into the model when the model takes them
DATA_SIZES = (
    "input_size",
    "output_size",
    "vocab_size",
    "num_answers",
    "answer_word_ids",
    "memory_size",
)


def _data_size(datamodule, *, name: str):
    """The data module's ``name`` (None when it has none: then the model's own is kept)."""
    return getattr(datamodule, name, None)


def import_class(class_path: str):
    """The class (or function) a dotted ``class_path`` names."""
    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _data_identity(class_path: str, arguments: dict) -> tuple[str, str] | None:
    """What a checkpoint must share with the data it is evaluated on, and a description of it:
    the data module's class and the task (an algorithmic task's name and its input and output
    sizes; the bAbI task numbers). None when that cannot be told (an unknown data module)."""
    kind = class_path.rpartition(".")[2]
    if kind == "AlgorithmicDataModule":
        from memnets_tasks.algorithmic import make_task

        task = arguments.get("task")
        if "task_name" in arguments:  # a checkpoint's record of its task
            task = make_task(arguments["task_name"], **(arguments.get("task_config") or {}))
        elif task is None:
            task = make_task("copy")
        else:  # a config's {class_path, init_args}
            task = import_class(task["class_path"])(**dict(task.get("init_args") or {}))
        sizes = f"input size {task.input_size}, output size {task.output_size}"
        return f"{kind}/{task.name}/{sizes}", f"{task.name} ({sizes}; {task.config()})"
    if kind in ("BabiDataModule", "BabiSequenceDataModule"):
        tasks = arguments.get("task")
        tasks = sorted(tasks) if isinstance(tasks, list) else [tasks]
        return f"{kind}/{tasks}", f"bAbI task{'s' if len(tasks) > 1 else ''} {tasks}"
    return None


def _check_same_data(ckpt_path: str, checkpoint: dict, data) -> None:
    """Refuse to evaluate a checkpoint on another task's data, naming both."""
    saved = checkpoint.get("datamodule_hyper_parameters")
    if not saved or data is None or not getattr(data, "class_path", None):
        return
    try:
        trained = _data_identity(saved["_class_path"], dict(saved))
        given = _data_identity(data.class_path, _plain(data.get("init_args")))
    except (ImportError, KeyError, TypeError, ValueError, AttributeError):
        return  # a data module or task this check does not know: Lightning's own errors apply
    if trained is None or given is None:
        return
    if trained[0] != given[0] or (
        saved["_class_path"].rpartition(".")[2] != data.class_path.rpartition(".")[2]
    ):
        raise ConfigError(
            f"checkpoint {ckpt_path} was trained on {trained[1]} "
            f"({saved['_class_path'].rpartition('.')[2]}), but the config's data is {given[1]} "
            f"({data.class_path.rpartition('.')[2]}): give the config of the checkpoint's run "
            "(its config.yaml, beside checkpoints/) or a checkpoint of this task"
        )


def _plain(value):
    """A jsonargparse Namespace (nested) as dicts."""
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return dict(value or {})


class MemnetsCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument(
            "--num_threads",
            type=int,
            default=1,
            help="torch intra-op threads; small recurrent models run fastest on 1 (bench/)",
        )
        parser.add_argument(
            "--base",
            type=str | None,
            default=None,
            help="the config this config extends (resolved before parsing; see "
            "memnets.training.configs)",
        )
        parser.add_lightning_class_args(ResumableCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.save_last": True,
                "checkpoint.monitor": "val/bit_errors",
                "checkpoint.mode": "min",
                "checkpoint.filename": "best-{step}",
                # at the end of the validation, never after the epoch's end hooks: Lightning
                # does not resume exactly from there (memnets.training.resume)
                "checkpoint.save_on_train_epoch_end": False,
            }
        )
        parser.add_lightning_class_args(MemoryPictures, "pictures")
        parser.add_lightning_class_args(GeneralisationReport, "generalisation")
        parser.link_arguments(  # runs trained together: their seeds, set on the data
            "data",
            "model.init_args.run_seeds",
            compute_fn=partial(_data_size, name="run_seeds"),
            apply_on="instantiate",
        )
        for size in DATA_SIZES:  # a size the chosen model lacks is not linked
            parser.link_arguments(
                "data",
                f"model.init_args.model.init_args.{size}",
                compute_fn=partial(_data_size, name=size),
                apply_on="instantiate",
            )

    def _parse_ckpt_path(self) -> None:
        """Lightning's: a checkpoint's saved module arguments update the config. Here first
        migrated from the layout before the models were injected (memnets.training.migrate),
        so that older checkpoints still load in ``test``/``validate``."""
        if not self.config.get("subcommand"):
            return
        ckpt_path = self.config[self.config.subcommand].get("ckpt_path")
        if not ckpt_path or not Path(ckpt_path).is_file():
            return
        checkpoint = torch.load(ckpt_path, weights_only=True, map_location="cpu")
        _check_same_data(ckpt_path, checkpoint, self.config[self.config.subcommand].get("data"))
        hparams = dict(checkpoint.get("hyper_parameters", {}))
        hparams.pop("_instantiator", None)
        if "_class_path" not in hparams:
            return super()._parse_ckpt_path()
        class_path = hparams.pop("_class_path")
        arguments = migrate_module_arguments(class_path, hparams)
        model = {"class_path": class_path, "init_args": arguments}
        update = {self.config.subcommand: {"model": model}}
        data = self.config[self.config.subcommand].get("data")
        seeds = arguments.get("run_seeds")
        if seeds is not None and data is not None and "run_seeds" in (data.get("init_args") or {}):
            # runs trained together: the data module's seeds are linked into the module
            update[self.config.subcommand]["data"] = {
                "class_path": data.class_path,
                "init_args": {"run_seeds": seeds},
            }
        try:
            self.config = self.parser.parse_object(update, self.config)
        except SystemExit:
            sys.stderr.write(f"Parsing of the hyperparameters saved in {ckpt_path} failed!\n")
            raise

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        torch.set_num_threads(config.num_threads)
        config.base = None  # already applied: the saved config.yaml stands alone
        if self.subcommand != "fit":  # only a fit run saves its config.yaml (beside its
            self.save_config_callback = None  # checkpoints); a test must not overwrite one
        self._started = time.perf_counter()

    def after_instantiate_classes(self) -> None:
        """Save the injected model's class and arguments (less the sizes linked from the data)
        with the training module's hyperparameters, so that ``test --ckpt_path`` rebuilds the
        checkpoint's model whatever config it is given."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        injected = config.model.init_args.get("model") if self.model is not None else None
        if injected is None or not hasattr(injected, "class_path"):
            return
        arguments = {
            name: value
            for name, value in dict(injected.get("init_args") or {}).items()
            if name not in DATA_SIZES
        }
        self.model.hparams["model"] = {"class_path": injected.class_path, "init_args": arguments}

    def after_fit(self) -> None:
        trainer = self.trainer
        elapsed = time.perf_counter() - self._started
        checkpoint = trainer.checkpoint_callback
        best = getattr(checkpoint, "best_model_path", "") or None
        last = getattr(checkpoint, "last_model_path", "") or None
        monitor = getattr(checkpoint, "monitor", None)
        best_score = getattr(checkpoint, "best_model_score", None)
        # the metrics at the end of fitting (testing replaces the trainer's callback_metrics)
        self.fit_metrics = dict(trainer.callback_metrics)
        sequences = self.fit_metrics.get("train/sequences")
        # (testing restores the callbacks' state from the tested checkpoint: read them first;
        # last.ckpt is current: ResumableCheckpoint writes it at the end of fitting)
        results = []
        if not trainer.interrupted:
            results = trainer.test(
                self.model, datamodule=self.datamodule, ckpt_path=best, verbose=False
            )
        if not trainer.is_global_zero:
            return
        lines = ["", "=" * 72, "Summary" + (" (interrupted)" if trainer.interrupted else "")]
        lines.append(f"  wall-clock time       {elapsed:,.0f} s")
        lines.append(f"  training steps        {trainer.global_step:,}")
        if sequences is not None:
            lines.append(f"  training sequences    {int(sequences):,}")
        if best_score is not None:
            lines.append(f"  best {monitor:<16} {float(best_score):.4f}")
        final_errors = self.fit_metrics.get("val/bit_errors")
        if monitor != "val/bit_errors" and final_errors is not None:
            lines.append(f"  final val/bit_errors  {float(final_errors):.4f}")
        lines.append(f"  held-out evaluation (checkpoint: {'best' if best else 'final weights'}):")
        for split in results:
            for name, value in sorted(split.items()):
                lines.append(f"    {name:<28} {value:.4f}")
        if best:
            lines.append(f"  best checkpoint       {best}")
        if last:
            lines.append(f"  last checkpoint       {last}")
        if trainer.logger is not None:
            lines.append(f"  TensorBoard logs      {trainer.logger.log_dir}")
            lines.append(f"  view them with        tensorboard --logdir {trainer.logger.save_dir}")
        lines.append("=" * 72)
        print("\n".join(lines), flush=True)


def main(args: list[str] | None = None) -> MemnetsCLI:
    """Run the command line on ``args`` (default ``sys.argv[1:]``); configs may be given by
    name and may extend a ``base:`` config (see :mod:`memnets.training.configs`)."""
    try:
        if args is None:  # expanded in place: LightningCLI warns when given both, and DDP
            sys.argv[1:] = expand_config_args(sys.argv[1:])  # relaunches ranks from sys.argv
        else:
            args = expand_config_args(list(args))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    try:
        return MemnetsCLI(
            subclass_mode_model=True,
            subclass_mode_data=True,
            trainer_defaults={
                "callbacks": [
                    LearningRateMonitor(logging_interval="step"),
                    TrainingStateCheckpoint(),
                ]
            },
            save_config_kwargs={"overwrite": True},
            args=args,
        )
    except NonFiniteError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        raise SystemExit(1) from error
    except ConfigError as error:  # e.g. a checkpoint of another task
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    except ValueError as error:
        # A data module that cannot read its data fails while the CLI links its sizes into
        # the model; jsonargparse wraps that error: raise the data module's own (file:line).
        cause = error.__cause__
        if "compute_fn of link" in str(error) and isinstance(cause, Exception):
            raise cause from None
        raise


def run() -> None:
    """The ``memnets`` command (``[project.scripts]`` in pyproject.toml): :func:`main` on
    ``sys.argv``. Returns None, as a console script exits with what its function returns."""
    main()
