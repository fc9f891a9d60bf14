"""Data for training and evaluating memnets models.

``tasks.algorithmic`` holds the algorithmic tasks of the Neural Turing Machine paper (torch
only); ``tasks.sequence_data`` wraps them in a Lightning ``DataModule``; ``tasks.babi`` holds
the bAbI question-answering tasks.

Installed (``pip install .``), this package is ``memnets_tasks``, so that it claims no generic
top-level name; the shipped configs name it so. In a checkout of the repository it is also
importable as ``tasks`` from the repository root. When ``memnets_tasks`` is installed (``make``
installs the checkout in editable mode), ``tasks`` and every ``tasks.X`` are the SAME module
objects as ``memnets_tasks`` and ``memnets_tasks.X`` (an alias, below), so classes, errors and
pickles are one and the same whichever name a program uses.
"""

import importlib as _importlib
import importlib.abc as _abc
import importlib.util as _util
import sys as _sys


class _Alias(_abc.MetaPathFinder, _abc.Loader):
    """Import ``tasks.X`` as the already importable ``memnets_tasks.X``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith("tasks."):
            return _util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return _importlib.import_module("memnets_tasks" + spec.name[len("tasks") :])

    def exec_module(self, module) -> None:
        pass  # already executed under its installed name


if __name__ == "tasks":
    try:
        _installed = _importlib.import_module("memnets_tasks")
    except ImportError:  # a bare checkout: this folder is the only copy
        _installed = None
    if _installed is not None:
        _sys.meta_path.insert(0, _Alias())
        _sys.modules["tasks"] = _installed
