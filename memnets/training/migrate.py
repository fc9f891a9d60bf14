"""Checkpoints and configs written before the models were injected into the training layer.

Before, ``SequenceTaskModule`` and ``QAModule`` took the model's arguments themselves (flat:
``model.init_args.controller_size``); now they take the model (``model.init_args.model.
init_args.controller_size``), and the sizes that come from the data are linked by the CLI.
Later ``SequenceTaskModule``'s ``compile`` moved into the model (``NTM(compile=...)``).
:func:`migrate_module_arguments` turns the old flat arguments of either module into the new
layout; the CLI applies it to a checkpoint's saved hyperparameters (``train.py test
--ckpt_path OLD.ckpt``) and ``evaluate.py`` to an old run's ``config.yaml``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["migrate_module_arguments"]

NTM_ARGUMENTS = (
    "controller",
    "controller_size",
    "memory_slots",
    "memory_width",
    "num_read_heads",
    "num_write_heads",
    "shift_range",
    "memory_init",
    "learned_initial_state",
    "compile",
)
MEMN2N_ARGUMENTS = (
    "embedding_size",
    "hops",
    "encoding",
    "temporal_encoding",
    "weight_tying",
    "random_noise",
    "gated",
    "random_noise_mode",
    "attend_to_empty_slots",
)
LINKED = ("input_size", "output_size", "memory_size")  # from the data now
MODELS = {  # module class name -> (model class path, its arguments)
    "SequenceTaskModule": ("memnets.ntm.NTM", NTM_ARGUMENTS),
    "QAModule": ("memnets.memn2n.MemN2N", MEMN2N_ARGUMENTS),
}


def migrate_module_arguments(class_path: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a ``SequenceTaskModule`` / ``QAModule`` (``class_path``) in the new
    layout: the model's own arguments move under ``model``; the sizes the data gives are
    dropped. Arguments already in the new layout (a ``model`` key) are returned as they are.

    >>> migrate_module_arguments("memnets.training.sequence_module.SequenceTaskModule",
    ...                          {"input_size": 9, "controller_size": 100, "lr": 0.003})
    {'lr': 0.003, 'model': {'class_path': 'memnets.ntm.NTM', 'init_args': {'controller_size': 100}}}
    """
    name = class_path.rsplit(".", 1)[-1]
    if name == "SequenceTaskModule" and "compile" in arguments:  # the module's compile: the NTM's
        arguments = dict(arguments)
        compile = arguments.pop("compile")
        if "model" in arguments:
            model = dict(arguments["model"])
            model["init_args"] = {**model.get("init_args", {}), "compile": compile}
            return {**arguments, "model": model}
        arguments["compile"] = compile  # moved with the model's own arguments below
    if "model" in arguments or name not in MODELS:
        return arguments
    model_class, model_arguments = MODELS[name]
    module = {k: v for k, v in arguments.items() if k not in model_arguments + LINKED}
    model = {k: v for k, v in arguments.items() if k in model_arguments}
    if name == "QAModule":
        tying = model.get("weight_tying", "adjacent")
        words = module.pop("answers_as_words", None)
        model["answers_as_words"] = tying == "adjacent" if words is None else words
    module.pop("answers_as_words", None)
    return {**module, "model": {"class_path": model_class, "init_args": model}}
