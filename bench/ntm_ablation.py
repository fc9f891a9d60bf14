"""The ablations behind the NTM's defaults (issue 12), tabulated from their runs.

    python bench/ntm_ablation.py            # the table, from the arms' cached runs
    python bench/ntm_ablation.py --train    # first train what an arm is missing
    python bench/ntm_ablation.py --reread   # first read the arms' runs again from their events
    python bench/ntm_ablation.py --rekey    # first re-key runs hashed without the task settings

Each arm is one ``bench/ntm_results.py`` evaluation of ``configs/ntm_TASK.yaml`` with the
overrides in ``ARMS``, seeds 0-2 for copy, 0-1 for the first repeat copy arms and 0-4 for the
others (``ARM_SEEDS``), cached in
``results/ablation/TASK_ARM.json`` (its own table beside it). ``--train`` runs that command
for every arm (cached runs are reused when their protocol still matches; see
ntm_results.py). Without it nothing trains: the table is made from the records the arms
hold, and an arm without records gets a row that says it has not run yet. Writes
``results/ablation/ntm.md``: per arm, the sequences to solve of each seed (validation bit
errors below 0.1), the test bit errors, the best and the final validation bit errors, and for
copy the bit errors at lengths 40 and 100.

The copy arms but ``patience`` were trained while the defaults were ``memory_init: constant``,
``initial_focus: first`` and gradient values clipped at 10; the ``patience`` arms under
today's (learned random memory, spread focus, the gradient's norm clipped at 10); the repeat
copy arms with the learned random memory and spread focus, at batch 32 (batch 8 is repeat
copy's default since the ``batch8_updates`` arm; ``forget_bias1`` changes one setting of
that arm, ``batch2`` its batch size, ``read_then_write`` the access order,
``uniform_focus`` the heads' initial weights, ``pytorch_ntm_init`` the layers' initialisation,
``pytorch_ntm_recipe`` those three together; ``recall_recipe`` is the recipe on associative
recall's feed-forward config, ``recipe`` on copy's; ``recall_batch8`` changes the batch of
associative recall's config). The copy arms' overrides but ``recipe``'s name all three
settings and the model settings of before the recipe (``BEFORE``), the repeat copy arms' the
batch and ``BEFORE``, so they mean what they meant then (with one read and one write head
``first`` and ``spread`` start at the same slot). The ``base`` arm's records carry the
protocol hash of an earlier version of ntm_results.py (it also hashed the time limit):
``--train`` would train it again, ``--reread`` leaves it as recorded. The ``batch32`` arm's
runs are the main table's repeat copy runs from before batch 8. The associative recall arms
all name the trained memory (``LEARNED_MEMORY``, added to each after ``ARMS``) that the config
had when they ran, before it took a fixed random memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from protocols import replace_results, results_file, table_rows

ROOT = Path(__file__).resolve().parents[1]
MODEL = "--model.init_args.model.init_args."
DATA = "--data.init_args."
VALUES = ["--trainer.gradient_clip_algorithm", "value"]  # the clipping before
# the model settings before copy's and repeat copy's configs took pytorch-ntm's recipe (a YAML:
# the CLI cannot set an option to null), so that the arms trained before mean what they meant
BEFORE = ["--config", str(ROOT / "bench" / "ntm_before_recipe.yaml")]
# and the end of training before copy's and repeat copy's configs took AnnealWhenSolved (a stop
# once solved, the checkpoint of lowest bit errors tested)
STOP = ["--config", str(ROOT / "bench" / "ntm_stop_when_solved.yaml")]
# associative recall's rate before its config took 2e-3 and the training after solving
# (2026-12-07), for the recall arms trained before
RECALL_LR = ["--model.init_args.lr", "0.003"]
RECALL_BEFORE = [*RECALL_LR, *STOP]
CONSTANT = [*BEFORE, *STOP, f"{MODEL}memory_init", "constant", f"{MODEL}initial_focus", "first",
            *VALUES]  # fmt: skip
RANDOM = [*BEFORE, *STOP, f"{MODEL}memory_init", "learned_random", f"{MODEL}initial_focus", "first",
          *VALUES]  # fmt: skip
TODAY = [
    *BEFORE,
    *STOP,
    f"{MODEL}memory_init",
    "learned_random",
    f"{MODEL}initial_focus",
    "spread",
    "--trainer.gradient_clip_algorithm",
    "norm",
]  # the defaults since these measurements
STEPS = "--trainer.max_steps"
# repeat copy's batch before batch 8, and since
B32 = [*BEFORE, *STOP, f"{DATA}batch_size", "32", f"{DATA}train_batches_per_epoch", "25", STEPS,
       "3125"]  # fmt: skip
BATCH8 = [f"{DATA}batch_size", "8", f"{DATA}train_batches_per_epoch", "100", STEPS, "12500"]
B8 = [*BEFORE, *STOP, *BATCH8]
# pytorch-ntm's recipe: its initialisation, uniform initial weights, read before write
RECIPE = [f"{MODEL}parameter_init", "pytorch_ntm", f"{MODEL}initial_focus", "uniform",
          f"{MODEL}access_order", "read_then_write"]  # fmt: skip
ANNEAL = ["--config", str(ROOT / "bench" / "ntm_anneal.yaml")]
COST = ["--checkpoint.monitor", "val/cost_bits"]
ARMS = {  # name -> (task, train.py overrides, what it tests)
    "base": ("copy", CONSTANT, "the defaults before: fixed 1e-6 memory, batch 32"),
    "learned_random": ("copy", RANDOM, "a trainable random memory (the default now)"),
    "batch16": ("copy", [*CONSTANT, f"{DATA}batch_size", "16",
                         f"{DATA}train_batches_per_epoch", "50", "--trainer.max_steps", "6250"],
                "batch 16 (validation every 800 sequences)"),
    "batch8": ("copy", [*CONSTANT, *BATCH8], "batch 8"),
    "lr_long": ("copy", [*RANDOM, "--config", str(ROOT / "bench" / "ntm_patience.yaml")],
                "learned random memory, training on after solving (early stopping with "
                "patience 10 validations instead of stopping at 0.1)"),
    "patience": ("copy", [*TODAY, "--config", str(ROOT / "bench" / "ntm_patience.yaml")],
                 "today's defaults (gradient norm clipped at 10), training on after solving"),
    "patience_lr1e-3": ("copy", [*TODAY, "--config", str(ROOT / "bench" / "ntm_patience.yaml"),
                                 "--model.init_args.lr", "0.001"],
                        "the same at Adam's lr 1e-3 instead of 3e-3"),
    "headclip20": ("repeat_copy", [*B32, f"{MODEL}head_clip", "20", *VALUES],
                   "gradient values clipped at 10 (as before) and the heads' parameters at "
                   "20 (the head clip never acted: seed 0's run is step for step the one "
                   "without it)"),
    "clipnorm10": ("repeat_copy", [*B32, "--trainer.gradient_clip_val", "10",
                                   "--trainer.gradient_clip_algorithm", "norm"],
                   "the gradient's norm clipped at 10 (the default now)"),
    # five seeds each, the defaults at batch 32 but for one setting
    "batch32": ("repeat_copy", B32, "batch 32, the defaults before batch 8 (the main table's "
                "runs until then)"),
    "lr1e-3": ("repeat_copy", [*B32, "--model.init_args.lr", "0.001"],
               "Adam's lr 1e-3, not 3e-3"),
    "standardised": ("repeat_copy", [*B32, f"{DATA}task.init_args.repeat_encoding",
                                     "standardised"],
                     "the repeat count standardised over the training range (mean 0, "
                     "variance 1), as the paper, not R/10"),
    "curriculum": ("repeat_copy", [*B32, f"{DATA}curriculum_epochs", "25"],
                   "a curriculum: lengths and repeats open up from 1 to 10 over the first 25 "
                   "epochs (20,000 sequences)"),
    "bit_loss": ("repeat_copy", [*B32, "--model.init_args.loss_reduction", "bit"],
                 "the loss a mean over target bits (every batch weighs the same, as in "
                 "pytorch-ntm), not a sum over each sequence's steps"),
    "batch8_updates": ("repeat_copy", B8,
                       "batch 8: four times the updates for the same 100k sequences "
                       "(validation every 800 sequences as before; the default since)"),
    # from today's repeat copy defaults (batch 8), one setting each
    "forget_bias1": ("repeat_copy", [*B8, f"{MODEL}forget_bias", "1"],
                     "the LSTM's forget-gate bias started at 1 (Collier & Beel), not PyTorch's "
                     "uniform draw around 0"),
    "batch2": ("repeat_copy", [*BEFORE, *STOP, f"{DATA}batch_size", "2",
                               f"{DATA}train_batches_per_epoch", "400", STEPS, "50000"],
               "batch 2: four times batch 8's updates for the same 100k sequences (validation "
               "every 800 sequences; seeds 0-1 only: 58 sequences/s)"),
    "read_then_write": ("repeat_copy", [*B8, f"{MODEL}access_order", "read_then_write"],
                        "each step reads the memory as the previous step left it, then writes "
                        "(pytorch-ntm, Collier & Beel), not write then read"),
    "uniform_focus": ("repeat_copy", [*B8, f"{MODEL}initial_focus", "uniform"],
                      "the heads' initial weights uniform (the first step then addresses the "
                      "random memory by content, as pytorch-ntm's zero start does), not on "
                      "slot 0 (seeds 0-1: stopped to free a core for the arm recall_recipe)"),
    "pytorch_ntm_init": ("repeat_copy", [*B8, f"{MODEL}parameter_init", "pytorch_ntm"],
                         "the controller, head and output layers initialised as pytorch-ntm "
                         "does (LSTM weights +-5/sqrt(in + out), biases 0; heads Xavier, gain "
                         "1.4), not PyTorch's narrower defaults"),
    "pytorch_ntm_recipe": ("repeat_copy", [*B8, *RECIPE],
                           "the three together: pytorch-ntm's initialisation, uniform initial "
                           "weights, read then write"),
    # the recipe on copy, from its config (today's defaults)
    "recipe": ("copy", [*RECIPE, *STOP], "pytorch-ntm's recipe on copy (does it generalise to "
                    "longer sequences?)"),
    # the recipe on associative recall (the paper's feed-forward controller: the
    # initialisation changes the heads and the output layer only)
    "recall_recipe": ("associative_recall_ff", [*RECALL_BEFORE, *RECIPE],
                      "pytorch-ntm's recipe on associative recall (feed-forward; its config "
                      "since)"),
    "recall_batch8": ("associative_recall_ff", [*RECALL_BEFORE, *BATCH8],
                      "batch 8, from the config (the recipe): four times the updates for the "
                      "same 100k episodes, as repeat copy's batch8_updates arm"),
    # training on after solving at a tenth of the learning rate (from the configs)
    "anneal": ("copy", [*ANNEAL, "--checkpoint.monitor", "val/bit_errors"],
               "once solved (validation < 0.1), the learning rate / 10 and 20 more validations "
               "(16,000 sequences), not a stop at once"),
    # after solving the bit errors sit at 0 and the first checkpoint at the minimum is kept
    # (tested): choose the tested checkpoint by the validation cost instead
    "anneal_cost": ("copy", [*ANNEAL, *COST],
                    "anneal, and the tested checkpoint the one of lowest validation cost, not "
                    "the first of lowest bit errors"),
    "recall_anneal": ("associative_recall_ff", [*RECALL_LR, *ANNEAL, *COST],
                      "anneal_cost on associative recall (at 3e-3)"),
    "repeat_anneal": ("repeat_copy", [*ANNEAL, *COST], "anneal_cost on repeat copy"),
    # priority sort is never solved: it trained its whole budget at a constant rate (its
    # config takes this arm's schedule since)
    "psort_cosine": ("priority_sort_ff", ["--model.init_args.lr_decay", "cosine"],
                     "the learning rate along half a cosine down to a tenth at the budget "
                     "(300k sequences), not constant"),
    "recall_curriculum": ("associative_recall_ff",
                          [*RECALL_BEFORE, f"{DATA}curriculum_epochs", "10"],
                          "a curriculum: the items open up from 2-3 to 2-6 over the first 10 "
                          "epochs (8,000 episodes), from the config then (3e-3, a stop once "
                          "solved)"),
    "recall_lr1e-3": ("associative_recall_ff", [*STOP, "--model.init_args.lr", "0.001"],
                      "Adam's lr 1e-3 (Collier & Beel's), not 3e-3, from the config then (a stop "
                      "once solved)"),
    "recall_lr1e-3_anneal": ("associative_recall_ff",
                             ["--model.init_args.lr", "0.001", *ANNEAL, *COST],
                             "recall_lr1e-3 and anneal_cost: once solved, 20 more validations "
                             "at a tenth of the rate, testing the checkpoint of lowest "
                             "validation cost (associative recall's config since)"),
    "recall_lr2e-3": ("associative_recall_ff", ["--model.init_args.lr", "0.002"],
                      "Adam's lr 2e-3, between 1e-3 and 3e-3, with the training after "
                      "solving (associative recall's config since)"),
    # associative recall's test misses on fresh seeds are runs just above 0.1 (0.10-0.17) after
    # 20 validations at a tenth of the rate: train longer after solving, or judge "solved" and
    # choose the checkpoint on a validation set four times as large (less noise)
    "recall_anneal40": ("associative_recall_ff",
                        ["--trainer.callbacks.init_args.validations_after", "40"],
                        "associative recall's config with 40 validations (32,000 episodes) at a "
                        "tenth of the rate after solving, not 20"),
    "recall_val512": ("associative_recall_ff", [f"{DATA}val_episodes", "512"],
                      "associative recall's config with 512 validation episodes, not 128, for "
                      "the stop and the tested checkpoint"),
    # every other task's config took pytorch-ntm's recipe; priority sort's never tried it
    "psort_recipe": ("priority_sort_ff", RECIPE,
                     "pytorch-ntm's recipe (its initialisation, uniform initial weights, read "
                     "before write), as the other tasks' configs, with the config's cosine rate"),
    # priority sort's collapses (psort_cosine's seed 2, the recipe's seed 1) happen at 3e-3
    "psort_lr1e-3": ("priority_sort_ff", ["--model.init_args.lr", "0.001"],
                     "the cosine from a peak of 1e-3 (down to 1e-4), not 3e-3"),
    # more updates for the same sequences helped copy and repeat copy (batch8, batch8_updates)
    "psort_batch16": ("priority_sort_ff", [f"{DATA}batch_size", "16",
                                           f"{DATA}train_batches_per_epoch", "50",
                                           "--trainer.max_steps", "18750"],
                      "batch 16: twice the updates for the same 300k sequences (validation "
                      "every 800 sequences; the cosine over the 18,750 steps). Seeds 1-2: seed 0 "
                      "sat at chance (53-64 val bit errors) for 67k sequences and was stopped"),
    # the paper's other priority-sort architecture (table 2), with the config's cosine rate
    "psort_lstm2": ("priority_sort_ff", ["--model.init_args.model.init_args.controller", "lstm",
                                         "--model.init_args.model.init_args.controller_size",
                                         "100",
                                         "--model.init_args.model.init_args.controller_layers",
                                         "2",
                                         "--model.init_args.model.init_args.num_read_heads", "5",
                                         "--model.init_args.model.init_args.num_write_heads",
                                         "5"],
                    "the paper's LSTM controller of 2 x 100 with 5 read + 5 write heads (its "
                    "table 2; ntm_priority_sort_lstm2.yaml) instead of feed-forward 512 with "
                    "8 + 8, with the config's cosine rate"),
    # the validation cost still falls at the end of the cosine: lower the rate further
    "psort_final1e-2": ("priority_sort_ff", ["--model.init_args.lr_final_fraction", "0.01"],
                        "the cosine down to a hundredth of the peak at the budget (3e-5), not a "
                        "tenth. Seed 0 only: seed 1 fell to chance (64 val bit errors) after "
                        "10,400 sequences, at the peak rate where the arm is the config, and was "
                        "stopped"),
    # early collapses to chance at the peak rate (psort_recipe's seed 1 after 8,800 sequences,
    # psort_final1e-2's seed 1 after 10,400; psort_batch16's seed 0 never left chance): raise
    # the rate over the first updates
    "psort_warmup": ("priority_sort_ff", ["--model.init_args.lr_warmup_steps", "500"],
                     "the rate raised linearly over the first 500 updates (16,000 sequences), "
                     "then the config's cosine"),
    # six of the eight read heads read blurry blends (psort_errors.py); the paper's table 1
    # gives 8 "heads", which this config reads as 8 read + 8 write
    "psort_heads4": ("priority_sort_ff", [f"{MODEL}num_read_heads", "4",
                                          f"{MODEL}num_write_heads", "4"],
                     "4 read + 4 write heads (8 in all), not 8 + 8, with the config's cosine "
                     "rate"),
}  # fmt: skip
# associative recall's config took a fixed random memory (2026-12-07) after its arms ran: they
# name the trained memory of before, so that they mean what they meant
LEARNED_MEMORY = [f"{MODEL}memory_init", "learned_random"]
ARMS.update(
    {
        name: (task, [*overrides, *LEARNED_MEMORY], what)
        for name, (task, overrides, what) in ARMS.items()
        if task == "associative_recall_ff"
    }
)
SEEDS = {"copy": [0, 1, 2], "repeat_copy": [0, 1]}
FIVE = [0, 1, 2, 3, 4]
ARM_SEEDS = {name: FIVE for name in ("batch32", "lr1e-3", "standardised", "curriculum",
                                      "bit_loss", "batch8_updates", "forget_bias1",
                                      "read_then_write", "uniform_focus",
                                      "pytorch_ntm_init", "pytorch_ntm_recipe",
                                      "recall_recipe", "recipe", "recall_batch8", "anneal",
                                      "recall_anneal", "repeat_anneal", "anneal_cost",
                                      "psort_cosine", "recall_curriculum",
                                      "recall_lr1e-3", "recall_lr1e-3_anneal",
                                      "recall_lr2e-3", "recall_anneal40",
                                      "recall_val512", "psort_recipe",
                                      "psort_lr1e-3", "psort_batch16")}  # fmt: skip
ARM_SEEDS.update(
    {
        "psort_lstm2": [0, 1],
        "psort_final1e-2": [0, 1],
        "psort_warmup": [0, 1],
        "psort_heads4": [0, 1],
    }
)


def fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", action="store_true", help="train what an arm is missing")
    parser.add_argument(
        "--reread", action="store_true", help="read the arms' runs again from their events"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "ablation")
    parser.add_argument(
        "--rekey", action="store_true",
        help="first give the arms' runs the hash that includes the task's settings "
        "(ntm_results.py --rekey)",
    )  # fmt: skip
    parser.add_argument(
        "--arms", nargs="+", choices=list(ARMS), help="train, reread or rekey these arms only"
    )
    parser.add_argument("--jobs", type=int, default=2, help="an arm's runs at once (2)")
    args = parser.parse_args(argv)
    columns = ["test/bit_errors", "test/cost_bits", "best_val_bit_errors",
               "final_val_bit_errors", "test_length_40/bit_errors",
               "test_length_100/bit_errors"]  # fmt: skip
    rows = []
    for name, (task, overrides, meaning) in ARMS.items():
        seeds = ARM_SEEDS[name] if name in ARM_SEEDS else SEEDS[task]
        cache = results_file(args.out / f"{task}_{name}", ".json")
        chosen = args.arms is None or name in args.arms
        if (args.train or args.reread or args.rekey) and chosen:
            command = [
                sys.executable, str(ROOT / "bench" / "ntm_results.py"), "--tasks", task,
                "--seeds", *map(str, seeds), "--jobs", str(args.jobs),
                "--out", str(args.out / f"{task}_{name}"),
                "--save-dir", f"runs/ablation/{task}_{name}",
                *(["--reread"] if args.reread and not args.train else []),
                *(["--rekey"] if args.rekey and not args.train else []), "--", *overrides,
            ]  # fmt: skip
            subprocess.run(command, cwd=ROOT, check=True)
        runs = json.loads(cache.read_text())["runs"] if cache.is_file() else {}
        runs = [runs[f"{task}/{seed}"] for seed in seeds if f"{task}/{seed}" in runs]
        if not runs:  # a row that says so, not a table without the arm
            print(f"arm {name} has no runs of seeds {seeds} in {cache}", file=sys.stderr)
            rows.append(
                f"| {task} | {name} | {meaning} | not run yet (`python bench/ntm_ablation.py "
                f"--train --arms {name}`) |" + " - |" * (1 + len(columns))  # median, columns
            )
            continue
        solved = [r.get("solved_after_sequences") for r in runs]
        known = sorted(s for s in solved if s is not None)
        median = statistics.median(known) if len(known) == len(solved) else None
        rows.append(
            f"| {task} | {name} | {meaning} | "
            + ", ".join("-" if s is None else f"{s / 1000:.1f}k" for s in solved)
            + f" | {'-' if median is None else f'{median / 1000:.1f}k'} | "
            + " | ".join(", ".join(fmt(r.get(column)) for r in runs) for column in columns)
            + " |"
        )
    lines = [
        "# NTM: the ablations behind the defaults",
        "",
        "Command: `python bench/ntm_ablation.py` (tabulates the arms' runs; `--train` makes "
        "them). Each arm's runs and table: `results/ablation/TASK_ARM.json` and `.md`; "
        "seeds 0-2 (copy), 0-1 (the first two repeat copy arms) or 0-4 (the others), one value "
        "per seed (an arm not fully trained: the seeds it has, in order; its own table names "
        "them). Sequences to solve: "
        "training sequences until the validation bit errors first fell below 0.1 per "
        "sequence (validation every 800; '-': not within the budget of 100,000, priority "
        "sort's 300,000); test and "
        "longer lengths: the best checkpoint, 128 episodes each; best and final val: the "
        "lowest and the last validation of the run (a run stops once solved; a final value "
        "far above the best is a collapse).",
        "",
        "| task | arm | what it tests | sequences to solve (seeds) | median "
        "| test bit errors/seq | test cost bits/seq | best val bit errors/seq "
        "| final val bit errors/seq | length 40 | length 100 |",
        "|---|---|---|---|---:|---|---|---|---|---|---|",
        *rows,
    ]
    table = args.out / "ntm.md"
    replace_results({table: "\n".join(lines) + "\n"}, count=table_rows, counted=table)
    print(table.read_text())


if __name__ == "__main__":
    main()
