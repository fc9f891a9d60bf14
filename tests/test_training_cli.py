"""End-to-end: the real CLI trains an NTM, writes checkpoints and TensorBoard scalars and PNGs."""

import csv
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from memnets.training.cli import main

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

TINY = [
    "--config", str(ROOT / "configs" / "ntm_copy.yaml"),
    "--model.init_args.model.init_args.controller_size", "16",
    "--model.init_args.model.init_args.compile", "false",
    "--model.init_args.model.init_args.memory_slots", "8",
    "--model.init_args.model.init_args.memory_width", "6",
    "--data.task.init_args.max_length", "3",
    "--data.batch_size", "4",
    "--data.train_batches_per_epoch", "3",
    "--data.val_episodes", "8",
    "--data.test_episodes", "8",
    "--data.generalisation_lengths", "[5]",
    "--trainer.max_steps", "6",
    "--trainer.enable_progress_bar", "false",
    "--trainer.log_every_n_steps", "1",
    "--trainer.callbacks", "[]",
    "--pictures.every_n_steps", "3",
]  # fmt: skip


def read_events(log_dir: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(log_dir), size_guidance={"images": 0, "scalars": 0})
    accumulator.Reload()
    return accumulator


def test_cli_fit_logs_scalars_and_memory_pictures(tmp_path, capsys):
    main(["fit", *TINY, "--trainer.logger.init_args.save_dir", str(tmp_path)])
    log_dir = tmp_path / "ntm_copy" / "version_0"
    events = read_events(log_dir)
    scalars = set(events.Tags()["scalars"])
    for tag in [
        "train/loss",
        "train/cost_bits",
        "train/bit_errors",
        "train/sequences",
        "val/loss",
        "val/cost_bits",
        "val/bit_errors",
        "test/bit_errors",
        "test_length_5/bit_errors",
        "lr-Adam",
    ]:
        assert tag in scalars, f"{tag} missing from {sorted(scalars)}"
    images = set(events.Tags()["images"])
    expected = {
        "memory/input_target_output",
        "memory/write_weights",
        "memory/read_weights",
        "memory/memory",
    }
    assert expected <= images
    for tag in expected:
        for image in events.Images(tag):
            assert image.encoded_image_string.startswith(PNG_MAGIC)
    assert len(events.Images("memory/write_weights")) >= 2  # at step 3, 6 and at fit end
    checkpoints = {path.name for path in (log_dir / "checkpoints").iterdir()}
    assert "last.ckpt" in checkpoints and any(name.startswith("best-") for name in checkpoints)
    summary = capsys.readouterr().out
    assert "Summary" in summary and "test/bit_errors" in summary and "last.ckpt" in summary
    # copy's checkpoint is chosen by validation cost: the bit errors are shown beside it
    final = events.Scalars("val/bit_errors")[-1].value
    assert "best val/cost_bits" in summary
    assert f"final val/bit_errors  {final:.4f}" in summary


def test_cli_validate_subcommand_loads_a_checkpoint(tmp_path):
    main(["fit", *TINY, "--trainer.logger.init_args.save_dir", str(tmp_path)])
    last = tmp_path / "ntm_copy" / "version_0" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=False)["global_step"] == 6
    cli = main(
        ["validate", *TINY, "--ckpt_path", str(last), "--trainer.logger", "false"]
        + ["--trainer.default_root_dir", str(tmp_path)]
    )
    assert "val/bit_errors" in cli.trainer.callback_metrics


