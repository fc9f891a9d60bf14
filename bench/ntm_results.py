"""Train NTMs on the algorithmic tasks and tabulate convergence beside the paper.

    python bench/ntm_results.py --tasks copy --seeds 0 1 2 --max-time 00:00:10:00
    python bench/ntm_results.py --tasks repeat_copy associative_recall priority_sort --seeds 0

Each run is ``train.py fit --config configs/ntm_TASK.yaml`` (more overrides after ``--``) with
TensorBoard logs under ``--save-dir``. From its event files this reads: the number of training
sequences and the wall-clock time until the validation bit error first fell below
``--threshold`` (0.1 bits per sequence), or the final validation error when it never did, and
the held-out test errors at the end (training range and the config's longer generalisation
lengths). Results are cached per task and seed in ``results/ntm_results.json`` (log folders
relative to the repository), each with the hash of the config its task's runs resolve to
(``bench/protocols.py``): a cached run is reused only under the same protocol; one of another
protocol is kept under ``TASK/SEED/HASH`` and left out of the table, which is written to
``results/ntm_results.md``. Neither file is ever replaced by one with fewer runs
(``protocols.replace_results``); a run whose logs hold no training events stops the command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from protocols import (
    NOT_RESULTS,
    json_runs,
    no_data,
    protocol,
    protocol_hash,
    replace_results,
    resolve,
    table_rows,
)

ROOT = Path(__file__).resolve().parents[1]

PAPER = {  # Graves et al. 2014, figures 3, 7, 10 and 16 (read off the learning curves)
    "copy": "near 0 bits after ~100-200k sequences",
    "repeat_copy": "near 0 bits after ~100-200k sequences",
    "associative_recall": "near 0 bits after ~30k episodes",
    "priority_sort": "cost ~18-20 bits per sequence after ~1M sequences",
    "sort": "(not in the paper)",
}


def read_run(log_dir: Path, threshold: float) -> dict:
    """Convergence and test errors from the events in ``log_dir`` (recorded as given)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(ROOT / log_dir), size_guidance={"scalars": 0})
    events.Reload()
    tags = set(events.Tags()["scalars"])
    val = events.Scalars("val/bit_errors") if "val/bit_errors" in tags else []
    if not {"train/loss", "train/sequences"} <= tags:
        no_data(f"{ROOT / log_dir} holds no training events (train/loss, train/sequences)")
    sequences = {e.step: e.value for e in events.Scalars("train/sequences")}
    losses = events.Scalars("train/loss")
    start = min(e.wall_time for e in losses)
    result: dict = {"log_dir": log_dir.as_posix(), "steps": max(sequences, default=-1) + 1}
    result["sequences"] = int(max(sequences.values(), default=0))
    reached = next((e for e in val if e.value < threshold), None)
    if reached is not None:  # sequences at the last training step logged up to that point
        seen = sequences[max(step for step in sequences if step <= reached.step)]
        result["solved_after_sequences"] = int(seen)
        result["solved_after_seconds"] = round(reached.wall_time - start)
    result["final_val_bit_errors"] = val[-1].value if val else None
    result["final_val_cost_bits"] = events.Scalars("val/cost_bits")[-1].value if val else None
    result["best_val_bit_errors"] = min(e.value for e in val) if val else None
    for tag in sorted(tags):
        if tag.startswith("test") and tag.endswith(("bit_errors", "cost_bits")):
            result[tag] = events.Scalars(tag)[-1].value
    result["wall_seconds"] = round(max(e.wall_time for e in losses) - start)
    return result


def task_arguments(task: str, args) -> list[str]:
    """train.py fit's arguments for ``task``, less the seed and where the logs go."""
    config = ROOT / "configs" / f"ntm_{task}.yaml"  # from any folder (runs go from ROOT)
    return ["--config", str(config), "--trainer.max_time", args.max_time, *args.extra]


def task_protocol(task: str, args) -> str:
    """The hash of the config ``task``'s runs resolve to (bench/protocols.py); the seed,
    passed as the data seed too, keys the runs inside it."""
    from memnets.ntm import REVISION

    config = resolve(task_arguments(task, args))
    not_results = [*NOT_RESULTS, "data.init_args.seed"]
    return protocol_hash(protocol(config, revision=REVISION, not_results=not_results))


