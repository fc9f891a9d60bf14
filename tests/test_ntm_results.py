"""bench/ntm_results.py without training: reading a run's events, and the cached table;
bench/ntm_train_clock.py's ``--out``. No results file is replaced by one with fewer runs."""

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "ntm_results.py"
CLOCK = ROOT / "bench" / "ntm_train_clock.py"


def test_read_run_finds_when_the_threshold_was_crossed(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    for step, wall_time in [(0, 100.0), (9, 130.0), (19, 160.0), (24, 175.0)]:
        writer.add_scalar("train/loss", 1.0, step, walltime=wall_time)
    for step, sequences in [(9, 320.0), (19, 640.0), (24, 800.0)]:  # batch 32
        writer.add_scalar("train/sequences", sequences, step, walltime=100.0)
    for step, bit_errors, wall_time in [(9, 2.0, 140.0), (19, 0.0625, 170.0)]:
        writer.add_scalar("val/bit_errors", bit_errors, step, walltime=wall_time)
        writer.add_scalar("val/cost_bits", 4 * bit_errors, step, walltime=wall_time)
    writer.add_scalar("test/bit_errors", 0.25, 24, walltime=180.0)
    writer.add_scalar("test_length_30/bit_errors", 1.5, 24, walltime=180.0)
    writer.add_scalar("test/perfect", 0.5, 24, walltime=180.0)  # neither errors nor cost
    writer.close()
    log_dir = Path(os.path.relpath(tmp_path, ROOT))  # given relative to the repository

    result = runpy.run_path(str(SCRIPT))["read_run"](log_dir, threshold=0.1)

    assert result == {
        "log_dir": log_dir.as_posix(),  # recorded as given, not made absolute
        "steps": 25,  # steps 0..24
        "sequences": 800,
        "solved_after_sequences": 640,  # 0.0625 < 0.1 at step 19
        "solved_after_seconds": 70,  # 170 - 100, from the first training loss
        "final_val_bit_errors": 0.0625,
        "final_val_cost_bits": 0.25,
        "best_val_bit_errors": 0.0625,
        "test/bit_errors": 0.25,
        "test_length_30/bit_errors": 1.5,
        "solved_on_test": False,  # 0.25 is not below 0.1
        "generalisation": {"30": 1.5},
        "wall_seconds": 75,  # 175 - 100
    }


def test_generalisation_sets_in_order_and_medians_with_unsolved_runs():
    script = runpy.run_path(str(SCRIPT))
    record = {  # repeat copy's pairs, in no particular order, and a cost to leave out
        "test_length_15_repeats_10/bit_errors": 3.0, "test_length_10_repeats_15/bit_errors": 2.0,
        "test_length_10_repeats_10/bit_errors": 1.0, "test_length_10_repeats_10/cost_bits": 9.0,
        "test/bit_errors": 0.5,
    }  # fmt: skip
    assert script["generalisation"](record) == {"10x10": 1.0, "10x15": 2.0, "15x10": 3.0}
    assert script["generalisation"](
        {"test_length_100/bit_errors": 4.0, "test_length_40/bit_errors": 0.5}
    ) == {"40": 0.5, "100": 4.0}
    median_and_worst = script["median_and_worst"]
    assert median_and_worst([30, None, 10, 20, 40]) == (30, None)  # 10 20 30 40 unsolved
    assert median_and_worst([30, None, None, 20, None]) == (None, None)
    assert median_and_worst([3, 1, 2, 4]) == (2.5, 4)
    assert median_and_worst([3, None]) == (None, None)
    assert script["family"]("associative_recall_ff") == "associative_recall"
    assert script["family"]("priority_sort_lstm2") == "priority_sort"
    assert script["family"]("sort") == "sort"


def test_the_table_says_by_how_much_a_target_is_missed():
    against = runpy.run_path(str(SCRIPT))["against_target"]

    def copy_run(solved, test, at_40, at_100):
        return {
            "solved_after_sequences": solved,
            "test/bit_errors": test,
            "test_length_40/bit_errors": at_40,
            "test_length_100/bit_errors": at_100,
        }

    runs = [  # seed 3 solved on validation but not on test: unsolved for the target
        copy_run(12_000, 0.0, 0.5, 2.0), copy_run(8_000, 0.05, 0.2, 9.0),
        copy_run(30_000, 0.0, 3.0, 8.0), copy_run(10_000, 0.5, 0.1, 1.0),
    ]  # fmt: skip
    assert against("copy", runs, 0.1) == (
        "3/4 seeds solved on test: missed by 1; "
        "median sequences to solve (on test too) 21.0k: missed by 1.0k; "  # 12k and 30k
        "length 40 0.35: met; length 100 5.00: met"  # medians of 0.1 0.2 0.5 3 and 1 2 8 9
    )
    assert against("repeat_copy", [{"test/bit_errors": e} for e in (0.5, 1.0, 3.0)], 0.1) == (
        "median test bit errors 1.00: missed by 0.00, x1.0"  # the target is < 1, strictly
    )
    sort_runs = [{"test/cost_bits": c} for c in (30.0, 50.0)]
    assert against("priority_sort_ff", sort_runs, 0.1) == (
        "median test cost 40.00: missed by 20.00, x2.0"
    )
    recall = [{"solved_after_sequences": None, "test/bit_errors": 2.0,
               "test_length_12/bit_errors": 0.5}]  # fmt: skip
    assert against("associative_recall_ff", recall, 0.1) == (
        "median episodes to solve (on test too): unsolved, missed; 12 items 0.50: met"
    )
    assert against("sort", sort_runs, 0.1) == "-"


def test_cached_runs_are_tabulated_without_training(tmp_path):
    solved = {
        "task": "copy", "seed": 1, "solved_after_sequences": 12800, "solved_after_seconds": 154,
        "final_val_bit_errors": 0.0234375, "final_val_cost_bits": 1.978,
        "test/bit_errors": 0.296875, "test/cost_bits": 3.9,
        "test_length_50/bit_errors": 10.6953125, "test_length_30/bit_errors": 3.5078125,
    }  # fmt: skip
    unsolved = {
        "task": "priority_sort", "seed": 1, "final_val_bit_errors": 46.95,
        "final_val_cost_bits": 115.9,
    }  # fmt: skip
    options = ["--max-time", "00:00:00:01", "--",
               "--model.init_args.model.init_args.compile", "false",
               "--trainer.max_steps", "1"]  # a run started by mistake stays short  # fmt: skip
    script = runpy.run_path(str(SCRIPT))
    args = script["argparse"].Namespace(max_time="00:00:00:01", extra=options[3:])
    for run in (solved, unsolved):  # cached under the protocol these options resolve to
        run["protocol_hash"] = script["task_protocol"](run["task"], args)
    other = {**unsolved, "seed": 2, "protocol_hash": "another"}  # kept, not tabulated
    cache = tmp_path / "ntm.json"
    runs = {"priority_sort/1": unsolved, "copy/1": solved, "priority_sort/2/another": other}
    cache.write_text(json.dumps({"runs": runs}))
    before = cache.read_bytes()

    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--tasks", "copy", "priority_sort", "--seeds", "1",
         "--out", str(tmp_path / "ntm"), "--save-dir", str(tmp_path / "runs"), *options],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    assert "train.py" not in completed.stdout  # no run was started
    assert not (tmp_path / "runs").exists()
    assert cache.read_bytes() == before  # the cache is only read
    table = (tmp_path / "ntm.md").read_text().split("\n\n")[-1]
    assert table.splitlines() == [
        "| task | seed | solved (< 0.1 bit errors/seq)? | sequences to solve | time to solve "
        "| final val bit errors/seq | final val cost (bits/seq) | test bit errors/seq "
        "| longer sequences: bit errors/seq | paper |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---|",
        "| copy | 1 | yes | 12,800 | 154 s | 0.02 | 1.98 | 0.30 | 30: 3.51, 50: 10.70 "
        "| near 0 bits after ~100-200k sequences |",
        "| priority_sort | 1 | no | - | - | 46.95 | 115.90 | - | - "
        "| cost ~18-20 bits per sequence after ~1M sequences |",
    ]
    tabled = (tmp_path / "ntm.md").read_text()
    completed = subprocess.run(  # seed 2 has no run under this protocol: --table-only trains none
        [sys.executable, str(SCRIPT), "--tasks", "copy", "priority_sort", "--seeds", "1", "2",
         "--table-only", "--out", str(tmp_path / "ntm"), "--save-dir", str(tmp_path / "runs"),
         *options],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "train.py" not in completed.stdout and not (tmp_path / "runs").exists()
    assert (tmp_path / "ntm.md").read_text() == tabled and cache.read_bytes() == before


def test_reuse_takes_over_runs_of_the_same_protocol_only(tmp_path):
    options = ["--max-time", "00:00:00:01", "--",
               "--model.init_args.model.init_args.compile", "false",
               "--trainer.max_steps", "1"]  # a run started by mistake stays short  # fmt: skip
    script = runpy.run_path(str(SCRIPT))
    args = script["argparse"].Namespace(max_time="00:00:00:01", extra=options[3:])
    digest = script["task_protocol"]("copy", args)
    run = {"task": "copy", "seed": 1, "final_val_bit_errors": 0.5, "final_val_cost_bits": 2.0,
           "protocol_hash": digest}  # fmt: skip
    arm = tmp_path / "arm.json"  # seed 1 of this protocol; seed 2 of another
    arm.write_text(
        json.dumps({"runs": {"copy/1": run, "copy/2": {**run, "seed": 2, "protocol_hash": "x"}}})
    )
    old = {**run, "final_val_bit_errors": 9.0, "protocol_hash": "older"}
    (tmp_path / "ntm.json").write_text(json.dumps({"runs": {"copy/1": old}}))

    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--tasks", "copy", "--seeds", "1", "--reuse", str(arm),
         "--out", str(tmp_path / "ntm"), "--save-dir", str(tmp_path / "runs"), *options],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "train.py" not in completed.stdout and not (tmp_path / "runs").exists()
    runs = json.loads((tmp_path / "ntm.json").read_text())["runs"]
    assert runs["copy/1"] == {**run, "reused_from": str(arm)}
    assert runs["copy/1/older"] == old  # the run it replaces is kept under its protocol
    assert "| copy | 1 | no | - | - | 0.50 |" in (tmp_path / "ntm.md").read_text()


