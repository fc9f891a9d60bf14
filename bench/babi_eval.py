"""Train MemN2N (PE LS RN) on each bAbI task with several seeds and tabulate test errors.

    python bench/babi_eval.py --data-dir /path/to/tasks_1-20_v1-2 --setting 1k \
        --tasks 1-20 --seeds 5 --epochs 100 --out results/babi_1k [--workers 2]

Every run goes through a real Lightning ``Trainer`` with :class:`QAModule` and
``BabiDataModule(source="directory")``, configured as ``configs/memn2n_babi.yaml``
(3 hops, d = 20, batch 32, SGD, gradient norm 40, memory 50, RN 0.1). ``--epochs`` counts
the epochs AFTER linear start, as the authors' code does (``nepochs = 100`` after
``ls_nepochs = 20``): a run trains ``--linear-start-epochs + --epochs`` epochs in all.
Each run is tested with its final weights (the authors' code has no early stopping).

Writes ``OUT.json`` (every run's errors and wall time, the command line and machine) and
``OUT.md``, a table with, per task, the test error of the run with the lowest TRAINING error
(the paper's rule: "repeat training 10 times and pick the one with lowest training error";
the training error is the last epoch's running error, as their train.m prints it; ties go
to the lower validation error, then the lower seed), of the run with the lowest validation
error, the median over seeds, and the paper's 1k PE LS RN column, read at run time from
``DATA_DIR/paper_memn2n_table.csv`` when it is there. Bottom rows: mean error and failed tasks
(error > 5%) per column. Tasks without data files are listed as "no data".

Resumable: runs already in ``OUT.json`` under the same protocol are not run again, and the
JSON and table are rewritten after every run, so a killed evaluation continues where it
stopped. ``--workers 2`` trains two runs at once in separate processes (one thread each);
``kill PID`` (SIGTERM) of the main process stops its workers as well.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import os
import platform
import shlex
import signal
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import active_children, get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FAILED_ABOVE = 5.0  # % test error: the paper's "failed task"
PAPER_COLUMNS = {"1k": "1k_PE_LS_RN", "10k": "10k_PE_LS_RN"}

# helpers


def parse_tasks(text: str) -> list[int]:
    """``"1-3,7"`` -> ``[1, 2, 3, 7]``."""
    tasks: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            first, last = (int(value) for value in part.split("-"))
            tasks.extend(range(first, last + 1))
        elif part:
            tasks.append(int(part))
    if not tasks or any(not 1 <= task <= 20 for task in tasks):
        raise argparse.ArgumentTypeError(f"tasks must lie in 1..20, got {text!r}")
    return sorted(set(tasks))


VARIANT_DEFAULTS = {  # protocol keys added later; left out of the hash at these values
    "random_noise_mode": "empty_slots",
    "attend_to_empty_slots": False,
    "gated": False,
}


def protocol(args: argparse.Namespace) -> dict[str, Any]:
    """Everything that changes a run's result; runs are cached under its hash."""
    settings = {
        "setting": args.setting,
        "epochs_after_linear_start": args.epochs,
        "linear_start_epochs": args.linear_start_epochs,
        "lr": args.lr,
        "linear_start_lr": args.linear_start_lr,
        "lr_halve_every": args.lr_halve_every,
        "embedding_size": args.embedding_size,
        "hops": args.hops,
        "random_noise": args.random_noise,
        "batch_size": args.batch_size,
        "memory_size": args.memory_size,
        "gradient_clip_val": 40.0,
        "encoding": args.encoding,
        "temporal_encoding": True,
        "weight_tying": "adjacent",
        "answers_as_words": True,  # W^T = C^K
        "optimizer": "sgd",
        "loss_reduction": "sum",
        "clip_per_parameter": True,
        "validation_fraction": 0.1,
        "data_seed": 0,
    }
    for name, default in VARIANT_DEFAULTS.items():
        if getattr(args, name) != default:
            settings[name] = getattr(args, name)
    return settings


def parse_memory_size(text: str) -> int | str:
    """A number of slots, or ``"authors"``: min(50, the longest training story of the task),
    the number of slots of the authors' code (``config.sz``)."""
    if text == "authors":
        return text
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"memory size must be positive, got {value}")
    return value


