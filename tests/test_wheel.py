"""``pip install .`` gives a working ``memnets`` command.

A wheel is built from a copy of the repository and installed, without its dependencies, into a
fresh virtual environment; the commands then run from a folder outside the repository. The
environment reuses this interpreter's packages (torch, Lightning, ...) through a ``.pth`` file
of plain folder names: Python does not run the ``.pth`` files inside folders named that way, so
an editable install of memnets here (its import finder is installed by such a file) does not
come along, and ``memnets`` and ``memnets_tasks`` are the wheel's.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from tiny_runs import ROOT, tiny_ntm

# about 20 s on 2 cores (build, install, 3 runs): not marked slow

SKIPPED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*cache", ".hypothesis",
    "runs", "lightning_logs", "data", "results",
)  # fmt: skip


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment["PYTHONNOUSERSITE"] = "1"
    result = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """The wheel, and a fresh virtual environment with it installed."""
    work = tmp_path_factory.mktemp("wheel")
    source, dist, environment = work / "source", work / "dist", work / "venv"
    shutil.copytree(ROOT, source, ignore=SKIPPED)  # builds write build/ and *.egg-info there
    run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(dist)], work)
    (wheel,) = dist.glob("memnets-*.whl")
    run([sys.executable, "-m", "venv", "--without-pip", str(environment)], work)
    python = environment / "bin" / "python"
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], work
    )
    ours = [path for path in site.getsitepackages() if Path(path).is_dir()]
    (Path(purelib.stdout.strip()) / "_memnets_test_dependencies.pth").write_text("\n".join(ours))
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet"]
    run([*pip, str(wheel)], work)
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    return {"wheel": wheel, "bin": environment / "bin", "python": python, "cwd": elsewhere}


def test_the_wheel_holds_every_package_the_configs_and_the_license(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for folder, package in (("memnets", "memnets"), ("tasks", "memnets_tasks")):
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.relative_to(ROOT / folder).as_posix()
            assert f"{package}/{relative}" in names  # a new subpackage needs pyproject.toml
    for config in (ROOT / "configs").glob("*.yaml"):
        assert f"memnets/configs/{config.name}" in names
    assert not any(name.startswith("tasks/") for name in names)  # no generic top-level tasks
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def test_the_installed_packages_are_the_wheels(installed):
    code = (
        "import importlib.util, sys, memnets, memnets_tasks.babi, memnets_tasks.sequence_data\n"
        "from memnets.training.configs import resolve_config\n"
        "print(memnets.__file__, memnets_tasks.__file__, resolve_config('ntm_copy'))\n"
        "print(importlib.util.find_spec('tasks'))\n"
        "print(any('editable' in type(finder).__name__.lower() + repr(finder)"
        " for finder in sys.meta_path))\n"
    )
    lines = run([str(installed["python"]), "-c", code], installed["cwd"]).stdout.split("\n")
    site_packages = str(installed["python"].parents[1])
    assert all(path.startswith(site_packages) for path in lines[0].split())
    assert lines[1:3] == ["None", "False"]  # no tasks package; no editable finder


def test_memnets_help_lists_the_subcommands(installed):
    result = run([str(installed["bin"] / "memnets"), "--help"], installed["cwd"])
    for subcommand in ("fit", "validate", "test", "predict"):
        assert subcommand in result.stdout


def test_memnets_fit_with_a_shipped_config_by_name(installed):
    arguments = tiny_ntm(batches_per_epoch=2, episodes=4)
    position = arguments.index("--config") + 1
    assert Path(arguments[position]).name == "ntm_copy.yaml"
    arguments[position] = "ntm_copy"  # by name, from the wheel
    command = [
        str(installed["bin"] / "memnets"), "fit", *arguments,
        "--trainer.max_steps", "2",
        "--trainer.limit_val_batches", "1",
        "--trainer.limit_test_batches", "1",
        "--trainer.enable_progress_bar", "false",
    ]  # fmt: skip
    run(command, installed["cwd"])  # logs and checkpoints go to runs/ in the current folder
    assert len(list((installed["cwd"] / "runs").rglob("last.ckpt"))) == 1