def test_table_only_still_takes_over_reused_runs_and_trains_nothing_else(tmp_path):
    """``--table-only --reuse``: seed 1 comes from the arm, seed 2 (in no file) is neither
    trained nor tabulated, the cached seed 3 stays."""
    script = runpy.run_path(str(SCRIPT))
    extra = ["--model.init_args.model.init_args.compile", "false"]
    args = script["argparse"].Namespace(max_time="00:00:00:01", extra=extra)
    digest = script["task_protocol"]("copy", args)
    run = {"task": "copy", "seed": 1, "final_val_bit_errors": 0.5, "final_val_cost_bits": 2.0,
           "protocol_hash": digest}  # fmt: skip
    arm = tmp_path / "arm.json"
    arm.write_text(json.dumps({"runs": {"copy/1": run}}))
    cached = {**run, "seed": 3, "final_val_bit_errors": 0.25}
    (tmp_path / "ntm.json").write_text(json.dumps({"runs": {"copy/3": cached}}))

    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--tasks", "copy", "--seeds", "1", "2", "3", "--table-only",
         "--reuse", str(arm), "--out", str(tmp_path / "ntm"), "--save-dir", str(tmp_path / "runs"),
         "--max-time", "00:00:00:01", "--", *extra],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "train.py" not in completed.stdout and not (tmp_path / "runs").exists()
    runs = json.loads((tmp_path / "ntm.json").read_text())["runs"]
    assert runs == {"copy/1": {**run, "reused_from": str(arm)}, "copy/3": cached}
    table = (tmp_path / "ntm.md").read_text()
    assert (
        "| copy | 1 | no | - | - | 0.50 |" in table and "| copy | 3 | no | - | - | 0.25 |" in table
    )
    assert "| copy | 2 | 0/2 | 0/2 |" in table  # two seeds, none solved: seed 2 left out


