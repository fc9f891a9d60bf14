"""Train NTMs (or DNCs) on the algorithmic tasks, five seeds each, and tabulate them beside the
paper.

    python bench/ntm_results.py --tasks copy associative_recall_ff repeat_copy priority_sort_ff \
        sort --seeds 0 1 2 3 4 --jobs 2
    python bench/ntm_results.py --model dnc --tasks copy repeat_copy --seeds 0 1 2 --jobs 2

A task is a config, ``configs/MODEL_TASK.yaml`` (``--model``: ntm, the default, or dnc; the
results go to ``results/MODEL_results`` unless ``--out``). Each run is ``train.py fit --config
configs/MODEL_TASK.yaml`` (more overrides after ``--``) for at most ``--budget`` training
sequences (default: the task's budget in ``BUDGETS``) and ``--max-time`` (default: the task's
in ``MAX_TIMES``, 3 hours for the sorting tasks, else 1 hour), with TensorBoard logs under
``--save-dir``; ``--jobs`` runs go at once (one torch thread each). From a run's event files
this reads: the number of training sequences and the wall-clock time until the
validation bit error first fell below ``--threshold`` (0.1 bits per sequence), or null when it
never did; the held-out test set's bit errors and cost at the end (the best checkpoint by
validation), and whether the test set is below the threshold too; and the bit errors at each
generalisation length of the config (``generalisation``: length, or "length x repeats").
``--reuse`` takes over runs of the same protocol from other results files (an ablation arm
trained with the overrides that a config has since adopted), recording where they came from.

Results are cached per task and seed in ``OUT.json`` (one record per run; log folders relative
to the repository), each with the hash of the config its task's runs resolve to
(``bench/protocols.py``, the task's settings included): a cached run is reused only under the
same protocol; one of another protocol is kept under ``TASK/SEED/HASH``. Hashes written before
2026-12 left out the task's settings (lengths, widths, encodings): ``--rekey`` (a migration,
nothing trains) gives the runs recorded under such a hash of today's config today's hash. The
tables show the runs of each task's current protocol only (older ones stay in the JSON) and
are written to ``OUT.md``: per task the seeds solved, sequences to solve (median and worst),
test errors and cost, wall clock; the generalisation table per seed; every run. Neither file
is ever replaced by one with fewer runs (``protocols.replace_results``); a run whose logs hold
no training events stops the command.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from protocols import (
    KEYED_BY_TASK,
    NOT_RESULTS,
    json_runs,
    machine,
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

PAPER = {  # Graves et al. 2014, figures 3, 7, 10 and 16 (read off the learning curves)
    "copy": "near 0 bits after ~100-200k sequences",
    "repeat_copy": "near 0 bits after ~100-200k sequences",
    "associative_recall": "near 0 bits after ~30k episodes",
    "priority_sort": "cost ~18-20 bits per sequence after ~1M sequences",
    "sort": "(not in the paper)",
}

TARGETS = {  # issue 12's targets, median of 5 seeds
    "copy": "<= 20k sequences to < 0.1 test bit errors, 5/5 seeds; <= 1 bit error at length 40, "
    "<= 5 at 100",
    "associative_recall": "<= 20k episodes; <= 1 bit error at 12 items",
    "repeat_copy": "< 1 test bit error per sequence within 100k sequences",
    "priority_sort": "<= 20 bits per sequence (test cost) within 300k sequences, aim <= 10",
    "sort": "(no target)",
}

BUDGETS = {  # training sequences per run, by task (the config's name less a variant suffix)
    "copy": 100_000,
    "associative_recall": 100_000,
    "repeat_copy": 100_000,
    "priority_sort": 300_000,
    "sort": 300_000,
}


MAX_TIMES = {  # a safety net per run, far above a run's time here (about 1 h for 300k)
    "priority_sort": "00:03:00:00",
    "sort": "00:03:00:00",
}


def family(task: str) -> str:
    """The task a config trains: ``associative_recall_ff`` -> ``associative_recall``."""
    return max((name for name in PAPER if task.startswith(name)), key=len, default=task)


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
    result["solved_after_sequences"] = result["solved_after_seconds"] = None  # unsolved
    if reached is not None:  # the sequences trained when that validation ran
        # train/sequences at step s is (s + 1) x sequences per step, logged every few steps;
        # a validation logged at step s follows s + 1 training steps
        last = max(sequences)
        per_step = sequences[last] / (last + 1)
        result["solved_after_sequences"] = round((reached.step + 1) * per_step)
        result["solved_after_seconds"] = round(reached.wall_time - start)
    result["final_val_bit_errors"] = val[-1].value if val else None
    result["final_val_cost_bits"] = events.Scalars("val/cost_bits")[-1].value if val else None
    result["best_val_bit_errors"] = min(e.value for e in val) if val else None
    for tag in sorted(tags):
        if tag.startswith("test") and tag.endswith(("bit_errors", "cost_bits")):
            result[tag] = events.Scalars(tag)[-1].value
    test = result.get("test/bit_errors")
    result["solved_on_test"] = None if test is None else test < threshold
    result["generalisation"] = generalisation(result)
    result["wall_seconds"] = round(max(e.wall_time for e in losses) - start)
    return result


def generalisation(record: dict) -> dict[str, float]:
    """Bit errors per sequence by generalisation set, in order: ``{"30": ..}`` for length 30,
    ``{"10x15": ..}`` for repeat copy's length 10 with 15 repeats (from ``test_length_*``)."""
    sets = {}
    for key, value in record.items():
        if key.startswith("test_length_") and key.endswith("/bit_errors"):
            name = key[len("test_length_") : -len("/bit_errors")]
            length, _, repeats = name.partition("_repeats_")
            sets[(int(length), int(repeats or 0))] = (name.replace("_repeats_", "x"), value)
    return dict(sets[shape] for shape in sorted(sets))


