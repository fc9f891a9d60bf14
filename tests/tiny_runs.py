"""Command-line arguments for tiny real CLI runs, and a tiny run's checkpoint, shared by the
training tests."""

from __future__ import annotations

from pathlib import Path

from memnets.training.cli import main

ROOT = Path(__file__).resolve().parents[1]


def tiny_ntm_model(*, heads: int | None = None) -> list[str]:
    """An NTM shrunk to seconds: an 8-unit controller over a 6 x 4 memory, no compile
    (``heads``: that many read and write heads, else the config's)."""
    model = "--model.init_args.model.init_args."
    sizes = [f"{model}num_read_heads", str(heads), f"{model}num_write_heads", str(heads)]
    return [
        f"{model}compile", "false", f"{model}controller_size", "8",
        f"{model}memory_slots", "6", f"{model}memory_width", "4",
        *(sizes if heads is not None else []),
    ]  # fmt: skip


def tiny_ntm(*, batches_per_epoch: int, episodes: int) -> list[str]:
    """``configs/ntm_copy.yaml`` shrunk to seconds: an 8-unit controller over a 6 x 4 memory,
    copy sequences of width 4 and length at most 3, batch 4, ``batches_per_epoch`` training
    batches an epoch, ``episodes`` validation and test episodes, no compile and no
    generalisation sets."""
    return [
        "--config", str(ROOT / "configs" / "ntm_copy.yaml"),
        *tiny_ntm_model(),
        "--data.task.init_args.width", "4",
        "--data.task.init_args.max_length", "3",
        "--data.batch_size", "4",
        "--data.train_batches_per_epoch", str(batches_per_epoch),
        "--data.val_episodes", str(episodes),
        "--data.test_episodes", str(episodes),
        "--data.generalisation_lengths", "[]",
    ]  # fmt: skip


def tiny_dnc(config: str, *, batches_per_epoch: int, episodes: int) -> list[str]:
    """``configs/{config}.yaml`` (a DNC config) shrunk to seconds: an 8-unit controller over an
    8 x 4 memory with 2 read heads, batch 4, ``batches_per_epoch`` training batches an epoch,
    ``episodes`` validation and test episodes, no generalisation sets (nor repeat counts). The
    task keeps its config's sizes: shrink them with ``--data.task.init_args...`` as needed."""
    return [
        "--config", str(ROOT / "configs" / f"{config}.yaml"),
        "--model.init_args.model.init_args.controller_size", "8",
        "--model.init_args.model.init_args.memory_slots", "8",
        "--model.init_args.model.init_args.memory_width", "4",
        "--model.init_args.model.init_args.num_read_heads", "2",
        "--data.batch_size", "4",
        "--data.train_batches_per_epoch", str(batches_per_epoch),
        "--data.val_episodes", str(episodes),
        "--data.test_episodes", str(episodes),
        "--data.generalisation_lengths", "[]",
        "--data.generalisation_repeats", "null",
    ]  # fmt: skip


def tiny_qa(generated_dir: Path) -> list[str]:
    """``configs/memn2n_babi.yaml`` shrunk to seconds: generated task 1 with 60 training and
    20 test questions, d = 8, one linear-start epoch, batch 8."""
    return [
        "--config", str(ROOT / "configs" / "memn2n_babi.yaml"),
        "--model.init_args.model.init_args.embedding_size", "8",
        "--model.init_args.linear_start_epochs", "1",
        "--data.generated_dir", str(generated_dir),
        "--data.generated_train_questions", "60",
        "--data.generated_test_questions", "20",
        "--data.batch_size", "8",
    ]  # fmt: skip


def to_flat_layout(checkpoint: Path, *, input_size: int, output_size: int) -> dict:
    """Rewrite an NTM checkpoint in the layout from before the model was injected (the model's
    arguments on the LightningModule, the sizes written out); returns those arguments."""
    import torch

    from memnets.training.migrate import NTM_ARGUMENTS

    saved = torch.load(checkpoint, weights_only=False)
    hparams = saved["hyper_parameters"]
    model = hparams.pop("model")["init_args"]
    model = {name: value for name, value in model.items() if name in NTM_ARGUMENTS}
    hparams.update(model, input_size=input_size, output_size=output_size)
    torch.save(saved, checkpoint)
    return model


def tiny_checkpoint(config: str, save_dir: Path) -> str:
    """The last checkpoint of two updates of ``configs/{config}.yaml`` (an NTM config) shrunk
    to seconds: one read and one write head, batch 4, 4 validation and test episodes, no
    generalisation sets and no callbacks; logs under ``save_dir``."""
    fitted = main([
        "fit", "--config", str(ROOT / "configs" / f"{config}.yaml"),
        *tiny_ntm_model(heads=1),
        "--data.batch_size", "4", "--data.train_batches_per_epoch", "2",
        "--data.val_episodes", "4", "--data.test_episodes", "4",
        "--data.generalisation_lengths", "[]", "--trainer.max_steps", "2",
        "--trainer.enable_progress_bar", "false", "--trainer.callbacks", "[]",
        "--trainer.logger.init_args.save_dir", str(save_dir),
    ])  # fmt: skip
    return fitted.trainer.checkpoint_callback.last_model_path
