"""Pictures of what the memory does, drawn with matplotlib and logged to TensorBoard.

Plot functions take plain tensors (CPU, detached) and return a Figure; the
:class:`MemoryPictures` callback asks the LightningModule for its figures at a
fixed interval (``pl_module.memory_figures(datamodule)``) and logs them as PNG
images, on global rank zero only so that a DDP run logs each picture once.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import lightning  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def _normalise(values: torch.Tensor) -> torch.Tensor:
    """Scale to [0, 1] (a constant picture becomes zeros)."""
    values = values.float()
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else torch.zeros_like(values)


def sequence_figure(
    inputs: torch.Tensor, targets: torch.Tensor, outputs: torch.Tensor, mask: torch.Tensor
) -> Figure:
    """Input, target and output (probabilities) side by side; time on x, channels on y.

    inputs (T, I), targets (T, O), outputs (T, O) in [0, 1], mask (T,).
    """
    shown = mask.float().unsqueeze(-1)  # (T, 1)
    panels = [("input", inputs), ("target", targets * shown), ("output", outputs * shown)]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3), constrained_layout=True)
    for axis, (title, values) in zip(axes, panels):
        image = axis.imshow(values.T.float(), aspect="auto", cmap="gray_r", vmin=0, vmax=1)
        axis.set(title=title, xlabel="time step", ylabel="channel")
    figure.colorbar(image, ax=axes, shrink=0.8)
    return figure


def heads_figure(weights: torch.Tensor, *, title: str) -> Figure:
    """Addressing weights over time, one panel per head. weights (T, H, N)."""
    steps, heads, slots = weights.shape
    figure, axes = plt.subplots(1, heads, figsize=(4 * heads + 1, 3), constrained_layout=True)
    axes = [axes] if heads == 1 else list(axes)
    for head, axis in enumerate(axes):
        image = axis.imshow(
            _normalise(weights[:, head]), aspect="auto", cmap="viridis", vmin=0, vmax=1
        )
        axis.set(title=f"{title}, head {head}", xlabel="memory slot", ylabel="time step")
    figure.colorbar(image, ax=axes, shrink=0.8, label="weight (normalised)")
    return figure


def memory_figure(
    memory: torch.Tensor, *, title: str = "memory at the end of the episode"
) -> Figure:
    """The memory matrix. memory (N, M)."""
    figure, axis = plt.subplots(figsize=(5, 4), constrained_layout=True)
    image = axis.imshow(memory.float(), aspect="auto", cmap="RdBu_r")
    axis.set(title=title, xlabel="slot width (M)", ylabel="memory slot (N)")
    figure.colorbar(image, ax=axis, shrink=0.8)
    return figure


def slots_over_time_figure(values: torch.Tensor, *, title: str, label: str) -> Figure:
    """One value per memory slot over time, on its own [0, 1] scale (not normalised, so that
    a full and an empty memory look different). values (T, N) in [0, 1]."""
    figure, axis = plt.subplots(figsize=(5, 3), constrained_layout=True)
    image = axis.imshow(values.float(), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    axis.set(title=title, xlabel="memory slot", ylabel="time step")
    figure.colorbar(image, ax=axis, shrink=0.8, label=label)
    return figure


def read_modes_figure(modes: torch.Tensor, *, names: Sequence[str]) -> Figure:
    """Each read head's mixture of read modes over time, one panel per head.

    modes (T, R, K) in [0, 1], summing to 1 over K; ``names`` the K modes' names.
    """
    steps, heads, kinds = modes.shape
    figure, axes = plt.subplots(
        heads, 1, figsize=(6, 1.2 + 0.4 * kinds * heads), constrained_layout=True, squeeze=False
    )
    for head, axis in enumerate(axes[:, 0]):
        image = axis.imshow(
            modes[:, head].T.float(), aspect="auto", cmap="viridis", vmin=0, vmax=1
        )  # (K, T)
        axis.set_yticks(range(kinds), list(names))
        axis.set(title=f"read modes, head {head}", xlabel="time step")
    figure.colorbar(image, ax=axes[:, 0].tolist(), shrink=0.8, label="weight")
    return figure


def links_figure(links: torch.Tensor, *, title: str = "links at the end of the episode") -> Figure:
    """The temporal link matrix: row i, column j, how much slot i was written right after
    slot j. links (N, N) in [0, 1]."""
    figure, axis = plt.subplots(figsize=(5, 4), constrained_layout=True)
    image = axis.imshow(links.float(), cmap="viridis", vmin=0, vmax=1)
    axis.set(title=title, xlabel="slot j (written before)", ylabel="slot i (written after)")
    figure.colorbar(image, ax=axis, shrink=0.8)
    return figure


def hop_attention_figure(
    attention: torch.Tensor, sentences: list[str], *, question: str, answer: str, predicted: str
) -> Figure:
    """Attention of every hop over the story's sentences. attention (H, S), S = len(sentences)."""
    hops, slots = attention.shape
    height = max(2.5, 0.3 * slots + 1.2)
    figure, axis = plt.subplots(figsize=(4 + 0.9 * hops, height), constrained_layout=True)
    image = axis.imshow(attention.T.float(), aspect="auto", cmap="Blues", vmin=0, vmax=1)
    axis.set_yticks(range(slots), sentences, fontsize=8)
    axis.set_xticks(range(hops), [f"hop {hop + 1}" for hop in range(hops)])
    axis.set_title(f"Q: {question}\nanswer: {answer}   predicted: {predicted}", fontsize=9)
    figure.colorbar(image, ax=axis, shrink=0.8, label="attention")
    return figure


class MemoryPictures(lightning.Callback):
    """Log ``pl_module.memory_figures(datamodule)`` every ``every_n_steps`` training steps.

    Also logs once at the end of fitting. Requires a TensorBoard logger; with
    another logger (or none) it does nothing.
    """

    def __init__(self, every_n_steps: int = 500) -> None:
        super().__init__()
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be >= 1, got {every_n_steps}")
        self.every_n_steps = every_n_steps

    def _log(self, trainer: lightning.Trainer, pl_module: lightning.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        experiment = getattr(trainer.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_figure"):
            return
        was_training = pl_module.training
        pl_module.eval()
        try:
            with torch.no_grad():
                figures = pl_module.memory_figures(trainer.datamodule)
        finally:
            pl_module.train(was_training)
        for tag, figure in figures.items():
            experiment.add_figure(tag, figure, global_step=trainer.global_step, close=True)
        experiment.flush()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every_n_steps == 0:
            self._log(trainer, pl_module)

    def on_fit_end(self, trainer, pl_module) -> None:
        self._log(trainer, pl_module)
