"""The bAbI question-answering tasks (Weston et al. 2015): reading, vocabularies, data module.

``reader`` and ``download`` need the standard library only, ``vocab`` adds torch, and
``datamodule`` (Lightning) is imported on first use of ``BabiDataModule``.
"""

from .download import download_babi, ensure_babi, extract_archive
from .reader import (
    TASK_NAMES,
    BabiFormatError,
    QASample,
    available_tasks,
    find_task_files,
    parse_babi_lines,
    read_babi_file,
    tokenize,
)
from .vocab import (
    UNKNOWN_ANSWER_INDEX,
    UNKNOWN_INDEX,
    QATensors,
    Vocabulary,
    vectorize,
)

__all__ = [
    "TASK_NAMES",
    "UNKNOWN_ANSWER_INDEX",
    "UNKNOWN_INDEX",
    "BabiBatch",
    "BabiDataModule",
    "BabiFormatError",
    "QASample",
    "QATensors",
    "Vocabulary",
    "available_tasks",
    "download_babi",
    "ensure_babi",
    "extract_archive",
    "find_task_files",
    "parse_babi_lines",
    "read_babi_file",
    "tokenize",
    "vectorize",
]


def __getattr__(name: str):
    if name in ("BabiBatch", "BabiDataModule"):
        from . import datamodule

        return getattr(datamodule, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
