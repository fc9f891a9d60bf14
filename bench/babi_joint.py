"""Train one MemN2N on all 20 bAbI tasks at once and tabulate its test error per task.

    python bench/babi_joint.py --data-dir /path/to/tasks_1-20_v1-2 --setting 1k \
        --seeds 1 --out results/babi_1k_joint

``bench/babi_eval.py`` with ``configs/memn2n_babi_joint.yaml`` (the paper's joint protocol:
one vocabulary and answer set for all tasks, d = 50, linear start 30 epochs, then 60 at lr
0.01 halved every 15) and one run per seed on all ``--tasks`` together; the seeds are chosen
on the whole run (one choice for all tasks), and the paper's column is its joint one. The
flags and any CLI option work as in babi_eval.py.
"""

from babi_bench import evaluate


def main(argv: list[str] | None = None) -> None:
    evaluate(argv, script="bench/babi_joint.py", config="memn2n_babi_joint", seeds=1,
             out="results/babi_1k_joint", joint=True)  # fmt: skip


if __name__ == "__main__":
    main()
