"""End-to-end: the real CLI trains a DNC on the algorithmic tasks (configs/dnc_*.yaml) and logs
its TensorBoard scalars and memory pictures."""

import sys
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tiny_runs import tiny_dnc

from memnets.dnc import DNC
from memnets.training.cli import main
from memnets.training.configs import config_chain

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DNC_CONFIGS = ["dnc_copy", "dnc_repeat_copy", "dnc_associative_recall"]
DNC_PICTURES = {
    "memory/input_target_output",
    "memory/write_weights",
    "memory/read_weights",
    "memory/usage",
    "memory/read_modes",
    "memory/links",
    "memory/memory",
}
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


@pytest.fixture(autouse=True)
def _arguments_in_args_only(monkeypatch):
    """As from a shell: the CLI's arguments come in ``args`` only (not pytest's sys.argv)."""
    monkeypatch.setattr(sys, "argv", ["memnets"])


def read_events(log_dir: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(log_dir), size_guidance={"images": 0, "scalars": 0})
    accumulator.Reload()
    return accumulator


def assert_sizes_linked(cli) -> None:
    """The injected model is a DNC with the task's input and output sizes (linked by the CLI)."""
    model = cli.model.model
    assert isinstance(model, DNC)
    assert model.input_size == cli.datamodule.input_size
    assert model.output_size == cli.datamodule.output_size


@pytest.mark.parametrize("config", DNC_CONFIGS)
def test_dnc_configs_extend_the_base_and_resolve(config, capsys):
    assert [path.name for path in config_chain(config)] == ["dnc_base.yaml", f"{config}.yaml"]
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(ROOT / "configs" / f"{config}.yaml"), "--print_config"])
    assert exit_info.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)
    model = printed["model"]["init_args"]["model"]
    assert model["class_path"] == "memnets.dnc.DNC"
    assert model["init_args"]["memory_slots"] >= 20  # copy's longest training sequence
    assert printed["trainer"]["logger"]["init_args"]["name"] == config
    assert printed["trainer"]["callbacks"][0]["init_args"]["stopping_threshold"] == 0.1


def test_cli_fit_trains_a_dnc_on_copy_and_logs_its_pictures(tmp_path, capsys):
    cli = main(
        [
            "fit",
            *tiny_dnc("dnc_copy", batches_per_epoch=3, episodes=8),
            "--data.task.init_args.width", "4",
            "--data.task.init_args.max_length", "3",
            "--trainer.max_steps", "6",
            "--trainer.log_every_n_steps", "1",
            "--pictures.every_n_steps", "3",
            "--trainer.logger.init_args.save_dir", str(tmp_path),
            *QUIET,
        ]
    )  # fmt: skip
    assert cli.trainer.global_step == 6
    assert_sizes_linked(cli)
    assert cli.model.model.input_size == 5  # 4 bits and the delimiter channel
    log_dir = tmp_path / "dnc_copy" / "version_0"
    events = read_events(log_dir)
    scalars = set(events.Tags()["scalars"])
    for tag in ["train/loss", "train/bit_errors", "val/loss", "val/bit_errors", "test/bit_errors"]:
        assert tag in scalars, f"{tag} missing from {sorted(scalars)}"
    images = set(events.Tags()["images"])
    assert DNC_PICTURES <= images, f"missing: {sorted(DNC_PICTURES - images)}"
    for tag in DNC_PICTURES:
        for image in events.Images(tag):
            assert image.encoded_image_string.startswith(PNG_MAGIC)
    assert len(events.Images("memory/links")) >= 2  # at steps 3 and 6, and at the fit's end
    assert (log_dir / "checkpoints" / "last.ckpt").is_file()
    assert "test/bit_errors" in capsys.readouterr().out  # the summary after fit


@pytest.mark.parametrize(
    "config, task",
    [
        ("dnc_repeat_copy", ["--data.task.init_args.max_length", "3",
                             "--data.task.init_args.max_repeats", "2"]),
        ("dnc_associative_recall", ["--data.task.init_args.max_items", "3"]),
    ],
)  # fmt: skip
def test_cli_fit_trains_a_dnc_on_repeat_copy_and_recall(config, task, tmp_path):
    cli = main(
        [
            "fit",
            *tiny_dnc(config, batches_per_epoch=2, episodes=4),
            *task,
            "--trainer.max_steps", "2",
            "--trainer.logger.init_args.save_dir", str(tmp_path),
            *QUIET,
        ]
    )  # fmt: skip
    assert cli.trainer.global_step == 2
    assert_sizes_linked(cli)
    assert torch.isfinite(cli.trainer.callback_metrics["test/loss"])  # after_fit tested it
    images = set(read_events(tmp_path / config / "version_0").Tags()["images"])
    assert DNC_PICTURES <= images  # logged at the end of fitting