def test_a_table_of_more_runs_is_never_replaced(tmp_path):
    """Cached runs (nothing trains) tabulated over ``--out``'s table of more runs (its cache
    lost or mistyped): the command fails naming the file, which stays as it was."""
    options = ["--max-time", "00:00:00:01", "--",
               "--model.init_args.model.init_args.compile", "false"]  # fmt: skip
    script = runpy.run_path(str(SCRIPT))
    args = script["argparse"].Namespace(max_time="00:00:00:01", extra=options[3:])
    run = {"task": "copy", "seed": 1, "final_val_bit_errors": 1.0, "final_val_cost_bits": 2.0,
           "protocol_hash": script["task_protocol"]("copy", args)}  # fmt: skip
    (tmp_path / "ntm.json").write_text(json.dumps({"runs": {"copy/1": run}}))
    table = tmp_path / "ntm.md"
    table.write_text("| task | seed |\n|---|---:|\n| copy | 0 |\n| copy | 1 |\n| copy | 2 |\n")
    before = table.read_bytes()
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--tasks", "copy", "--seeds", "1",
         "--out", str(tmp_path / "ntm"), "--save-dir", str(tmp_path / "runs"), *options],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode != 0
    assert f"{table} holds 3 runs and would be replaced by 1" in completed.stderr
    assert table.read_bytes() == before