def authors_memory_size(task: int, settings: dict[str, Any], data_dir: str) -> int:
    """min(50, longest story before a training question), as ``config_babi.m`` sets it."""
    from tasks.babi.reader import find_task_files, read_babi_file

    train_file, _ = find_task_files(data_dir, task, setting=settings["setting"])
    return min(50, max(len(sample.story) for sample in read_babi_file(train_file)))


def protocol_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def run_key(task: int, seed: int) -> str:
    return f"task{task}/seed{seed}"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (
        f"{cpu}, {os.cpu_count()} logical cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


def quiet_trainer(max_epochs: int, *, gradient_clip_val: float = 40.0, **options: Any):
    """A one-CPU ``lightning.Trainer`` for scripted runs: gradient norms clipped at
    ``gradient_clip_val`` (per weight under :class:`QAModule`'s default), no logger,
    checkpoints, progress bar, model summary or sanity check unless ``options`` say so."""
    import lightning

    defaults = dict(
        max_epochs=max_epochs,
        gradient_clip_val=gradient_clip_val,
        gradient_clip_algorithm="norm",
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    return lightning.Trainer(**{**defaults, **options})


def train_one(
    task: int,
    seed: int,
    settings: dict[str, Any],
    *,
    data_dir: str,
    log_dir: str | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Train and test one run; returns its errors (fractions) and wall time in seconds."""
    import lightning
    import torch

    from memnets.training.qa_module import QAModule
    from tasks.babi.datamodule import BabiDataModule

    torch.set_num_threads(threads)
    started = time.perf_counter()
    lightning.seed_everything(seed, verbose=False)
    memory_size = settings["memory_size"]
    if memory_size == "authors":
        memory_size = authors_memory_size(task, settings, data_dir)
    datamodule = BabiDataModule(
        task=task,
        setting=settings["setting"],
        source="directory",
        data_dir=data_dir,
        memory_size=memory_size,
        batch_size=settings["batch_size"],
        validation_fraction=settings["validation_fraction"],
        seed=settings["data_seed"],  # the same validation split for every seed
    )
    model = QAModule(
        input_size=datamodule.input_size,
        output_size=datamodule.output_size,
        memory_size=memory_size,
        embedding_size=settings["embedding_size"],
        hops=settings["hops"],
        encoding=settings["encoding"],
        temporal_encoding=settings["temporal_encoding"],
        weight_tying=settings["weight_tying"],
        answers_as_words=settings["answers_as_words"],
        random_noise=settings["random_noise"],
        **{name: settings.get(name, default) for name, default in VARIANT_DEFAULTS.items()},
        optimizer=settings["optimizer"],
        loss_reduction=settings["loss_reduction"],
        clip_per_parameter=settings["clip_per_parameter"],
        lr=settings["lr"],
        lr_halve_every=settings["lr_halve_every"],
        linear_start_epochs=settings["linear_start_epochs"],
        linear_start_lr=settings["linear_start_lr"],
    )
    logger: Any = False
    if log_dir is not None:
        from lightning.pytorch.loggers import TensorBoardLogger

        logger = TensorBoardLogger(log_dir, name=f"task{task}", version=f"seed{seed}")
    trainer = quiet_trainer(
        settings["linear_start_epochs"] + settings["epochs_after_linear_start"],
        gradient_clip_val=settings["gradient_clip_val"],
        logger=logger,
        log_every_n_steps=50,
    )
    trainer.fit(model, datamodule=datamodule)
    fit_seconds = time.perf_counter() - started
    metrics = trainer.callback_metrics
    train_error = float(metrics["train/error_epoch"])
    val_error = float(metrics["val/error"])
    test_error = float(trainer.test(model, datamodule=datamodule, verbose=False)[0]["test/error"])
    return {
        "task": task,
        "seed": seed,
        "train_error": train_error,
        "val_error": val_error,
        "test_error": test_error,
        "epochs": trainer.current_epoch,
        "steps": trainer.global_step,
        "fit_seconds": fit_seconds,
        "memory_size": memory_size,
        "seconds": time.perf_counter() - started,
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def _worker(job: tuple) -> dict[str, Any]:
    task, seed, settings, data_dir, log_dir = job
    return train_one(task, seed, settings, data_dir=data_dir, log_dir=log_dir)


def _stop_workers(signum: int, frame: Any) -> None:
    """``kill PID`` of the main process ends its workers too (finished runs are saved)."""
    for child in active_children():
        child.kill()
    os._exit(128 + signum)


def read_paper_column(data_dir: str, setting: str) -> dict[int, float]:
    """The paper's PE LS RN column from ``DATA_DIR/paper_memn2n_table.csv`` ({} if absent)."""
    path = Path(data_dir) / "paper_memn2n_table.csv"
    column = PAPER_COLUMNS.get(setting)
    if column is None or not path.is_file():
        return {}
    with path.open(newline="") as file:
        return {int(row["task"]): float(row[column]) for row in csv.DictReader(file)}


# selection and table


def select(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Test error (%) of the run with the lowest training error, of the run with the lowest
    validation error, and the median over runs."""
    by_train = min(runs, key=lambda r: (r["train_error"], r["val_error"], r["seed"]))
    by_val = min(runs, key=lambda r: (r["val_error"], r["train_error"], r["seed"]))
    return {
        "by_train": 100 * by_train["test_error"],
        "by_val": 100 * by_val["test_error"],
        "median": 100 * statistics.median(r["test_error"] for r in runs),
        "train_seed": by_train["seed"],
        "val_seed": by_val["seed"],
    }


def summarise(
    state: dict[str, Any], tasks: list[int], missing: set[int], paper: dict[int, float]
) -> dict[str, Any]:
    runs = state["runs"]
    seeds = state["seeds"]
    rows = []
    for task in tasks:
        if task in missing:
            rows.append({"task": task, "no_data": True, "paper": paper.get(task)})
            continue
        done = [runs[key] for s in seeds if (key := run_key(task, s)) in runs]
        row: dict[str, Any] = {"task": task, "runs": len(done), "paper": paper.get(task)}
        if done:
            row.update(select(done))
            row["seconds"] = statistics.mean(r["seconds"] for r in done)
        rows.append(row)
    columns = {}
    for name in ("by_train", "by_val", "median", "paper"):
        values = [row[name] for row in rows if row.get(name) is not None]
        complete = [row for row in rows if not row.get("no_data")]
        columns[name] = {
            "tasks": len(values),
            "mean": statistics.mean(values) if values else None,
            "failed": sum(value > FAILED_ABOVE for value in values),
            "complete": len(values) == len(complete),
        }
    return {"rows": rows, "columns": columns}


def differences(settings: dict[str, Any], num_seeds: int) -> list[str]:
    """How this protocol departs from the paper and the authors' MATLAB code, in words."""
    items = [f"{num_seeds} runs per task instead of 10"]
    if settings.get("random_noise_mode", "empty_slots") == "empty_slots":
        items.append(
            "random noise inserts empty memories that are attended to (their code leaves "
            "random gaps in the time indices instead)"
        )
    else:
        items.append("random noise leaves random gaps in the time indices, as their code does")
    if settings["encoding"] == "position":
        items.append(
            "position encoding by the paper's section 4.1 formula (their code uses "
            "1 + 4(k - (d+1)/2)(j - (J+1)/2)/(dJ), about twice as large)"
        )
    elif settings["encoding"] == "position_authors":
        items.append(
            "position encoding by their code's formula 1 + 4(k - (d+1)/2)(j - (J+1)/2)/(dJ) "
            "(about twice the paper's section 4.1 values), the time index as word J"
        )
    if settings.get("attend_to_empty_slots"):
        memory = settings["memory_size"]
        slots = "min(50, longest training story)" if memory == "authors" else str(memory)
        items.append(
            f"memory of {slots} slots whose empty ones stay in the softmax with score 0, as in "
            "their code"
        )
    else:
        items.append(
            "empty memory slots are masked out of the softmax (their code keeps its "
            "min(50, longest story) slots in it, empty ones with score 0)"
        )
    if settings.get("gated"):
        items.append("gated hops (Liu & Perez 2017), not in the paper")
    items.append(
        "an epoch is one shuffled pass over the training questions (theirs: floor(N/32) "
        "batches drawn with replacement); the validation 10% is a seeded random draw (theirs: "
        "the last 10% of the file)"
    )
    if settings["lr"] != settings["linear_start_lr"]:
        items.append(
            f"the softmax phase starts at lr {settings['lr']:g} as the paper says (their code "
            f"restarts it at {settings['linear_start_lr']:g})"
        )
    else:
        items.append(f"the softmax phase restarts at lr {settings['lr']:g}, as their code does")
    return items


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def markdown(state: dict[str, Any], summary: dict[str, Any]) -> str:
    meta = state["meta"]
    settings = state["protocol"]
    seeds = state["seeds"]
    runs_done = sum(row.get("runs", 0) for row in summary["rows"])
    runs_wanted = len(seeds) * sum(not row.get("no_data") for row in summary["rows"])
    total_seconds = sum(r["seconds"] for r in state["runs"].values())
    ls, after = settings["linear_start_epochs"], settings["epochs_after_linear_start"]
    memory = settings["memory_size"]
    if memory == "authors":
        memory = "min(50, longest training story)"
    lines = [
        f"# MemN2N on bAbI {settings['setting']}: test error (%) per task",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"Machine: {meta['machine']}; {meta['workers']} worker process(es), 1 thread each.",
        f"Started {meta['started']}, last updated "
        f"{datetime.datetime.now().isoformat(timespec='seconds')}; "
        f"{runs_done} of {runs_wanted} runs done ({len(seeds)} seeds per task: "
        f"{', '.join(map(str, seeds))}); training time summed over runs "
        f"{total_seconds / 60:.1f} min.",
        "",
        *([meta["note"], ""] if meta.get("note") else []),
        f"Protocol: PE LS RN, {settings['hops']} hops, d = {settings['embedding_size']}, "
        "adjacent tying with the answers scored by the last output embedding (W^T = C^K, "
        f"softmax over the vocabulary), temporal encoding, memory {memory} slots, "
        f"batch {settings['batch_size']} with the cost summed over the batch, plain SGD, "
        f"each weight's gradient norm clipped at {settings['gradient_clip_val']:g}, random "
        f"noise {settings['random_noise']:g}; linear start {ls} epochs at lr "
        f"{settings['linear_start_lr']:g}, then {after} epochs at lr {settings['lr']:g} halved "
        f"every {settings['lr_halve_every']} ({ls + after} epochs in all); 10% of the training "
        "questions held out for validation (the same split for every seed); every run tested "
        "with its final weights.",
        "",
        "Columns: **train-sel.** test error of the seed with the lowest final training error "
        "(the paper's selection rule); **val-sel.** of the seed with the lowest final "
        "validation error; **median** over the seeds; **paper** Sukhbaatar et al. 2015, "
        f"Table 1, {PAPER_COLUMNS.get(settings['setting'], '?')} (10 runs per task, "
        "train-selected). Failed: error > 5%.",
        "",
        "Differences from the paper's protocol and the authors' MATLAB code: "
        + "; ".join(differences(settings, len(seeds)))
        + ".",
        "",
        "| task | runs | train-sel. | val-sel. | median | paper | s/run |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in summary["rows"]:
        if row.get("no_data"):
            lines.append(f"| {row['task']} | no data | | | | {_cell(row['paper'])} | |")
            continue
        lines.append(
            f"| {row['task']} | {row['runs']} | {_cell(row.get('by_train'))} | "
            f"{_cell(row.get('by_val'))} | {_cell(row.get('median'))} | {_cell(row['paper'])} | "
            f"{row['seconds']:.0f} |"
            if row["runs"]
            else f"| {row['task']} | 0 | | | | {_cell(row['paper'])} | |"
        )
    columns = summary["columns"]

    def footer(name: str, key: str, fmt) -> str:
        cells = []
        for column in ("by_train", "by_val", "median", "paper"):
            info = columns[column]
            value = info[key]
            text = "" if value is None else fmt(value)
            if text and not info["complete"]:
                text += f" ({info['tasks']} tasks)"
            cells.append(text)
        return f"| **{name}** | | " + " | ".join(cells) + " | |"

    lines.append(footer("mean", "mean", lambda v: f"{v:.1f}"))
    lines.append(footer("failed (> 5%)", "failed", str))
    lines.append("")
    return "\n".join(lines)


def write_outputs(out: Path, state: dict[str, Any], tasks, missing, paper) -> None:
    summary = summarise(state, tasks, missing, paper)
    state = {**state, "summary": summary}
    for suffix, text in (
        (".json", json.dumps(state, indent=1, sort_keys=True) + "\n"),
        (".md", markdown(state, summary)),
    ):
        path = out.with_suffix(suffix)
        temporary = path.with_suffix(suffix + ".tmp")
        temporary.write_text(text)
        temporary.replace(path)  # atomic: a kill never leaves half a file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", required=True, help="unpacked tasks_1-20_v1-2 root")
    parser.add_argument("--setting", choices=("1k", "10k"), default="1k")
    parser.add_argument("--tasks", type=parse_tasks, default=parse_tasks("1-20"), help="1-20, 1,3")
    parser.add_argument("--seeds", type=int, default=5, help="runs per task (seeds 0..N-1)")
    parser.add_argument("--epochs", type=int, default=100, help="epochs AFTER linear start")
    parser.add_argument("--linear-start-epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--linear-start-lr", type=float, default=0.005)
    parser.add_argument("--lr-halve-every", type=int, default=25)
    parser.add_argument("--embedding-size", type=int, default=20)
    parser.add_argument("--hops", type=int, default=3)
    parser.add_argument("--random-noise", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--encoding",
        choices=("position", "position_authors", "bow"),
        default="position",
        help="position: the paper's section 4.1; position_authors: their MATLAB code's",
    )
    parser.add_argument(
        "--memory-size",
        type=parse_memory_size,
        default=50,
        help="memory slots, or 'authors': min(50, longest training story), as their code",
    )
    parser.add_argument(
        "--random-noise-mode",
        choices=("empty_slots", "time_gaps"),
        default="empty_slots",
        help="empty_slots: insert empty memories; time_gaps: gaps in the time indices (code)",
    )
    parser.add_argument(
        "--attend-to-empty-slots",
        action="store_true",
        help="empty slots stay in the softmax with score 0, as in the authors' code",
    )
    parser.add_argument("--gated", action="store_true", help="gated hops (Liu & Perez 2017)")
    parser.add_argument("--out", type=Path, default=Path("results/babi_1k"), help="OUT.md/.json")
    parser.add_argument("--workers", type=int, default=1, help="runs trained at once")
    parser.add_argument("--log-dir", default=None, help="TensorBoard logs per run (off if unset)")
    parser.add_argument("--note", default="", help="a sentence for the table's header")
    args = parser.parse_args(argv)

    from tasks.babi.reader import available_tasks

    settings = protocol(args)
    digest = protocol_hash(settings)
    missing = set(args.tasks) - set(available_tasks(args.data_dir, setting=args.setting))
    paper = read_paper_column(args.data_dir, args.setting)
    seeds = list(range(args.seeds))
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["python", *(sys.argv if argv is None else ["bench/babi_eval.py", *argv])])

    cached: dict[str, Any] = {}
    started = datetime.datetime.now().isoformat(timespec="seconds")
    json_path = out.with_suffix(".json")
    if json_path.is_file():
        previous = json.loads(json_path.read_text())
        if previous.get("protocol_hash") == digest:
            cached = previous.get("runs", {})
            started = previous["meta"]["started"]
        else:
            print(f"{json_path} holds another protocol; starting afresh", flush=True)
    state = {
        "protocol": settings,
        "protocol_hash": digest,
        "seeds": seeds,
        "tasks": args.tasks,
        "missing_tasks": sorted(missing),
        "runs": cached,
        "meta": {
            "command": command,
            "machine": machine(),
            "workers": args.workers,
            "started": started,
            "note": args.note,
        },
    }
    jobs = [
        (task, seed, settings, args.data_dir, args.log_dir)
        for seed in seeds  # every task's first seed before any task's second
        for task in args.tasks
        if task not in missing and run_key(task, seed) not in cached
    ]
    print(
        f"{len(jobs)} runs to do ({len(cached)} cached), {args.workers} worker(s); "
        f"no data for tasks {sorted(missing) or 'none'}",
        flush=True,
    )
    write_outputs(out, state, args.tasks, missing, paper)

    def record(result: dict[str, Any]) -> None:
        state["runs"][run_key(result["task"], result["seed"])] = result
        write_outputs(out, state, args.tasks, missing, paper)
        print(
            f"task {result['task']:2d} seed {result['seed']}: "
            f"train {100 * result['train_error']:5.1f}% "
            f"val {100 * result['val_error']:5.1f}% "
            f"test {100 * result['test_error']:5.1f}% ({result['seconds']:.0f} s)",
            flush=True,
        )

    if args.workers <= 1:
        for job in jobs:
            record(_worker(job))
    else:
        signal.signal(signal.SIGTERM, _stop_workers)
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_worker, job) for job in jobs]
            for future in as_completed(futures):
                record(future.result())
    print(f"wrote {out.with_suffix('.md')} and {json_path}", flush=True)


if __name__ == "__main__":
    main()
