"""bAbI as word sequences for the DNC (tasks/babi/sequences.py, sequence_datamodule.py,
memnets/training/sequence_qa_module.py): stories written out by hand, a question's error by
hand, the data module's split by story, and a tiny real run of configs/dnc_babi.yaml."""

import dataclasses
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from memnets.dnc import DNC
from memnets.training.cli import main
from memnets.training.sequence_qa_module import question_errors
from tasks.babi import Vocabulary, parse_babi_lines, read_babi_file
from tasks.babi.sequence_datamodule import BabiSequenceDataModule
from tasks.babi.sequences import (
    StorySequence,
    collate_sequences,
    encode_story,
    sequence_vocabulary,
    story_sequences,
)

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DNC_PICTURES = {
    "memory/write_weights",
    "memory/read_weights",
    "memory/usage",
    "memory/read_modes",
    "memory/links",
    "memory/memory",
}

# two stories: two questions with a sentence between them, then one two-word answer
BABI_TEXT = """\
1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? \tbathroom\t1
4 Daniel went back to the hallway.
5 Where is Daniel? \thallway\t4
1 The kitchen is north of the garden.
2 The office is west of the kitchen.
3 How do you go from the garden to the office?\tn,w\t1 2
"""
MARY_WORDS = (
    "mary moved to the bathroom . john went to the hallway . where is mary ? - "
    "daniel went back to the hallway . where is daniel ? -"
).split()
PATH_WORDS = (
    "the kitchen is north of the garden . the office is west of the kitchen . "
    "how do you go from the garden to the office ? - -"
).split()


def hand_written_stories() -> list[StorySequence]:
    return story_sequences(parse_babi_lines(BABI_TEXT.splitlines(), source="x"))


# stories as words


def test_story_sequences_put_questions_in_place_and_one_mark_per_answer_word():
    mary, path = hand_written_stories()
    assert mary == StorySequence(
        words=tuple(MARY_WORDS),
        answers=("bathroom", "hallway"),
        questions=(0, 1),
        sources=("x:3", "x:5"),
    )
    assert path == StorySequence(
        words=tuple(PATH_WORDS),
        answers=("n", "w"),  # the answer n,w is two words, one '-' each
        questions=(0, 0),  # both answer the story's first question
        sources=("x:8",),
    )


def test_a_question_without_its_story_source_is_refused():
    sample = parse_babi_lines(BABI_TEXT.splitlines(), source="x")[0]
    orphan = dataclasses.replace(sample, story_source="")  # a QASample made by hand
    with pytest.raises(ValueError, match="x:3 has no story_source"):
        story_sequences([orphan])


def test_sequence_vocabulary_holds_nil_unk_the_marks_and_the_answer_words():
    vocabulary = sequence_vocabulary(hand_written_stories())
    assert vocabulary.words == (
        "<nil>", "<unk>", "-", ".", "?", "back", "bathroom", "daniel", "do", "from", "garden",
        "go", "hallway", "how", "is", "john", "kitchen", "mary", "moved", "n", "north", "of",
        "office", "the", "to", "w", "went", "west", "where", "you",
    )  # fmt: skip
    assert vocabulary.answers == ("bathroom", "hallway", "n", "w")  # n and w: answers only


def test_encode_story_targets_and_question_numbers_only_at_the_answer_marks():
    mary, path = hand_written_stories()
    vocabulary = sequence_vocabulary([mary, path])  # '-' 2, '.' 3, '?' 4, back 5, ...
    inputs, targets, questions = encode_story(mary, vocabulary)
    # mary moved to the bathroom . john went to the hallway . where is mary ? -
    # daniel went back to the hallway . where is daniel ? -
    assert inputs.tolist() == [17, 18, 24, 23, 6, 3, 15, 26, 24, 23, 12, 3, 28, 14, 17, 4, 2,
                               7, 26, 5, 24, 23, 12, 3, 28, 14, 7, 4, 2]  # fmt: skip
    expected_targets = [-100] * 29
    expected_targets[16], expected_targets[28] = 6, 12  # bathroom, hallway
    assert targets.tolist() == expected_targets
    expected_questions = [-1] * 29
    expected_questions[16], expected_questions[28] = 0, 1
    assert questions.tolist() == expected_questions
    assert inputs.dtype == targets.dtype == questions.dtype == torch.long

    _, targets, questions = encode_story(path, vocabulary)
    assert targets[-3:].tolist() == [-100, 19, 25]  # '?' then n, w
    assert questions[-3:].tolist() == [-1, 0, 0]


