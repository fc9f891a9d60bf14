"""Input validation shared by every public function and module.

Errors name the argument and show both the expected and the actual shape, so
that a wrong tensor fed into a model says what went wrong where it went wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def check_shape(
    name: str, tensor: torch.Tensor, expected: Sequence[int | str | None]
) -> dict[str, int]:
    """Check ``tensor`` against ``expected`` and return the sizes bound to letters.

    ``expected`` holds, per dimension, an ``int`` (that exact size), a ``str``
    (a letter such as ``"B"``: any size, bound on first use and compared on
    later uses within the same call) or ``None`` (any size).

    >>> check_shape("memory", torch.zeros(2, 8, 4), ("B", "N", 4))
    {'B': 2, 'N': 8}
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    got = tensor.shape
    if len(got) != len(expected):
        raise ValueError(
            f"{name} must have {len(expected)} dimensions {_format(expected)}, got "
            f"{len(got)} with shape {tuple(got)}"
        )
    bound: dict[str, int] = {}
    for axis, (size, actual) in enumerate(zip(expected, got)):
        if size is None:
            continue
        if isinstance(size, str):
            previous = bound.setdefault(size, actual)
            if previous != actual:
                raise ValueError(
                    f"{name} has shape {tuple(got)} but expected {_format(expected)}: dimension "
                    f"{axis} ({size}) is {actual}, elsewhere {size} = {previous}"
                )
        elif size != actual:
            raise ValueError(
                f"{name} has shape {tuple(got)} but expected {_format(expected)}: dimension "
                f"{axis} must be {size}, got {actual}"
            )
    return bound


def _format(expected: Sequence[int | str | None]) -> str:
    return "(" + ", ".join("*" if size is None else str(size) for size in expected) + ")"


def check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
