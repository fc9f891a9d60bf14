"""Bit errors vs sequence length for a checkpoint: a thin wrapper of ``train.py test``.

    python evaluate.py --ckpt runs/ntm_copy/version_0/checkpoints/last.ckpt \\
        --lengths 10 20 30 40 60 80 100 120 --out results/copy_generalisation

runs, with the ``config.yaml`` that ``train.py fit`` saved beside the checkpoint's
``checkpoints/`` folder,

    python train.py test --config .../config.yaml --ckpt_path CKPT \\
        --data.init_args.generalisation_lengths [10,20,...] --generalisation.out OUT

(``--repeats 10 15`` for repeat copy tests every (length, repeats) pair instead).

which writes OUT.md, OUT.csv and OUT.png (see memnets/training/generalisation.py).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml

from memnets.training.cli import main as cli
from memnets.training.migrate import migrate_module_arguments


def _migrated(config: Path) -> Path:
    """``config`` itself, or a migrated copy of a run's config written before the models were
    injected into the training layer (memnets.training.migrate)."""
    settings = yaml.safe_load(config.read_text())
    model = settings.get("model") or {}
    arguments = model.get("init_args") or {}
    migrated = migrate_module_arguments(model.get("class_path", ""), arguments)
    if migrated is arguments:
        return config
    settings["model"] = {**model, "init_args": migrated}
    copy = Path(tempfile.mkdtemp(prefix="memnets-evaluate-")) / "config.yaml"
    copy.write_text(yaml.safe_dump(settings))
    return copy


def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ckpt", required=True, help="a checkpoint written by train.py fit")
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 20, 30, 40, 60, 80, 100])
    parser.add_argument("--episodes", type=int, default=None, help="sequences per length")
    parser.add_argument(
        "--repeats", type=int, nargs="+", default=None,
        help="repeat copy: test every (length, repeats) pair; default: repeats drawn from the "
        "training range (the run's own pairs are not used)",
    )  # fmt: skip
    parser.add_argument("--out", default="results/generalisation")
    args = parser.parse_args(argv)
    for name, values in (
        ("--lengths", args.lengths), ("--episodes", [args.episodes]),
        ("--repeats", args.repeats or []),
    ):  # fmt: skip
        bad = [value for value in values if value is not None and value < 1]
        if bad:
            parser.error(f"{name} must be positive integers, got {bad}")
    checkpoint = Path(args.ckpt)
    config = checkpoint.parent.parent / "config.yaml"  # run/checkpoints/x.ckpt -> run/
    if not checkpoint.is_file() or not config.is_file():
        raise SystemExit(
            f"error: {checkpoint} must be a checkpoint file of a train.py fit run, with the "
            f"run's {config.name} at {config}"
        )
    config = _migrated(config)
    arguments = [
        "test", "--config", str(config), "--ckpt_path", str(checkpoint),
        "--data.init_args.generalisation_lengths", "[" + ",".join(map(str, args.lengths)) + "]",
        "--data.init_args.generalisation_repeats",
        "null" if args.repeats is None else "[" + ",".join(map(str, args.repeats)) + "]",
        "--generalisation.out", args.out,
        "--trainer.logger", "false",
    ]  # fmt: skip
    if args.episodes is not None:
        arguments += ["--data.init_args.test_episodes", str(args.episodes)]
    return cli(arguments)


if __name__ == "__main__":
    main()
