"""Hand-computed checks and float64 gradchecks for every addressing primitive."""

import math

import pytest
import torch

from memnets.attention import (
    AdditiveAttention,
    content_weights,
    cosine_similarity,
    dot_product_attention,
    hard_attention,
    interpolate,
    masked_softmax,
    read,
    scaled_dot_product_attention,
    sharpen,
    shift,
    write,
)

D = torch.float64


def one_hot(index: int, size: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(index), size).to(D).view(1, 1, size)


# content addressing


def test_cosine_similarity_by_hand():
    memory = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [1.0, 1.0], [0.0, 0.0]]], dtype=D)
    key = torch.tensor([[[2.0, 0.0]]], dtype=D)
    similarity = cosine_similarity(memory, key)
    expected = torch.tensor([[[1.0, 0.0, -1.0, 1 / math.sqrt(2), 0.0]]], dtype=D)
    torch.testing.assert_close(similarity, expected)


def test_content_weights_is_softmax_of_strength_times_cosine():
    memory = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]], dtype=D)
    key = torch.tensor([[[1.0, 0.0]]], dtype=D)
    weights = content_weights(memory, key, torch.tensor([[2.0]], dtype=D))
    scores = torch.tensor([2.0, 0.0, -2.0], dtype=D).exp()
    torch.testing.assert_close(weights[0, 0], scores / scores.sum())


def test_exact_match_with_large_strength_picks_that_row():
    torch.manual_seed(0)
    memory = torch.randn(2, 16, 5, dtype=D)
    keys = memory[:, [3, 11]] * 7.0  # (B, H=2, M): each batch's rows 3 and 11, scaled
    weights = content_weights(memory, keys, torch.full((2, 2), 500.0, dtype=D))
    assert weights.argmax(-1).tolist() == [[3, 11], [3, 11]]
    assert torch.all(weights.amax(-1) > 0.999)


def test_zero_memory_and_zero_key_give_uniform_weights_not_nan():
    weights = content_weights(torch.zeros(1, 4, 3), torch.zeros(1, 1, 3), torch.ones(1, 1))
    torch.testing.assert_close(weights, torch.full((1, 1, 4), 0.25))


def test_content_weights_accepts_strength_with_trailing_axis_and_hard_flag():
    memory = torch.eye(3, dtype=D).unsqueeze(0)
    key = torch.tensor([[[0.0, 1.0, 0.0]]], dtype=D)
    soft = content_weights(memory, key, torch.ones(1, 1, 1, dtype=D))
    hard = content_weights(memory, key, torch.ones(1, 1, dtype=D), hard=True)
    assert soft.argmax().item() == 1
    torch.testing.assert_close(hard, one_hot(1, 3))


# dot-product, scaled and additive attention


def test_dot_product_attention_by_hand_with_mask():
    query = torch.tensor([[[1.0, 0.0]]], dtype=D)
    keys = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [5.0, 0.0]]], dtype=D)
    values = torch.tensor([[[1.0], [2.0], [3.0]]], dtype=D)
    mask = torch.tensor([[True, True, False]])
    output, weights = dot_product_attention(query, keys, values, mask)
    e = math.e
    torch.testing.assert_close(weights, torch.tensor([[[e / (e + 1), 1 / (e + 1), 0.0]]], dtype=D))
    torch.testing.assert_close(output, torch.tensor([[[(e + 2) / (e + 1)]]], dtype=D))


def test_scaled_dot_product_divides_by_sqrt_width():
    query = torch.tensor([[[2.0, 2.0, 2.0, 2.0]]], dtype=D)
    keys = torch.tensor([[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]], dtype=D)
    values = torch.eye(2, dtype=D).unsqueeze(0)
    _, weights = scaled_dot_product_attention(query, keys, values)
    # scores 2/sqrt(4) = 1 and 0
    torch.testing.assert_close(weights[0, 0], torch.tensor([math.e, 1.0], dtype=D) / (math.e + 1))