def config_file(task: str, args) -> Path:
    """``configs/MODEL_TASK.yaml`` (the model: ``args.model``, ntm if absent)."""
    return ROOT / "configs" / f"{getattr(args, 'model', 'ntm')}_{task}.yaml"


def task_arguments(task: str, args) -> list[str]:
    """train.py fit's arguments for ``task``, less the seed and where the logs go: the budget
    of sequences as ``max_steps`` (at the config's batch size), then the overrides."""
    config = config_file(task, args)  # from any folder (runs go from ROOT)
    if not config.is_file():
        no_data(f"no config for task {task!r}: {config} does not exist")
    budget = getattr(args, "budget", None) or BUDGETS.get(family(task))
    steps = []
    if budget:
        batch = resolve(["--config", str(config)])["data"]["init_args"]["batch_size"]
        steps = ["--trainer.max_steps", str(math.ceil(budget / batch))]
    limit = getattr(args, "max_time", None) or MAX_TIMES.get(family(task), "00:01:00:00")
    return ["--config", str(config), *steps, "--trainer.max_time", limit, *args.extra]


def training_end(config: dict) -> str | None:
    """How a run of the resolved ``config`` ends and which checkpoint it tests, where that is
    not a stop at the first validation under the threshold and the checkpoint of lowest
    validation bit errors (``memnets.training.annealing.AnnealWhenSolved``, a checkpoint
    monitor); None where it is."""
    notes = []
    for callback in config["trainer"].get("callbacks") or []:
        if callback["class_path"].endswith(".AnnealWhenSolved"):
            anneal = callback.get("init_args", {})
            notes.append(
                f"from the first validation under {anneal.get('threshold', 0.1)} it trains on "
                f"at {anneal.get('factor', 0.1)} x the learning rate for "
                f"{anneal.get('validations_after', 20)} more validations (AnnealWhenSolved)"
            )
    monitor = (config.get("checkpoint") or {}).get("monitor", "val/bit_errors")
    if monitor != "val/bit_errors":
        notes.append(f"the tested checkpoint is the one of lowest {monitor}")
    return "; ".join(notes) or None


def task_protocol(
    task: str, args, arguments: list[str] | None = None, *, unhashed_task: bool = False
) -> str:
    """The hash of the config ``task``'s runs resolve to (bench/protocols.py), the task's
    settings included; the seed, passed as the data seed too, keys the runs inside it.
    ``arguments``: the task's :func:`task_arguments` when the caller has them already (they
    resolve a config too). ``unhashed_task``: the hash as it was before 2026-12 (the task's
    settings left out), which ``--rekey`` looks for."""
    import importlib

    model = getattr(args, "model", "ntm")
    revision = importlib.import_module(f"memnets.{model}").REVISION
    config = resolve(task_arguments(task, args) if arguments is None else arguments)
    # the time limit is a safety net: a run it stops shows fewer sequences than the budget
    left_out = KEYED_BY_TASK if unhashed_task else NOT_RESULTS
    not_results = [*left_out, "data.init_args.seed", "trainer.max_time"]
    return protocol_hash(protocol(config, revision=revision, not_results=not_results))


