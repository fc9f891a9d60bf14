"""Train one MemN2N on all 20 bAbI tasks at once and tabulate its test error per task.

    python bench/babi_joint.py --data-dir /path/to/tasks_1-20_v1-2 --setting 1k \
        --seeds 1 --out results/babi_1k_joint

The joint protocol of the paper (section 4) and of ``configs/memn2n_babi_joint.yaml``: one
vocabulary and answer set for all tasks, 3 hops, d = 50, PE LS RN, batch 32, SGD with the
cost summed over the batch, each weight's gradient norm clipped at 40, linear start for
``--linear-start-epochs`` (30) epochs at lr 0.005, then ``--epochs`` (60) epochs at lr 0.01
halved every ``--lr-halve-every`` (15). Each run goes through a real Lightning ``Trainer``
with :class:`QAModule` and ``BabiDataModule(task=[1..20], source="directory")`` and is tested
with its final weights. The variant flags of ``bench/babi_eval.py`` (``--encoding``,
``--random-noise-mode``, ``--attend-to-empty-slots``, ``--gated``) apply here too.

Writes ``OUT.json`` (per-task errors of every seed, wall time, command, machine) and ``OUT.md``:
per task the test error of the seed with the lowest training error, of the seed with the
lowest validation error, the median, and the paper's 1k PE LS RN joint column from
``DATA_DIR/paper_memn2n_table.csv`` when present. Resumable per seed, like babi_eval.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for folder in (ROOT, BENCH):  # the library, and babi_eval's helpers
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import babi_eval  # noqa: E402
import lightning  # noqa: E402
import torch  # noqa: E402

PAPER_JOINT = {"1k": "1k_PE_LS_RN_joint"}


class EpochLine(lightning.Callback):
    """Prints one line per epoch (errors and seconds), so a long joint run shows progress."""

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.started = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:  # after validation
        metrics = trainer.callback_metrics
        errors = " ".join(
            f"{name} {100 * float(metrics[key]):.1f}%"
            for name, key in (("train", "train/error_epoch"), ("val", "val/error"))
            if key in metrics
        )
        seconds = time.perf_counter() - self.started
        print(f"  epoch {trainer.current_epoch + 1}: {errors} ({seconds:.1f} s)", flush=True)


def train_joint(seed: int, settings: dict[str, Any], *, data_dir: str) -> dict[str, Any]:
    """Train and test one joint run; per-task errors are fractions."""
    from memnets.training.qa_module import QAModule
    from tasks.babi.datamodule import BabiDataModule

    torch.set_num_threads(settings["threads"])
    started = time.perf_counter()
    lightning.seed_everything(seed, verbose=False)
    datamodule = BabiDataModule(
        task=settings["tasks"],
        setting=settings["setting"],
        source="directory",
        data_dir=data_dir,
        memory_size=50,
        batch_size=32,
        validation_fraction=0.1,
        seed=0,
    )
    model = QAModule(
        input_size=datamodule.input_size,
        output_size=datamodule.output_size,
        memory_size=50,
        embedding_size=settings["embedding_size"],
        hops=3,
        encoding=settings["encoding"],
        temporal_encoding=True,
        weight_tying="adjacent",
        random_noise=0.1,
        random_noise_mode=settings["random_noise_mode"],
        attend_to_empty_slots=settings["attend_to_empty_slots"],
        gated=settings["gated"],
        optimizer="sgd",
        loss_reduction="sum",
        clip_per_parameter=True,
        lr=settings["lr"],
        lr_halve_every=settings["lr_halve_every"],
        linear_start_epochs=settings["linear_start_epochs"],
        linear_start_lr=settings["linear_start_lr"],
    )
    trainer = babi_eval.quiet_trainer(
        settings["linear_start_epochs"] + settings["epochs"], callbacks=[EpochLine()]
    )
    trainer.fit(model, datamodule=datamodule)
    metrics = trainer.callback_metrics
    tested = trainer.test(model, datamodule=datamodule, verbose=False)[0]
    return {
        "seed": seed,
        "train_error": float(metrics["train/error_epoch"]),
        "val_error": float(metrics["val/error"]),
        "test_error": float(tested["test/error"]),
        "val_error_task": {t: float(metrics[f"val/error_task{t}"]) for t in settings["tasks"]},
        "test_error_task": {t: float(tested[f"test/error_task{t}"]) for t in settings["tasks"]},
        "epochs": trainer.current_epoch,
        "seconds": time.perf_counter() - started,
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def markdown(state: dict[str, Any], paper: dict[int, float]) -> str:
    """The per-task table; seeds are chosen on the whole joint run (one model for all tasks)."""
    settings, runs = state["protocol"], list(state["runs"].values())
    lines = [
        f"# MemN2N trained jointly on all 20 bAbI {settings['setting']} tasks: test error (%)",
        "",
        f"Command: `{state['meta']['command']}`",
        "",
        f"Machine: {state['meta']['machine']}; {settings['threads']} thread(s).",
        f"{len(runs)} run(s) (seeds {', '.join(str(r['seed']) for r in runs)}); training time "
        f"{sum(r['seconds'] for r in runs) / 60:.1f} min in all.",
        "",
        f"Protocol: one model for all tasks, PE LS RN, 3 hops, d = {settings['embedding_size']}, "
        f"batch 32 with the cost summed, SGD, each weight's gradient norm clipped at 40, "
        f"linear start {settings['linear_start_epochs']} epochs at lr "
        f"{settings['linear_start_lr']:g}, then {settings['epochs']} epochs at lr "
        f"{settings['lr']:g} halved every {settings['lr_halve_every']}; encoding "
        f"{settings['encoding']}, random noise as {settings['random_noise_mode']}"
        + (", empty slots in the softmax" if settings["attend_to_empty_slots"] else "")
        + (", gated hops" if settings["gated"] else "")
        + "; tested with the final weights.",
        "",
        "Columns: **train-sel.** / **val-sel.** the seed with the lowest overall training / "
        "validation error (one choice for all tasks); **median** over seeds per task; "
        "**paper** Sukhbaatar et al. 2015, Table 1, 1k PE LS RN joint. Failed: error > 5%.",
        "",
        "| task | train-sel. | val-sel. | median | paper |",
        "|---:|---:|---:|---:|---:|",
    ]
    if not runs:
        return "\n".join(lines + [""])
    by_train = min(runs, key=lambda r: (r["train_error"], r["val_error"], r["seed"]))
    by_val = min(runs, key=lambda r: (r["val_error"], r["train_error"], r["seed"]))
    columns: dict[str, list[float]] = {"train": [], "val": [], "median": [], "paper": []}
    for task in settings["tasks"]:
        key = str(task)
        row = {
            "train": 100 * by_train["test_error_task"][key],
            "val": 100 * by_val["test_error_task"][key],
            "median": 100 * statistics.median(r["test_error_task"][key] for r in runs),
        }
        if task in paper:
            row["paper"] = paper[task]
        for name, value in row.items():
            columns[name].append(value)
        cells = [f"{row[name]:.1f}" if name in row else "" for name in columns]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    means = [f"{statistics.mean(v):.1f}" if v else "" for v in columns.values()]
    failed = [str(sum(x > 5.0 for x in v)) if v else "" for v in columns.values()]
    lines += [
        f"| **mean** | {' | '.join(means)} |",
        f"| **failed (> 5%)** | {' | '.join(failed)} |",
    ]
    return "\n".join(lines + [""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", required=True, help="unpacked tasks_1-20_v1-2 root")
    parser.add_argument("--setting", choices=("1k", "10k"), default="1k")
    parser.add_argument("--seeds", type=int, default=1, help="runs (seeds 0..N-1)")
    parser.add_argument("--epochs", type=int, default=60, help="epochs AFTER linear start")
    parser.add_argument("--linear-start-epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--linear-start-lr", type=float, default=0.005)
    parser.add_argument("--lr-halve-every", type=int, default=15)
    parser.add_argument("--embedding-size", type=int, default=50)
    parser.add_argument("--encoding", default="position",
                        choices=("position", "position_authors", "bow"))  # fmt: skip
    parser.add_argument("--random-noise-mode", default="empty_slots",
                        choices=("empty_slots", "time_gaps"))  # fmt: skip
    parser.add_argument("--attend-to-empty-slots", action="store_true")
    parser.add_argument("--gated", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tasks", default="1-20", help="tasks trained together, e.g. 1-20")
    parser.add_argument("--out", type=Path, default=Path("results/babi_1k_joint"))
    args = parser.parse_args(argv)

    settings = {
        name: getattr(args, name)
        for name in (
            "setting", "epochs", "linear_start_epochs", "lr", "linear_start_lr",
            "lr_halve_every", "embedding_size", "encoding", "random_noise_mode",
            "attend_to_empty_slots", "gated", "threads",
        )
    }  # fmt: skip
    settings["tasks"] = babi_eval.parse_tasks(args.tasks)
    digest = babi_eval.protocol_hash(settings)
    column = PAPER_JOINT.get(args.setting)
    table = Path(args.data_dir) / "paper_memn2n_table.csv"
    paper: dict[int, float] = {}
    if column is not None and table.is_file():
        with table.open(newline="") as file:
            paper = {int(row["task"]): float(row[column]) for row in csv.DictReader(file)}
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path = out.with_suffix(".json")
    runs: dict[str, Any] = {}
    if json_path.is_file():
        previous = json.loads(json_path.read_text())
        if previous.get("protocol_hash") == digest:
            runs = previous["runs"]
    command = shlex.join(
        ["python", *(sys.argv if argv is None else ["bench/babi_joint.py", *argv])]
    )
    state = {
        "protocol": settings,
        "protocol_hash": digest,
        "runs": runs,
        "meta": {"command": command, "machine": babi_eval.machine()},
    }
    for seed in range(args.seeds):
        if str(seed) in runs:
            continue
        print(f"seed {seed}: training on tasks {args.tasks} jointly", flush=True)
        result = train_joint(seed, settings, data_dir=args.data_dir)
        runs[str(seed)] = json.loads(json.dumps(result))  # task keys as strings, like on disk
        json_path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
        out.with_suffix(".md").write_text(markdown(state, paper))
        print(
            f"seed {seed}: train {100 * result['train_error']:.1f}% val "
            f"{100 * result['val_error']:.1f}% test {100 * result['test_error']:.1f}% "
            f"({result['seconds']:.0f} s)",
            flush=True,
        )
    out.with_suffix(".md").write_text(markdown(state, paper))
    print(f"wrote {out.with_suffix('.md')} and {json_path}", flush=True)


if __name__ == "__main__":
    main()