def test_masked_softmax_all_masked_row_is_zero():
    weights = masked_softmax(torch.randn(2, 3), torch.tensor([[True, False, True], [False] * 3]))
    assert weights[1].abs().sum() == 0
    torch.testing.assert_close(weights[0].sum(), torch.tensor(1.0))
    assert weights[0, 1] == 0


def test_additive_attention_by_hand():
    attention = AdditiveAttention(query_size=1, key_size=1, hidden_size=1).double()
    with torch.no_grad():
        attention.query_projection.weight.fill_(1.0)
        attention.key_projection.weight.fill_(1.0)
        attention.key_projection.bias.fill_(0.0)
        attention.score.weight.fill_(2.0)
    query = torch.tensor([[[0.5]]], dtype=D)
    keys = torch.tensor([[[0.0], [1.0]]], dtype=D)
    values = torch.tensor([[[10.0], [20.0]]], dtype=D)
    output, weights = attention(query, keys, values)
    scores = torch.tensor([2 * math.tanh(0.5), 2 * math.tanh(1.5)], dtype=D)
    expected = torch.softmax(scores, 0)
    torch.testing.assert_close(weights[0, 0], expected)
    torch.testing.assert_close(output[0, 0, 0], 10 * expected[0] + 20 * expected[1])


def test_hard_attention_eval_is_argmax_and_training_samples_with_straight_through():
    weights = torch.tensor([[0.1, 0.7, 0.2]], dtype=D, requires_grad=True)
    torch.testing.assert_close(hard_attention(weights), torch.tensor([[0.0, 1.0, 0.0]], dtype=D))
    generator = torch.Generator().manual_seed(0)
    counts = torch.zeros(3, dtype=D)
    for _ in range(400):
        selected = hard_attention(weights, training=True, generator=generator)
        assert selected.sum().item() == pytest.approx(1.0)
        counts += selected.detach()[0]
    assert counts.argmax().item() == 1 and counts[0] > 0 and counts[2] > 0
    # straight-through: the gradient is that of the soft weights (identity here)
    (
        hard_attention(weights, training=True) * torch.tensor([[1.0, 2.0, 3.0]], dtype=D)
    ).sum().backward()
    torch.testing.assert_close(weights.grad, torch.tensor([[1.0, 2.0, 3.0]], dtype=D))


def test_dot_product_attention_hard_flag_selects_one_value():
    query = torch.tensor([[[1.0, 0.0]]], dtype=D)
    keys = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=D)
    values = torch.tensor([[[1.0], [2.0]]], dtype=D)
    output, weights = dot_product_attention(query, keys, values, hard=True)
    torch.testing.assert_close(weights, torch.tensor([[[1.0, 0.0]]], dtype=D))
    torch.testing.assert_close(output, torch.tensor([[[1.0]]], dtype=D))


# location addressing


def test_interpolate_by_hand():
    content = torch.tensor([[[1.0, 0.0]]], dtype=D)
    previous = torch.tensor([[[0.0, 1.0]]], dtype=D)
    torch.testing.assert_close(
        interpolate(content, previous, torch.tensor([[0.25]], dtype=D)),
        torch.tensor([[[0.25, 0.75]]], dtype=D),
    )


@pytest.mark.parametrize("offset,expected_slot", [(+1, 0), (-1, 3), (0, 4)])
def test_shift_one_hot_moves_one_slot_and_wraps(offset, expected_slot):
    weights = one_hot(4, 5)  # last slot
    shift_weights = one_hot(offset + 1, 3)  # S = 3: entries for -1, 0, +1
    torch.testing.assert_close(shift(weights, shift_weights), one_hot(expected_slot, 5))


def test_shift_range_five_and_mixture_by_hand():
    weights = one_hot(1, 6)
    shift_weights = torch.tensor([[[0.1, 0.0, 0.2, 0.3, 0.4]]], dtype=D)  # shifts -2..+2
    expected = torch.zeros(1, 1, 6, dtype=D)
    for share, offset in zip([0.1, 0.0, 0.2, 0.3, 0.4], [-2, -1, 0, 1, 2]):
        expected[0, 0, (1 + offset) % 6] += share
    torch.testing.assert_close(shift(weights, shift_weights), expected)


