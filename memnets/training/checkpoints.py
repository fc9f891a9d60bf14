"""A trained model out of a ``train.py`` checkpoint, as the plain ``nn.Module`` it was built as.

A checkpoint holds the training module's weights and arguments (the injected model's class and
arguments among them, less the sizes the CLI linked from the data) and the data module's
arguments. :func:`load_model` builds the data module from those (:func:`load_data_module`) to
read the linked sizes (an algorithmic task's input and output sizes; a bAbI vocabulary, which
needs the data the run read: its ``data_dir``, or for generated data its ``generated_dir``,
where the generator writes the same files again if they are not there; relative paths are
taken from the working directory), builds the model with them and loads its weights::

    model = load_model("runs/ntm_copy/version_0/checkpoints/last.ckpt")
    logits, state, internals = model(inputs, return_internals=True)

Checkpoints written before the models were injected load too (:mod:`memnets.training.migrate`).
"""

from __future__ import annotations

import inspect
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from memnets.training.cli import DATA_SIZES, import_class
from memnets.training.migrate import migrate_module_arguments
from memnets.training.qa_module import stacked_names

__all__ = ["load_data_module", "load_model"]

RUNS_PREFIX = "run_parameters."  # runs trained together (QAModule): name -> (R, ...)


def _without_private(arguments: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Lightning's saved arguments: the class path and the class's own arguments."""
    arguments = dict(arguments)
    arguments.pop("_instantiator", None)
    return arguments.pop("_class_path", None), arguments


def _read(path: Path, map_location) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    saved = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(saved, dict) or "state_dict" not in saved:
        raise ValueError(f"{path} is not a Lightning checkpoint (no state_dict)")
    return saved


def _data_module(path: Path, saved: dict[str, Any]):
    class_path, arguments = _without_private(saved.get("datamodule_hyper_parameters") or {})
    if class_path is None:
        raise ValueError(
            f"{path} holds no data module arguments (was it written by train.py?): the model's "
            "sizes come from the data, so build the model yourself and load the checkpoint's "
            "state_dict (the keys under 'model.')"
        )
    if "task_name" in arguments:  # an algorithmic data module's record of its task
        from memnets_tasks.algorithmic import make_task

        task = make_task(arguments.pop("task_name"), **(arguments.pop("task_config") or {}))
        arguments["task"] = task
    try:
        return import_class(class_path)(**arguments)
    except (OSError, ValueError) as error:  # the data a bAbI vocabulary is read from
        raise ValueError(
            f"the data module {class_path.rpartition('.')[2]} recorded in {path} could not be "
            f"rebuilt (its sizes come from its data; run from the directory the run was "
            f"trained in, or where its data_dir / generated_dir are found): {error}"
        ) from error


def load_data_module(checkpoint: str | os.PathLike):
    """The data module a ``train.py`` checkpoint was trained with, rebuilt from its recorded
    arguments (an algorithmic task: ``load_data_module(path).task``)."""
    path = Path(checkpoint)
    return _data_module(path, _read(path, "cpu"))


def _weights(path: Path, state_dict: dict[str, torch.Tensor], run: int | None) -> dict:
    """The model's weights: the keys under ``model.``, or one run's of runs trained together."""
    stacked = {k[len(RUNS_PREFIX) :]: v for k, v in state_dict.items() if k.startswith(RUNS_PREFIX)}
    weights = {k[len("model.") :]: v for k, v in state_dict.items() if k.startswith("model.")}
    if not stacked:
        if run is not None:
            raise ValueError(f"run={run}, but {path} holds one run: leave run out")
        return weights
    runs = next(iter(stacked.values())).shape[0]
    if run is None or not 0 <= run < runs:
        raise ValueError(
            f"{path} holds {runs} runs trained together: pass run= an index in 0..{runs - 1} "
            f"(the order of the run's seeds), got run={run}"
        )
    # the template's buffers, each run's own parameters (named as QAModule names them back)
    for name, value in stacked_names(stacked).items():
        own = name[len("model.") :]
        if own not in weights:
            raise ValueError(f"{path}: run parameter {own} matches none of the model's")
        weights[own] = value[run]
    return weights


def load_model(
    checkpoint: str | os.PathLike,
    *,
    run: int | None = None,
    map_location: str | torch.device = "cpu",
    **overrides: Any,
) -> nn.Module:
    """The model of a ``train.py`` checkpoint with its trained weights, in eval mode.

    ``run``: for a checkpoint of runs trained together (``--data.init_args.run_seeds``), which
    run's weights (the index of its seed); None for one run. ``overrides``: model arguments to
    change, those that leave the weights' shapes alone (``compile=False``, ``batch_first``).
    Raises FileNotFoundError for a missing file and ValueError, naming the file, for a
    checkpoint this cannot rebuild the model from.
    """
    path = Path(checkpoint)
    if not isinstance(map_location, (str, torch.device)):
        raise ValueError(
            f"map_location must be a device name or a torch.device, got {map_location!r}"
        )
    saved = _read(path, map_location)
    class_path, arguments = _without_private(saved.get("hyper_parameters") or {})
    if class_path is not None:
        arguments = migrate_module_arguments(class_path, arguments)
    model = arguments.get("model")
    if not isinstance(model, dict) or "class_path" not in model:
        raise ValueError(
            f"{path} does not record its model's class and arguments (a module built in "
            "Python rather than by train.py's CLI): build the model yourself and load the "
            "checkpoint's state_dict (the keys under 'model.')"
        )
    model_class = import_class(model["class_path"])
    takes = inspect.signature(model_class).parameters
    unknown = sorted(set(overrides) - set(takes))
    if unknown:
        raise ValueError(
            f"{model_class.__name__} takes no argument {', '.join(unknown)} (overrides for "
            f"the model of {path})"
        )
    data = _data_module(path, saved)
    sizes = {}
    for name in DATA_SIZES:
        value = getattr(data, name, None) if name in takes else None
        if value is not None:
            sizes[name] = value
    built = model_class(**{**(model.get("init_args") or {}), **sizes, **overrides})
    try:
        built.load_state_dict(_weights(path, saved["state_dict"], run))
    except RuntimeError as error:  # shapes: an override or data that differ from the run's
        raise ValueError(
            f"the weights in {path} do not fit {model_class.__name__}"
            f"({', '.join(f'{k}={v!r}' for k, v in {**sizes, **overrides}.items())}): {error}"
        ) from error
    if saved["state_dict"].get("softmax_on") is not None and not bool(
        saved["state_dict"]["softmax_on"]
    ):
        warnings.warn(
            f"{path} was saved during the linear start (softmax_on false): call the model with "
            "use_softmax=False to get the outputs its training module gave",
            stacklevel=2,
        )
    return built.to(map_location).eval()
