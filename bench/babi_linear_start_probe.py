"""Watch the hops' attention during and after linear start on one real bAbI task.

    python bench/babi_linear_start_probe.py --data-dir /path/to/tasks_1-20_v1-2 --task 2 \
        [--authors] [--epochs 30] [--seed 0]

Trains MemN2N as ``bench/babi_eval.py`` does (``--authors``: with the authors' code's
choices, its protocol 2) and prints, every 5 epochs and at the switch to the softmax, on one
validation batch: the training error so far, the raw attention scores u . m_i of the real
slots (what linear start uses: mean, largest magnitude, share > 0) and, per hop, the share
of the softmax attention that lands on empty slots (non-zero only with
``attend_to_empty_slots``). Used to see why linear start diverges on long stories.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for folder in (ROOT, BENCH):  # the library, and babi_eval's helpers
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import babi_eval  # noqa: E402
import lightning  # noqa: E402
import torch  # noqa: E402

from memnets.training.qa_module import QAModule  # noqa: E402
from tasks.babi.datamodule import BabiDataModule  # noqa: E402


class Probe(lightning.Callback):
    def __init__(self, batch, every: int, switch: int) -> None:
        self.batch, self.every, self.switch = batch, every, switch

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        epoch = trainer.current_epoch + 1
        if epoch % self.every and epoch not in (self.switch, self.switch + 1):
            return
        batch, model = self.batch, pl_module.model
        model.eval()
        with torch.no_grad():
            _, soft = model(batch.story, batch.question, batch.story_mask, return_attention=True)
            _, raw = model(
                batch.story, batch.question, batch.story_mask,
                use_softmax=False, return_attention=True,
            )  # fmt: skip
        model.train()
        real = batch.story_mask.unsqueeze(1).expand_as(raw.attention)  # (B, H, S)
        scores = raw.attention[real]
        empty = (soft.attention * ~real).sum(-1).mean(0)  # (H,)
        error = trainer.callback_metrics.get("train/error_epoch")
        positive = scores.gt(0).float().mean()
        print(
            f"epoch {epoch:3d}: train error {100 * float(error):5.1f}%  raw scores: mean "
            f"{scores.mean():9.2f} |max| {scores.abs().max():10.2f} >0 {positive:.2f}"
            f"  softmax share on empty slots per hop: "
            + " ".join(f"{value:.2f}" for value in empty.tolist()),
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--task", type=int, default=2)
    parser.add_argument("--authors", action="store_true", help="the authors' code's choices")
    parser.add_argument("--epochs", type=int, default=30, help="epochs in all (20 linear start)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    lightning.seed_everything(args.seed, verbose=False)
    memory = 50
    options: dict = {}
    if args.authors:
        memory = babi_eval.authors_memory_size(args.task, {"setting": "1k"}, args.data_dir)
        options = dict(
            encoding="position_authors", random_noise_mode="time_gaps",
            attend_to_empty_slots=True, lr=0.005,
        )  # fmt: skip
    data = BabiDataModule(
        task=args.task, setting="1k", source="directory", data_dir=args.data_dir,
        memory_size=memory, batch_size=32, validation_fraction=0.1, seed=0,
    )  # fmt: skip
    data.setup("fit")
    model = QAModule(
        input_size=data.input_size, output_size=data.output_size, memory_size=memory,
        random_noise=0.1, linear_start_epochs=20, linear_start_lr=0.005, **options,
    )  # fmt: skip
    print(f"task {args.task}, memory {memory} slots, options {options or 'the paper'}")
    probe = Probe(next(iter(data.val_dataloader())), every=5, switch=20)
    trainer = babi_eval.quiet_trainer(args.epochs, callbacks=[probe])
    trainer.fit(model, datamodule=data)


if __name__ == "__main__":
    main()
