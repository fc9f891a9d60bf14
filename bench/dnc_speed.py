"""DNC training speed in a plain training loop, beside pytorch-dnc and the memnets NTM (issue 14).

Each model trains on copy (8-bit vectors, lengths 1-20, one length per batch:
``CopyTask.sample_batch``) with Adam, a fresh batch every step, loss, backward and optimiser step;
one thread unless ``--threads``; no Lightning. Prints:

* sequences per second at each batch size for
  - ``memnets DNC``: the configs' DNC (``configs/dnc_base.yaml``: LSTM 64, 64 x 16 memory,
    1 read head), eager;
  - ``pytorch-dnc``: the package ``dnc`` 1.1.0 (ixaxaar/pytorch-dnc) with the same sizes (one
    LSTM layer of 64, 64 cells of 16, 1 read head; its output layer maps to the input size, 9,
    and the loss reads the first 8), a fresh memory every batch (``reset_experience=True``),
    if it imports. Its package requires ``flann``, which it uses only for the sparse variants:
    install it apart with ``pip install --no-deps --target DIR dnc==1.1.0`` and pass
    ``--pytorch-dnc DIR``;
  - ``memnets NTM``: the NTM paper's copy model (``ntm_copy``: LSTM 100, 128 x 20 memory),
    eager and compiled (``NTM(compile=True)``; the one-off compilation is in the warm-up column
    and left out of the rate);
* the DNC's forward + backward milliseconds per time step against the memory size N
  (``--slots``) at batch 1 and 32, and the time divided by N: where that ratio starts to
  grow, the N x N link matrix (and the sort of the usages) dominate.

    python bench/dnc_speed.py [--batch-sizes 1 32] [--seconds 10] [--slots 16 64 256 1024]
        [--pytorch-dnc DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from memnets_tasks.algorithmic import CopyTask
from protocols import machine

from memnets import DNC, ntm_copy

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "dnc_base.yaml"
# the configs' DNC: controller, memory and heads as dnc_base.yaml writes them
DNC_SIZES = yaml.safe_load(CONFIG.read_text())["model"]["init_args"]["model"]["init_args"]


def memnets_dnc(slots: int | None = None) -> torch.nn.Module:
    sizes = DNC_SIZES if slots is None else {**DNC_SIZES, "memory_slots": slots}
    return DNC(input_size=9, output_size=8, **sizes)


def pytorch_dnc() -> tuple[torch.nn.Module, Callable[[torch.Tensor], torch.Tensor]]:
    from dnc import DNC as ReferenceDNC  # the package's own class

    sizes = DNC_SIZES
    model = ReferenceDNC(
        input_size=9, hidden_size=sizes["controller_size"], rnn_type="lstm", num_layers=1,
        num_hidden_layers=1, nr_cells=sizes["memory_slots"], cell_size=sizes["memory_width"],
        read_heads=sizes["num_read_heads"], batch_first=True, gpu_id=-1,
    )  # fmt: skip

    def logits(x: torch.Tensor) -> torch.Tensor:
        output, _ = model(x, (None, None, None), reset_experience=True)  # (B, T, 9)
        return output[..., :8]  # (B, T, 8)

    return model, logits


def train_rate(model, logits, batch_size: int, seconds: float, lr: float) -> tuple[float, float]:
    """(sequences/s over ``seconds`` of training, seconds of the 3 warm-up steps)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    task, generator = CopyTask(width=8, min_length=1, max_length=20), torch.Generator()
    generator.manual_seed(0)

    def step() -> None:
        batch = task.sample_batch(generator, batch_size)
        output = logits(batch.inputs)  # (B, T, 8)
        loss = F.binary_cross_entropy_with_logits(output[batch.mask], batch.targets[batch.mask])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    start = time.perf_counter()
    for _ in range(3):  # warm-up: compilation, allocator
        step()
    warm_up = time.perf_counter() - start
    sequences, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        sequences += batch_size
    return sequences / (time.perf_counter() - start), warm_up


def ms_per_step(slots: int, batch_size: int, steps: int = 20, repeats: int = 3) -> float:
    """The DNC's forward + backward milliseconds per time step (median of ``repeats``)."""
    torch.manual_seed(0)
    model = memnets_dnc(slots)
    x = torch.rand(batch_size, steps, 9)  # (B, T, I)
    timings = []
    for repeat in range(repeats + 1):
        start = time.perf_counter()
        output, _ = model(x)
        output.square().mean().backward()
        if repeat >= 1:  # the first one warms the allocator up
            timings.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    return 1000 * statistics.median(timings) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--seconds", type=float, default=10.0, help="timed training per case")
    parser.add_argument("--slots", type=int, nargs="*", default=[16, 64, 256, 1024])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pytorch-dnc", metavar="DIR", help="where dnc 1.1.0 is installed")
    parser.add_argument("--no-ntm", action="store_true", help="leave the NTM rows out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.pytorch_dnc:
        sys.path.insert(0, args.pytorch_dnc)
    print(f"# {machine()}, {args.threads} thread(s); copy, lengths 1-20, one per batch")
    print(f"{'model':>24} {'batch':>6} {'seq/s':>9} {'warm-up s':>10}")

    cases = [("memnets DNC", lambda: _plain(memnets_dnc()), 1e-3)]
    try:
        import dnc  # noqa: F401  (pytorch-dnc)

        cases.append(("pytorch-dnc 1.1.0", pytorch_dnc, 1e-3))
    except ImportError:
        print(f"{'pytorch-dnc 1.1.0':>24}   not importable (see --pytorch-dnc): not measured")
    if not args.no_ntm:
        cases.append(("memnets NTM eager", lambda: _plain(ntm_copy()), 3e-3))
        cases.append(("memnets NTM compiled", lambda: _plain(ntm_copy(compile=True)), 3e-3))
    for name, build, lr in cases:
        for batch_size in args.batch_sizes:
            torch.manual_seed(0)
            model, logits = build()
            rate, warm_up = train_rate(model, logits, batch_size, args.seconds, lr)
            print(f"{name:>24} {batch_size:>6} {rate:>9.1f} {warm_up:>10.1f}", flush=True)

    if args.slots:
        print(f"\n{'DNC slots N':>12} {'batch':>6} {'ms/step':>9} {'us/step per slot':>17}")
    for batch_size in args.batch_sizes:
        for slots in args.slots:
            ms = ms_per_step(slots, batch_size)
            print(f"{slots:>12} {batch_size:>6} {ms:>9.3f} {1000 * ms / slots:>17.2f}", flush=True)


def _plain(model: torch.nn.Module):
    """(model, logits function) for a memnets model called as ``output, state = model(x)``."""
    return model, lambda x: model(x)[0]


if __name__ == "__main__":
    main()
