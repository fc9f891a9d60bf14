"""The sequence module's ``read_entropy_penalty``: the normalised entropy by hand, the loss it
adds computed by hand from the model's own read weights, and real CLI runs on a tiny NTM (a
penalty of 0 trains exactly as none; a penalty changes the run and logs the entropy)."""

from __future__ import annotations

import math

import pytest
import torch
from test_resume import NTM, NTM_NAME, checkpoint, fit, scalars

from memnets import NTM as NTMModel
from memnets.training.metrics import masked_bce, normalised_entropy
from memnets.training.sequence_module import SequenceTaskModule


def test_normalised_entropy_by_hand():
    one_slot = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    uniform = torch.full((1, 4), 0.25)
    half = torch.tensor([[0.5, 0.5, 0.0, 0.0]])  # log 2 / log 4
    assert normalised_entropy(one_slot).item() == pytest.approx(0.0)
    assert normalised_entropy(uniform).item() == pytest.approx(1.0)
    assert normalised_entropy(half).item() == pytest.approx(0.5)
    both = torch.stack([one_slot, uniform])  # (2, 1, 4): the mean of 0 and 1
    assert normalised_entropy(both).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"shape \(2, 1\): entropy needs N >= 2"):
        normalised_entropy(torch.ones(2, 1))


def test_the_training_loss_adds_the_weighted_entropy_of_the_read_weights():
    torch.manual_seed(0)
    model = NTMModel(input_size=3, output_size=2, controller_size=6, memory_slots=5,
                     memory_width=4, num_read_heads=2)  # fmt: skip
    module = SequenceTaskModule(model, read_entropy_penalty=0.3, loss_reduction="bit")
    module.log = lambda *args, **kwargs: None  # no Trainer here: nothing to log to
    inputs, targets = torch.randn(2, 4, 3), torch.randint(0, 2, (2, 4, 2)).float()
    mask = torch.tensor([[False, True, True, True], [False, False, True, True]])
    batch = type("Batch", (), dict(inputs=inputs, targets=targets, mask=mask))()
    logits, _, internals = model(inputs, return_internals=True)
    weights = internals.read_weights  # (B, T, R, N)
    entropy = -(weights * weights.log()).sum(-1).mean() / math.log(5)
    expected = masked_bce(logits, targets, mask) + 0.3 * entropy
    torch.testing.assert_close(module._shared_step(batch, "train"), expected)
    # validation and test score the task's loss alone
    torch.testing.assert_close(module._shared_step(batch, "val"), masked_bce(logits, targets, mask))
    with pytest.raises(ValueError, match="read_entropy_penalty must be None or >= 0, got -1"):
        SequenceTaskModule(model, read_entropy_penalty=-1)


def test_a_penalty_of_zero_trains_as_none_and_a_penalty_changes_the_run(tmp_path):
    runs = {}
    for name, extra in [("none", []), ("zero", ["0"]), ("some", ["0.5"])]:
        option = ["--model.init_args.read_entropy_penalty", *extra] if extra else []
        assert fit(NTM, tmp_path / name, *option) == 0
        run = tmp_path / name / NTM_NAME
        runs[name] = (checkpoint(run / "version_0" / "checkpoints" / "last.ckpt"), scalars(run))
    (none, none_logged), (zero, zero_logged), (some, some_logged) = runs.values()
    for name, tensor in none["state_dict"].items():
        assert torch.equal(tensor, zero["state_dict"][name]), name
    assert {k: v for k, v in zero_logged.items() if k[0] != "train/read_entropy"} == none_logged
    entropies = [v for (tag, _), v in some_logged.items() if tag == "train/read_entropy"]
    assert len(entropies) == 8 and all(0.0 < value <= 1.0 for value in entropies)
    assert not any(tag == "train/read_entropy" for tag, _ in none_logged)
    assert any(
        not torch.equal(tensor, some["state_dict"][name])
        for name, tensor in none["state_dict"].items()
    )
