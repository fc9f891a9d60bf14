"""NTM training speed in a plain training loop over the library (issue 11's benchmark).

What a user who imports ``NTM`` gets: the paper's copy model (``memnets.ntm_copy``: LSTM 100,
1 read + 1 write head, 128 x 20 memory), Adam, fresh copy episodes every step with one length
per batch drawn from 1-20 (``CopyTask.sample_batch``), loss, backward and optimiser step; one
thread unless ``--threads``. No Lightning. Prints:

* sequences per second at each batch size, eager and compiled (``NTM(compile=True)``; the
  one-off compilation is timed separately and left out of the rate);
* milliseconds per time step (forward + backward) at batch 1;
* the step cost against memory size N (``--slots``), to show it grows linearly.

    python bench/ntm_speed.py [--batch-sizes 1 32] [--modes eager compiled] [--seconds 20]
        [--slots 128 1024 4096 16384] [--chunk 1 4] [--order write_then_read read_then_write]

``--chunk`` takes several chunk lengths: each compiled case runs with each (eager once).
``--device cuda`` times the same loop on a GPU (episodes drawn on the CPU and copied over, the
clock read after the device has finished).

The reference point, loudinthecloud/pytorch-ntm on copy (batch 1, its only mode), was
measured at 23.8 sequences/s on this project's 2-core machine (issue 11); ``--reference
SEQ_PER_S`` prints the ratio to another figure measured beside this one.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from memnets_tasks.algorithmic import CopyTask
from protocols import machine

from memnets import ntm_copy

PYTORCH_NTM_SEQ_PER_S = 23.8  # issue 11: pytorch-ntm, copy, batch 1, 1 thread, this machine


def make_model(
    *, compile: bool, chunk: int, order: str, slots: int = 128, fused: bool = False,
    device: str = "cpu",
):  # fmt: skip
    """The paper's copy model and Adam (``fused``: one kernel for the whole update, as the
    training module's optimiser; torch's default loops over the parameter tensors)."""
    torch.manual_seed(0)
    model = ntm_copy(compile=compile, compile_chunk=chunk, access_order=order, memory_slots=slots)
    model = model.to(device)
    return model, torch.optim.Adam(model.parameters(), lr=3e-3, fused=fused or None)


def train_step(model, optimizer, batch) -> None:
    logits, _ = model(batch.inputs)  # (B, T, O)
    loss = F.binary_cross_entropy_with_logits(logits[batch.mask], batch.targets[batch.mask])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def synchronize(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def sequences_per_second(batch_size: int, seconds: float, **options) -> tuple[float, float]:
    """(sequences/s over ``seconds`` of training, seconds of the warm-up that compiles)."""
    model, optimizer = make_model(**options)
    device = options.get("device", "cpu")
    task, generator = CopyTask(width=8, min_length=1, max_length=20), torch.Generator()
    generator.manual_seed(0)
    start = time.perf_counter()
    for _ in range(3):  # warm-up: compilation, allocator
        train_step(model, optimizer, task.sample_batch(generator, batch_size).to(device))
    synchronize(device)
    warm_up = time.perf_counter() - start
    sequences, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        train_step(model, optimizer, task.sample_batch(generator, batch_size).to(device))
        sequences += batch_size
    synchronize(device)
    return sequences / (time.perf_counter() - start), warm_up


def ms_per_step(batch_size: int, steps: int, repeats: int, **options) -> float:
    """Forward + backward milliseconds per time step (median of ``repeats``)."""
    model, _ = make_model(**options)
    device = options.get("device", "cpu")
    x = torch.rand(batch_size, steps, 9, device=device)  # (B, T, I)
    timings = []
    for repeat in range(repeats + 2):
        synchronize(device)
        start = time.perf_counter()
        logits, _ = model(x)
        logits.square().mean().backward()
        synchronize(device)
        if repeat >= 2:
            timings.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    return 1000 * statistics.median(timings) / steps


def label(mode: str, chunk: int) -> str:
    return str(chunk) if mode == "compiled" else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--modes", nargs="+", default=["eager", "compiled"])
    parser.add_argument("--order", nargs="+", default=["write_then_read"])
    parser.add_argument("--chunk", type=int, nargs="+", default=[1], help="NTM(compile_chunk)")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed training per case")
    parser.add_argument("--slots", type=int, nargs="*", default=[128, 1024, 4096, 16384])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fused", action="store_true", help="Adam(fused=True)")
    parser.add_argument("--reference", type=float, default=PYTORCH_NTM_SEQ_PER_S)
    parser.add_argument("--device", default="cpu", help="cpu, cuda (%(default)s)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    on = f" on {torch.cuda.get_device_name(args.device)}" if args.device.startswith("cuda") else ""
    print(
        f"# {machine()}{on}, {args.threads} thread(s); copy, lengths 1-20, one per batch; "
        f"Adam{'(fused=True)' if args.fused else ''}; "
        f"ratio to {args.reference} seq/s (pytorch-ntm, batch 1)"
    )
    cases = [  # (order, mode, chunk): the chunk length matters only when compiled
        (order, mode, chunk)
        for order in args.order
        for mode in args.modes
        for chunk in (args.chunk if mode == "compiled" else [1])
    ]
    header = f"{'order':>16} {'mode':>9} {'chunk':>6}"
    print(f"{header} {'batch':>6} {'seq/s':>9} {'ratio':>7} {'warm-up s':>10}")
    for order, mode, chunk in cases:
        for batch_size in args.batch_sizes:
            options = dict(
                compile=mode == "compiled", chunk=chunk, order=order, fused=args.fused,
                device=args.device,
            )  # fmt: skip
            rate, warm_up = sequences_per_second(batch_size, args.seconds, **options)
            print(
                f"{order:>16} {mode:>9} {label(mode, chunk):>6} {batch_size:>6} {rate:>9.1f} "
                f"{rate / args.reference:>6.1f}x {warm_up:>10.1f}",
                flush=True,
            )
    print(f"\n{header} {'slots N':>8} {'ms/step (B=1, fwd+bwd)':>24}")
    for order, mode, chunk in cases:
        for slots in args.slots:
            options = dict(compile=mode == "compiled", chunk=chunk, order=order, device=args.device)
            ms = ms_per_step(1, 41, 5, slots=slots, **options)
            line = f"{order:>16} {mode:>9} {label(mode, chunk):>6} {slots:>8} {ms:>24.3f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
