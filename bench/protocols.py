"""What every bench driver shares: a run is the CLI a user runs, and a protocol is the config
that CLI resolves, so cached results are keyed by that config.

:func:`resolve` gives the config ``train.py fit ARGS`` runs (what ``--print_config`` prints);
:func:`protocol` leaves out the entries that change no number of a run (``NOT_RESULTS``:
where logs, checkpoints and pictures go, progress output, the data folder's spelling, loader
processes and torch threads, and the seed, which keys the runs inside a protocol; a driver
whose runs are keyed by a task number, bAbI's, leaves out the task too: ``KEYED_BY_TASK``) and
null entries (null is the default of optional arguments, so an optional argument added
later keeps the keys), adds the tested checkpoint's choice where it is not the lowest
validation error (``LOWEST_ERROR``; ``checkpoint`` is otherwise left out: where and how
often checkpoints are written changes no number), and adds the model code's revision
(bumped by a change of its mathematics, so that runs of earlier code are kept but not
reused); :func:`protocol_hash` is its key.

Results files are never lost to a typo: :func:`replace_results` writes them atomically and
refuses to replace a file that holds more runs than the new text (a narrower ``--seeds``, a
cache that was not found, a wrong ``--out``), and :func:`no_data` is how a driver stops, with
a non-zero status, when the data it was asked to use is not there.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import yaml

NOT_RESULTS = [  # config entries left out of a protocol
    *("seed_everything", "base", "num_threads"),
    *("checkpoint", "pictures", "generalisation", "trainer.logger", "trainer.log_every_n_steps"),
    *("trainer.enable_progress_bar", "trainer.enable_model_summary", "trainer.default_root_dir"),
    *("trainer.enable_checkpointing", "trainer.enable_autolog_hparams"),
    *("data.init_args.data_dir", "data.init_args.generated_dir", "data.init_args.num_workers"),
    "data.init_args.eval_batch_size",  # evaluation batches change no number (round-off only)
]
# bAbI's task number (or numbers) keys the runs inside a protocol, as the seed does; an
# algorithmic task's settings (lengths, widths, encodings) are part of its protocol
KEYED_BY_TASK = [*NOT_RESULTS, "data.init_args.task"]
# The checkpoint a run tests after fit is a result's setting, but every run before 2026-12-01
# tested the one of lowest validation error (bit errors, or bAbI's answer error): those
# choices stay out of the protocol, so that their runs keep their keys, and any other (e.g.
# the lowest validation cost) goes in as "tested_checkpoint".
LOWEST_ERROR = {("val/bit_errors", "min"), ("val/error", "min")}


def cli(args: list[str]):
    """``memnets.training.cli.main(args)``, without Lightning's warning that sys.argv holds
    other arguments (the driver's own)."""
    from memnets.training.cli import main

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        return main(args)


def resolve(args: list[str]) -> dict[str, Any]:
    """The config ``train.py fit ARGS`` runs, as ``--print_config`` prints it."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            cli(["fit", *args, "--print_config"])
    except SystemExit as stop:
        if stop.code:
            raise
    return yaml.safe_load(printed.getvalue())


def protocol(
    config: dict[str, Any], *, revision: int, not_results: list[str] = NOT_RESULTS
) -> dict[str, Any]:
    """``config`` less ``not_results`` and its null entries, with the model's ``revision`` and
    the tested checkpoint's choice unless it is the lowest validation error."""

    def without_nulls(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {key: without_nulls(item) for key, item in value.items() if item is not None}

    checkpoint = config.get("checkpoint") or {}  # a null monitor: the final weights are tested
    tested = (checkpoint.get("monitor", "val/bit_errors"), checkpoint.get("mode", "min"))
    config = {**without_nulls(config), "revision": revision}
    if tested not in LOWEST_ERROR:
        config["tested_checkpoint"] = {"monitor": tested[0], "mode": tested[1]}
    for dotted in not_results:
        *parents, name = dotted.split(".")
        section = config
        for parent in parents:
            section = section.get(parent) or {}
        section.pop(name, None)
    return config


def protocol_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        names = [line for line in open("/proc/cpuinfo") if line.startswith("model name")]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    return (
        f"{cpu}, {os.cpu_count()} logical cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


# results files


def results_file(out: Path, suffix: str) -> Path:
    """The results file ``out`` + ``suffix`` (".json", ".md"). Dots in the name stay:
    ``--out results/x_lr0.01`` gives x_lr0.01.json, where ``with_suffix`` would give x_lr0.json
    (two arms differing after the dot would then share a file). A name already ending in .json
    or .md has that ending replaced."""
    if out.suffix in (".json", ".md"):
        out = out.with_suffix("")
    return out.with_name(out.name + suffix)


def json_runs(text: str) -> int:
    """The runs of a results JSON (its ``runs`` mapping)."""
    return len(json.loads(text).get("runs") or {})


def table_rows(text: str) -> int:
    """The body rows of the Markdown tables in ``text`` (one run a row)."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    separators = [line for line in rows if re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", line.strip())]
    return len(rows) - 2 * len(separators)  # less each table's header and separator


def replace_results(files: Mapping[Path, str], *, count: Callable[[str], int], counted: Path):
    """Write ``files`` (path -> text), each replaced atomically, unless that would lose runs.

    ``counted`` is the file whose runs ``count`` counts (the others, tables of the same runs,
    follow it). When it exists and holds more runs than its new text, nothing is written and
    the command stops with a non-zero status naming the file and both counts.
    """
    new = count(files[counted])
    if counted.is_file():
        try:
            held = count(counted.read_text())
        except (ValueError, OSError) as error:
            raise SystemExit(
                f"error: {counted} exists but cannot be read as results ({error}); "
                "move it away or choose another --out"
            ) from None
        if new < held:
            raise SystemExit(
                f"error: {counted} holds {held} runs and would be replaced by {new}; "
                "nothing written (another --out keeps both)"
            )
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text)
        temporary.replace(path)  # a kill never leaves half a file


def train_run(root: Path, name: str, arguments: list[str], save_dir: Path) -> tuple[Path, int]:
    """``train.py fit ARGUMENTS`` from ``root``, its TensorBoard logs under ``save_dir/name``
    and its output in ``save_dir/name.log``: (the newest log folder, relative as ``save_dir``
    is given, and the seconds the process took). A failed run raises ``RuntimeError`` naming
    the log file."""
    command = [
        sys.executable, "train.py", "fit", *arguments,
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(save_dir),
        "--trainer.logger.init_args.name", name,
    ]  # fmt: skip
    print("$", " ".join(command), flush=True)
    started = time.time()
    completed = subprocess.run(command, cwd=root, capture_output=True, text=True)
    log_file = root / save_dir / f"{name}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise RuntimeError(f"{name} failed (exit {completed.returncode}); see {log_file}")
    versions = list((root / save_dir / name).glob("version_*"))  # the newest: highest number
    if not versions:
        raise RuntimeError(f"{name} wrote no logs under {root / save_dir / name}; see {log_file}")
    version = max(versions, key=lambda path: int(path.name.split("_")[-1]))
    return save_dir / name / version.name, round(time.time() - started)


def no_data(message: str) -> NoReturn:
    """Stop a driver whose data is missing: status 1, the message naming what is missing."""
    raise SystemExit(f"error: {message}")
