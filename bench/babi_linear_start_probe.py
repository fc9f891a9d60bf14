"""Watch the hops' attention during and after linear start on one real bAbI task.

    python bench/babi_linear_start_probe.py --data-dir /path/to/tasks_1-20_v1-2 --task 2 \
        [--authors] [--epochs 30] [--seed 0]

Runs ``train.py fit --config configs/memn2n_babi.yaml`` on the task (``--authors``: with the
authors' code's choices, protocol 2 of the README; any other option goes to the CLI as it is)
with :class:`Probe` among the Trainer's callbacks, which prints, every 5 epochs and at the
switch to the softmax, on one validation batch: the training error so far, the raw attention
scores u . m_i of the real slots (what linear start uses: mean, largest magnitude, share > 0)
and, per hop, the share of the softmax attention that lands on empty slots (non-zero only with
``attend_to_empty_slots``). Used to see why linear start diverges on long stories.
"""

from __future__ import annotations

import argparse

import lightning
import torch
from babi_bench import FIXED, FLAGS, SWITCHES, cli
from memnets_tasks.babi.reader import available_tasks
from protocols import no_data

AUTHORS = {"lr": "0.005", "encoding": "position_authors", "random_noise_mode": "time_gaps",
           "attend_to_empty_slots": "true", "memory_size": "authors"}  # fmt: skip


class Probe(lightning.Callback):
    def on_fit_start(self, trainer, pl_module) -> None:
        self.batch = next(iter(trainer.datamodule.val_dataloader()))

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        epoch, switch = trainer.current_epoch + 1, pl_module.hparams.linear_start_epochs
        if epoch % 5 and epoch not in (switch, switch + 1):
            return
        batch, model = self.batch, pl_module.model
        model.eval()
        with torch.no_grad():
            inputs = (batch.story, batch.question, batch.story_mask)
            _, soft = model(*inputs, return_internals=True)
            _, raw = model(*inputs, use_softmax=False, return_internals=True)
        model.train()
        real = batch.story_mask.unsqueeze(1).expand_as(raw.attention)  # (B, K, N)
        scores = raw.attention[real]
        empty = (soft.attention * ~real).sum(-1).mean(0)  # (K,)
        error = trainer.callback_metrics.get("train/error_epoch", torch.tensor(float("nan")))
        print(
            f"epoch {epoch:3d}: train error {100 * float(error):5.1f}%  raw scores: mean "
            f"{scores.mean():9.2f} |max| {scores.abs().max():10.2f} >0 "
            f"{scores.gt(0).float().mean():.2f}  softmax share on empty slots per hop: "
            + " ".join(f"{value:.2f}" for value in empty.tolist()),
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--task", type=int, default=2)
    parser.add_argument("--authors", action="store_true", help="the authors' code's choices")
    parser.add_argument("--epochs", type=int, default=30, help="epochs in all (20 linear start)")
    parser.add_argument("--seed", type=int, default=0)
    args, overrides = parser.parse_known_args(argv)
    if args.task not in available_tasks(args.data_dir, setting="1k"):  # before anything runs
        no_data(f"bAbI 1k task {args.task} has no train and test files under {args.data_dir}")
    options = {**FLAGS, **SWITCHES}
    authors = [item for name, value in AUTHORS.items() for item in (f"--{options[name]}", value)]
    print(f"task {args.task}, options {AUTHORS if args.authors else 'the paper'}", flush=True)
    cli(
        ["fit", "--config", "memn2n_babi", "--data.init_args.source", "directory"]
        + ["--data.init_args.data_dir", args.data_dir, "--data.init_args.task", str(args.task)]
        + ["--trainer.max_epochs", str(args.epochs), "--seed_everything", str(args.seed)]
        + [*(authors if args.authors else []), *overrides, *FIXED]
        + ["--trainer.callbacks+=babi_linear_start_probe.Probe"]
    )  # fmt: skip


if __name__ == "__main__":
    main()