def test_shift_is_vectorised_over_batch_and_heads():
    weights = torch.stack([one_hot(0, 4)[0], one_hot(2, 4)[0]])  # (B=2, H=1, N=4)
    shifts = torch.stack([one_hot(2, 3)[0], one_hot(0, 3)[0]])  # +1 and -1
    out = shift(weights, shifts)
    torch.testing.assert_close(out, torch.stack([one_hot(1, 4)[0], one_hot(1, 4)[0]]))


def test_shift_rejects_even_range():
    with pytest.raises(ValueError, match="odd"):
        shift(torch.ones(1, 1, 4) / 4, torch.ones(1, 1, 2) / 2)


def test_sharpen_gamma_one_is_identity_and_gamma_two_squares():
    weights = torch.tensor([[[0.5, 0.3, 0.2, 0.0]]], dtype=D)
    torch.testing.assert_close(sharpen(weights, torch.ones(1, 1, dtype=D)), weights)
    squared = weights**2
    torch.testing.assert_close(
        sharpen(weights, torch.full((1, 1), 2.0, dtype=D)), squared / squared.sum()
    )


def test_sharpen_huge_gamma_is_finite_and_one_hot():
    weights = torch.tensor([[[0.5, 0.3, 0.2]]])
    out = sharpen(weights, torch.full((1, 1), 1e4))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, torch.tensor([[[1.0, 0.0, 0.0]]]))


# memory access


def test_read_is_weighted_sum_of_rows_for_several_heads():
    memory = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], dtype=D)
    weights = torch.tensor([[[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]]], dtype=D)
    torch.testing.assert_close(
        read(memory, weights), torch.tensor([[[3.0, 4.0], [3.0, 4.0]]], dtype=D)
    )


def test_write_erase_one_with_one_hot_replaces_exactly_that_row():
    memory = torch.arange(12, dtype=D).view(1, 4, 3)
    weights = one_hot(2, 4)
    add = torch.tensor([[[7.0, 8.0, 9.0]]], dtype=D)
    new = write(memory, weights, torch.ones(1, 1, 3, dtype=D), add)
    expected = memory.clone()
    expected[0, 2] = add[0, 0]
    torch.testing.assert_close(new, expected)


def test_write_partial_erase_and_two_heads_by_hand():
    memory = torch.ones(1, 2, 1, dtype=D)
    weights = torch.tensor([[[0.5, 0.0], [0.5, 1.0]]], dtype=D)  # two heads
    erase = torch.tensor([[[1.0], [0.5]]], dtype=D)
    add = torch.tensor([[[2.0], [4.0]]], dtype=D)
    new = write(memory, weights, erase, add)
    # slot 0: 1 * (1 - .5*1) * (1 - .5*.5) + .5*2 + .5*4 = 0.375 + 3;  slot 1: 1 * 1 * (1 - .5) + 4
    torch.testing.assert_close(new, torch.tensor([[[3.375], [4.5]]], dtype=D))


# errors name the argument and both shapes


def test_wrong_shapes_name_argument_and_shapes():
    with pytest.raises(ValueError, match=r"keys has shape \(1, 1, 4\).*\(1, H, 3\)"):
        content_weights(torch.zeros(1, 5, 3), torch.zeros(1, 1, 4), torch.ones(1, 1))
    with pytest.raises(ValueError, match="weights must have 3 dimensions"):
        read(torch.zeros(1, 5, 3), torch.zeros(5))
    with pytest.raises(ValueError, match="erase"):
        write(
            torch.zeros(1, 5, 3), torch.zeros(1, 1, 5), torch.zeros(1, 1, 2), torch.zeros(1, 1, 3)
        )


# gradients in float64


