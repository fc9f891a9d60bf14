"""NTM forward+backward time per time step on the paper's copy configuration.

The model is ``memnets.ntm_copy()`` (LSTM 100, 1 read + 1 write head, 128 x 20 memory,
8-bit vectors) on copy sequences of length 20 (41 steps); ``--compile yes`` compiles its cell
as the training module does (``compile: true`` in the configs).

    python bench/ntm_step.py [--threads 1 2] [--batch-sizes 1 16 64] [--compile no|yes|both]
        [--repeats 5] [--length 20] [--device cpu|cuda]

Prints a table: batch size, threads, milliseconds per time step (forward +
backward, whole batch), and training sequences per second.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import time

import torch

from memnets import ntm_copy


def measure(batch_size: int, *, steps: int, repeats: int, device: str, compile: bool) -> float:
    """Seconds for one forward+backward over a ``steps``-long batch (median of repeats)."""
    torch.manual_seed(0)
    model = ntm_copy().to(device)
    if compile:
        model.cell.compile(dynamic=False)
    x = torch.rand(batch_size, steps, model.cell.input_size, device=device)  # (B, T, I)
    target = torch.rand(batch_size, steps, model.cell.output_size, device=device).round()
    timings = []
    for repeat in range(repeats + 2):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        output, _ = model(x)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(output, target)
        loss.backward()
        if device == "cuda":
            torch.cuda.synchronize()
        if repeat > 1:  # the first two are warm-up (and compilation)
            timings.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    return sorted(timings)[len(timings) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--length", type=int, default=20, help="copy length (steps = 2L+1)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--compile", choices=["no", "yes", "both"], default="no", help="torch.compile the cell"
    )
    args = parser.parse_args()
    steps = 2 * args.length + 1
    print(
        f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"device {args.device}, {steps} steps per sequence"
    )
    print(f"{'batch':>6} {'threads':>8} {'compiled':>9} {'ms/step':>10} {'seq/s':>10}")
    modes = {"no": [False], "yes": [True], "both": [False, True]}[args.compile]
    options = dict(steps=steps, repeats=args.repeats, device=args.device)
    for compiled, threads, batch_size in itertools.product(modes, args.threads, args.batch_sizes):
        torch.set_num_threads(threads)
        seconds = measure(batch_size, compile=compiled, **options)
        print(
            f"{batch_size:>6} {threads:>8} {'yes' if compiled else 'no':>9} "
            f"{1000 * seconds / steps:>10.3f} {batch_size / seconds:>10.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
