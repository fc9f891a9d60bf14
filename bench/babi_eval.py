"""Train MemN2N on each bAbI task with several seeds and tabulate the test errors.

    python bench/babi_eval.py --data-dir /path/to/tasks_1-20_v1-2 --setting 1k \
        --tasks 1-20 --seeds 5 --epochs 100 --out results/babi_1k [--workers 2]

Each run is ``train.py fit --config configs/memn2n_babi.yaml`` (``--config`` another) on the
released data, one task and one seed, tested with its final weights (the authors' code has
no early stopping). ``--epochs`` counts the epochs after linear start, as the authors' code
does; ``--setting``, ``--lr``, ``--encoding``, ``--memory-size authors``, ``--gated`` and
the other flags of ``--help`` set the CLI option they name, and any other option goes to the
CLI as it is (``--model.init_args.model.init_args.hops 2``).

Writes ``OUT.json`` (the protocol: the resolved config; every run's errors and time; the
command and machine) and ``OUT.md``: per task the test error of the seed with the lowest
training error (the paper's rule: the last epoch's running error; ties: lower validation
error, then lower seed), of the seed with the lowest validation error, the median, and the
paper's PE LS RN column from ``DATA_DIR/paper_memn2n_table.csv`` when it is there, with the
mean and the failed tasks (> 5%). Tasks without files are listed as "no data", and the
command, having trained the others, exits with status 1 naming them (``--tasks`` without
them succeeds); when none of ``--tasks`` has files it stops before writing anything. No
command replaces ``OUT.json`` with one of fewer runs (``bench/protocols.py``).

Resumable: runs cached in ``OUT.json`` under the same protocol are not run again (see
``babi_bench.py`` for what a protocol is), and the files are rewritten after every run.
``--workers 2`` trains two runs at once in separate processes; ``kill PID`` (SIGTERM) of the
main process stops them too. ``--table-only`` rewrites the table and trains nothing.
"""

from babi_bench import evaluate


def main(argv: list[str] | None = None) -> None:
    evaluate(argv, script="bench/babi_eval.py", config="memn2n_babi", seeds=5,
             out="results/babi_1k")  # fmt: skip


if __name__ == "__main__":
    main()