def _rand(*shape, positive=False, simplex=False):
    x = torch.rand(*shape, dtype=D) + (0.1 if positive else 0.0)
    if simplex:
        x = x / x.sum(-1, keepdim=True)
    return x.requires_grad_()


def test_gradcheck_all_primitives():
    torch.manual_seed(0)
    B, H, N, M = 2, 2, 5, 3
    memory, keys = _rand(B, N, M), _rand(B, H, M)
    assert torch.autograd.gradcheck(cosine_similarity, (memory, keys))
    assert torch.autograd.gradcheck(content_weights, (memory, keys, _rand(B, H, positive=True)))
    previous, content = _rand(B, H, N, simplex=True), _rand(B, H, N, simplex=True)
    assert torch.autograd.gradcheck(interpolate, (content, previous, _rand(B, H)))
    assert torch.autograd.gradcheck(shift, (previous, _rand(B, H, 3, simplex=True)))
    assert torch.autograd.gradcheck(sharpen, (previous, 1 + _rand(B, H)))
    assert torch.autograd.gradcheck(read, (memory, previous))
    assert torch.autograd.gradcheck(write, (memory, previous, _rand(B, H, M), _rand(B, H, M)))
    query, values = _rand(B, 4, M), _rand(B, N, 2)
    mask = torch.tensor([[True] * N, [True, False, True, True, False]])
    assert torch.autograd.gradcheck(
        lambda q, k, v: dot_product_attention(q, k, v, mask), (query, _rand(B, N, M), values)
    )
    assert torch.autograd.gradcheck(scaled_dot_product_attention, (query, _rand(B, N, M), values))
    additive = AdditiveAttention(query_size=M, key_size=M, hidden_size=4).double()
    assert torch.autograd.gradcheck(additive, (query, _rand(B, N, M), values))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weights_sum_to_one_and_follow_dtype(dtype):
    memory = torch.randn(3, 7, 4, dtype=dtype)
    weights = content_weights(
        memory, torch.randn(3, 2, 4, dtype=dtype), torch.rand(3, 2, dtype=dtype) * 10
    )
    weights = sharpen(
        shift(weights, torch.softmax(torch.randn(3, 2, 3, dtype=dtype), -1)),
        1 + torch.rand(3, 2, dtype=dtype),
    )
    assert weights.dtype == dtype
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2, dtype=dtype))


@pytest.mark.parametrize("use_softmax", [True, False])
def test_one_query_takes_the_broadcast_form_with_the_same_numbers_and_gradients(use_softmax):
    """A single query (MemN2N's hops) is computed as a broadcast product and a sum instead of
    a batch of matrix products: the same outputs and gradients as the written-out sums."""
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(3, 1, 4, dtype=D, generator=generator, requires_grad=True)
    keys = torch.randn(3, 5, 4, dtype=D, generator=generator, requires_grad=True)
    values = torch.randn(3, 5, 2, dtype=D, generator=generator, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 1, 0, 1, 0]], dtype=torch.bool)
    output, weights = dot_product_attention(query, keys, values, mask, use_softmax=use_softmax)
    gradients = torch.autograd.grad((output**2).sum() + weights.sum(), (query, keys, values))

    scores = torch.stack(
        [torch.stack([query[b, 0] @ keys[b, n] for n in range(5)]) for b in range(3)]
    )  # (B, N) one dot product at a time
    if use_softmax:
        expected_weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    else:
        expected_weights = scores * mask
    expected_output = torch.stack(
        [sum(expected_weights[b, n] * values[b, n] for n in range(5)) for b in range(3)]
    )  # (B, E)
    expected_gradients = torch.autograd.grad(
        (expected_output**2).sum() + expected_weights.sum(), (query, keys, values)
    )
    torch.testing.assert_close(weights, expected_weights.unsqueeze(1))
    torch.testing.assert_close(output, expected_output.unsqueeze(1))
    for gradient, expected in zip(gradients, expected_gradients):
        torch.testing.assert_close(gradient, expected)