def test_encode_story_marks_an_answer_word_the_vocabulary_lacks_minus_100():
    mary, path = hand_written_stories()
    vocabulary = sequence_vocabulary([mary])  # '-' 2, '.' 3, '?' 4, ..., the 13, to 14
    inputs, targets, questions = encode_story(path, vocabulary)
    # the kitchen is north of the garden . the office is west of the kitchen .
    # how do you go from the garden to the office ? - -   (unknown words: <unk>, 1)
    assert inputs.tolist() == [13, 1, 9, 1, 1, 13, 1, 3, 13, 1, 9, 1, 1, 13, 1, 3,
                               1, 1, 1, 1, 1, 13, 1, 14, 13, 1, 4, 2, 2]  # fmt: skip
    assert targets.tolist() == [-100] * 29  # n and w are not in the vocabulary
    assert questions.tolist() == [-1] * 27 + [0, 0]  # still the answer steps of question 0


def test_encode_story_scores_a_story_word_that_was_never_an_answer_as_that_word():
    mary, _ = hand_written_stories()
    vocabulary = sequence_vocabulary([mary])
    asked_about_a_person = StorySequence(
        words=("who", "is", "in", "the", "hallway", "?", "-"),
        answers=("mary",),  # a story word, never an answer of the vocabulary's stories
        questions=(0,),
        sources=("y:3",),
    )
    assert "mary" not in vocabulary.answers and "mary" in vocabulary.words
    _, targets, _ = encode_story(asked_about_a_person, vocabulary)
    assert targets.tolist() == [-100] * 6 + [vocabulary.word_index("mary")]


def test_collate_sequences_pads_with_nil_ignored_targets_and_no_question():
    first = (torch.tensor([5, 6, 2]), torch.tensor([-100, -100, 7]), torch.tensor([-1, -1, 0]), 1)
    second = (torch.tensor([3, 2]), torch.tensor([-100, 4]), torch.tensor([-1, 0]), 19)
    batch = collate_sequences([first, second])
    assert batch.inputs.tolist() == [[5, 6, 2], [3, 2, 0]]
    assert batch.targets.tolist() == [[-100, -100, 7], [-100, 4, -100]]
    assert batch.questions.tolist() == [[-1, -1, 0], [-1, 0, -1]]
    assert batch.lengths.tolist() == [3, 2]
    assert batch.task.tolist() == [1, 19]
    assert len(batch) == 2
    with pytest.raises(ValueError, match="empty list"):
        collate_sequences([])


# errors per question


def test_question_errors_a_question_is_right_only_if_all_its_answer_words_are():
    predicted = torch.tensor(
        [
            [0, 2, 0, 0],  # two-word question 0: 2 right, 0 wrong (target 1); question 1 right
            [1, 2, 2, 0],  # one-word question 0 right; steps 1-3 padding
            [0, 0, 0, 0],  # question 0's answer word unknown (-100): never right
        ]
    )
    targets = torch.tensor(
        [[-100, 2, 1, 0], [1, -100, -100, -100], [-100, -100, -100, -100]]
    )  # fmt: skip
    questions = torch.tensor([[-1, 0, 0, 1], [0, -1, -1, -1], [-1, 0, -1, -1]])
    logits = F.one_hot(predicted, 3).float()  # (B, T, V) with argmax ``predicted``
    wrong, asked = question_errors(logits, targets, questions)
    assert wrong.tolist() == [[True, False], [False, False], [True, False]]
    assert asked.tolist() == [[True, True], [True, False], [True, False]]


def test_a_batch_whose_answers_the_vocabulary_lacks_gives_a_zero_loss_not_nan():
    from memnets.training.sequence_qa_module import SequenceQAModule
    from tasks.babi.sequences import SequenceBatch

    torch.manual_seed(0)
    module = SequenceQAModule(DNC(input_size=6, output_size=6, controller_size=4,
                                  memory_slots=3, memory_width=2))  # fmt: skip
    batch = SequenceBatch(
        inputs=torch.tensor([[2, 3, 4]]),
        targets=torch.tensor([[-100, -100, -100]]),  # the one answer word is unknown
        questions=torch.tensor([[-1, -1, 0]]),
        lengths=torch.tensor([3]),
        task=torch.tensor([1]),
    )
    loss = module._shared_step(batch, "val")
    assert loss.item() == 0.0 and loss.requires_grad


def test_question_errors_of_a_batch_without_answer_steps_is_empty():
    questions = torch.full((2, 3), -1)
    wrong, asked = question_errors(torch.zeros(2, 3, 4), torch.full((2, 3), -100), questions)
    assert wrong.shape == asked.shape == (2, 0)


# the data module


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("babi-generated")


def babi_sequences(generated_dir: Path, **overrides) -> BabiSequenceDataModule:
    """Generated task 1: 50 training questions (10 stories of 5), 50 test questions."""
    arguments = dict(
        task=1,
        source="generated",
        generated_dir=str(generated_dir),
        generated_train_questions=50,
        generated_test_questions=50,
        batch_size=4,
        validation_fraction=0.2,
    )
    return BabiSequenceDataModule(**{**arguments, **overrides})


