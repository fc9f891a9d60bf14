"""Property-based numerics of the addressing primitives under extreme inputs.

Hypothesis draws shapes (1 to 4096 memory slots, odd shift ranges 1..9 that may exceed the
slot count, 1-3 heads), dtypes (float32, float64) and magnitudes, and a seed for torch. Every
test asserts that outputs AND gradients (of a random linear function of the outputs) are
finite, and that addressing weights are >= 0 and sum to 1 within the dtype's tolerance.

Largest magnitudes supported (and tested), as |entries| of the tensors:
    cosine similarity, content addressing, the NTM addressing chain: memory rows and keys
        from 0 (zero rows, zero keys) and 1e-30 (float32) / 1e-300 (float64) up to 1e12
        (float32) / 1e100 (float64), for up to 4096 slots; values AND gradients match a
        scale-safe float64 reference. Beyond that the cosine's ``x * rsqrt(sum x^2 + eps)``
        degrades: float32 gradients lose accuracy from ~1e13 (rsqrt's backward cubes 1/||x||,
        which underflows) and past ~1e19 / sqrt(M) the squares overflow and the cosine
        silently becomes 0 (float64: ~1e102 and ~1e154 / sqrt(M)). NaN never appears.
    read / write: memory rows and add vectors up to 1e30 (float32) / 1e300 (float64).
    dot-product and additive attention: queries, keys and values up to 1e8 (float32) / 1e100
        (float64). The limit is inherent: the scores q.k must stay finite (|q| |k| below the
        dtype's max, ~3e38 in float32) and the gradients grow like |q| |k| |v|.
    key strengths and sharpening gamma up to 1e4; gates and erase vectors over all of [0, 1],
        end points included.

The examples are derandomized (the same cases every run) and no example database is written.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from memnets.ntm import NTM, Addressing

DTYPES = (torch.float32, torch.float64)
# |entries| of memory rows and keys fed to the cosine (see the docstring for the limits)
ROW_MAGNITUDES = {
    torch.float32: (0.0, 1e-30, 1e-6, 1.0, 1e3, 1e8, 1e12),
    torch.float64: (0.0, 1e-300, 1e-6, 1.0, 1e8, 1e50, 1e100),
}
# |entries| of memories and add vectors in read / write (no squares: up to near the dtype max)
MEMORY_MAGNITUDES = {
    torch.float32: (0.0, 1e-30, 1e-6, 1.0, 1e8, 1e30),
    torch.float64: (0.0, 1e-300, 1e-6, 1.0, 1e100, 1e300),
}
# |entries| of queries, keys and values in dot-product / additive attention: scores must be finite
SCORE_MAGNITUDES = {
    torch.float32: (0.0, 1e-30, 1e-6, 1.0, 1e3, 1e8),
    torch.float64: (0.0, 1e-300, 1e-6, 1.0, 1e8, 1e100),
}
SUM_TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-12}
BIG = 1e4  # the largest key strength and sharpening gamma

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

slots = st.one_of(st.integers(1, 12), st.sampled_from([127, 1000, 4096]))  # N
widths = st.integers(1, 16)  # M, D
heads = st.integers(1, 3)  # H
batches = st.integers(1, 2)  # B
seeds = st.integers(0, 2**31 - 1)
shift_ranges = st.sampled_from([1, 3, 5, 7, 9])
dtypes = st.sampled_from(DTYPES)
row_kinds = st.sampled_from(["random", "zero_rows", "all_zero", "repeated"])
distribution_kinds = st.sampled_from(["random", "one_hot", "sparse", "uniform", "peaked"])
scalar_kinds = st.sampled_from(["random", "min", "max"])


# helpers


def vectors(shape, dtype, magnitude, kind="random"):
    """Random vectors along the last axis, ``magnitude`` * N(0, 1), some rows possibly zero."""
    x = torch.randn(*shape, dtype=dtype) * magnitude
    if kind == "zero_rows":
        x = x * (torch.rand(*shape[:-1], 1) < 0.5).to(dtype)  # about half the rows zero
    elif kind == "all_zero":
        x = torch.zeros_like(x)
    elif kind == "repeated":  # every row equal: exact ties
        x = x[..., :1, :].expand_as(x).clone()
    return x


def distribution(shape, dtype, kind):
    """Non-negative weights over the last axis summing to 1, from the smooth to the one-hot."""
    size = shape[-1]
    if kind == "one_hot":
        index = torch.randint(size, (*shape[:-1], 1))
        return torch.zeros(*shape, dtype=dtype).scatter_(-1, index, 1.0)
    if kind == "uniform":
        return torch.full(shape, 1.0 / size, dtype=dtype)
    if kind == "sparse":  # exact zeros everywhere but a few slots
        x = torch.rand(*shape, dtype=dtype) * (torch.rand(*shape) < 0.1).to(dtype)
        x[..., 0] += 1e-3
        return x / x.sum(-1, keepdim=True)
    if kind == "peaked":  # one slot near 1, the rest underflowing towards 0
        return torch.softmax(torch.randn(*shape, dtype=dtype) * 300.0, dim=-1)
    return torch.softmax(torch.randn(*shape, dtype=dtype) * 3.0, dim=-1)


def scalars(shape, dtype, low, high, kind):
    """Per-head scalars in [low, high], including the exact end points."""
    if kind == "min":
        return torch.full(shape, low, dtype=dtype)
    if kind == "max":
        return torch.full(shape, high, dtype=dtype)
    return low + (high - low) * torch.rand(*shape, dtype=dtype)


def leaves(*tensors):
    return [t.detach().clone().requires_grad_() for t in tensors]


def assert_finite(name, tensor):
    assert torch.isfinite(tensor).all(), f"{name} has NaN/Inf: {tensor}"


def assert_finite_gradients(outputs, inputs):
    """Backprop a random linear function of ``outputs``; every input gradient must be finite."""
    loss = sum((out * torch.randn_like(out)).sum() for out in outputs)
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    for index, grad in enumerate(grads):
        if grad is not None:
            assert_finite(f"gradient of input {index}", grad)


def assert_distribution(weights, *, allow_zero_rows=None):
    """weights >= 0 and each row sums to 1 (or to 0 where ``allow_zero_rows`` is True)."""
    assert_finite("weights", weights)
    assert (weights >= 0).all(), f"negative weights: {weights.min()}"
    total = weights.sum(-1)
    expected = torch.ones_like(total)
    if allow_zero_rows is not None:
        expected = torch.where(allow_zero_rows, torch.zeros_like(total), expected)
    tolerance = SUM_TOLERANCE[weights.dtype]
    error = (total - expected).abs().max().item()
    assert error <= tolerance, f"rows sum to 1 only within {error} (tolerance {tolerance})"


def _unit_reference(x, eps):
    """``x / sqrt(||x||^2 + eps)`` in float64 without overflow: rescale by max |x_i| first.

    The rescaling is exact for any constant, so detaching it keeps the gradient exact.
    """
    scale = x.detach().abs().amax(-1, keepdim=True).clamp_min(1.0)  # (..., 1)
    y = x / scale
    return y * torch.rsqrt((y * y).sum(-1, keepdim=True) + eps / scale**2)


# content addressing


@PROPERTY
@given(
    seed=seeds,
    dtype=dtypes,
    batch=batches,
    num_heads=heads,
    num_slots=slots,
    width=widths,
    row_kind=row_kinds,
    key_kind=row_kinds,
    data=st.data(),
)
def test_cosine_similarity_is_finite_bounded_and_exact_for_any_magnitude(
    seed, dtype, batch, num_heads, num_slots, width, row_kind, key_kind, data
):
    torch.manual_seed(seed)
    memory_scale = data.draw(st.sampled_from(ROW_MAGNITUDES[dtype]), label="memory_scale")
    key_scale = data.draw(st.sampled_from(ROW_MAGNITUDES[dtype]), label="key_scale")
    memory, keys = leaves(
        vectors((batch, num_slots, width), dtype, memory_scale, row_kind),
        vectors((batch, num_heads, width), dtype, key_scale, key_kind),
    )
    similarity = cosine_similarity(memory, keys)  # (B, H, N)
    assert similarity.shape == (batch, num_heads, num_slots)
    assert_finite("similarity", similarity)
    assert (similarity.abs() <= 1 + 1e-5).all()
    weights = torch.randn_like(similarity)  # a random linear function of the output
    grads = torch.autograd.grad((similarity * weights).sum(), [memory, keys])
    for grad in grads:
        assert_finite("gradient", grad)
    # values and gradients agree with a float64 reference that cannot overflow
    eps = 1e-12 if dtype == torch.float64 else 1e-8  # the eps the implementation uses
    memory64, keys64 = leaves(memory.double(), keys.double())
    reference = _unit_reference(keys64, eps) @ _unit_reference(memory64, eps).transpose(1, 2)
    reference_grads = torch.autograd.grad((reference * weights.double()).sum(), [memory64, keys64])
    tolerance = 1e-4 if dtype == torch.float32 else 1e-10
    assert (similarity.detach().double() - reference.detach()).abs().max() <= tolerance
    # a unit vector's Jacobian has norm 1 / sqrt(||x||^2 + eps): the natural scale of each
    # row's gradient, times the weight the random linear function puts on that row
    weights64 = weights.abs().double()  # (B, H, N)
    for name, grad, expected, x, weight in (
        ("memory", grads[0], reference_grads[0], memory64, weights64.sum(1)),  # (B, N)
        ("keys", grads[1], reference_grads[1], keys64, weights64.sum(2)),  # (B, H)
    ):
        natural = weight / ((x.detach() ** 2).sum(-1) + eps).sqrt()  # (B, rows)
        error = (grad.double() - expected).abs().amax(-1)  # (B, rows)
        assert (error <= tolerance * natural).all(), (
            f"gradient of {name} off by {(error / natural).max()} of its natural scale"
        )


@PROPERTY
@given(
    seed=seeds,
    dtype=dtypes,
    batch=batches,
    num_heads=heads,
    num_slots=slots,
    width=widths,
    row_kind=row_kinds,
    key_kind=row_kinds,
    strength_kind=scalar_kinds,
    hard=st.booleans(),
    training=st.booleans(),
    data=st.data(),
)
def test_content_weights_are_a_distribution_with_finite_gradients(
    seed,
    dtype,
    batch,
    num_heads,
    num_slots,
    width,
    row_kind,
    key_kind,
    strength_kind,
    hard,
    training,
    data,
):
    torch.manual_seed(seed)
    memory_scale = data.draw(st.sampled_from(ROW_MAGNITUDES[dtype]), label="memory_scale")
    key_scale = data.draw(st.sampled_from(ROW_MAGNITUDES[dtype]), label="key_scale")
    memory, keys, strengths = leaves(
        vectors((batch, num_slots, width), dtype, memory_scale, row_kind),
        vectors((batch, num_heads, width), dtype, key_scale, key_kind),
        scalars((batch, num_heads), dtype, 0.0, BIG, strength_kind),
    )
    weights = content_weights(memory, keys, strengths, hard=hard, training=training)
    assert weights.shape == (batch, num_heads, num_slots)
    assert_distribution(weights)
    if hard:
        assert ((weights == 0) | (weights == 1)).all()
    assert_finite_gradients([weights], [memory, keys, strengths])


# location addressing


@PROPERTY
@given(
    seed=seeds,
    dtype=dtypes,
    batch=batches,
    num_heads=heads,
    num_slots=slots,
    content_kind=distribution_kinds,
    previous_kind=distribution_kinds,
    gate_kind=scalar_kinds,
    trailing_axis=st.booleans(),
)
def test_interpolate_keeps_a_distribution(
    seed, dtype, batch, num_heads, num_slots, content_kind, previous_kind, gate_kind, trailing_axis
):
    torch.manual_seed(seed)
    shape = (batch, num_heads, num_slots)
    gate_shape = (batch, num_heads, 1) if trailing_axis else (batch, num_heads)
    content, previous, gate = leaves(
        distribution(shape, dtype, content_kind),
        distribution(shape, dtype, previous_kind),
        scalars(gate_shape, dtype, 0.0, 1.0, gate_kind),
    )
    gated = interpolate(content, previous, gate)
    assert gated.shape == shape
    assert_distribution(gated)
    assert_finite_gradients([gated], [content, previous, gate])


@PROPERTY
@given(
    seed=seeds,
    dtype=dtypes,
    batch=batches,
    num_heads=heads,
    num_slots=slots,
    shift_range=shift_ranges,
    weights_kind=distribution_kinds,
    shift_kind=distribution_kinds,
)
def test_shift_keeps_a_distribution_even_when_the_range_exceeds_the_slots(
    seed, dtype, batch, num_heads, num_slots, shift_range, weights_kind, shift_kind
):
    torch.manual_seed(seed)
    weights, shift_weights = leaves(
        distribution((batch, num_heads, num_slots), dtype, weights_kind),
        distribution((batch, num_heads, shift_range), dtype, shift_kind),
    )
    shifted = shift(weights, shift_weights)
    assert shifted.shape == (batch, num_heads, num_slots)
    assert_distribution(shifted)
    assert_finite_gradients([shifted], [weights, shift_weights])
    # a shift is a permutation per offset: a one-hot shift of a one-hot stays one-hot
    if weights_kind == "one_hot" and shift_kind == "one_hot":
        assert ((shifted == 0) | (shifted == 1)).all()


@PROPERTY
@given(
    seed=seeds,
    dtype=dtypes,
    batch=batches,
    num_heads=heads,
    num_slots=slots,
    weights_kind=distribution_kinds,
    gamma_kind=scalar_kinds,
)
def test_sharpen_keeps_a_distribution_for_gamma_up_to_1e4(
    seed, dtype, batch, num_heads, num_slots, weights_kind, gamma_kind
):
    torch.manual_seed(seed)
    weights, gamma = leaves(
        distribution((batch, num_heads, num_slots), dtype, weights_kind),
        scalars((batch, num_heads), dtype, 1.0, BIG, gamma_kind),
    )
    sharpened = sharpen(weights, gamma)
    assert_distribution(sharpened)
    assert_finite_gradients([sharpened], [weights, gamma])
    # w -> w^gamma is monotone: the most likely slot stays the most likely
    at_mode = sharpened.detach().gather(-1, weights.detach().argmax(-1, keepdim=True))
    assert (at_mode == sharpened.detach().amax(-1, keepdim=True)).all()


@PROPERTY
@given(
    seed=seeds,
    dtype=dtypes,
    batch=batches,
    num_heads=heads,
    num_slots=slots,
    width=widths,
    shift_range=shift_ranges,
    row_kind=row_kinds,
    key_kind=row_kinds,
    previous_kind=distribution_kinds,
    strength_kind=scalar_kinds,
    gate_kind=scalar_kinds,
    shift_kind=distribution_kinds,
    gamma_kind=scalar_kinds,
    data=st.data(),
)
def test_ntm_addressing_chain_is_a_distribution_with_finite_gradients(
    seed,
    dtype,
    batch,
    num_heads,
    num_slots,
    width,
    shift_range,
    row_kind,
    key_kind,
    previous_kind,
    strength_kind,
    gate_kind,
    shift_kind,
    gamma_kind,
    data,
):
    torch.manual_seed(seed)
    memory_scale = data.draw(st.sampled_from(ROW_MAGNITUDES[dtype]), label="memory_scale")
    key_scale = data.draw(st.sampled_from(ROW_MAGNITUDES[dtype]), label="key_scale")
    memory, previous, key, strength, gate, shift_weights, gamma = leaves(
        vectors((batch, num_slots, width), dtype, memory_scale, row_kind),
        distribution((batch, num_heads, num_slots), dtype, previous_kind),
        vectors((batch, num_heads, width), dtype, key_scale, key_kind),
        scalars((batch, num_heads), dtype, 1.0, BIG, strength_kind),  # 1 + softplus >= 1
        scalars((batch, num_heads), dtype, 0.0, 1.0, gate_kind),
        distribution((batch, num_heads, shift_range), dtype, shift_kind),
        scalars((batch, num_heads), dtype, 1.0, BIG, gamma_kind),
    )
    addressing = Addressing(key=key, strength=strength, gate=gate, shift=shift_weights, gamma=gamma)
    weights = addressing.weights(memory, previous)
    assert weights.shape == (batch, num_heads, num_slots)
    assert_distribution(weights)
    assert_finite_gradients(
        [weights], [memory, previous, key, strength, gate, shift_weights, gamma]
    )


# memory access


@PROPERTY
@given(
    seed=seeds,
    dtype=dtypes,
    batch=batches,
    num_heads=heads,
    num_slots=slots,
    width=widths,
    row_kind=row_kinds,
    weights_kind=distribution_kinds,
    erase_kind=st.sampled_from(["random", "zeros", "ones", "binary"]),
    data=st.data(),
)
def test_read_and_write_are_finite_and_erase_in_0_1_keeps_bounds(
    seed, dtype, batch, num_heads, num_slots, width, row_kind, weights_kind, erase_kind, data
):
    torch.manual_seed(seed)
    memory_scale = data.draw(st.sampled_from(MEMORY_MAGNITUDES[dtype]), label="memory_scale")
    add_scale = data.draw(st.sampled_from(MEMORY_MAGNITUDES[dtype]), label="add_scale")
    erase = {
        "random": lambda shape: torch.rand(*shape, dtype=dtype),
        "zeros": lambda shape: torch.zeros(*shape, dtype=dtype),
        "ones": lambda shape: torch.ones(*shape, dtype=dtype),
        "binary": lambda shape: (torch.rand(*shape) < 0.5).to(dtype),
    }[erase_kind]((batch, num_heads, width))
    memory, weights, erase, add = leaves(
        vectors((batch, num_slots, width), dtype, memory_scale, row_kind),
        distribution((batch, num_heads, num_slots), dtype, weights_kind),
        erase,
        vectors((batch, num_heads, width), dtype, add_scale),
    )
    reads = read(memory, weights)  # (B, H, M)
    assert reads.shape == (batch, num_heads, width)
    assert_finite("reads", reads)
    # a convex combination of rows stays within the rows' range
    bound = memory.detach().abs().amax() * (1 + 1e-5)
    assert (reads.detach().abs() <= bound).all()
    new_memory = write(memory, weights, erase, add)  # (B, N, M)
    assert new_memory.shape == memory.shape
    assert_finite("new memory", new_memory)
    # erase in [0, 1] only shrinks: |M'| <= |M| + sum_h w_h |a_h|
    limit = memory.detach().abs() + weights.detach().transpose(1, 2) @ add.detach().abs()
    assert (new_memory.detach().abs() <= limit * (1 + 1e-5) + 1e-30).all()
    assert_finite_gradients([reads, new_memory], [memory, weights, erase, add])


# attention with queries, keys and values


def _mask(kind, batch, num_queries, num_keys):
    """None, or a (B, N) / (B, Q, N) mask with random, all-masked and all-open rows."""
    if kind == "none":
        return None
    shape = (batch, num_keys) if kind == "keys" else (batch, num_queries, num_keys)
    mask = torch.rand(*shape) < 0.5
    mask[0, ...] = False  # the first item attends to nothing at all
    if batch > 1:
        mask[-1, ...] = True
    return mask


@PROPERTY
@given(
    seed=seeds,
    dtype=dtypes,
    batch=batches,
    num_queries=st.integers(1, 4),
    num_keys=slots,
    width=widths,
    value_width=st.integers(1, 8),
    mask_kind=st.sampled_from(["none", "keys", "queries_keys"]),
    scaled=st.booleans(),
    hard=st.booleans(),
    training=st.booleans(),
    data=st.data(),
)
def test_dot_product_attention_with_masks_never_gives_nan(
    seed,
    dtype,
    batch,
    num_queries,
    num_keys,
    width,
    value_width,
    mask_kind,
    scaled,
    hard,
    training,
    data,
):
    torch.manual_seed(seed)
    query_scale = data.draw(st.sampled_from(SCORE_MAGNITUDES[dtype]), label="query_scale")
    key_scale = data.draw(st.sampled_from(SCORE_MAGNITUDES[dtype]), label="key_scale")
    value_scale = data.draw(st.sampled_from(SCORE_MAGNITUDES[dtype]), label="value_scale")
    query, keys, values = leaves(
        vectors((batch, num_queries, width), dtype, query_scale),
        vectors((batch, num_keys, width), dtype, key_scale),
        vectors((batch, num_keys, value_width), dtype, value_scale),
    )
    mask = _mask(mask_kind, batch, num_queries, num_keys)
    attend = scaled_dot_product_attention if scaled else dot_product_attention
    output, weights = attend(query, keys, values, mask, hard=hard, training=training)
    assert output.shape == (batch, num_queries, value_width)
    assert weights.shape == (batch, num_queries, num_keys)
    assert_finite("output", output)
    empty = None
    if mask is not None:
        full_mask = mask.unsqueeze(1) if mask.dim() == 2 else mask  # (B, 1|Q, N)
        full_mask = full_mask.expand(batch, num_queries, num_keys)
        empty = ~full_mask.any(-1)  # (B, Q) rows with nothing to attend to
        assert (weights.detach()[~full_mask] == 0).all()
        assert (output.detach()[empty] == 0).all()  # zeros, not NaN
    assert_distribution(weights, allow_zero_rows=empty)
    assert_finite_gradients([output, weights], [query, keys, values])


@PROPERTY
@given(
    seed=seeds,
    dtype=dtypes,
    num_queries=st.integers(1, 3),
    num_keys=st.one_of(st.integers(1, 8), st.just(1000)),
    query_size=st.integers(1, 8),
    key_size=st.integers(1, 8),
    hidden_size=st.integers(1, 8),
    with_mask=st.booleans(),
    hard=st.booleans(),
    training=st.booleans(),
    data=st.data(),
)
def test_additive_attention_with_masks_never_gives_nan(
    seed,
    dtype,
    num_queries,
    num_keys,
    query_size,
    key_size,
    hidden_size,
    with_mask,
    hard,
    training,
    data,
):
    torch.manual_seed(seed)
    scale = data.draw(st.sampled_from(SCORE_MAGNITUDES[dtype]), label="scale")
    batch = 2
    attention = AdditiveAttention(
        query_size=query_size, key_size=key_size, hidden_size=hidden_size, hard=hard
    ).to(dtype)
    attention.train(training)
    with torch.no_grad():  # large score weights: a near-one-hot softmax
        attention.score.weight.mul_(1e3)
    query, keys, values = leaves(
        vectors((batch, num_queries, query_size), dtype, scale),
        vectors((batch, num_keys, key_size), dtype, scale),
        vectors((batch, num_keys, 3), dtype, scale),
    )
    mask = _mask("keys", batch, num_queries, num_keys) if with_mask else None
    output, weights = attention(query, keys, values, mask)
    assert_finite("output", output)
    empty = None
    if mask is not None:
        empty = ~mask.any(-1, keepdim=True).expand(batch, num_queries)  # (B, Q)
        assert (output.detach()[empty] == 0).all()
    assert_distribution(weights, allow_zero_rows=empty)
    parameters = list(attention.parameters())
    assert_finite_gradients([output, weights], [query, keys, values, *parameters])


@PROPERTY
@given(
    seed=seeds,
    dtype=dtypes,
    batch=batches,
    num_heads=heads,
    num_slots=slots,
    weights_kind=distribution_kinds,
    training=st.booleans(),
)
def test_hard_attention_is_one_hot_with_finite_straight_through_gradients(
    seed, dtype, batch, num_heads, num_slots, weights_kind, training
):
    torch.manual_seed(seed)
    (weights,) = leaves(distribution((batch, num_heads, num_slots), dtype, weights_kind))
    selected = hard_attention(weights, training=training)
    assert_distribution(selected)
    assert ((selected == 0) | (selected == 1)).all()
    assert (weights.detach()[selected.detach() == 1] > 0).all()  # never selects a zero weight
    assert_finite_gradients([selected], [weights])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("entry", ["masked_softmax", "dot", "scaled_dot", "additive"])
def test_all_masked_rows_give_zeros_not_nan_and_zero_gradients(dtype, hard, training, entry):
    """Deterministic companion to the properties above, for every entry point."""
    torch.manual_seed(0)
    query, keys, values = leaves(
        torch.randn(2, 3, 4, dtype=dtype),
        torch.randn(2, 5, 4, dtype=dtype),
        torch.randn(2, 5, 2, dtype=dtype),
    )
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1] = False  # the second item may attend to nothing
    if entry == "masked_softmax":
        weights = masked_softmax(query @ keys.transpose(1, 2), mask.unsqueeze(1))  # (B, Q, N)
        output = weights
    elif entry == "additive":
        additive = AdditiveAttention(query_size=4, key_size=4, hidden_size=3, hard=hard)
        output, weights = additive.to(dtype).train(training)(query, keys, values, mask)
    else:
        attend = dot_product_attention if entry == "dot" else scaled_dot_product_attention
        output, weights = attend(query, keys, values, mask, hard=hard, training=training)
    assert (output[1] == 0).all() and (weights[1] == 0).all()
    assert torch.isfinite(output).all() and torch.isfinite(weights).all()
    grads = torch.autograd.grad((output * torch.randn_like(output)).sum(), [query, keys])
    assert all(torch.isfinite(grad).all() for grad in grads)
    assert (grads[0][1] == 0).all()  # no gradient reaches a query that sees nothing


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_zero_rows_and_keys_give_uniform_weights(dtype):
    """Regression: a float32 eps of 1e-8 rounds to 0 in float16 and gave 0 * inf = NaN."""
    weights = content_weights(
        torch.zeros(1, 4, 3, dtype=dtype), torch.zeros(1, 1, 3, dtype=dtype), torch.ones(1, 1)
    )
    assert torch.isfinite(weights).all()
    assert ((weights.float() - 0.25).abs() <= 1e-3).all()


# the whole model


def _extreme_ntm(dtype, controller, shift_range, seed):
    torch.manual_seed(seed)
    model = NTM(
        input_size=5,
        output_size=4,
        controller=controller,
        controller_size=16,
        memory_slots=7,  # fewer slots than shifts when shift_range = 9
        memory_width=6,
        num_read_heads=2,
        num_write_heads=2,
        shift_range=shift_range,
        memory_init="random",
    ).to(dtype)
    with torch.no_grad():  # blow the head projections up: strengths and gammas in the thousands
        for head in (model.cell.read_head, model.cell.write_head):
            head.projection.weight.mul_(3000.0)
            head.projection.bias.mul_(3000.0)
    return model


@pytest.mark.parametrize(
    ("dtype", "controller", "shift_range"),
    [(torch.float32, "lstm", 3), (torch.float64, "feedforward", 9)],
)
def test_ntm_forward_and_backward_stay_finite_with_extreme_parameters(
    dtype, controller, shift_range
):
    model = _extreme_ntm(dtype, controller, shift_range, seed=0)
    x = torch.randn(3, 12, 5, dtype=dtype) * 10.0
    output, state, internals = model(x, return_internals=True)
    # the blown-up projections really do produce extreme strengths and gammas
    hidden = torch.tanh(torch.randn(64, 16, dtype=dtype))
    addressing = model.cell.read_head(hidden)
    assert addressing.strength.max() > 1e3 and addressing.gamma.max() > 1e3
    assert_finite("output", output)
    for name in ("memory", "read_weights", "write_weights", "reads"):
        assert_finite(f"state.{name}", getattr(state, name))
    assert_distribution(internals.read_weights)
    assert_distribution(internals.write_weights)
    loss = (output * torch.randn_like(output)).sum() + (state.memory**2).mean()
    loss.backward()
    for name, parameter in model.named_parameters():
        if parameter.grad is not None:
            assert_finite(f"gradient of {name}", parameter.grad)
