"""Hand-computed checks of the masked sequence losses and metrics."""

import math

import torch

from memnets.training.metrics import bit_errors_per_sequence, cost_bits_per_sequence, masked_bce


def example():
    logits = torch.tensor([[[2.0, -1.0], [0.5, 0.5], [9.0, 9.0]]])  # (B=1, T=3, O=2)
    targets = torch.tensor([[[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, True, False]])  # the last step is padding
    return logits, targets, mask


def bce(logit: float, target: float) -> float:
    p = 1 / (1 + math.exp(-logit))
    return -(target * math.log(p) + (1 - target) * math.log(1 - p))


def test_masked_bce_averages_over_real_target_bits_only():
    logits, targets, mask = example()
    expected = (bce(2, 1) + bce(-1, 1) + bce(0.5, 0) + bce(0.5, 1)) / 4
    assert masked_bce(logits, targets, mask).item() == pytest_approx(expected)


def test_cost_is_summed_bits_per_sequence():
    logits, targets, mask = example()
    expected = (bce(2, 1) + bce(-1, 1) + bce(0.5, 0) + bce(0.5, 1)) / math.log(2)
    assert cost_bits_per_sequence(logits, targets, mask).tolist() == [pytest_approx(expected)]


def test_bit_errors_count_thresholded_mismatches_on_real_positions():
    logits, targets, mask = example()
    # step 0: (1, 0) vs (1, 1) -> 1 error; step 1: (1, 1) vs (0, 1) -> 1 error; step 2 is masked
    assert bit_errors_per_sequence(logits, targets, mask).tolist() == [2.0]


def pytest_approx(value):
    import pytest

    return pytest.approx(value, rel=1e-5)
