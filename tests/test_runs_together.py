"""Several MemN2N runs trained together in one process (vmap over stacked parameters).

Each run keeps its own initialisation, batch order, noise, gradient clipping and metrics, so
runs trained together are the same runs as trained one by one; the CLI drives them with
``--data.init_args.run_seeds`` (the data module's seeds, linked into the QA module).
"""

from __future__ import annotations

from pathlib import Path

import lightning
import pytest
import torch

from memnets.memn2n import MemN2N
from memnets.training.cli import main
from memnets.training.qa_module import QAModule
from tasks.babi.datamodule import BabiDataModule, collate_runs
from tasks.loading import EpochShuffleSampler, RunsBatchSampler

ROOT = Path(__file__).resolve().parents[1]

# the sampler and the batches


def test_one_seed_gives_the_batches_of_the_shuffled_epoch():
    runs = RunsBatchSampler(10, batch_size=4, seeds=[7])
    alone = EpochShuffleSampler(10, seed=7)
    for epoch in (0, 3):
        runs.set_epoch(epoch)
        alone.set_epoch(epoch)
        order = list(alone)
        assert list(runs) == [order[0:4], order[4:8], order[8:10]]
    assert len(runs) == 3


def test_each_run_gets_its_own_order_batch_by_batch():
    runs = RunsBatchSampler(6, batch_size=4, seeds=[1, 2])
    runs.set_epoch(2)
    orders = []
    for seed in (1, 2):
        sampler = EpochShuffleSampler(6, seed=seed)
        sampler.set_epoch(2)
        orders.append(list(sampler))
    assert orders[0] != orders[1]
    assert list(runs) == [orders[0][:4] + orders[1][:4], orders[0][4:] + orders[1][4:]]


def test_collate_runs_shapes_one_batch_per_run(tmp_path):
    data = BabiDataModule(
        task=1, generated_dir=str(tmp_path), generated_train_questions=40,
        generated_test_questions=10, batch_size=8, run_seeds=[0, 1, 2],
    )  # fmt: skip
    batch = next(iter(data.train_dataloader()))
    dims = data.memory_size, data.sentence_length
    assert batch.story.shape == (3, 8, *dims) and batch.answer.shape == (3, 8)
    flat = data.dataset("train").tensors
    sampler = RunsBatchSampler(len(flat), batch_size=8, seeds=[0, 1, 2])
    sampler.set_epoch(0)
    indices = torch.tensor(next(iter(sampler))).view(3, 8)
    assert torch.equal(batch.question, flat.question[indices])  # run r's own questions
    assert collate_runs(flat.select(indices.flatten()), runs=3).story.shape == batch.story.shape
    with pytest.raises(ValueError, match="run_seeds"):
        BabiDataModule(task=1, run_seeds=[1, 1])


# runs together are the runs alone


