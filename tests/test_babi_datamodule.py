"""BabiDataModule on small fixture files written into tmp_path (never the real data set)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import lightning
import pytest
import torch

from tasks.babi.datamodule import BabiBatch, BabiDataModule, collate_babi
from tasks.babi.reader import read_babi_file, task_file_name
from tasks.babi.vocab import UNKNOWN_INDEX, Vocabulary

PEOPLE = ["mary", "john", "sandra", "daniel"]
PLACES = ["kitchen", "garden", "office", "hallway"]
ITEMS = ["apple", "milk", "football"]


def where_story(index: int, sentences: int) -> list[str]:
    """Task 1 style: several moves, then 'Where is X?'."""
    lines, last_place = [], {}
    for line_id in range(1, sentences + 1):
        person = PEOPLE[(index + line_id) % 4]
        place = PLACES[(index // 4 + line_id) % 4]
        last_place[person] = (place, line_id)
        lines.append(f"{line_id} {person.title()} went to the {place}.")
    person = PEOPLE[(index + sentences) % 4]
    place, support = last_place[person]
    lines.append(f"{sentences + 1} Where is {person.title()}? \t{place}\t{support}")
    return lines


def carry_story(index: int) -> list[str]:
    """Task 2 style, with a two-word answer class and no space before the tab."""
    person = PEOPLE[index % 4]
    first, second = ITEMS[index % 3], ITEMS[(index + 1) % 3]
    return [
        f"1 {person.title()} picked up the {first}.",
        f"2 {person.title()} grabbed the {second}.",
        f"3 What is {person.title()} carrying?\t{first},{second}\t1 2",
    ]


def write_fixture(directory: Path, *, train: int = 40, test: int = 10) -> Path:
    """Tasks 1 and 2, ``train`` and ``test`` questions each, in ``directory/en``."""
    folder = directory / "en"
    folder.mkdir(parents=True)
    for split, count, offset in (("train", train, 0), ("test", test, 1000)):
        task1 = [line for i in range(count) for line in where_story(offset + i, 2 + i % 4)]
        if split == "test":  # a word never seen in training
            task1[0] = "1 Bill went to the kitchen."
        task2 = [line for i in range(count) for line in carry_story(offset + i)]
        (folder / task_file_name(1, split)).write_text("\n".join(task1) + "\n")
        (folder / task_file_name(2, split)).write_text("\n".join(task2) + "\n")
    return directory


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return write_fixture(tmp_path / "babi")


def make(data_dir: Path, **overrides) -> BabiDataModule:
    arguments = dict(task=1, source="directory", data_dir=str(data_dir), memory_size=3)
    return BabiDataModule(**{**arguments, "batch_size": 8, **overrides})


def test_validation_split_and_vocabulary_from_training_part(data_dir):
    module = make(data_dir, validation_fraction=0.1)
    module.setup("fit")
    train, val, test = (module.dataset(split) for split in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (36, 4, 10)
    # the split is seeded: same seed, same split; another seed, another split
    again = make(data_dir, validation_fraction=0.1)
    assert torch.equal(again.dataset("val").tensors.question, val.tensors.question)
    other = make(data_dir, validation_fraction=0.1, seed=1)
    assert not torch.equal(other.dataset("val").tensors.story, val.tensors.story)
    # vocabulary from the 36 training questions only
    samples = read_babi_file(data_dir / "en" / task_file_name(1, "train"))
    assert module._samples is not None
    training = [sample for _, sample in module._samples["train"]]
    assert len(training) == 36 and set(training) < set(samples)
    assert module.vocabulary == Vocabulary.from_samples(training)
    assert "bill" not in module.vocabulary.words
    assert (test.tensors.story == UNKNOWN_INDEX).any()  # "Bill" in the test stories


def test_sizes_are_available_before_setup(data_dir):
    module = make(data_dir)
    assert module.memory_size == 3
    assert module.vocab_size == module.vocabulary.size  # lazily runs setup("fit")
    assert module.num_answers == 4  # the four places
    assert module.sentence_length == 5  # "mary went to the kitchen"


def test_batches_and_memory_truncation(data_dir):
    module = make(data_dir, memory_size=2)
    batch = next(iter(module.train_dataloader()))
    assert isinstance(batch, BabiBatch)
    assert batch.story.shape == (8, 2, module.sentence_length)
    assert batch.story_mask.shape == batch.support.shape == (8, 2)
    assert batch.question.shape == (8, module.sentence_length)
    assert batch.answer.shape == batch.task.shape == batch.story_lengths.shape == (8,)
    assert batch.story_lengths.max() <= 2
    dataset = module.dataset("train")  # the one-question path, as without __getitems__
    pair = collate_babi([dataset[0], dataset[5]])
    assert torch.equal(pair.story, dataset.tensors.story[[0, 5]])
    assert torch.equal(pair.task, dataset.tensors.task[[0, 5]])
    # every test question answers from the last sentence about its person, kept in memory
    test = next(iter(module.test_dataloader()))
    assert test.story_mask[:, -1].all()  # slot S-1 always holds the most recent sentence


def test_eval_batch_size_batches_validation_and_test_only(data_dir):
    module = make(data_dir, eval_batch_size=5)  # 40 training questions: 36 train, 4 val
    assert [len(b.answer) for b in module.train_dataloader()] == [8, 8, 8, 8, 4]
    assert [len(b.answer) for b in module.val_dataloader()] == [4]
    assert [len(b.answer) for b in module.test_dataloader()] == [5, 5]
    same = make(data_dir)  # None: the training batch size, and the same questions in order
    assert [len(b.answer) for b in same.test_dataloader()] == [8, 2]
    answers = [torch.cat([b.answer for b in m.test_dataloader()]) for m in (module, same)]
    assert torch.equal(*answers)
    with pytest.raises(ValueError, match="eval_batch_size must be a positive integer, got 0"):
        make(data_dir, eval_batch_size=0)


def test_authors_memory_is_the_longest_training_story_up_to_50(data_dir, tmp_path):
    """memory_size="authors": min(50, the longest story of the training file), as the authors'
    config_babi.m sets config.sz; the fixture's task 1 stories have 2-5 sentences, task 2's 2."""
    module = make(data_dir, memory_size="authors")
    assert module.memory_size == 5  # resolved by reading the data
    assert module.dataset("train").tensors.story.shape[1] == 5
    assert make(data_dir, task=2, memory_size="authors").memory_size == 2
    assert make(data_dir, task=[1, 2], memory_size="authors").memory_size == 5
    assert module.state_dict()["memory_size"] == 5
    longer = write_fixture(tmp_path / "longer")
    train = longer / "en" / task_file_name(1, "train")
    train.write_text(train.read_text() + "\n".join(where_story(0, 60)) + "\n")
    assert make(longer, memory_size="authors").memory_size == 50
    with pytest.raises(ValueError, match="memory_size"):
        make(data_dir, memory_size="paper")


def test_joint_tasks_share_a_vocabulary_and_keep_task_ids(data_dir):
    module = make(data_dir, task=[1, 2], batch_size=100)
    assert len(module.dataset("train")) == 72
    assert len(module.dataset("val")) == 8
    assert "carrying" in module.vocabulary.words and "went" in module.vocabulary.words
    assert "apple,milk" in module.vocabulary.answers and "garden" in module.vocabulary.answers
    test = next(iter(module.test_dataloader()))
    assert sorted(test.task.unique().tolist()) == [1, 2]
    assert (test.task == 1).sum() == (test.task == 2).sum() == 10
    assert test.answer.ge(0).all()
    train_tasks = torch.cat([batch.task for batch in module.train_dataloader()])
    assert train_tasks.bincount().tolist() == [0, 36, 36]


def test_fixed_example_has_text_for_every_slot(data_dir):
    module = make(data_dir, memory_size=4)
    example = module.fixed_example()
    assert example.batch.story.shape == (1, 4, module.sentence_length)
    assert len(example.sentences) == len(example.supporting) == 4
    assert example.sentences[-1] != ""  # the most recent sentence is in the last slot
    assert example.question.startswith("where is ")
    assert example.answer in module.vocabulary.answers
    assert example.supporting[-1] or example.supporting[-2] or example.supporting[-3]
    again = module.fixed_example()
    assert again.sentences == example.sentences
    assert torch.equal(again.batch.story, example.batch.story)


def test_state_dict_carries_the_vocabulary(data_dir, tmp_path):
    module = make(data_dir)
    state = module.state_dict()
    # a module on other data (only task 2 here) takes the saved vocabulary over its own
    restored = make(data_dir, task=2)
    restored.setup("fit")
    restored.load_state_dict(state)
    assert restored.vocabulary == module.vocabulary
    assert restored.sentence_length == module.sentence_length
    assert restored.dataset("test").tensors.answer.eq(-100).all()  # task 2 answers are unknown
    with pytest.raises(ValueError, match="memory_size"):
        make(data_dir, memory_size=7).load_state_dict(state)


def test_generated_source_calls_the_generator_once(tmp_path, monkeypatch):
    calls = []

    def write_dataset(directory, *, tasks, num_train, num_test, seed):
        calls.append((list(tasks), num_train, num_test, seed))
        return write_fixture(Path(directory) / "written", train=num_train, test=num_test)

    name = BabiDataModule.__module__.rpartition(".")[0] + ".generator"  # (memnets_)tasks.babi
    fake = types.ModuleType(name)
    fake.write_dataset = write_dataset
    monkeypatch.setitem(sys.modules, name, fake)
    arguments = dict(
        task=1, source="generated", generated_dir=str(tmp_path / "gen"),
        generated_train_questions=20, generated_test_questions=5, seed=3,
    )  # fmt: skip
    module = BabiDataModule(**arguments)
    module.prepare_data()
    assert len(module.dataset("train")) + len(module.dataset("val")) == 20
    assert len(module.dataset("test")) == 5
    assert BabiDataModule(**arguments).vocab_size == module.vocab_size  # files reused
    assert calls == [([1], 20, 5, 3)]


def test_directory_source_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="needs data_dir"):
        BabiDataModule(source="directory")
    with pytest.raises(FileNotFoundError, match="qa1_single-supporting-fact_train.txt"):
        BabiDataModule(source="directory", data_dir=str(tmp_path / "nowhere")).setup("fit")
    with pytest.raises(ValueError, match="task"):
        BabiDataModule(task=21)


class _BagOfWords(lightning.LightningModule):
    """Smallest model that eats a BabiBatch: mean word embedding of story and question."""

    def __init__(self, vocab_size: int, num_answers: int) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, 8, padding_idx=0)
        self.output = torch.nn.Linear(8, num_answers)

    def training_step(self, batch: BabiBatch, batch_index: int) -> torch.Tensor:
        words = torch.cat([batch.story.flatten(1), batch.question], dim=1)  # (B, S*W + W)
        logits = self.output(self.embedding(words).mean(1))  # (B, A)
        return torch.nn.functional.cross_entropy(logits, batch.answer)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.filterwarnings("ignore:.*no `validation_step`", "ignore:.*LeafSpec")
def test_trainer_runs_and_checkpoint_holds_vocabulary(data_dir, tmp_path):
    module = make(data_dir, task=[1, 2])
    model = _BagOfWords(module.vocab_size, module.num_answers)
    trainer = lightning.Trainer(
        max_steps=2, limit_val_batches=0, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
        default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(model, datamodule=module)
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=False)
    assert checkpoint["BabiDataModule"]["vocabulary"] == module.vocabulary.to_dict()
    assert checkpoint["datamodule_hyper_parameters"]["task"] == [1, 2]
