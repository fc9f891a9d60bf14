"""Data for training and evaluating memnets models.

``tasks.algorithmic`` holds the algorithmic tasks of the Neural Turing Machine paper (torch
only); ``tasks.sequence_data`` wraps them in a Lightning ``DataModule``.
"""
