"""Lightning ``DataModule`` for the bAbI question-answering tasks.

Glossary: B batch, S memory slots (``memory_size``), W words per sentence
(``sentence_length``), V vocabulary size.

Data come from a directory in the real bAbI layout (``source="directory"``,
e.g. the unpacked ``tasks_1-20_v1-2``) or from the bundled generator
(``source="generated"``), which writes files in the same format once and
reuses them. One or several tasks: several tasks share one vocabulary and
every question keeps its task number, so metrics can be split per task.

As in Sukhbaatar et al. 2015, 10% of the training questions of each task are
held out for validation (a seeded split of questions) and the vocabulary is
built from the remaining training questions only. The word and answer
vocabularies, the sentence length and the memory size are part of
``state_dict()``, so a checkpoint carries them. Slot order and the handling
of unknown words and answers are described in :mod:`tasks.babi.vocab`: slot
``S - 1`` holds the most recent sentence.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import lightning
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..loading import EpochShuffleSampler, ResumableDataLoader, RunsBatchSampler
from .reader import (
    SETTING_DIRECTORIES,
    TASK_NAMES,
    QASample,
    find_task_files,
    read_babi_file,
    task_file_name,
)
from .vocab import QATensors, Vocabulary, longest_sentence, vectorize

__all__ = [
    "BabiBatch",
    "BabiDataModule",
    "BabiDataset",
    "BabiExample",
    "collate_babi",
    "collate_runs",
]

SPLITS = ("train", "val", "test")
SOURCES = ("generated", "directory")

# ---------------------------------------------------------------------------
# batches and datasets
# ---------------------------------------------------------------------------


@dataclass(eq=False)
class BabiBatch(QATensors):
    """Vectorised questions (see :class:`QATensors`) with the task each comes from."""

    task: Tensor  # (B,) int64 bAbI task number, 1..20


class BabiDataset(Dataset):
    """All questions of one split, held as tensors; batches are gathered in one indexing op."""

    def __init__(self, tensors: BabiBatch) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors)

    def __getitem__(self, index: int) -> BabiBatch:
        return self.tensors.select(slice(index, index + 1))

    def __getitems__(self, indices: list[int]) -> BabiBatch:
        """Batched fetch used by ``DataLoader`` (torch >= 2.1)."""
        return self.tensors.select(torch.as_tensor(indices, dtype=torch.long))


def collate_runs(items: BabiBatch, *, runs: int) -> BabiBatch:
    """A batch of R x B questions (:class:`~tasks.loading.RunsBatchSampler`: one batch per run,
    run after run) as tensors of shape (R, B, ...)."""
    batch = collate_babi(items)
    names = [name for name in BabiBatch.__dataclass_fields__]
    return BabiBatch(**{name: getattr(batch, name).unflatten(0, (runs, -1)) for name in names})


def collate_babi(items: BabiBatch | list[BabiBatch]) -> BabiBatch:
    """``DataLoader`` collate function: a batch from ``__getitems__`` passes through; a list
    of one-question batches (the ``__getitem__`` path) is concatenated."""
    if isinstance(items, BabiBatch):
        return items
    if len(items) == 0:
        raise ValueError("cannot collate an empty list of questions")
    names = [name for name in BabiBatch.__dataclass_fields__]
    return BabiBatch(**{name: torch.cat([getattr(item, name) for item in items]) for name in names})


@dataclass(frozen=True, eq=False)
class BabiExample:
    """One question as a batch of one, with its text, for attention pictures."""

    batch: BabiBatch  # B == 1
    sentences: list[str]  # (S,) text of each memory slot, "" for an empty slot
    question: str
    answer: str
    task: int
    supporting: list[bool]  # (S,) True for the supporting sentences


# ---------------------------------------------------------------------------
# data module
# ---------------------------------------------------------------------------


class BabiDataModule(lightning.LightningDataModule):
    """bAbI tasks as batches of :class:`BabiBatch`.

    Args:
        task: a task number 1..20, or a list of them for joint training.
        setting: ``"1k"`` or ``"10k"`` training questions per task (``source="directory"``
            only; the generator's sizes are ``generated_*_questions``).
        source: ``"directory"`` reads real-format files from ``data_dir``;
            ``"generated"`` writes them with ``tasks.babi.generator`` into
            ``generated_dir`` first, unless already there.
        data_dir: the unpacked archive root (holding ``en/`` and ``en-10k/``) or a
            folder holding the ``qa*_`` files; required for ``source="directory"``.
        memory_size: story sentences kept per question, the most recent ones; ``"authors"``:
            min(50, the longest story of the training file(s)), the memory of the authors'
            code (``config.sz`` in ``config_babi.m``), resolved when the data are read.
        batch_size: questions per training batch (and per evaluation batch when
            ``eval_batch_size`` is None).
        eval_batch_size: questions per validation and test batch; None: ``batch_size``. It
            changes no number beyond float round-off (errors and losses are means over
            questions), only the time an evaluation takes: fewer, larger batches.
        validation_fraction: share of each task's training questions held out for validation.
        seed: fixes the validation split, the training shuffle and the generated data.
        run_seeds: several runs trained together (``QAModule``, which the CLI links them to):
            each run's training batches come in its own order, from its seed (the validation
            split and the generated data stay those of ``seed``); a training batch then holds
            one batch per run, tensors of shape (R, B, ...). None: one run, ``seed``'s order.
        num_workers: ``DataLoader`` worker processes.
        generated_dir: where generated data are written (one sub-folder per size and seed).
        generated_train_questions: training questions per task to generate.
        generated_test_questions: test questions per task to generate.
    """

    def __init__(
        self,
        *,
        task: int | list[int] = 1,
        setting: str = "1k",
        source: str = "generated",
        data_dir: str | None = None,
        memory_size: int | Literal["authors"] = 50,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        validation_fraction: float = 0.1,
        seed: int = 0,
        run_seeds: list[int] | None = None,
        num_workers: int = 0,
        generated_dir: str = "data/babi-generated",
        generated_train_questions: int = 1000,
        generated_test_questions: int = 1000,
    ) -> None:
        super().__init__()
        tasks = [task] if isinstance(task, int) else list(task)
        if not tasks or any(item not in TASK_NAMES for item in tasks):
            raise ValueError(f"task must be an integer in 1..20 or a list of them, got {task!r}")
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"task must not repeat a task, got {task!r}")
        if setting not in SETTING_DIRECTORIES:
            raise ValueError(
                f"setting must be one of {sorted(SETTING_DIRECTORIES)}, got {setting!r}"
            )
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if source == "directory" and data_dir is None:
            raise ValueError("source='directory' needs data_dir (the unpacked tasks_1-20_v1-2)")
        eval_size = batch_size if eval_batch_size is None else eval_batch_size
        for name, value in (
            ("memory_size", 1 if memory_size == "authors" else memory_size),
            ("batch_size", batch_size),
            ("eval_batch_size", eval_size),
            ("generated_train_questions", generated_train_questions),
            ("generated_test_questions", generated_test_questions),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction!r}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.save_hyperparameters()
        self.tasks = tasks
        self.setting = setting
        self.source = source
        self.data_dir = data_dir
        self.batch_size = batch_size
        self.eval_batch_size = eval_size
        self.validation_fraction = validation_fraction
        self.seed = seed
        if run_seeds is not None and (not run_seeds or len(set(run_seeds)) != len(run_seeds)):
            raise ValueError(f"run_seeds must be distinct seeds, at least one, got {run_seeds!r}")
        self.run_seeds = None if run_seeds is None else list(run_seeds)
        self.num_workers = num_workers
        self.generated_dir = generated_dir
        self.generated_train_questions = generated_train_questions
        self.generated_test_questions = generated_test_questions
        self._memory_size = memory_size
        self._vocabulary: Vocabulary | None = None
        self._sentence_length: int | None = None
        self._samples: dict[str, list[tuple[int, QASample]]] | None = None  # split -> (task, q)
        self._datasets: dict[str, BabiDataset] = {}

    # -- sizes the model needs (available before the trainer exists) ---------------------------

    @property
    def vocabulary(self) -> Vocabulary:
        self._ensure_setup()
        assert self._vocabulary is not None
        return self._vocabulary

    @property
    def vocab_size(self) -> int:
        """Word ids V, nil and ``<unk>`` included (embedding table size)."""
        return self.vocabulary.size

    @property
    def num_answers(self) -> int:
        """Answer classes (output size)."""
        return self.vocabulary.num_answers

    @property
    def answer_word_ids(self) -> list[int]:
        """The word id of each answer class (:meth:`Vocabulary.answer_word_ids`), for a model
        that scores answers as words."""
        return self.vocabulary.answer_word_ids()

    @property
    def memory_size(self) -> int:
        """Memory slots S (``"authors"`` is resolved by reading the data)."""
        if self._memory_size == "authors":
            self._ensure_setup()
        return self._memory_size

    @property
    def sentence_length(self) -> int:
        """Words per sentence W: the longest kept sentence or question over all splits."""
        self._ensure_setup()
        assert self._sentence_length is not None
        return self._sentence_length

    # -- files ---------------------------------------------------------------------------------

    def _generated_root(self) -> Path:
        name = (
            f"train{self.generated_train_questions}-test{self.generated_test_questions}"
            f"-seed{self.seed}"
        )
        return Path(self.generated_dir) / name

    def _generated_files(self, root: Path, task: int) -> tuple[Path, Path] | None:
        found = []
        for split in ("train", "test"):
            matches = sorted(root.rglob(task_file_name(task, split))) if root.is_dir() else []
            if not matches:
                return None
            found.append(matches[0])
        return found[0], found[1]

    def task_files(self) -> dict[int, tuple[Path, Path]]:
        """``{task: (train_path, test_path)}``; writes generated data first if needed."""
        if self.source == "directory":
            assert self.data_dir is not None
            return {
                task: find_task_files(self.data_dir, task, setting=self.setting)
                for task in self.tasks
            }
        root = self._generated_root()
        files = {task: self._generated_files(root, task) for task in self.tasks}
        missing = [task for task, paths in files.items() if paths is None]
        if missing:
            from .generator import write_dataset  # lazy: optional at import time

            written = Path(
                write_dataset(
                    root,
                    tasks=missing,
                    num_train=self.generated_train_questions,
                    num_test=self.generated_test_questions,
                    seed=self.seed,
                )
            )
            for task in missing:
                files[task] = self._generated_files(written, task) or self._generated_files(
                    root, task
                )
                if files[task] is None:
                    raise FileNotFoundError(
                        f"tasks.babi.generator.write_dataset wrote no files for task {task} "
                        f"under {written} (expected {task_file_name(task, 'train')})"
                    )
        return files  # type: ignore[return-value]

    def prepare_data(self) -> None:
        """Write generated data if needed (called once per node by the trainer)."""
        self.task_files()

    # -- setup ---------------------------------------------------------------------------------

    def _read_samples(self) -> dict[str, list[tuple[int, QASample]]]:
        samples: dict[str, list[tuple[int, QASample]]] = {split: [] for split in SPLITS}
        for task, (train_path, test_path) in self.task_files().items():
            train = read_babi_file(train_path)
            order = list(range(len(train)))
            random.Random(self.seed * 100 + task).shuffle(order)
            num_validation = int(len(train) * self.validation_fraction + 0.5)
            held_out = set(order[:num_validation])
            for index, sample in enumerate(train):  # file order kept inside each split
                samples["val" if index in held_out else "train"].append((task, sample))
            samples["test"].extend((task, sample) for sample in read_babi_file(test_path))
        return samples

    def _build_datasets(self) -> None:
        assert self._samples is not None and self._vocabulary is not None
        assert self._sentence_length is not None
        for split, pairs in self._samples.items():
            tensors = vectorize(
                [sample for _, sample in pairs],
                self._vocabulary,
                memory_size=self._memory_size,
                sentence_length=self._sentence_length,
            )
            task = torch.tensor([task for task, _ in pairs], dtype=torch.long)  # (Q,)
            self._datasets[split] = BabiDataset(BabiBatch(**vars(tensors), task=task))

    def setup(self, stage: str | None = None) -> None:
        """Read every split once (any ``stage``); a vocabulary loaded earlier is kept."""
        if self._samples is not None:
            return
        self._samples = self._read_samples()
        if self._memory_size == "authors":  # train and validation questions: the whole file
            stories = (s.story for split in ("train", "val") for _, s in self._samples[split])
            self._memory_size = min(50, max(map(len, stories), default=1))
        if self._vocabulary is None:
            self._vocabulary = Vocabulary.from_samples(s for _, s in self._samples["train"])
        if self._sentence_length is None:
            self._sentence_length = longest_sentence(
                (s for pairs in self._samples.values() for _, s in pairs),
                memory_size=self._memory_size,
            )
        self._build_datasets()

    def _ensure_setup(self) -> None:
        if self._samples is None:
            self.setup("fit")

    def dataset(self, split: str) -> BabiDataset:
        """The ``"train"``, ``"val"`` or ``"test"`` questions."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self._ensure_setup()
        return self._datasets[split]

    # -- loaders -------------------------------------------------------------------------------

    def _loader(self, split: str, *, shuffle: bool) -> DataLoader:
        dataset = self.dataset(split)
        # Shuffled: the order of epoch e is a pure function of (seed, e) and the loader resumes
        # mid-epoch from a checkpoint (tasks.loading), so a resumed run replays the stopped one.
        # The loader's own generator (worker seeds) leaves torch's global generator alone.
        loader_class, sampler = DataLoader, None
        if shuffle and len(dataset) > 0 and self.run_seeds is not None:
            return ResumableDataLoader(
                dataset,
                batch_sampler=RunsBatchSampler(
                    len(dataset), batch_size=self.batch_size, seeds=self.run_seeds
                ),
                generator=torch.Generator().manual_seed(self.seed),
                collate_fn=partial(collate_runs, runs=len(self.run_seeds)),
                num_workers=self.num_workers,
                persistent_workers=self.num_workers > 0,
            )
        if shuffle and len(dataset) > 0:
            loader_class = ResumableDataLoader
            sampler = EpochShuffleSampler(len(dataset), seed=self.seed)
        return loader_class(
            dataset,
            batch_size=self.batch_size if shuffle else self.eval_batch_size,
            sampler=sampler,
            shuffle=False,
            generator=torch.Generator().manual_seed(self.seed),
            collate_fn=collate_babi,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """All test questions of all tasks; ``batch.task`` tells them apart."""
        return self._loader("test", shuffle=False)

    # -- pictures ------------------------------------------------------------------------------

    def fixed_example(self, index: int = 0) -> BabiExample:
        """Validation question ``index`` (the test question if there is no validation set),
        as a batch of one with its text: the same question in every epoch."""
        split = "val" if len(self.dataset("val")) > 0 else "test"
        assert self._samples is not None
        task, sample = self._samples[split][index]
        batch = self.dataset(split).tensors.select(slice(index, index + 1))
        kept = sample.story[-self._memory_size :]
        sentences = [""] * (self._memory_size - len(kept)) + [" ".join(s) for s in kept]
        return BabiExample(
            batch=batch,
            sentences=sentences,
            question=" ".join(sample.question),
            answer=sample.answer,
            task=task,
            supporting=batch.support[0].tolist(),
        )

    # -- checkpoints ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Vocabulary, sentence length and memory size, so a checkpoint can rebuild the inputs."""
        return {
            "vocabulary": self.vocabulary.to_dict(),
            "sentence_length": self.sentence_length,
            "memory_size": self.memory_size,
            "tasks": list(self.tasks),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Use the saved vocabulary and sentence length (re-vectorising if already set up)."""
        if state_dict["memory_size"] != self.memory_size:
            raise ValueError(
                f"checkpoint was made with memory_size={state_dict['memory_size']}, "
                f"this data module has memory_size={self.memory_size}"
            )
        self._vocabulary = Vocabulary.from_dict(state_dict["vocabulary"])
        self._sentence_length = int(state_dict["sentence_length"])
        if self._samples is not None:
            self._build_datasets()
