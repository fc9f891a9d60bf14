"""Wall-clock seconds per training epoch of MemN2N on bAbI, through a real Lightning Trainer.

    python bench/memn2n_epoch.py --data-dir /path/to/tasks_1-20_v1-2 [--task 1] [--all-tasks]

Model and training as ``configs/memn2n_babi.yaml`` (3 hops, d = 20, memory 50, batch 32,
SGD, per-parameter clipping at 40, RN 0.1), validation after every epoch, no logger, no
checkpoints, one thread unless ``--threads``. Prints, per measured case: seconds per epoch
(train + validation; median of the timed epochs, the first epoch is warm-up and not
counted), milliseconds per training step (forward, backward and optimiser step of the bare
model, no Lightning), and the time of one full run (linear start + epochs, as
``bench/babi_eval.py`` trains it, plus data loading and testing measured once). Cases:
one 1k task, 10k task 1, and all 20 1k tasks: MEASURED per task with ``--all-tasks`` (two
epochs each), otherwise EXTRAPOLATED as 20 x the one task (the output says which).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import lightning  # noqa: E402
import torch  # noqa: E402

from memnets.training.qa_module import QAModule, masked_cross_entropy, trim_padding  # noqa: E402
from tasks.babi.datamodule import BabiDataModule  # noqa: E402
from tasks.babi.reader import available_tasks  # noqa: E402


class EpochTimer(lightning.Callback):
    """Seconds from each training epoch's start to the end of its validation."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._started = 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._started = time.perf_counter()

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.seconds.append(time.perf_counter() - self._started)


def data(task: int, setting: str, data_dir: str) -> BabiDataModule:
    return BabiDataModule(task=task, setting=setting, source="directory", data_dir=data_dir)


def module(datamodule: BabiDataModule) -> QAModule:
    return QAModule(input_size=datamodule.input_size, output_size=datamodule.output_size)


def seconds_per_epoch(task: int, setting: str, data_dir: str, epochs: int) -> dict[str, float]:
    """Train ``epochs`` epochs through a Trainer; median epoch time after the first, plus
    the one-off cost of reading the data and testing."""
    lightning.seed_everything(0, verbose=False)
    started = time.perf_counter()
    datamodule = data(task, setting, data_dir)
    datamodule.setup("fit")
    load_seconds = time.perf_counter() - started
    model = module(datamodule)
    timer = EpochTimer()
    trainer = lightning.Trainer(
        max_epochs=epochs,
        gradient_clip_val=40,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[timer],
    )
    trainer.fit(model, datamodule=datamodule)
    test_started = time.perf_counter()
    trainer.test(model, datamodule=datamodule, verbose=False)
    timed = timer.seconds[1:] or timer.seconds
    return {
        "epoch": statistics.median(timed),
        "load": load_seconds,
        "test": time.perf_counter() - test_started,
        "steps": trainer.num_training_batches,
    }


def milliseconds_per_step(task: int, setting: str, data_dir: str, steps: int = 30) -> float:
    """Forward + backward + SGD step of the bare model on training batches, empty slots
    trimmed as QAModule does (no Lightning)."""
    datamodule = data(task, setting, data_dir)
    model = module(datamodule).model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    batches = [batch for batch, _ in zip(datamodule.train_dataloader(), range(10))]
    timings = []
    for index in range(steps + 3):
        batch = batches[index % len(batches)]
        started = time.perf_counter()
        story, mask = trim_padding(batch.story, batch.story_mask, random_noise=0.1)
        logits = model(story, batch.question, mask)
        loss = masked_cross_entropy(logits, batch.answer, reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if index >= 3:  # warm-up
            timings.append(time.perf_counter() - started)
    return 1000 * statistics.median(timings)


def run_seconds(measured: dict[str, float], total_epochs: int) -> float:
    return measured["load"] + total_epochs * measured["epoch"] + measured["test"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="unpacked tasks_1-20_v1-2 root")
    parser.add_argument("--task", type=int, default=1, help="the 1k task timed")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per timing (1st: warm-up)")
    parser.add_argument(
        "--run-epochs", type=int, default=120, help="epochs of a full run (20 LS + 100)"
    )
    parser.add_argument("--all-tasks", action="store_true", help="measure all 20 1k tasks")
    parser.add_argument("--skip-10k", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"# torch {torch.__version__}, lightning {lightning.__version__}, "
        f"{platform.processor() or platform.machine()}, {args.threads} thread(s); "
        f"a full run = {args.run_epochs} epochs"
    )
    print(f"{'case':<24} {'steps/ep':>8} {'ms/step':>8} {'s/epoch':>8} {'s/run':>8}")

    def report(name: str, task: int, setting: str, epochs: int) -> dict[str, float]:
        measured = seconds_per_epoch(task, setting, args.data_dir, epochs)
        step = milliseconds_per_step(task, setting, args.data_dir)
        print(
            f"{name:<24} {measured['steps']:>8} {step:>8.1f} {measured['epoch']:>8.2f} "
            f"{run_seconds(measured, args.run_epochs):>8.0f}",
            flush=True,
        )
        return measured

    one = report(f"1k task {args.task}", args.task, "1k", args.epochs)
    if not args.skip_10k:
        if 1 in available_tasks(args.data_dir, setting="10k"):
            report("10k task 1", 1, "10k", max(2, args.epochs // 2))
        else:
            print("10k task 1: no data")

    if args.all_tasks:
        total_epoch = total_run = 0.0
        for task in available_tasks(args.data_dir, setting="1k"):
            measured = report(f"1k task {task}", task, "1k", 2)
            total_epoch += measured["epoch"]
            total_run += run_seconds(measured, args.run_epochs)
        how = "measured, 2 epochs per task (the 2nd timed)"
    else:
        total_epoch, total_run = 20 * one["epoch"], 20 * run_seconds(one, args.run_epochs)
        how = f"EXTRAPOLATED: 20 x 1k task {args.task}"
    print(
        f"all 20 1k tasks: {total_epoch:.1f} s per epoch of every task, "
        f"{total_run / 60:.1f} min for one {args.run_epochs}-epoch run of each ({how}); "
        f"x seeds / workers for bench/babi_eval.py"
    )


if __name__ == "__main__":
    main()