def run(task: str, seed: int, args) -> dict:
    name = f"{task}_seed{seed}"
    save_dir = Path(args.save_dir)  # as given: relative to the repository, or absolute
    command = [
        sys.executable, "train.py", "fit", *task_arguments(task, args),
        "--seed_everything", str(seed),
        "--data.init_args.seed", str(seed),
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(save_dir),
        "--trainer.logger.init_args.name", name,
    ]  # fmt: skip
    print("$", " ".join(command), flush=True)
    started = time.time()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    log_file = ROOT / save_dir / f"{name}.log"
    log_file.write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise RuntimeError(f"{name} failed (exit {completed.returncode}); see {log_file}")
    version = max((ROOT / save_dir / name).glob("version_*"), key=os.path.getmtime)
    result = read_run(save_dir / name / version.name, args.threshold)
    result.update(task=task, seed=seed, process_seconds=round(time.time() - started))
    return result


def fmt(value, digits=2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(results: list[dict], threshold: float) -> str:
    lines = [
        f"| task | seed | solved (< {threshold} bit errors/seq)? | sequences to solve "
        "| time to solve | final val bit errors/seq | final val cost (bits/seq) "
        "| test bit errors/seq | longer sequences: bit errors/seq | paper |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r["task"], r["seed"])):
        solved = "solved_after_sequences" in r
        longer = ", ".join(  # sorted by tag, as strings ("12" before "8")
            f"{key[len('test_length_') :].split('/')[0]}: {fmt(value)}"
            for key, value in sorted(r.items())
            if key.startswith("test_length_") and key.endswith("bit_errors")
        )
        lines.append(
            f"| {r['task']} | {r['seed']} | {'yes' if solved else 'no'} "
            f"| {format(r['solved_after_sequences'], ',') if solved else '-'} "
            f"| {str(r['solved_after_seconds']) + ' s' if solved else '-'} "
            f"| {fmt(r['final_val_bit_errors'])} | {fmt(r['final_val_cost_bits'])} "
            f"| {fmt(r.get('test/bit_errors'))} | {longer or '-'} | {PAPER.get(r['task'], '')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["copy"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-time", default="00:00:10:00", help="per run, DD:HH:MM:SS")
    parser.add_argument("--threshold", type=float, default=0.1)
    parser.add_argument("--out", default="results/ntm_results")
    parser.add_argument("--save-dir", default="runs/results", help="the runs' TensorBoard logs")
    parser.add_argument("--rerun", action="store_true", help="ignore cached results")
    parser.add_argument("extra", nargs="*", help="more train.py overrides, after --")
    args = parser.parse_args()
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    cache_file = out.with_suffix(".json")
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {"runs": {}}
    for task in args.tasks:
        digest = task_protocol(task, args)
        for seed in args.seeds:
            key = f"{task}/{seed}"
            cached = cache["runs"].get(key, {})
            if cached.get("protocol_hash") == digest and not args.rerun:
                continue
            if cached:  # a run of another protocol (or code revision) is kept, not reused
                cache["runs"][f"{key}/{cached.get('protocol_hash', 'unknown')}"] = cached
            cache["runs"][key] = {**run(task, seed, args), "protocol_hash": digest}
            cache["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}"
            replace_results(
                {cache_file: json.dumps(cache, indent=1)}, count=json_runs, counted=cache_file
            )
            print(json.dumps(cache["runs"][key], indent=1), flush=True)
    header = [
        "# NTM results on the algorithmic tasks",
        "",
        f"Produced by `python bench/ntm_results.py` (see `{Path(__file__).name}`; per-run logs and",
        f"TensorBoard events under `{args.save_dir}/`). Machine: {cache.get('machine', '?')}.",
        "Each run is time-limited (`--max-time`); 'no' means the threshold was not reached in",
        "that time, and the final validation error is what the run ended with; a run stops as",
        "soon as it is solved, so 'final' is then the error at that point.",
        "Validation and test sets: 128 fixed episodes each, lengths from the training range;",
        "'longer sequences' are 128 episodes at each generalisation length of the config.",
        "",
        "",
    ]
    current = [run for key, run in cache["runs"].items() if key.count("/") == 1]
    text = "\n".join(header) + table(current, args.threshold) + "\n"
    replace_results(
        {out.with_suffix(".md"): text}, count=table_rows, counted=out.with_suffix(".md")
    )
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