def rekey(runs: dict[str, dict], task: str, old: str, new: str) -> int:
    """Give ``task``'s runs recorded under hash ``old`` the hash ``new`` (a run kept under
    ``TASK/SEED/old`` moves to ``TASK/SEED/new``), in place; how many were re-keyed."""
    moved = 0
    for key, run in list(runs.items()):
        if run.get("task") != task or run.get("protocol_hash") != old:
            continue
        run["protocol_hash"] = new
        if key.endswith(f"/{old}"):
            runs[key.removesuffix(old) + new] = runs.pop(key)
        moved += 1
    return moved


def fmt(value, digits=2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def thousands(value) -> str:
    return "-" if value is None else f"{value / 1000:.1f}k"


def median_and_worst(values: list) -> tuple:
    """Median and worst of sequences to solve, an unsolved run (None) counting as worse than
    any: the median is None when half or more are unsolved."""
    ranked = sorted(values, key=lambda v: math.inf if v is None else v)
    middle = ranked[(len(ranked) - 1) // 2] if len(ranked) % 2 else None
    if len(ranked) % 2 == 0 and ranked:
        low, high = ranked[len(ranked) // 2 - 1], ranked[len(ranked) // 2]
        middle = None if high is None else (low + high) / 2
    return middle, (ranked[-1] if ranked else None)


def paper(task: str, model: str) -> str:
    """The paper's figure for ``task``: the NTM paper's, labelled so beside another model."""
    text = PAPER.get(family(task), "")
    return text if model == "ntm" or not text else f"(NTM paper) {text}"


def _versus(label: str, value: float | None, limit: float, strict: bool = False) -> str:
    """``label value: met`` or ``missed by`` how much (and the factor) against ``limit``."""
    if value is None:
        return f"{label} unsolved: missed"
    if value < limit or (value == limit and not strict):
        return f"{label} {value:.2f}: met"
    factor = f", x{value / limit:.1f}" if limit > 0 else ""
    return f"{label} {value:.2f}: missed by {value - limit:.2f}{factor}"


def against_target(task: str, runs: list[dict], threshold: float) -> str:
    """How the runs of ``task`` stand against issue 12's targets (``TARGETS``; medians over
    the runs): each part met, or missed by how much. Sequences to solve count only runs whose
    test set is below ``threshold`` too; an unsolved run counts as worse than any."""
    name = family(task)
    test_solved = [
        r.get("solved_after_sequences")
        if r.get("test/bit_errors") is not None and r["test/bit_errors"] < threshold else None
        for r in runs
    ]  # fmt: skip
    middle, _ = median_and_worst(test_solved)

    def median_of(key: str) -> float | None:
        values = [generalisation(r).get(key) for r in runs]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def solved_within(limit: int, unit: str) -> str:
        if middle is None:
            return f"median {unit} to solve (on test too): unsolved, missed"
        verdict = "met" if middle <= limit else f"missed by {thousands(middle - limit)}"
        return f"median {unit} to solve (on test too) {thousands(middle)}: {verdict}"

    if name == "copy":
        solved = sum(v is not None for v in test_solved)
        seeds = f"{solved}/{len(runs)} seeds solved on test: " + (
            "met" if solved == len(runs) else f"missed by {len(runs) - solved}"
        )
        return "; ".join([seeds, solved_within(20_000, "sequences"),
                          _versus("length 40", median_of("40"), 1.0),
                          _versus("length 100", median_of("100"), 5.0)])  # fmt: skip
    if name == "associative_recall":
        return "; ".join(
            [solved_within(20_000, "episodes"), _versus("12 items", median_of("12"), 1.0)]
        )
    tests = [r["test/bit_errors"] for r in runs if r.get("test/bit_errors") is not None]
    costs = [r["test/cost_bits"] for r in runs if r.get("test/cost_bits") is not None]
    if name == "repeat_copy":
        value = statistics.median(tests) if tests else None
        return _versus("median test bit errors", value, 1.0, strict=True)
    if name == "priority_sort":
        return _versus("median test cost", statistics.median(costs) if costs else None, 20.0)
    return "-"


def summary(results: list[dict], threshold: float, model: str = "ntm") -> str:
    """One row per task: seeds solved, sequences to solve, test errors and cost, wall clock."""
    lines = [
        f"| task | seeds | solved on val (< {threshold}) | solved on test too "
        "| sequences to solve: median | worst | test bit errors/seq: median (worst) "
        "| test cost bits/seq: median | sequences trained: median | wall clock per run: median "
        "| target | against the target | paper |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for task in sorted({r["task"] for r in results}):
        runs = [r for r in results if r["task"] == task]
        solved = [r.get("solved_after_sequences") for r in runs]
        on_test = sum(
            1 for r in runs if r.get("solved_after_sequences") is not None
            and r.get("test/bit_errors") is not None and r["test/bit_errors"] < threshold
        )  # fmt: skip
        middle, worst = median_and_worst(solved)
        tests = [r["test/bit_errors"] for r in runs if r.get("test/bit_errors") is not None]
        costs = [r["test/cost_bits"] for r in runs if r.get("test/cost_bits") is not None]
        test_text = f"{fmt(statistics.median(tests))} ({fmt(max(tests))})" if tests else "-"
        lines.append(
            f"| {task} | {len(runs)} | {sum(v is not None for v in solved)}/{len(runs)} "
            f"| {on_test}/{len(runs)} | {thousands(middle) if middle is not None else 'unsolved'} "
            f"| {thousands(worst) if worst is not None else 'unsolved'} | {test_text} "
            f"| {fmt(statistics.median(costs)) if costs else '-'} "
            f"| {thousands(statistics.median(r.get('sequences', 0) for r in runs))} "
            f"| {statistics.median(r.get('wall_seconds', 0) for r in runs):.0f} s "
            f"| {TARGETS.get(family(task), '') if model == 'ntm' else '-'} "
            f"| {against_target(task, runs, threshold) if model == 'ntm' else '-'} "
            f"| {paper(task, model)} |"
        )
    return "\n".join(lines)


def generalisation_table(results: list[dict]) -> str:
    """Bit errors per sequence at each generalisation set, one row per run, one table a task."""
    tables = []
    for task in sorted({r["task"] for r in results}):
        runs = sorted((r for r in results if r["task"] == task), key=lambda r: r["seed"])
        sets = list(dict.fromkeys(name for r in runs for name in generalisation(r)))
        if not sets:
            continue
        label = "items" if family(task) == "associative_recall" else "length"
        if family(task) == "repeat_copy":
            label = "length x repeats"
        elif "sort" in task:
            label = "inputs"
        lines = [
            f"{task}, bit errors per sequence by {label}:",
            "",
            "| seed | " + " | ".join(sets) + " |",
            "|---:|" + "---:|" * len(sets),
        ]
        for r in runs:
            values = generalisation(r)
            lines.append(f"| {r['seed']} | " + " | ".join(fmt(values.get(s)) for s in sets) + " |")
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def table(results: list[dict], threshold: float, model: str = "ntm") -> str:
    lines = [
        f"| task | seed | solved (< {threshold} bit errors/seq)? | sequences to solve "
        "| time to solve | final val bit errors/seq | final val cost (bits/seq) "
        "| test bit errors/seq | longer sequences: bit errors/seq | paper |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r["task"], r["seed"])):
        solved = r.get("solved_after_sequences") is not None
        longer = ", ".join(f"{name}: {fmt(value)}" for name, value in generalisation(r).items())
        lines.append(
            f"| {r['task']} | {r['seed']} | {'yes' if solved else 'no'} "
            f"| {format(r['solved_after_sequences'], ',') if solved else '-'} "
            f"| {str(r.get('solved_after_seconds')) + ' s' if solved else '-'} "
            f"| {fmt(r['final_val_bit_errors'])} | {fmt(r['final_val_cost_bits'])} "
            f"| {fmt(r.get('test/bit_errors'))} | {longer or '-'} "
            f"| {paper(r['task'], model)} |"
        )
    return "\n".join(lines)


def run(task: str, seed: int, args, arguments: list[str]) -> dict:
    """One run of ``task`` (``arguments``: its :func:`task_arguments`) with ``seed``."""
    seeded = [*arguments, "--seed_everything", str(seed), "--data.init_args.seed", str(seed)]
    # save_dir as given: relative to the repository, or absolute
    log_dir, seconds = train_run(ROOT, f"{task}_seed{seed}", seeded, Path(args.save_dir))
    result = read_run(log_dir, args.threshold)
    result.update(task=task, seed=seed, process_seconds=seconds, machine=machine())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["ntm", "dnc"], default="ntm")
    parser.add_argument("--tasks", nargs="+", default=["copy"], help="configs/MODEL_TASK.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--budget", type=int, help="training sequences per run (default BUDGETS)")
    parser.add_argument(
        "--max-time", help="per run, DD:HH:MM:SS (default: the task's in MAX_TIMES, else 1 h)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (one thread each)")
    parser.add_argument("--threshold", type=float, default=0.1)
    parser.add_argument("--out", help="default results/MODEL_results (.json and .md)")
    parser.add_argument("--save-dir", default="runs/results", help="the runs' TensorBoard logs")
    parser.add_argument("--rerun", action="store_true", help="ignore cached results")
    parser.add_argument(
        "--table-only",
        action="store_true",
        help="train nothing: tabulate the cached runs (and what --reuse takes over)",
    )
    parser.add_argument(
        "--reread", action="store_true",
        help="train nothing: read the cached runs' figures again from their event files",
    )  # fmt: skip
    parser.add_argument(
        "--reuse", nargs="+", default=[], type=Path, metavar="JSON",
        help="other results files (an ablation arm's): a run of the same task, seed and "
        "protocol found there is taken over instead of trained",
    )  # fmt: skip
    parser.add_argument(
        "--rekey", action="store_true",
        help="train nothing: the asked tasks' runs recorded under the hash of before 2026-12, "
        "which left out the task's settings, take today's hash of the same config",
    )  # fmt: skip
    parser.add_argument("extra", nargs="*", help="more train.py overrides, after --")
    args = parser.parse_args()
    args.out = args.out or f"results/{args.model}_results"
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    cache_file = results_file(out, ".json")
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {"runs": {}}
    # resolved here, before any run starts (resolving prints: one thread at a time)
    arguments = {task: task_arguments(task, args) for task in args.tasks}  # bad task: stop here
    digests = {task: task_protocol(task, args, arguments[task]) for task in args.tasks}
    pending = []
    for task in args.tasks:
        for seed in args.seeds:
            cached = cache["runs"].get(f"{task}/{seed}", {})
            if cached.get("protocol_hash") != digests[task] or args.rerun:
                pending.append((task, seed))
    reusable = list(pending)  # --reuse takes these over, whatever else the command does
    if args.table_only or args.reread or args.rekey:  # what would train is left out of the
        pending = []  # table too
    if args.rekey:  # a migration: the same configs, the task's settings now in the hash
        for task in args.tasks:
            old = task_protocol(task, args, arguments[task], unhashed_task=True)
            moved = rekey(cache["runs"], task, old, digests[task])
            print(f"{task}: {moved} runs re-keyed {old} -> {digests[task]}", flush=True)
        if cache_file.exists():
            replace_results(
                {cache_file: json.dumps(cache, indent=1)}, count=json_runs, counted=cache_file
            )
    if args.reread:  # the same runs, their figures read again by today's read_run
        for task in args.tasks:
            for seed in args.seeds:
                cached = cache["runs"].get(f"{task}/{seed}")
                if cached and cached.get("protocol_hash") == digests[task]:
                    fresh = read_run(Path(cached["log_dir"]), args.threshold)
                    cache["runs"][f"{task}/{seed}"] = {**cached, **fresh}
        replace_results(
            {cache_file: json.dumps(cache, indent=1)}, count=json_runs, counted=cache_file
        )

    def record(task: str, seed: int, result: dict) -> None:
        key = f"{task}/{seed}"
        cached = cache["runs"].get(key, {})
        if cached:  # a run of another protocol (or code revision) is kept, not reused
            cache["runs"][f"{key}/{cached.get('protocol_hash', 'unknown')}"] = cached
        cache["runs"][key] = {**result, "protocol_hash": digests[task]}
        cache["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}"
        replace_results(
            {cache_file: json.dumps(cache, indent=1)}, count=json_runs, counted=cache_file
        )
        print(json.dumps(cache["runs"][key], indent=1), flush=True)

    for path in args.reuse:  # the same protocol trained elsewhere: the same runs
        others = json.loads((ROOT / path).read_text())["runs"]
        for task, seed in list(reusable):
            other = others.get(f"{task}/{seed}")
            if other and other.get("protocol_hash") == digests[task]:
                record(task, seed, {**other, "reused_from": path.as_posix()})
                reusable.remove((task, seed))
    pending = [item for item in pending if item in reusable]  # what was taken over: not trained

    failed = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {
            pool.submit(run, task, seed, args, arguments[task]): (task, seed)
            for task, seed in pending
        }
        for future in as_completed(futures):  # each run kept as it ends
            try:
                record(*futures[future], future.result())
            except (Exception, SystemExit) as error:  # a failed run: the others go on, then
                # the command fails (SystemExit: its logs hold no training events)
                failed.append(str(error))
                print(f"error: {error}", file=sys.stderr, flush=True)
    current = [run for key, run in cache["runs"].items() if key.count("/") == 1]
    defaults = argparse.Namespace(**{**vars(args), "budget": None, "extra": []})
    for task in {run["task"] for run in current} - set(digests):  # tasks not asked this time:
        if config_file(task, args).is_file():  # under their default protocol
            digests[task] = task_protocol(task, defaults)
    # a run of an older protocol (older code or config) stays in the JSON, not in the tables
    current = [run for run in current if run.get("protocol_hash") == digests.get(run["task"])]
    if args.table_only or args.reread or args.rekey:  # the asked tasks and seeds, today's
        current = [
            run for run in current
            if run["task"] in args.tasks and run["seed"] in args.seeds
        ]  # fmt: skip
    endings = {}  # the tasks whose runs end otherwise than by a stop once solved
    for task in sorted({run["task"] for run in current}):
        known = arguments.get(task) or task_arguments(task, defaults)
        ending = training_end(resolve(known))
        if ending:
            endings[task] = ending
    machines = sorted({run["machine"] for run in current if run.get("machine")})
    header = [
        f"# {args.model.upper()} results on the algorithmic tasks",
        "",
        f"Produced by `python bench/ntm_results.py --model {args.model}` (see",
        f"`{Path(__file__).name}`; the runs' TensorBoard events go under `{args.save_dir}/`,",
        f"which git ignores; this table and `{results_file(out, '.json').name}` are what is kept).",
        f"Machine of the last run recorded: {cache.get('machine', '?')}. Runs recorded from",
        "2026-12-01 name their own CPU"
        + (f" ({'; '.join(machines)})" if machines else "")
        + "; earlier ones do not (a seed's numbers differ from one CPU to another).",
        "Each run trains at most its task's budget of sequences and stops early once the",
        f"validation bit error is below {args.threshold} per sequence, unless its config says",
        "otherwise (below); 'solved on test too' also needs the held-out test set (the best",
        "checkpoint by validation bit errors) below it. Validation and test sets:",
        "128 fixed episodes each, lengths from the training range; every generalisation set is",
        "128 episodes of one length (and, for repeat copy, one repeat count).",
        *(f"- {task}: {ending}." for task, ending in endings.items()),
        "",
        "",
    ]
    text = (
        "\n".join(header) + summary(current, args.threshold, args.model)
        + "\n\n## Generalisation\n\n" + generalisation_table(current) + "\n\n## Every run\n\n"
        + table(current, args.threshold, args.model) + "\n"
    )  # fmt: skip
    if current:  # no table of nothing
        table_file = results_file(out, ".md")
        replace_results({table_file: text}, count=run_rows, counted=table_file)
        print(table_file.read_text())
    if failed:
        raise SystemExit("error: " + "; ".join(failed))


def run_rows(text: str) -> int:
    """The runs of a results table: the rows of its 'Every run' table (all rows in a table
    written before there were several)."""
    return table_rows(text.split("## Every run")[-1])


if __name__ == "__main__":
    main()