def test_test_subcommand_writes_the_bit_errors_vs_length_table(tmp_path):
    main(["fit", *TINY, "--trainer.logger.init_args.save_dir", str(tmp_path)])
    last = tmp_path / "ntm_copy" / "version_0" / "checkpoints" / "last.ckpt"
    out = tmp_path / "generalisation"
    main(
        ["test", *TINY, "--ckpt_path", str(last), "--data.generalisation_lengths", "[2,6]",
         "--data.test_episodes", "4", "--generalisation.out", str(out),
         "--trainer.logger.init_args.save_dir", str(tmp_path / "tested")]
    )  # fmt: skip
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert [int(row["length"]) for row in rows] == [2, 6]
    for row in rows:  # at most every output bit wrong; perfect is a fraction
        assert 0 <= float(row["bit_errors_per_sequence"]) <= int(row["length"]) * 8
        assert 0 <= float(row["perfect"]) <= 1
    assert "| 6 |" in out.with_suffix(".md").read_text()
    assert out.with_suffix(".png").read_bytes().startswith(PNG_MAGIC)
    events = read_events(tmp_path / "tested" / "ntm_copy" / "version_0")
    steps = [event.step for event in events.Scalars("generalisation/bit_errors")]
    assert steps == [2, 6]
    values = [event.value for event in events.Scalars("generalisation/bit_errors")]
    expected = [float(row["bit_errors_per_sequence"]) for row in rows]
    assert values == pytest.approx(expected, abs=1e-4)
    assert "generalisation/bit_errors_vs_length" in events.Tags()["images"]


def test_evaluate_py_wraps_the_test_subcommand(tmp_path):
    main(["fit", *TINY, "--trainer.logger.init_args.save_dir", str(tmp_path)])
    last = tmp_path / "ntm_copy" / "version_0" / "checkpoints" / "last.ckpt"
    out = tmp_path / "evaluated"
    evaluate = runpy.run_path(str(ROOT / "evaluate.py"))["main"]
    evaluate(["--ckpt", str(last), "--lengths", "3", "5", "--episodes", "4", "--out", str(out)])
    assert [row["length"] for row in csv.DictReader(out.with_suffix(".csv").open())] == ["3", "5"]
    with pytest.raises(SystemExit, match="config.yaml"):
        evaluate(["--ckpt", str(tmp_path / "missing.ckpt"), "--out", str(out)])