def train(seeds: list[int], generated: Path, **model_options) -> QAModule:
    data = BabiDataModule(
        task=1, generated_dir=str(generated), generated_train_questions=120,
        generated_test_questions=30, batch_size=16, run_seeds=seeds,
    )  # fmt: skip
    model = MemN2N(
        vocab_size=data.vocab_size, num_answers=data.num_answers, answers_as_words=True,
        answer_word_ids=data.answer_word_ids, memory_size=data.memory_size, embedding_size=8,
        random_noise=0.2, **model_options,
    )  # fmt: skip
    module = QAModule(model, run_seeds=seeds, linear_start_epochs=1)
    trainer = lightning.Trainer(
        max_epochs=2, gradient_clip_val=0.5, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip
    trainer.fit(module, datamodule=data)
    module.validation_errors = trainer.validate(module, datamodule=data, verbose=False)[0]
    return module


@pytest.mark.parametrize(
    "options",
    [
        dict(random_noise_mode="time_gaps", encoding="position_authors"),
        dict(random_noise_mode="empty_slots"),  # inserted empty slots, trimmed per run
        dict(random_noise_mode="time_gaps", attend_to_empty_slots=True),
    ],
    ids=["time-gaps", "empty-slots", "sink-slots"],
)
def test_runs_trained_together_are_the_runs_trained_alone(tmp_path, options):
    seeds = [3, 4, 5]
    together = train(seeds, tmp_path, **options)
    stacked = together.run_parameters
    for run, seed in enumerate(seeds):
        alone = train([seed], tmp_path, **options)
        for name, value in alone.run_parameters.items():
            torch.testing.assert_close(stacked[name][run], value[0], rtol=1e-5, atol=1e-6)
        error = alone.validation_errors["val/error_run0"]
        assert together.validation_errors[f"val/error_run{run}"] == pytest.approx(error)
    errors = [together.validation_errors[f"val/error_run{run}"] for run in range(3)]
    mean = together.validation_errors["val/error"]
    assert mean == pytest.approx(sum(errors) / 3)
    first = stacked["embeddings__1__weight"]  # (R, V + A, D): the runs differ
    assert not torch.allclose(first[0], first[1])
    assert torch.all(first[:, 0] == 0)  # and the nil row stays zero in each


def test_gradient_clipping_is_per_run(tmp_path):
    data = BabiDataModule(task=1, generated_dir=str(tmp_path), generated_train_questions=20,
                          generated_test_questions=10)  # fmt: skip
    model = MemN2N(vocab_size=data.vocab_size, num_answers=data.num_answers, embedding_size=4)
    module = QAModule(model, run_seeds=[0, 1])
    parameters = list(module.run_parameters.values())
    for parameter in parameters:
        parameter.grad = torch.zeros_like(parameter)
        parameter.grad[0] = 3.0  # run 0: norm 3 sqrt(n) per parameter
        parameter.grad[1] = 0.001  # run 1: tiny, left alone
    module.configure_gradient_clipping(None, 1.0, "norm")  # per parameter (the default)
    for parameter in parameters:
        assert parameter.grad[0].norm().item() == pytest.approx(1.0, rel=1e-5)
        assert torch.all(parameter.grad[1] == 0.001)
    module.hparams.clip_per_parameter = False
    for parameter in parameters:
        parameter.grad[0] = 3.0
    module.configure_gradient_clipping(None, 1.0, "norm")  # each run's global norm
    total = torch.stack([parameter.grad[0].norm() for parameter in parameters]).norm()
    assert total.item() == pytest.approx(1.0, rel=1e-5)


# through the CLI


def test_the_cli_trains_runs_together_and_tests_their_checkpoint(tmp_path):
    arguments = [
        "--config", str(ROOT / "configs" / "memn2n_babi.yaml"),
        "--data.generated_dir", str(tmp_path / "generated"),
        "--data.generated_train_questions", "60",
        "--data.generated_test_questions", "20",
        "--model.init_args.model.init_args.embedding_size", "8",
        "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(tmp_path),
    ]  # fmt: skip
    fitted = main(
        ["fit", *arguments, "--data.init_args.run_seeds", "[0,1,2]",
         "--model.init_args.linear_start_epochs", "1", "--trainer.max_epochs", "2",
         "--pictures.every_n_steps", "2"]
    )  # fmt: skip
    assert fitted.model.hparams.run_seeds == [0, 1, 2]
    for run in range(3):
        assert f"train/error_epoch_run{run}" in fitted.fit_metrics
        assert f"val/error_run{run}" in fitted.fit_metrics
    last = fitted.trainer.checkpoint_callback.last_model_path
    expected = fitted.trainer.test(fitted.model, datamodule=fitted.datamodule, verbose=False)[0]
    tested = main(["test", *arguments, "--ckpt_path", last, "--trainer.logger", "false"])
    assert tested.model.runs == 3  # rebuilt from the checkpoint, run_seeds not given here
    metrics = tested.trainer.callback_metrics
    for run in range(3):  # the runs' own final weights, not the template's
        name = f"test/error_run{run}"
        assert float(metrics[name]) == pytest.approx(expected[name], abs=1e-6)
    batch = tested.datamodule.dataset("test").tensors.select(slice(0, 5))
    logits = tested.model.eval()(batch.story, batch.question, batch.story_mask)  # (R, B, O)
    assert logits.shape[:2] == (3, 5) and not torch.allclose(logits[0], logits[1])