def test_train_clock_out_never_replaces_a_table_of_more_runs(tmp_path):
    """One seed's clock with ``--out`` on a table of three seeds: refused before any run,
    non-zero exit, the table byte-identical; a failing run (a real, tiny ``make train`` run
    writing to a table of one seed) writes nothing either."""
    table = tmp_path / "clock.md"
    table.write_text((ROOT / "results" / "ntm_train_clock.md").read_text())
    before = table.read_bytes()
    tiny = ["--model.init_args.model.init_args.compile", "false",
            "--model.init_args.model.init_args.controller_size", "8",
            "--model.init_args.model.init_args.memory_slots", "6",
            "--model.init_args.model.init_args.memory_width", "4",
            "--data.task.init_args.max_length", "3", "--data.batch_size", "4",
            "--data.train_batches_per_epoch", "2", "--data.val_episodes", "4",
            "--data.test_episodes", "4", "--data.generalisation_lengths", "[]",
            "--trainer.max_steps", "2"]  # fmt: skip
    for seeds, extra, message in [
        (["0"], tiny, f"{table} holds 3 runs and would be replaced by 1; nothing run"),
        (["0", "1", "2"], [*tiny, "--data.batch_size", "0"], "train.py failed"),  # run fails
    ]:
        completed = subprocess.run(
            [sys.executable, str(CLOCK), "--seeds", *seeds, "--out", str(table), "--", *extra],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert completed.returncode != 0, completed.stdout
        assert message in completed.stderr
        assert table.read_bytes() == before


def test_a_failed_run_fails_the_command_and_records_nothing_for_it(tmp_path):
    """Two seeds at once (``--jobs 2``) whose runs fail (batch size 0): each failure is named,
    the command exits non-zero, and no results file is written."""
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--tasks", "copy", "--seeds", "0", "1", "--jobs", "2",
         "--out", str(tmp_path / "ntm"), "--save-dir", str(tmp_path / "runs"), "--",
         "--model.init_args.model.init_args.compile", "false", "--data.init_args.batch_size", "0"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode != 0
    for seed in (0, 1):
        assert f"copy_seed{seed} failed (exit 1); see {tmp_path / 'runs'}" in completed.stderr
    assert not (tmp_path / "ntm.json").exists() and not (tmp_path / "ntm.md").exists()


def test_ntm_ablation_tables_the_arms_runs_without_training(tmp_path):
    import ntm_ablation

    def record(solved, test, at40, at100):
        return {"solved_after_sequences": solved, "test/bit_errors": test,
                "test/cost_bits": 3 * test, "best_val_bit_errors": test / 4,
                "final_val_bit_errors": test / 2, "test_length_40/bit_errors": at40,
                "test_length_100/bit_errors": at100}  # fmt: skip

    for arm, (task, _, _) in ntm_ablation.ARMS.items():
        runs = {f"{task}/0": record(9600, 0.1, 0.5, 3.0),
                f"{task}/1": record(None, 30.0, 40.0, 90.0),
                f"{task}/2": record(16000, 0.0, 0.0, 1.25)}  # fmt: skip
        (tmp_path / f"{task}_{arm}.json").write_text(json.dumps({"runs": runs}))

    def row(start: str) -> str:
        return next(line for line in table if line.startswith(start))

    ntm_ablation.main(["--out", str(tmp_path)])
    table = (tmp_path / "ntm.md").read_text().splitlines()
    base = row("| copy | base |")
    assert base.endswith(
        "| 9.6k, -, 16.0k | - | 0.10, 30.00, 0.00 | 0.30, 90.00, 0.00 | 0.03, 7.50, 0.00 "
        "| 0.05, 15.00, 0.00 "
        "| 0.50, 40.00, 0.00 "
        "| 3.00, 90.00, 1.25 |"
    )  # an unsolved seed: no median
    clip = row("| repeat_copy | clipnorm10 |")
    assert "| 9.6k, - | - | 0.10, 30.00 |" in clip  # repeat copy: seeds 0 and 1 only
    five = row("| repeat_copy | lr1e-3 |")
    assert "| 9.6k, -, 16.0k | - | 0.10, 30.00, 0.00 |" in five  # seeds 0-4: those there
    (tmp_path / "copy_batch8.json").unlink()  # an arm not trained yet: a row saying so
    ntm_ablation.main(["--out", str(tmp_path)])
    table = (tmp_path / "ntm.md").read_text().splitlines()
    batch8 = row("| copy | batch8 |")
    assert batch8.endswith(
        "| not run yet (`python bench/ntm_ablation.py --train --arms batch8`) "
        "| - | - | - | - | - | - | - |"
    )
    assert len(table) == len(ntm_ablation.ARMS) + 6  # title, text, header: every arm a row


def test_sequences_to_solve_are_those_trained_when_the_validation_ran(tmp_path):
    """The validation at step 24 follows 25 steps of 32: 800 sequences, though the last
    logged count before it (step 19) is 640."""
    writer = SummaryWriter(str(tmp_path))
    for step in (9, 19, 29):
        writer.add_scalar("train/loss", 1.0, step, walltime=100.0 + step)
        writer.add_scalar("train/sequences", (step + 1) * 32.0, step, walltime=100.0)
    writer.add_scalar("val/bit_errors", 0.05, 24, walltime=130.0)
    writer.add_scalar("val/cost_bits", 0.2, 24, walltime=130.0)
    writer.add_scalar("test/bit_errors", 0.0, 29, walltime=140.0)
    writer.close()
    script = runpy.run_path(str(SCRIPT))
    result = script["read_run"](Path(os.path.relpath(tmp_path, ROOT)), threshold=0.1)
    assert result["solved_after_sequences"] == 800
    assert result["solved_on_test"] is True
    record = {"task": "copy", "seed": 0, **result}
    assert "| copy | 1 | 1/1 | 1/1 | 0.8k |" in script["summary"]([record], 0.1)  # 0.0 on test


def test_table_only_tables_the_asked_tasks_only(tmp_path, monkeypatch):
    script = runpy.run_path(str(SCRIPT))
    options = ["--", "--model.init_args.model.init_args.compile", "false"]
    args = script["argparse"].Namespace(max_time="00:00:00:01", extra=options[1:])
    runs = {}
    for task in ("copy", "repeat_copy"):
        runs[f"{task}/0"] = {
            "task": task, "seed": 0, "solved_after_sequences": 800, "solved_after_seconds": 9,
            "final_val_bit_errors": 0.0, "final_val_cost_bits": 0.1, "test/bit_errors": 0.0,
            "protocol_hash": script["task_protocol"](task, args),
        }  # fmt: skip
    (tmp_path / "ntm.json").write_text(json.dumps({"runs": runs}))
    argv = ["ntm_results.py", "--tasks", "copy", "--seeds", "0", "--table-only",
            "--max-time", "00:00:00:01", "--out", str(tmp_path / "ntm"), *options]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    script["main"]()
    table = (tmp_path / "ntm.md").read_text()
    assert "| copy | 1 |" in table and "repeat_copy" not in table


def test_a_tasks_settings_are_part_of_its_protocol_and_babis_task_number_is_not():
    """Two repeat copy configs that differ only in the task's repeat encoding hash apart (they
    once hashed alike); bAbI's drivers still leave the task number out (it keys their runs)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from protocols import KEYED_BY_TASK, protocol, protocol_hash
    finally:
        sys.path.remove(str(ROOT / "bench"))
    task = {"class_path": "memnets_tasks.algorithmic.RepeatCopyTask",
            "init_args": {"repeat_encoding": "scaled"}}  # fmt: skip
    config = {"data": {"init_args": {"task": task, "batch_size": 8}}, "seed_everything": 3}
    other = json.loads(json.dumps(config))
    other["data"]["init_args"]["task"]["init_args"]["repeat_encoding"] = "standardised"

    def digest(settings, **kwargs):
        return protocol_hash(protocol(settings, revision=1, **kwargs))

    assert digest(config) != digest(other)
    assert digest({**config, "seed_everything": 4}) == digest(config)  # the seed keys runs
    babi = {"data": {"init_args": {"task": 3, "batch_size": 32}}}
    other_task = {"data": {"init_args": {"task": [1, 2], "batch_size": 32}}}
    assert digest(babi, not_results=KEYED_BY_TASK) == digest(other_task, not_results=KEYED_BY_TASK)
    assert digest(babi) != digest(other_task)


def test_rekey_gives_runs_of_the_old_hash_todays_and_leaves_the_others(tmp_path):
    """``--rekey``: a run recorded under the hash that left the task's settings out takes
    today's hash of the same config (a kept older run's key moves with it); a run of another
    protocol, or of another task, keeps its hash. Nothing trains."""
    options = ["--max-time", "00:00:00:01", "--",
               "--model.init_args.model.init_args.compile", "false",
               "--trainer.max_steps", "1"]  # a run started by mistake stays short  # fmt: skip
    script = runpy.run_path(str(SCRIPT))
    args = script["argparse"].Namespace(max_time="00:00:00:01", extra=options[3:])
    old = script["task_protocol"]("copy", args, unhashed_task=True)
    new = script["task_protocol"]("copy", args)
    assert old != new
    run = {"task": "copy", "seed": 1, "final_val_bit_errors": 0.5, "final_val_cost_bits": 2.0}
    runs = {
        "copy/1": {**run, "protocol_hash": old},
        f"copy/2/{old}": {**run, "seed": 2, "protocol_hash": old},
        "copy/3": {**run, "seed": 3, "protocol_hash": "other"},
        "sort/1": {**run, "task": "sort", "protocol_hash": old},
    }
    (tmp_path / "ntm.json").write_text(json.dumps({"runs": runs}))
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--tasks", "copy", "--seeds", "1", "2", "3", "--rekey",
         "--out", str(tmp_path / "ntm"), "--save-dir", str(tmp_path / "runs"), *options],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "train.py" not in completed.stdout and not (tmp_path / "runs").exists()
    assert f"copy: 2 runs re-keyed {old} -> {new}" in completed.stdout
    rekeyed = json.loads((tmp_path / "ntm.json").read_text())["runs"]
    assert rekeyed == {
        "copy/1": {**run, "protocol_hash": new},
        f"copy/2/{new}": {**run, "seed": 2, "protocol_hash": new},
        "copy/3": runs["copy/3"],
        "sort/1": runs["sort/1"],
    }
    assert "| copy | 1 | no | - | - | 0.50 |" in (tmp_path / "ntm.md").read_text()


def test_the_tested_checkpoints_choice_is_part_of_a_protocol_unless_it_is_the_lowest_error():
    """Choosing the tested checkpoint by validation cost hashes apart from by bit errors (they
    once hashed alike: ``checkpoint`` was left out whole); the lowest validation error, the
    choice of every run before, keeps the keys it had, bAbI's answer error included."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from protocols import protocol, protocol_hash
    finally:
        sys.path.remove(str(ROOT / "bench"))
    config = {"data": {"init_args": {"batch_size": 8}}}

    def digest(checkpoint=None):
        settings = config if checkpoint is None else {**config, "checkpoint": checkpoint}
        return protocol_hash(protocol(settings, revision=1))

    where = {"dirpath": "x", "filename": "best-{step}", "save_last": True}  # no number changes
    assert digest({"monitor": "val/bit_errors", "mode": "min", **where}) == digest()
    assert digest({"monitor": "val/error", "mode": "min"}) == digest()
    by_cost = digest({"monitor": "val/cost_bits", "mode": "min", **where})
    assert by_cost != digest()
    assert by_cost == digest({"monitor": "val/cost_bits", "mode": "min"})
    assert digest({"monitor": "val/bit_errors", "mode": "max"}) not in (digest(), by_cost)
    assert digest({"monitor": None}) != digest()  # the final weights tested
