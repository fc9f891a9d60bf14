"""Wall-clock seconds per training epoch of MemN2N on bAbI, through a real Lightning Trainer.

    python bench/memn2n_epoch.py --data-dir /path/to/tasks_1-20_v1-2 [--task 1] [--epochs 4] \
        [--runs 1 10]

The model, module and data settings of ``configs/memn2n_babi.yaml`` (the authors' protocol,
sized by the data module: 3 hops, d = 20, memory min(50, longest story), time-gap noise 0.1,
batch 32, SGD, linear start, each weight's gradient norm clipped at 40), validation after
every epoch, no logger, no
checkpoints, one thread unless ``--threads``. Prints, for one 1k task and 10k task 1 (when its
files are there): seconds per epoch (train + validation; the median of the timed epochs, the
first is warm-up), milliseconds per training step (forward, backward and optimiser step of
the bare model, no Lightning), and the time of one full run (``--run-epochs``, as
``bench/babi_eval.py`` trains it, plus data loading and testing measured once); all 20 1k
tasks are EXTRAPOLATED as 20 x the one task. ``--runs R ...``: each case also with R runs
trained together (``run_seeds``), amortised per run (s/ep/run).
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
import time
from pathlib import Path

import lightning
import torch
import yaml
from memnets_tasks.babi.datamodule import BabiDataModule
from memnets_tasks.babi.reader import available_tasks
from protocols import no_data

from memnets.memn2n import MemN2N
from memnets.training.qa_module import QAModule, masked_cross_entropy


class EpochTimer(lightning.Callback):
    """Seconds from each training epoch's start to the end of its validation."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.started = time.perf_counter()

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.seconds.append(time.perf_counter() - self.started)


CONFIG = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "memn2n_babi.yaml")
                        .read_text())  # fmt: skip
MODULE = dict(CONFIG["model"]["init_args"])  # the QA module's settings ...
MODEL = MODULE.pop("model")["init_args"]  # ... and the model's
DATA = {key: CONFIG["data"]["init_args"][key]
        for key in ("memory_size", "batch_size", "eval_batch_size")}  # fmt: skip


def module(data: BabiDataModule) -> QAModule:
    """The model and training settings of configs/memn2n_babi.yaml, sized by the data."""
    model = MemN2N(vocab_size=data.vocab_size, num_answers=data.num_answers,
                   answer_word_ids=data.answer_word_ids, memory_size=data.memory_size,
                   **MODEL)  # fmt: skip
    return QAModule(model, run_seeds=data.run_seeds, **MODULE)


def measure(task: int, setting: str, data_dir: str, epochs: int, runs: int) -> dict[str, float]:
    """Median epoch time after the first, the one-off costs of reading the data and testing,
    steps per epoch, and the median time of a bare training step."""
    lightning.seed_everything(0, verbose=False)
    started = time.perf_counter()
    seeds = list(range(runs)) if runs > 1 else None
    data = BabiDataModule(
        task=task, setting=setting, source="directory", data_dir=data_dir, run_seeds=seeds, **DATA
    )
    data.setup("fit")
    load = time.perf_counter() - started
    qa, timer = module(data), EpochTimer()
    trainer = lightning.Trainer(
        max_epochs=epochs, gradient_clip_val=40, accelerator="cpu", logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        num_sanity_val_steps=0, callbacks=[timer],
    )  # fmt: skip
    trainer.fit(qa, datamodule=data)
    started = time.perf_counter()
    trainer.test(qa, datamodule=data, verbose=False)
    test = time.perf_counter() - started

    single = BabiDataModule(
        task=task, setting=setting, source="directory", data_dir=data_dir, **DATA
    )
    model = module(single).model.train()  # a bare step of one run: forward, loss, backward, SGD
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    batches = [batch for batch, _ in zip(single.train_dataloader(), range(10))]
    steps = []
    for index in range(33):
        batch, started = batches[index % len(batches)], time.perf_counter()
        logits = model(batch.story, batch.question, batch.story_mask)
        loss = masked_cross_entropy(logits, model.answer_targets(batch.answer), reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps.append(time.perf_counter() - started)
    return {
        "epoch": statistics.median(timer.seconds[1:] or timer.seconds),
        "load": load,
        "test": test,
        "steps": trainer.num_training_batches,
        "step_ms": 1000 * statistics.median(steps[3:]),  # after 3 warm-up steps
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="unpacked tasks_1-20_v1-2 root")
    parser.add_argument("--task", type=int, default=1, help="the 1k task timed")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per timing (1st: warm-up)")
    parser.add_argument("--run-epochs", type=int, default=120, help="a full run (20 LS + 100)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, nargs="+", default=[1], help="runs trained together")
    args = parser.parse_args()
    if args.task not in available_tasks(args.data_dir, setting="1k"):  # before anything runs
        no_data(f"bAbI 1k task {args.task} has no train and test files under {args.data_dir}")
    torch.set_num_threads(args.threads)
    print(
        f"# torch {torch.__version__}, lightning {lightning.__version__}, "
        f"{platform.processor() or platform.machine()}, {args.threads} thread(s); "
        f"a full run = {args.run_epochs} epochs"
    )
    print(
        f"{'case':<24} {'runs':>5} {'steps/ep':>8} {'ms/step':>8} {'s/epoch':>8} "
        f"{'s/ep/run':>8} {'s/run':>8}"
    )
    cases = [(f"1k task {args.task}", args.task, "1k", args.epochs)]
    if 1 in available_tasks(args.data_dir, setting="10k"):
        cases.append(("10k task 1", 1, "10k", max(2, args.epochs // 2)))
    else:
        print("10k task 1: no data")
    for (name, task, setting, epochs), runs in itertools.product(cases, args.runs):
        m = measure(task, setting, args.data_dir, epochs, runs)
        run = (m["load"] + args.run_epochs * m["epoch"] + m["test"]) / runs  # amortised
        print(
            f"{name:<24} {runs:>5} {m['steps']:>8} {m['step_ms']:>8.1f} {m['epoch']:>8.2f} "
            f"{m['epoch'] / runs:>8.3f} {run:>8.1f}",
            flush=True,
        )
        if setting == "1k":
            print(
                f"all 20 1k tasks x {runs} run(s): {20 * runs * run / 60:.1f} min of "
                f"{args.run_epochs}-epoch runs in one process (EXTRAPOLATED: 20 x 1k task {task})"
            )


if __name__ == "__main__":
    main()
