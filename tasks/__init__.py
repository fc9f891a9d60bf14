"""Data for training and evaluating memnets models.

``tasks.algorithmic`` holds the algorithmic tasks of the Neural Turing Machine paper (torch
only); ``tasks.sequence_data`` wraps them in a Lightning ``DataModule``; ``tasks.babi`` holds
the bAbI question-answering tasks.

Installed (``pip install .``), this package is ``memnets_tasks``; in a checkout of the repository
it is also importable as ``tasks`` from the repository root. Its modules import each other
relatively, so both names work; the two names are two copies of the modules, so use one of them
throughout a program.
"""