def test_print_config_runs_as_a_subprocess():
    result = subprocess.run(
        [sys.executable, "train.py", "fit", "--config", "configs/ntm_copy.yaml", "--print_config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "SequenceTaskModule" in result.stdout and "memory_slots: 128" in result.stdout


@pytest.mark.parametrize("config", sorted((ROOT / "configs").glob("ntm_*.yaml")), ids=str)
def test_every_ntm_config_trains_one_step(config, tmp_path):
    cli = main(
        [
            "fit",
            "--config", str(config),
            "--trainer.fast_dev_run", "true",
            "--model.init_args.model.init_args.compile", "false",
            "--data.batch_size", "4",
            "--trainer.enable_progress_bar", "false",
            "--trainer.logger.init_args.save_dir", str(tmp_path),
            "--data.val_episodes", "4",
            "--data.test_episodes", "4",
        ]
    )  # fmt: skip
    assert cli.trainer.global_step == 1
    assert torch.isfinite(cli.trainer.callback_metrics["test/loss"])  # after_fit tested it
    optimizer = cli.trainer.optimizers[0]
    if isinstance(optimizer, torch.optim.Adam):  # one kernel per update on the CPU too
        assert optimizer.defaults["fused"] is True


def test_a_run_from_before_the_model_was_injected_still_tests(tmp_path):
    """A checkpoint and config.yaml in the old flat layout (the model's arguments on the
    LightningModule, sizes written out) load in ``test`` and in evaluate.py."""
    from tiny_runs import to_flat_layout

    main(["fit", *TINY, "--trainer.logger.init_args.save_dir", str(tmp_path)])
    run = tmp_path / "ntm_copy" / "version_0"
    last = run / "checkpoints" / "last.ckpt"
    model = to_flat_layout(last, input_size=9, output_size=8)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["model"]["init_args"].pop("model")
    config["model"]["init_args"].update(model, input_size=9, output_size=8)
    (run / "config.yaml").write_text(yaml.safe_dump(config))

    tested = main(["test", *TINY, "--ckpt_path", str(last), "--trainer.logger", "false"])
    assert tested.model.model.cell.controller_size == 16  # from the checkpoint
    out = tmp_path / "old"
    evaluate = runpy.run_path(str(ROOT / "evaluate.py"))["main"]
    evaluate(["--ckpt", str(last), "--lengths", "4", "--episodes", "4", "--out", str(out)])
    assert [row["length"] for row in csv.DictReader(out.with_suffix(".csv").open())] == ["4"]


def test_test_rebuilds_the_checkpoints_model_whatever_the_config_says(tmp_path):
    main(["fit", *TINY, "--trainer.logger.init_args.save_dir", str(tmp_path)])
    last = tmp_path / "ntm_copy" / "version_0" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=False)["hyper_parameters"]["model"] == {
        "class_path": "memnets.ntm.NTM",
        "init_args": {
            "controller": "lstm", "controller_size": 16, "memory_slots": 8, "memory_width": 6,
            "num_read_heads": 1, "num_write_heads": 1, "shift_range": 3,
            "memory_init": "learned_random", "learned_initial_state": True,
            "access_order": "read_then_write", "initial_focus": "uniform", "cosine_eps": None,
            "head_clip": None, "forget_bias": None, "controller_layers": 1,
            "parameter_init": "pytorch_ntm", "read_strength_init": None, "batch_first": True,
            "compile": False, "compile_chunk": 1,
        },
    }  # fmt: skip
    tested = main(
        ["test", "--config", str(ROOT / "configs" / "ntm_copy.yaml"), "--ckpt_path", str(last),
         "--model.init_args.model.init_args.compile", "false",
         "--data.task.init_args.max_length", "3",
         "--data.test_episodes", "4", "--data.generalisation_lengths", "[]",
         "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"]
    )  # fmt: skip
    assert tested.model.model.cell.controller_size == 16  # not the config's 100
    assert "test/bit_errors" in tested.trainer.callback_metrics


def test_a_qa_checkpoint_from_before_the_model_was_injected_still_tests(tmp_path):
    """The old QA layout: MemN2N's arguments, the sizes and answers_as_words on the module, the
    answer words as the module's buffer ``answer_word_ids``."""
    from tiny_runs import tiny_qa

    quiet = ["--trainer.enable_progress_bar", "false", "--pictures.every_n_steps", "1000"]
    arguments = [*tiny_qa(tmp_path / "generated"), *quiet]
    fitted = main(
        ["fit", *arguments, "--trainer.max_epochs", "2",
         "--trainer.logger.init_args.save_dir", str(tmp_path)]
    )  # fmt: skip
    last = Path(fitted.trainer.checkpoint_callback.last_model_path)
    test = ["test", *arguments, "--ckpt_path", str(last), "--trainer.logger", "false"]
    expected = dict(main(test).trainer.callback_metrics)  # in today's layout
    checkpoint = torch.load(last, weights_only=False)
    hparams = checkpoint["hyper_parameters"]
    model = hparams.pop("model")["init_args"]
    model.pop("answers_as_words")
    hparams.update(model, input_size=7, output_size=3, memory_size=9, answers_as_words=None)
    state = checkpoint["state_dict"]
    state["answer_word_ids"] = state.pop("model.answer_word_ids")
    torch.save(checkpoint, last)

    tested = main(test)
    assert tested.model.model.answers_as_words  # None under adjacent tying: answers are words
    got = tested.trainer.callback_metrics
    assert float(got["test/error"]) == pytest.approx(float(expected["test/error"]), abs=1e-6)
    assert float(got["test/loss"]) == pytest.approx(float(expected["test/loss"]), abs=1e-5)


# inputs that are not right: named before anything runs


def test_a_misspelt_config_key_is_named(tmp_path, capsys):
    """On the command line and in a YAML file: LightningCLI's message names the key."""
    with pytest.raises(SystemExit) as stop:
        main(["fit", *TINY, "--trainer.max_stepz", "3"])
    assert stop.value.code != 0 and "max_stepz" in capsys.readouterr().err
    config = tmp_path / "typo.yaml"
    config.write_text("trainer:\n  max_stepz: 3\n")
    with pytest.raises(SystemExit) as stop:
        main(["fit", *TINY, "--config", str(config)])
    assert stop.value.code != 0 and "max_stepz" in capsys.readouterr().err


def test_a_checkpoint_of_another_task_is_refused_naming_both(tmp_path, capsys):
    """``train.py test`` with another task's config, and ``evaluate.py`` on a checkpoint put
    beside another task's run config: an error naming the checkpoint's task and the config's."""
    main(["fit", *TINY, "--trainer.logger.init_args.save_dir", str(tmp_path)])
    run = tmp_path / "ntm_copy" / "version_0"
    last = run / "checkpoints" / "last.ckpt"
    with pytest.raises(SystemExit) as stop:
        main(["test", "--config", str(ROOT / "configs" / "ntm_repeat_copy.yaml"),
              "--ckpt_path", str(last), "--trainer.logger", "false"])  # fmt: skip
    error = capsys.readouterr().err
    assert stop.value.code == 2
    assert f"checkpoint {last} was trained on copy (input size 9, output size 8" in error
    assert "the config's data is repeat_copy (input size 10, output size 9" in error

    other = tmp_path / "other_run"  # a run of another task, the copy checkpoint put in it
    (other / "checkpoints").mkdir(parents=True)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["data"]["init_args"]["task"] = {
        "class_path": "memnets_tasks.algorithmic.CopyTask",
        "init_args": {"width": 5},
    }
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    (other / "checkpoints" / "last.ckpt").write_bytes(last.read_bytes())
    evaluate = runpy.run_path(str(ROOT / "evaluate.py"))["main"]
    with pytest.raises(SystemExit) as stop:
        evaluate(["--ckpt", str(other / "checkpoints" / "last.ckpt"), "--lengths", "3",
                  "--out", str(tmp_path / "evaluated")])  # fmt: skip
    error = capsys.readouterr().err
    assert stop.value.code == 2
    assert "trained on copy (input size 9, output size 8" in error
    assert "the config's data is copy (input size 6, output size 5" in error
    assert not (tmp_path / "evaluated.csv").exists()


def test_a_checkpoint_of_another_model_is_refused_naming_both(tmp_path, capsys):
    """A MemN2N (bAbI) checkpoint given to ``train.py test`` with an NTM config, and the
    other way round: an error naming the checkpoint's data and the config's, nothing tested."""
    from tiny_runs import tiny_qa

    quiet = ["--trainer.enable_progress_bar", "false", "--pictures.every_n_steps", "1000"]
    qa = [*tiny_qa(tmp_path / "generated"), *quiet]
    main(["fit", *qa, "--trainer.max_epochs", "1", "--trainer.logger.init_args.save_dir",
          str(tmp_path / "qa")])  # fmt: skip
    qa_last = next((tmp_path / "qa").rglob("last.ckpt"))
    main(["fit", *TINY, "--trainer.logger.init_args.save_dir", str(tmp_path / "ntm")])
    ntm_last = next((tmp_path / "ntm").rglob("last.ckpt"))
    for config, checkpoint, trained, given in [
        (TINY, qa_last, "bAbI task [1] (BabiDataModule)", "copy (input size 9, output size 8"),
        (qa, ntm_last, "copy (input size 9, output size 8", "bAbI task [1] (BabiDataModule)"),
    ]:
        with pytest.raises(SystemExit) as stop:
            main(["test", *config, "--ckpt_path", str(checkpoint), "--trainer.logger", "false"])
        error = capsys.readouterr().err
        assert stop.value.code == 2
        assert f"checkpoint {checkpoint} was trained on {trained}" in error
        assert f"but the config's data is {given}" in error


def test_lengths_beyond_the_memory_warn_and_non_positive_lengths_are_named(tmp_path, capsys):
    """TINY's memory has 8 slots: length 9 cannot be held (a warning naming both); length 0
    or -1 is an error naming the argument, in train.py and in evaluate.py."""
    main(["fit", *TINY, "--trainer.logger.init_args.save_dir", str(tmp_path)])
    last = tmp_path / "ntm_copy" / "version_0" / "checkpoints" / "last.ckpt"
    test = ["test", *TINY, "--ckpt_path", str(last), "--trainer.logger", "false",
            "--data.test_episodes", "2"]  # fmt: skip
    with pytest.warns(
        UserWarning,
        match=r"generalisation_lengths \[9\] need more memory .* "
        r"copy at length L stores L input vectors, but memory_slots is 8",
    ):
        main([*test, "--data.generalisation_lengths", "[8,9]"])
    with pytest.raises(
        ValueError,
        match=r"generalisation_lengths\[1\] must be a positive "
        r"integer, got 0",
    ):
        main([*test, "--data.generalisation_lengths", "[3,0]"])
    evaluate = runpy.run_path(str(ROOT / "evaluate.py"))["main"]
    for bad, message in [
        (["--lengths", "3", "-1"], "--lengths must be positive integers, got [-1]"),
        (["--episodes", "0"], "--episodes must be positive"),
    ]:
        with pytest.raises(SystemExit) as stop:
            evaluate(["--ckpt", str(last), "--out", str(tmp_path / "evaluated"), *bad])
        assert stop.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("ending", "callback"),
    [([], "AnnealWhenSolved"),  # copy's config
     (["--config", str(ROOT / "bench" / "ntm_stop_when_solved.yaml")], "EarlyStopping")],
)  # fmt: skip
def test_a_run_shorter_than_one_validation_ends_cleanly_with_the_shipped_callbacks(
    tmp_path, ending, callback
):
    """max_steps below the validation interval: the config's callback that ends training
    (copy's AnnealWhenSolved, ntm_base.yaml's EarlyStopping) has no val/bit_errors yet and
    must not stop the run with an error."""
    from tiny_runs import tiny_ntm

    cli = main(
        ["fit", *tiny_ntm(batches_per_epoch=25, episodes=4), *ending,  # config's callbacks kept
         "--trainer.max_steps", "5", "--trainer.enable_progress_bar", "false",
         "--trainer.logger.init_args.save_dir", str(tmp_path)]
    )  # fmt: skip
    assert cli.trainer.global_step == 5  # stopped by max_steps, before the first validation
    assert "val/bit_errors" not in cli.trainer.callback_metrics  # no validation ran
    assert any(type(c).__name__ == callback for c in cli.trainer.callbacks)
    assert (tmp_path / "ntm_copy" / "version_0" / "checkpoints" / "last.ckpt").is_file()


