"""A bAbI directory with a missing file or a malformed line fails with an error naming the file
(and the line), through the data module and through the CLI -- before any training starts.

The reader's own cases (every kind of malformed line) are in ``test_babi_reader.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from memnets.training.cli import main
from tasks.babi.datamodule import BabiDataModule
from tasks.babi.reader import BabiFormatError, task_file_name

ROOT = Path(__file__).resolve().parents[1]

GOOD = (
    "1 Mary moved to the bathroom.\n"
    "2 John went to the hallway.\n"
    "3 Where is Mary? \tbathroom\t1\n"
    "1 Daniel went back to the kitchen.\n"
    "2 Where is Daniel? \tkitchen\t1\n"
)
BAD_LINE = 4
BAD = GOOD.replace("1 Daniel went back", "Daniel went back")  # no line id on line 4


def write(directory: Path, task: int, split: str, text: str = GOOD) -> Path:
    path = directory / "en" / task_file_name(task, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def directory_module(data_dir: Path, task) -> BabiDataModule:
    return BabiDataModule(task=task, source="directory", data_dir=str(data_dir), batch_size=2)


def test_a_missing_test_file_of_one_joint_task_is_named(tmp_path):
    write(tmp_path, 1, "train"), write(tmp_path, 1, "test"), write(tmp_path, 2, "train")
    with pytest.raises(FileNotFoundError) as caught:
        directory_module(tmp_path, [1, 2]).setup("fit")
    assert task_file_name(2, "test") in str(caught.value)


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_malformed_line_names_its_file_and_line(tmp_path, split):
    write(tmp_path, 1, "train"), write(tmp_path, 1, "test")
    bad = write(tmp_path, 1, split, BAD)
    module = directory_module(tmp_path, 1)
    with pytest.raises(BabiFormatError) as caught:
        _ = module.vocab_size  # the first thing the CLI asks for; reads every file
    assert f"{bad}:{BAD_LINE}:" in str(caught.value)
    assert caught.value.line_number == BAD_LINE


def fit_on(directory) -> list[str]:
    """``train.py fit`` of the bAbI config on the files in ``directory``."""
    return [
        "fit",
        "--config", str(ROOT / "configs" / "memn2n_babi.yaml"),
        "--data.source", "directory",
        "--data.data_dir", str(directory),
        "--trainer.logger", "false",
        "--trainer.default_root_dir", str(directory),
    ]  # fmt: skip


def test_the_cli_stops_on_a_malformed_file_before_training(tmp_path):
    write(tmp_path, 1, "train")
    bad = write(tmp_path, 1, "test", BAD)
    arguments = fit_on(tmp_path)
    with pytest.raises(BabiFormatError, match=f"{bad}:{BAD_LINE}:"):
        main(arguments)
    assert not list(tmp_path.rglob("*.ckpt"))


@pytest.mark.parametrize(
    ("split", "text"),
    [("train", ""), ("test", "1 Mary moved to the bathroom.\n")],
    ids=["empty_train_file", "test_file_without_questions"],
)
def test_a_file_without_questions_is_named_before_training(tmp_path, split, text):
    """Once trained zero steps and died with KeyError 'train/error_epoch'."""
    write(tmp_path, 1, "train"), write(tmp_path, 1, "test")
    empty = write(tmp_path, 1, split, text)
    arguments = fit_on(tmp_path)
    with pytest.raises(BabiFormatError, match=f"{empty}:{text.count(chr(10))}: no question"):
        main(arguments)
    assert not list(tmp_path.rglob("*.ckpt"))
