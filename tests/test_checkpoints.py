"""A trained model out of a real train.py checkpoint (memnets.training.checkpoints.load_model)."""

from __future__ import annotations

from pathlib import Path

import lightning
import pytest
import torch
from tiny_runs import tiny_dnc, tiny_ntm, tiny_qa, to_flat_layout

from memnets.dnc import DNC
from memnets.memn2n import MemN2N
from memnets.ntm import NTM
from memnets.training.checkpoints import load_model
from memnets.training.cli import main
from memnets.training.sequence_module import SequenceTaskModule
from tasks.algorithmic import CopyTask
from tasks.sequence_data import AlgorithmicDataModule

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.callbacks", "[]"]


def fit_tiny_ntm(save_dir: Path):
    arguments = [*tiny_ntm(batches_per_epoch=3, episodes=8), *QUIET, "--trainer.max_steps", "6"]
    return main(["fit", *arguments, "--trainer.logger.init_args.save_dir", str(save_dir)])


def test_the_loaded_ntm_has_the_checkpoints_weights_and_its_test_bit_errors(tmp_path):
    fitted = fit_tiny_ntm(tmp_path)
    last = fitted.trainer.checkpoint_callback.last_model_path
    model = load_model(last)
    assert isinstance(model, NTM) and not model.training
    saved = torch.load(last, weights_only=True)["state_dict"]
    names = dict(model.state_dict())
    assert names and set(names) == {k[len("model.") :] for k in saved if k.startswith("model.")}
    for name, value in names.items():
        assert torch.equal(value, saved["model." + name]), name

    # the bit errors the test run of the same checkpoint logs, counted here by hand
    expected = fitted.trainer.test(ckpt_path=last, datamodule=fitted.datamodule, verbose=False)
    errors, sequences = 0.0, 0
    with torch.no_grad():
        for batch in fitted.datamodule.test_dataloader()[0]:
            logits, _ = model(batch.inputs)  # (B, T, O)
            wrong = ((logits > 0) != (batch.targets > 0.5)) & batch.mask.unsqueeze(-1)
            errors += float(wrong.sum())
            sequences += batch.inputs.shape[0]
    assert errors / sequences == pytest.approx(expected[0]["test/bit_errors"], abs=1e-6)


def test_overrides_change_the_models_arguments_and_an_unknown_one_is_named(tmp_path):
    last = fit_tiny_ntm(tmp_path).trainer.checkpoint_callback.last_model_path
    assert load_model(last, batch_first=False).batch_first is False
    with pytest.raises(ValueError, match=r"NTM takes no argument hidden_size .*last\.ckpt"):
        load_model(last, hidden_size=3)
    with pytest.raises(ValueError, match=r"weights in .*last\.ckpt do not fit NTM\(.*"):
        load_model(last, memory_width=5)  # another shape
    with pytest.raises(ValueError, match=r"run=0, but .*last\.ckpt holds one run"):
        load_model(last, run=0)
    with pytest.raises(ValueError, match="map_location must be a device name"):
        load_model(last, map_location={"cuda:0": "cpu"})


def test_a_checkpoint_from_before_the_model_was_injected_loads(tmp_path):
    last = Path(fit_tiny_ntm(tmp_path).trainer.checkpoint_callback.last_model_path)
    expected = load_model(last).state_dict()
    to_flat_layout(last, input_size=6, output_size=4)
    loaded = load_model(last).state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[name], expected[name]) for name in expected)


def test_one_run_of_runs_trained_together_is_that_runs_memn2n(tmp_path):
    arguments = [*tiny_qa(tmp_path / "generated"), "--trainer.enable_progress_bar", "false",
                 "--pictures.every_n_steps", "1000"]  # fmt: skip
    fitted = main(
        ["fit", *arguments, "--data.init_args.run_seeds", "[0,1]", "--trainer.max_epochs", "1",
         "--trainer.logger.init_args.save_dir", str(tmp_path)]
    )  # fmt: skip
    last = fitted.trainer.checkpoint_callback.last_model_path
    module = fitted.model.eval()
    assert not bool(module.softmax_on)  # saved in the linear start (1 epoch of 1)
    batch = fitted.datamodule.dataset("test").tensors.select(slice(0, 5))
    inputs = (batch.story, batch.question, batch.story_mask)
    with torch.no_grad():  # the module's evaluation path: (R, B, O)
        together = module._logits(batch, softmax=False, per_run_data=False)
        for run in (0, 1):
            with pytest.warns(UserWarning, match=r"last\.ckpt was saved during the linear start"):
                model = load_model(last, run=run)
            assert isinstance(model, MemN2N)
            assert torch.allclose(model(*inputs, use_softmax=False), together[run], atol=1e-6)
    with pytest.raises(ValueError, match=r"last\.ckpt holds 2 runs trained together: .* run=None"):
        load_model(last)
    with pytest.raises(ValueError, match=r"index in 0\.\.1 .* got run=2"):
        load_model(last, run=2)


def test_a_missing_file_and_a_module_built_in_python_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.ckpt"):
        load_model(tmp_path / "nowhere.ckpt")
    task = CopyTask(width=4, max_length=3)
    model = NTM(input_size=task.input_size, output_size=task.output_size, controller_size=8,
                memory_slots=6, memory_width=4)  # fmt: skip
    data = AlgorithmicDataModule(task=task, batch_size=4, train_batches_per_epoch=2,
                                 val_episodes=4, test_episodes=4)  # fmt: skip
    trainer = lightning.Trainer(max_steps=2, logger=False, enable_checkpointing=False,
                                enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(SequenceTaskModule(model), datamodule=data)
    path = tmp_path / "python.ckpt"
    trainer.save_checkpoint(path)
    with pytest.raises(ValueError, match=r"python\.ckpt does not record its model"):
        load_model(path)


def test_a_dnc_checkpoint_loads_with_its_weights(tmp_path):
    arguments = [*tiny_dnc("dnc_copy", batches_per_epoch=2, episodes=4), *QUIET,
                 "--data.task.init_args.max_length", "3", "--trainer.max_steps", "2",
                 "--trainer.logger.init_args.save_dir", str(tmp_path)]  # fmt: skip
    last = main(["fit", *arguments]).trainer.checkpoint_callback.last_model_path
    model = load_model(last)
    assert isinstance(model, DNC)
    saved = torch.load(last, weights_only=True)["state_dict"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, saved["model." + name]), name