def test_cli_repeat_copy_generalisation_pairs(tmp_path):
    """Repeat copy's generalisation sets are (length, repeats) pairs, logged and tabulated."""
    tiny = [  # TINY on repeat copy, the pairs 4 x 2 .. 5 x 3
        "--config", str(ROOT / "configs" / "ntm_repeat_copy.yaml"), *TINY[2:],
        "--data.task.init_args.max_repeats", "2",
        "--data.generalisation_lengths", "[4,5]", "--data.generalisation_repeats", "[2,3]",
        "--trainer.logger.init_args.save_dir", str(tmp_path),
    ]  # fmt: skip
    main(["fit", *tiny])
    log_dir = tmp_path / "ntm_repeat_copy" / "version_0"
    pairs = [(4, 2), (4, 3), (5, 2), (5, 3)]
    scalars = set(read_events(log_dir).Tags()["scalars"])
    assert {
        f"test_length_{length}_repeats_{count}/bit_errors" for length, count in pairs
    } <= scalars
    with open(log_dir / "generalisation.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(row["length"]), int(row["repeats"])) for row in rows] == pairs
    table = (log_dir / "generalisation.md").read_text()
    assert "| length | repeats | bit errors / sequence |" in table

    evaluate = runpy.run_path(str(ROOT / "evaluate.py"))["main"]
    last = str(log_dir / "checkpoints" / "last.ckpt")
    for repeats, expected in [
        ([], [("4", None)]),
        (["--repeats", "2", "3"], [("4", "2"), ("4", "3")]),
    ]:
        out = tmp_path / f"evaluated{len(repeats)}"  # the run's own pairs are not inherited
        evaluate(["--ckpt", last, "--lengths", "4", "--episodes", "2", "--out", str(out), *repeats])
        with open(out.with_suffix(".csv")) as handle:
            rows = list(csv.DictReader(handle))
        assert [(row["length"], row.get("repeats")) for row in rows] == expected