def test_validation_holds_out_whole_stories_and_the_vocabulary_is_the_rest(generated_dir):
    module = babi_sequences(generated_dir)
    module.prepare_data()  # writes the generated files
    samples = read_babi_file(next(generated_dir.rglob("qa1_*_train.txt")))
    stories = story_sequences(samples)
    assert len(stories) == 10
    by_inputs = {
        tuple(encode_story(story, module.vocabulary)[0].tolist()): story for story in stories
    }
    assert len(by_inputs) == 10  # no two stories alike: the served words name the story
    split = {
        name: [by_inputs[tuple(inputs.tolist())] for inputs, *_ in module.dataset(name)]
        for name in ("train", "val")
    }
    assert len(split["val"]) == 2 and len(split["train"]) == 8  # 20 % of 10 stories
    assert {story.sources for story in split["val"]}.isdisjoint(
        story.sources for story in split["train"]
    )
    train = {source for story in split["train"] for source in story.sources}
    val = {source for story in split["val"] for source in story.sources}
    assert train.isdisjoint(val) and train | val == {sample.source for sample in samples}
    for story_source in {sample.story_source for sample in samples}:
        asked = {sample.source for sample in samples if sample.story_source == story_source}
        assert asked <= train or asked <= val, f"story {story_source} split"
    assert len(module.dataset("test")) == 10
    assert {task for *_, task in module.dataset("test")} == {1}
    assert module.vocabulary == sequence_vocabulary(split["train"])
    assert module.input_size == module.output_size == module.vocabulary.size


def test_the_vocabulary_travels_in_the_state_dict(generated_dir):
    trained = babi_sequences(generated_dir)
    state = trained.state_dict()
    assert state == {"vocabulary": trained.vocabulary.to_dict(), "tasks": [1]}
    restored = babi_sequences(generated_dir, validation_fraction=0.5)
    restored.load_state_dict(state)
    assert restored.vocabulary == trained.vocabulary

    words = trained.vocabulary.words  # the same words under other ids
    renumbered = Vocabulary(
        words=(*words[:2], *reversed(words[2:])), answers=trained.vocabulary.answers
    )
    fresh = babi_sequences(generated_dir)
    fresh.load_state_dict({"vocabulary": renumbered.to_dict(), "tasks": [1]})
    assert fresh.vocabulary == renumbered  # loaded before setup: setup keeps it
    inputs, targets, _, _ = trained.dataset("train")[0]
    told = trained.vocabulary.decode(inputs)
    answers = [trained.vocabulary.words[index] for index in targets[targets >= 0]]
    trained.load_state_dict({"vocabulary": renumbered.to_dict(), "tasks": [1]})
    inputs_again, targets_again, _, _ = trained.dataset("train")[0]  # encoded again
    assert not torch.equal(inputs_again, inputs)
    assert renumbered.decode(inputs_again) == told
    assert [renumbered.words[index] for index in targets_again[targets_again >= 0]] == answers


def test_max_story_words_leaves_out_long_training_stories_only(generated_dir):
    def lengths(module: BabiSequenceDataModule, split: str) -> list[int]:
        return [len(inputs) for inputs, *_ in module.dataset(split)]

    every = babi_sequences(generated_dir)
    limited = babi_sequences(generated_dir, max_story_words=86)
    kept = [length for length in lengths(every, "train") if length <= 86]
    assert 0 < len(kept) < len(every.dataset("train"))  # some dropped, some kept
    assert lengths(limited, "train") == kept
    for split in ("val", "test"):
        assert lengths(limited, split) == lengths(every, split)
    assert max(lengths(limited, "val") + lengths(limited, "test")) > 86
    with pytest.raises(ValueError, match="no training stories of at most max_story_words=10"):
        babi_sequences(generated_dir, max_story_words=10).setup("fit")


@pytest.mark.parametrize(
    "name, value",
    [("batch_size", 0), ("validation_fraction", 1.0), ("max_story_words", 0), ("num_workers", -1)],
)
def test_a_bad_argument_is_named(name, value, tmp_path):
    with pytest.raises(ValueError, match=name):
        babi_sequences(tmp_path, **{name: value})


# the command line


def tiny_dnc_babi(generated_dir: Path) -> list[str]:
    """configs/dnc_babi.yaml shrunk to seconds: an 8-unit controller over an 8 x 4 memory with
    2 read heads; generated task 1 with 10 training stories (2 for validation) and 10 test
    stories, 4 a batch."""
    return [
        "--config", str(ROOT / "configs" / "dnc_babi.yaml"),
        "--model.init_args.model.init_args.controller_size", "8",
        "--model.init_args.model.init_args.memory_slots", "8",
        "--model.init_args.model.init_args.memory_width", "4",
        "--model.init_args.model.init_args.num_read_heads", "2",
        "--data.generated_dir", str(generated_dir),
        "--data.generated_train_questions", "50",
        "--data.generated_test_questions", "50",
        "--data.batch_size", "4",
        "--data.validation_fraction", "0.2",
    ]  # fmt: skip


QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


@pytest.fixture(scope="module")
def babi_run(tmp_path_factory):
    """One tiny fit of configs/dnc_babi.yaml (2 steps, pictures at every step): the CLI and
    its TensorBoard folder."""
    root = tmp_path_factory.mktemp("dnc_babi")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["memnets"])  # as from a shell: arguments in args only
        cli = main(
            [
                "fit",
                *tiny_dnc_babi(root / "generated"),
                "--trainer.max_steps", "2",
                "--trainer.log_every_n_steps", "1",
                "--pictures.every_n_steps", "1",
                "--trainer.logger.init_args.save_dir", str(root / "runs"),
                *QUIET,
            ]
        )  # fmt: skip
    return cli, root / "runs" / "dnc_babi" / "version_0"


def test_cli_fit_trains_a_dnc_on_babi_stories_and_logs_errors_and_pictures(babi_run):
    cli, log_dir = babi_run
    assert cli.trainer.global_step == 2  # 8 training stories, 4 a batch: one epoch
    model = cli.model.model
    assert isinstance(model, DNC)
    assert model.input_size == model.output_size == cli.datamodule.vocabulary.size
    events = EventAccumulator(str(log_dir), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    for tag in ["train/loss", "train/error", "train/stories", "val/loss", "val/error",
                "val/error_task1", "test/loss", "test/error", "test/error_task1"]:  # fmt: skip
        assert tag in scalars, f"{tag} missing from {sorted(scalars)}"
    for tag in ["val/error", "test/error", "test/error_task1"]:
        assert all(0.0 <= event.value <= 1.0 for event in events.Scalars(tag))
    images = set(events.Tags()["images"])
    assert DNC_PICTURES <= images, f"missing: {sorted(DNC_PICTURES - images)}"
    for tag in DNC_PICTURES:
        for image in events.Images(tag):
            assert image.encoded_image_string.startswith(PNG_MAGIC)
    assert len(events.Images("memory/links")) >= 2  # at steps 1 and 2, and at the fit's end
    assert (log_dir / "checkpoints" / "last.ckpt").is_file()


def test_a_checkpoint_tested_with_its_run_config_gives_the_same_errors(babi_run, monkeypatch):
    """The vocabulary comes back from the checkpoint; last.ckpt holds the weights the fit
    tested (its only validation, at its last step, was the best)."""
    cli, log_dir = babi_run
    monkeypatch.setattr(sys, "argv", ["memnets"])
    tested = main(["test", "--config", str(log_dir / "config.yaml"),
                   "--ckpt_path", str(log_dir / "checkpoints" / "last.ckpt"),
                   "--trainer.logger", "false", *QUIET])  # fmt: skip
    assert tested.datamodule.vocabulary == cli.datamodule.vocabulary
    got, expected = tested.trainer.callback_metrics, cli.trainer.callback_metrics
    for name in ["test/error", "test/error_task1", "test/loss"]:
        assert float(got[name]) == pytest.approx(float(expected[name]), abs=1e-6)


def test_a_checkpoint_of_another_babi_task_is_refused_naming_both(
    babi_run, tmp_path, capsys, monkeypatch
):
    """``train.py test`` with the DNC's bAbI config for task 2, and with MemN2N's for task 1:
    an error naming the checkpoint's data and the config's, before any data is made."""
    _, log_dir = babi_run
    last = log_dir / "checkpoints" / "last.ckpt"
    monkeypatch.setattr(sys, "argv", ["memnets"])
    for config, given in [
        (["--config", str(ROOT / "configs" / "dnc_babi.yaml"), "--data.task", "2"],
         "bAbI task [2] (BabiSequenceDataModule)"),
        (["--config", str(ROOT / "configs" / "memn2n_babi.yaml")],
         "bAbI task [1] (BabiDataModule)"),
    ]:  # fmt: skip
        with pytest.raises(SystemExit) as stop:
            main(["test", *config, "--data.generated_dir", str(tmp_path / "generated"),
                  "--ckpt_path", str(last), "--trainer.logger", "false"])  # fmt: skip
        error = capsys.readouterr().err
        assert stop.value.code == 2
        assert f"checkpoint {last} was trained on bAbI task [1] (BabiSequenceDataModule)" in error
        assert f"but the config's data is {given}" in error
    assert not (tmp_path / "generated").exists()
