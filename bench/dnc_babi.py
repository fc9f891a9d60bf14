"""Train DNCs on real bAbI 1k single tasks in the DNC paper's word-sequence format, and tabulate.

    python bench/dnc_babi.py --data-dir ../shared/babi --tasks 1 2 3 16 --seeds 0 --jobs 2 \
        --max-time 00:00:25:00

Each run is ``train.py fit --config configs/dnc_babi.yaml --data.task T`` on the files under
``--data-dir`` (the unpacked bAbI v1.2 archive, 1k setting), stopped by ``--max-time`` (the
budget: the table states the CPU time spent, the sum of the runs' process times at one
thread each, start-up and test included) or the config's epochs; the best checkpoint by
validation error is tested. From a run's TensorBoard events this reads the test error
(questions answered wrong), the best validation error, the validations (one per epoch) and
the training wall clock.

Results are cached per task and seed in ``OUT.json`` with the hash of the config the runs
resolve to (``bench/protocols.py``; a cached run is reused only under the same protocol) and
tabulated in ``OUT.md``; neither is ever replaced by one with fewer runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from protocols import (
    KEYED_BY_TASK,
    json_runs,
    no_data,
    protocol,
    protocol_hash,
    replace_results,
    resolve,
    results_file,
    table_rows,
    train_run,
)

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "dnc_babi.yaml"
# Graves et al. 2016 report bAbI for the 10k set trained jointly only (mean over 20 runs)
PAPER = "DNC paper (10k, 20 tasks jointly): mean 16.7 +- 7.6 % over 20 runs; best run 3.8 %"


def arguments(args) -> list[str]:
    """train.py fit's arguments, less the task, the seed and where the logs go."""
    return [
        "--config", str(CONFIG), "--data.source", "directory",
        "--data.data_dir", str(Path(args.data_dir).resolve()), "--data.setting", "1k",
        "--trainer.max_time", args.max_time, *args.extra,
    ]  # fmt: skip


def run_protocol(args) -> str:
    """The hash of the config the runs resolve to (the task and seed key the runs in it)."""
    from memnets.dnc import REVISION

    config = resolve([*arguments(args), "--data.task", "1"])
    not_results = [*KEYED_BY_TASK, "data.init_args.seed"]
    return protocol_hash(protocol(config, revision=REVISION, not_results=not_results))


