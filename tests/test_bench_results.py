"""Every bench script given a wrong ``--data-dir`` (or a task that has no config) stops with a
non-zero status naming what is missing, and leaves the results files it would write
byte-identical (bench/protocols.py: ``no_data``, ``replace_results``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench(script: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *argv],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip


def results(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize(
    "script, argv, message",
    [
        ("babi_eval.py", ["--out", "{out}/babi_1k"], "nowhere"),
        ("babi_joint.py", ["--out", "{out}/babi_1k_joint"], "nowhere"),
        ("babi_ablation.py", ["--out", "{out}/babi_1k_ablation"], "nowhere"),
        ("babi_combine.py", ["{out}/babi_1k.json", "--out", "{out}/babi_1k_combined"],
         "nowhere holds no paper_memn2n_table.csv"),
        ("memn2n_epoch.py", [], "task 1 has no train and test files under .*nowhere"),
        ("babi_linear_start_probe.py", [], "task 2 has no train and test files under .*nowhere"),
        ("dnc_babi.py", ["--out", "{out}/babi_1k"], "nowhere"),
    ],
)  # fmt: skip
def test_a_wrong_data_dir_stops_and_writes_nothing(tmp_path, script, argv, message):
    out = tmp_path / "results"
    out.mkdir()
    for name in ("babi_1k", "babi_1k_joint", "babi_1k_ablation", "babi_1k_combined"):
        (out / f"{name}.json").write_text('{"runs": {"task1/seed0": {}}, "rows": []}\n')
        (out / f"{name}.md").write_text("| task | error |\n|---:|---:|\n| 1 | 0.0 |\n")
    (out / "babi_1k_ablation").mkdir()
    (out / "babi_1k_ablation" / "authors.json").write_text('{"runs": {}}\n')
    before = results(out)

    argv = [item.format(out=out) for item in argv]
    completed = bench(script, "--data-dir", str(tmp_path / "nowhere"), *argv)

    assert completed.returncode != 0, completed.stdout
    assert "Traceback" not in completed.stderr  # a plain message, not a crash
    assert completed.stderr.strip().startswith("error: ")
    assert re.search(message, completed.stderr), completed.stderr
    assert results(out) == before


def test_babi_combine_names_a_missing_evaluation(tmp_path):
    out = tmp_path / "combined"
    completed = bench("babi_combine.py", str(tmp_path / "babi_1k.json"), "--out", str(out))
    assert completed.returncode != 0
    assert f"no evaluation at {tmp_path / 'babi_1k.json'}" in completed.stderr
    assert not tmp_path.joinpath("combined.md").exists()


def test_ntm_results_names_a_task_without_a_config(tmp_path):
    table = tmp_path / "ntm.md"
    table.write_text("| task | seed |\n|---|---:|\n| copy | 0 |\n")
    before = table.read_bytes()
    completed = bench("ntm_results.py", "--tasks", "cpoy", "--out", str(tmp_path / "ntm"))
    assert completed.returncode != 0
    assert "no config for task 'cpoy'" in completed.stderr and "ntm_cpoy.yaml" in completed.stderr
    assert table.read_bytes() == before
    assert not (tmp_path / "ntm.json").exists()


def test_dnc_babi_never_replaces_its_table_with_fewer_runs(tmp_path):
    import dnc_babi

    def record(task, seed, error):
        times = {"process_seconds": 60, "wall_seconds": 50}
        return {"task": task, "seed": seed, "test_error": error, "best_val_error": error,
                "validations": 3, "steps": 30, **times}  # fmt: skip

    two_seeds = [record(1, 0, 0.1), record(1, 1, 0.2)]
    text = dnc_babi.tables(two_seeds)
    assert "| 1 | 2 | 10.0 | 0: 10.0, 1: 20.0 |" in text  # the best run by validation error
    assert "CPU time, all runs: 0.03 hours" in text  # 2 x 60 s of process time
    assert dnc_babi.run_rows(text) == 2 and dnc_babi.run_rows(dnc_babi.tables(two_seeds[:1])) == 1
    table = tmp_path / "dnc_babi_1k.md"
    table.write_text(text)
    with pytest.raises(SystemExit, match="holds 2 runs and would be replaced by 1"):
        dnc_babi.replace_results(
            {table: dnc_babi.tables(two_seeds[:1])}, count=dnc_babi.run_rows, counted=table
        )
    assert table.read_text() == text


def test_a_results_name_with_a_dot_keeps_it():
    """``--out results/arm_lr0.01`` writes arm_lr0.01.json and .md: with ``with_suffix`` two
    arms that differ after the dot (lr0.01 and lr0.003) both wrote arm_lr0.json."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from protocols import results_file
    finally:
        sys.path.remove(str(ROOT / "bench"))
    out = Path("results") / "arm_lr0.01"
    assert results_file(out, ".json") == Path("results/arm_lr0.01.json")
    assert results_file(out, ".md") == Path("results/arm_lr0.01.md")
    assert results_file(Path("results/ntm_results"), ".md") == Path("results/ntm_results.md")
    assert results_file(Path("results/x.json"), ".md") == Path("results/x.md")