def read_run(log_dir: Path) -> dict:
    """Test and validation errors, epochs and wall clock from the events in ``log_dir``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(ROOT / log_dir), size_guidance={"scalars": 0})
    events.Reload()
    tags = set(events.Tags()["scalars"])
    if not {"train/loss", "val/error", "test/error"} <= tags:
        no_data(f"{ROOT / log_dir} lacks train/loss, val/error or test/error events")
    # (train/stories is not read: before it was exact, it counted every batch as full)
    losses = events.Scalars("train/loss")
    start = min(e.wall_time for e in losses)
    val = events.Scalars("val/error")
    return {
        "log_dir": log_dir.as_posix(),
        "test_error": events.Scalars("test/error")[-1].value,
        "best_val_error": min(e.value for e in val),
        "validations": len(val),
        "steps": max(e.step for e in losses) + 1,
        "wall_seconds": round(max(e.wall_time for e in losses) - start),
    }


def run(task: int, seed: int, args) -> dict:
    seeded = [*arguments(args), "--data.task", str(task), "--seed_everything", str(seed),
              "--data.init_args.seed", str(seed)]  # fmt: skip
    log_dir, seconds = train_run(ROOT, f"task{task}_seed{seed}", seeded, Path(args.save_dir))
    result = read_run(log_dir)
    result.update(task=task, seed=seed, process_seconds=seconds)
    return result


def memn2n_errors() -> dict[int, float]:
    """Test error (%) per task of the MemN2N 1k table (``results/babi_1k_10runs.json``,
    10 runs), if there."""
    path = ROOT / "results" / "babi_1k_10runs.json"
    try:
        runs = json.loads(path.read_text())["runs"]
    except (OSError, ValueError, KeyError):
        return {}
    best: dict[int, tuple] = {}  # task -> (train error, val error, seed, test error)
    for record in runs.values():  # the best run by training error, as that table picks it
        if not isinstance(record, dict) or "task" not in record or "test_error" not in record:
            continue
        key = (record.get("train_error", 0.0), record.get("val_error", 0.0), record.get("seed"))
        if record["task"] not in best or key < best[record["task"]][:3]:
            best[record["task"]] = (*key, record["test_error"])
    return {task: 100 * chosen[-1] for task, chosen in best.items()}


def tables(results: list[dict]) -> str:
    memn2n = memn2n_errors()
    lines = [
        "| task | seeds | test error % (best run by validation) | test error % per seed "
        "| best val error % | epochs | training wall clock per run "
        "| MemN2N 1k, ours (best of 10) |",
        "|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for task in sorted({r["task"] for r in results}):
        runs = sorted((r for r in results if r["task"] == task), key=lambda r: r["seed"])
        best = min(runs, key=lambda r: r["best_val_error"])
        per_seed = ", ".join(f"{r['seed']}: {100 * r['test_error']:.1f}" for r in runs)
        wall = statistics.median(r["wall_seconds"] for r in runs)
        ours = f"{memn2n[task]:.1f}" if task in memn2n else "-"
        lines.append(
            f"| {task} | {len(runs)} | {100 * best['test_error']:.1f} | {per_seed} "
            f"| {100 * best['best_val_error']:.1f} | {best['validations']} "
            f"| {wall / 60:.1f} min | {ours} |"
        )
    cpu = sum(r["process_seconds"] for r in results) / 3600
    lines += ["", f"CPU time, all runs: {cpu:.2f} hours (one thread each). {PAPER}.", ""]
    lines += [
        "## Every run",
        "",
        "| task | seed | test error % | best val error % | epochs | steps | process time |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(results, key=lambda r: (r["task"], r["seed"])):
        lines.append(
            f"| {r['task']} | {r['seed']} | {100 * r['test_error']:.1f} "
            f"| {100 * r['best_val_error']:.1f} | {r['validations']} | {r['steps']} "
            f"| {r['process_seconds'] / 60:.1f} min |"
        )
    return "\n".join(lines)


def run_rows(text: str) -> int:
    """The runs of a table file: the rows of its 'Every run' table."""
    return table_rows(text.split("## Every run")[-1]) if "## Every run" in text else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="the unpacked bAbI v1.2 archive")
    parser.add_argument("--tasks", type=int, nargs="+", default=[1, 2, 3, 16])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-time", default="00:00:25:00", help="per run, DD:HH:MM:SS")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (one thread each)")
    parser.add_argument("--out", default="results/dnc_babi_1k")
    parser.add_argument("--save-dir", default="runs/dnc_babi", help="the runs' TensorBoard logs")
    parser.add_argument("--table-only", action="store_true", help="train nothing")
    parser.add_argument("extra", nargs="*", help="more train.py overrides, after --")
    args = parser.parse_args()
    from memnets_tasks.babi import find_task_files

    for task in args.tasks:  # a wrong --data-dir stops here, before anything runs
        try:
            find_task_files(args.data_dir, task, setting="1k")
        except (FileNotFoundError, ValueError) as error:
            no_data(str(error).splitlines()[0])
    out = ROOT / args.out
    cache_file = results_file(out, ".json")
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {"runs": {}}
    digest = run_protocol(args)  # resolved before any run starts (resolving prints)
    pending = [
        (task, seed)
        for task in args.tasks
        for seed in args.seeds
        if cache["runs"].get(f"{task}/{seed}", {}).get("protocol_hash") != digest
    ]
    if args.table_only:
        pending = []

    def record(task: int, seed: int, result: dict) -> None:
        key = f"{task}/{seed}"
        cached = cache["runs"].get(key)
        if cached:  # a run of another protocol is kept, not reused
            cache["runs"][f"{key}/{cached.get('protocol_hash', 'unknown')}"] = cached
        cache["runs"][key] = {**result, "protocol_hash": digest}
        cache["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}"
        replace_results(
            {cache_file: json.dumps(cache, indent=1)}, count=json_runs, counted=cache_file
        )
        print(json.dumps(cache["runs"][key], indent=1), flush=True)

    failed = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(run, task, seed, args): (task, seed) for task, seed in pending}
        for future in as_completed(futures):
            try:
                record(*futures[future], future.result())
            except (Exception, SystemExit) as error:
                failed.append(str(error))
                print(f"error: {error}", file=sys.stderr, flush=True)
    current = [
        r for key, r in cache["runs"].items()
        if key.count("/") == 1 and r.get("protocol_hash") == digest
    ]  # fmt: skip
    if current:
        text = "\n".join([
            "# DNC on real bAbI 1k single tasks (the DNC paper's word-sequence format)",
            "",
            f"Produced by `python bench/dnc_babi.py` (configs/dnc_babi.yaml: our sizes, not the "
            f"paper's), each run stopped after {args.max_time} (DD:HH:MM:SS) or the config's "
            "epochs; the best checkpoint by validation error is tested on the task's 1k test "
            "file (1,000 questions). Error = questions answered wrong. Machine: "
            f"{cache.get('machine', '?')}.",
            "",
            tables(current),
            "",
        ])  # fmt: skip
        table_file = results_file(out, ".md")
        replace_results({table_file: text}, count=run_rows, counted=table_file)
        print(text)
    if failed:
        raise SystemExit("error: " + "; ".join(failed))


if __name__ == "__main__":
    main()
