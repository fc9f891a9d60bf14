"""Every public function and module rejects bad input with a clear error.

* A tensor of the wrong shape or number of dimensions raises ``ValueError`` naming the
  argument and showing both its shape and the expected one (letters such as ``B`` or ``H``
  stand for sizes that are free but must agree, ``*`` for any size).
* A non-tensor where a tensor belongs raises ``TypeError`` naming the argument.
* Impossible configurations (zero heads, slots, hops or sizes, an even shift range, unknown
  encodings, controllers, ...) are rejected at construction, naming the parameter.
"""

from __future__ import annotations

import re

import numpy as np
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
from memnets.memn2n import (
    MemN2N,
    MemoryHops,
    embed_sentences,
    insert_random_noise,
    memory_hop,
    memory_hops,
    position_encoding,
    temporal_indices,
)
from memnets.ntm import NTM, Addressing, NTMCell, NTMState, ReadHead, WriteHead

# helpers


def z(*shape, dtype=torch.float32):
    return torch.zeros(*shape, dtype=dtype)


def ids(*shape):
    return torch.ones(*shape, dtype=torch.long)


def mask(*shape):
    return torch.ones(*shape, dtype=torch.bool)


def shape_error(name: str, actual: str, expected: str):
    """``pytest.raises`` for a ValueError whose message names ``name`` and shows both shapes."""
    parts = [rf"(?<![\w.]){re.escape(name)}(?![\w])", re.escape(actual), re.escape(expected)]
    return pytest.raises(ValueError, match="".join(rf"(?=[\s\S]*{part})" for part in parts))


def small_ntm(**overrides) -> NTM:
    config = dict(input_size=5, output_size=3, controller_size=8, memory_slots=8, memory_width=6)
    return NTM(**{**config, **overrides})


def small_cell(**overrides) -> NTMCell:
    return small_ntm(**overrides).cell


def addressing(batch=1, heads=1, width=3, shifts=3) -> Addressing:
    return Addressing(
        key=z(batch, heads, width),
        strength=torch.ones(batch, heads),
        gate=torch.ones(batch, heads),
        shift=torch.full((batch, heads, shifts), 1 / shifts),
        gamma=torch.ones(batch, heads),
    )


ADDITIVE = AdditiveAttention(query_size=4, key_size=3, hidden_size=5)
HEAD = ReadHead(controller_size=8, memory_width=6)
WRITE_HEAD = WriteHead(controller_size=8, memory_width=6)
HOPS = MemoryHops(embedding_size=4, hops=2)
MEMN2N = MemN2N(vocab_size=12, num_answers=4, memory_size=5, embedding_size=4, hops=2)


def ntm_state_with(batch=2, **fields) -> NTMState:
    """A valid state of :func:`small_ntm` for ``batch`` sequences, some fields replaced."""
    return small_ntm().initial_state(batch)._replace(**fields)


# (call, argument, its shape as shown, the expected shape as shown)
SHAPE_CASES = [
    # attention: content addressing
    pytest.param(
        lambda: cosine_similarity(z(5, 3), z(1, 1, 3)),
        "memory",
        "(5, 3)",
        "(B, N, M)",
        id="cosine-memory-2d",
    ),
    pytest.param(
        lambda: cosine_similarity(z(1, 5, 3), z(1, 1, 4)),
        "keys",
        "(1, 1, 4)",
        "(1, H, 3)",
        id="cosine-key-width-vs-memory-width",
    ),
    pytest.param(
        lambda: cosine_similarity(z(1, 5, 3), z(2, 1, 3)),
        "keys",
        "(2, 1, 3)",
        "(1, H, 3)",
        id="cosine-key-batch",
    ),
    pytest.param(
        lambda: content_weights(z(1, 5, 3), z(1, 1, 4), torch.ones(1, 1)),
        "keys",
        "(1, 1, 4)",
        "(1, H, 3)",
        id="content-key-width-vs-memory-width",
    ),
    pytest.param(
        lambda: content_weights(z(2, 5, 3), z(2, 1, 3), torch.ones(2, 2)),
        "strengths",
        "(2, 2)",
        "(2, 1)",
        id="content-strengths-heads",
    ),
    pytest.param(
        lambda: content_weights(z(2, 5, 3), z(2, 1, 3), torch.ones(2, 1, 2)),
        "strengths",
        "(2, 1, 2)",
        "(2, 1, 1)",
        id="content-strengths-trailing-axis",
    ),
    pytest.param(
        lambda: content_weights(z(2, 5, 3), z(2, 1, 3), torch.ones(2)),
        "strengths",
        "(2,)",
        "(2, 1)",
        id="content-strengths-1d",
    ),
    # attention: queries, keys and values
    pytest.param(
        lambda: masked_softmax(z(2, 4), mask(3)),
        "mask",
        "(3,)",
        "(2, 4)",
        id="masked-softmax-mask-does-not-broadcast",
    ),
    pytest.param(
        lambda: masked_softmax(z(2, 4), mask(2, 2, 4)),
        "mask",
        "(2, 2, 4)",
        "(2, 4)",
        id="masked-softmax-mask-would-grow-scores",
    ),
    pytest.param(
        lambda: dot_product_attention(z(3, 4), z(1, 5, 4), z(1, 5, 2)),
        "query",
        "(3, 4)",
        "(B, Q, D)",
        id="dot-query-2d",
    ),
    pytest.param(
        lambda: dot_product_attention(z(1, 3, 4), z(1, 5, 3), z(1, 5, 2)),
        "keys",
        "(1, 5, 3)",
        "(1, N, 4)",
        id="dot-key-width",
    ),
    pytest.param(
        lambda: dot_product_attention(z(1, 3, 4), z(1, 5, 4), z(1, 6, 2)),
        "values",
        "(1, 6, 2)",
        "(1, 5, E)",
        id="dot-values-count",
    ),
    pytest.param(
        lambda: dot_product_attention(z(1, 3, 4), z(1, 5, 4), z(1, 5, 2), mask(1, 4)),
        "mask",
        "(1, 4)",
        "(1, 5)",
        id="dot-key-mask",
    ),
    pytest.param(
        lambda: dot_product_attention(z(1, 3, 4), z(1, 5, 4), z(1, 5, 2), mask(1, 2, 5)),
        "mask",
        "(1, 2, 5)",
        "(1, 3, 5)",
        id="dot-query-key-mask",
    ),
    pytest.param(
        lambda: dot_product_attention(z(1, 3, 4), z(1, 5, 4), z(1, 5, 2), mask(5)),
        "mask",
        "(5,)",
        "(1, 3, 5)",
        id="dot-mask-1d",
    ),
    pytest.param(
        lambda: scaled_dot_product_attention(z(3, 4), z(1, 5, 4), z(1, 5, 2)),
        "query",
        "(3, 4)",
        "(B, Q, D)",
        id="scaled-query-2d",
    ),
    pytest.param(
        lambda: scaled_dot_product_attention(z(1, 3, 4), z(2, 5, 4), z(2, 5, 2)),
        "keys",
        "(2, 5, 4)",
        "(1, N, 4)",
        id="scaled-key-batch",
    ),
    pytest.param(
        lambda: ADDITIVE(z(1, 2, 5), z(1, 6, 3), z(1, 6, 2)),
        "query",
        "(1, 2, 5)",
        "(B, Q, 4)",
        id="additive-query-size",
    ),
    pytest.param(
        lambda: ADDITIVE(z(1, 2, 4), z(1, 6, 4), z(1, 6, 2)),
        "keys",
        "(1, 6, 4)",
        "(1, N, 3)",
        id="additive-key-size",
    ),
    pytest.param(
        lambda: ADDITIVE(z(1, 2, 4), z(1, 6, 3), z(1, 7, 2)),
        "values",
        "(1, 7, 2)",
        "(1, 6, E)",
        id="additive-values-count",
    ),
    pytest.param(
        lambda: ADDITIVE(z(1, 2, 4), z(1, 6, 3), z(1, 6, 2), mask(2, 6)),
        "mask",
        "(2, 6)",
        "(1, 6)",
        id="additive-mask-batch",
    ),
    pytest.param(
        lambda: ADDITIVE(z(1, 2, 4), z(1, 6, 3), z(1, 6, 2), mask(1, 1, 1, 6)),
        "mask",
        "(1, 1, 1, 6)",
        "(1, 2, 6)",
        id="additive-mask-4d",
    ),
    pytest.param(
        lambda: hard_attention(torch.tensor(1.0)), "weights", "()", "(..., N)", id="hard-weights-0d"
    ),
    # attention: location addressing and memory access
    pytest.param(
        lambda: interpolate(z(1, 1, 5), z(1, 1, 4), torch.ones(1, 1)),
        "previous",
        "(1, 1, 4)",
        "(1, 1, 5)",
        id="interpolate-previous",
    ),
    pytest.param(
        lambda: interpolate(z(1, 2, 5), z(1, 2, 5), torch.ones(1, 1)),
        "gate",
        "(1, 1)",
        "(1, 2)",
        id="interpolate-gate",
    ),
    pytest.param(
        lambda: shift(z(1, 1, 5), z(2, 1, 3)),
        "shift_weights",
        "(2, 1, 3)",
        "(1, 1, S)",
        id="shift-weights-batch",
    ),
    pytest.param(
        lambda: shift(z(5), z(1, 1, 3)), "weights", "(5,)", "(B, H, N)", id="shift-weights-1d"
    ),
    pytest.param(
        lambda: sharpen(z(1, 1, 5), torch.ones(2, 1)),
        "gamma",
        "(2, 1)",
        "(1, 1)",
        id="sharpen-gamma",
    ),
    pytest.param(
        lambda: read(z(1, 5, 3), z(1, 1, 4)),
        "weights",
        "(1, 1, 4)",
        "(1, H, 5)",
        id="read-weights-slots",
    ),
    pytest.param(
        lambda: read(z(1, 5, 3), z(5)), "weights", "(5,)", "(1, H, 5)", id="read-weights-1d"
    ),
    pytest.param(
        lambda: write(z(1, 5, 3), z(1, 1, 5), z(1, 1, 2), z(1, 1, 3)),
        "erase",
        "(1, 1, 2)",
        "(1, 1, 3)",
        id="write-erase-width",
    ),
    pytest.param(
        lambda: write(z(1, 5, 3), z(1, 2, 5), z(1, 2, 3), z(1, 1, 3)),
        "add",
        "(1, 1, 3)",
        "(1, 2, 3)",
        id="write-add-heads",
    ),
    pytest.param(
        lambda: write(z(1, 5, 3), z(1, 1, 6), z(1, 1, 3), z(1, 1, 3)),
        "weights",
        "(1, 1, 6)",
        "(1, H, 5)",
        id="write-weights-slots",
    ),
    # NTM
    pytest.param(
        lambda: addressing(width=4).weights(z(1, 5, 3), torch.full((1, 1, 5), 0.2)),
        "keys",
        "(1, 1, 4)",
        "(1, H, 3)",
        id="addressing-key-width-vs-memory-width",
    ),
    pytest.param(
        lambda: addressing().weights(z(1, 5, 3), torch.full((1, 1, 4), 0.25)),
        "previous",
        "(1, 1, 4)",
        "(1, 1, 5)",
        id="addressing-previous-slots",
    ),
    pytest.param(
        lambda: HEAD(z(2, 7)),
        "controller_output",
        "(2, 7)",
        "(*, 8)",
        id="read-head-controller-output",
    ),
    pytest.param(
        lambda: WRITE_HEAD(z(2, 3, 8)),
        "controller_output",
        "(2, 3, 8)",
        "(*, 8)",
        id="write-head-controller-output-3d",
    ),
    pytest.param(
        lambda: small_cell()(z(2, 7), small_cell().initial_state(2)),
        "x",
        "(2, 7)",
        "(B, 5)",
        id="cell-x-width",
    ),
    pytest.param(
        lambda: small_cell()(z(2, 5), small_cell().initial_state(4)),
        "state.memory",
        "(4, 8, 6)",
        "(2, 8, 6)",
        id="cell-state-batch",
    ),
    pytest.param(
        lambda: small_cell()(z(2, 5), small_cell(memory_width=4).initial_state(2)),
        "state.memory",
        "(2, 8, 4)",
        "(2, 8, 6)",
        id="cell-state-memory-width",
    ),
    pytest.param(
        lambda: small_cell()(z(2, 5), small_cell(num_read_heads=2).initial_state(2)),
        "state.read_weights",
        "(2, 2, 8)",
        "(2, 1, 8)",
        id="cell-state-read-heads",
    ),
    pytest.param(
        lambda: small_ntm()(z(2, 3, 5), ntm_state_with(write_weights=z(2, 1, 7))),
        "state.write_weights",
        "(2, 1, 7)",
        "(2, 1, 8)",
        id="ntm-state-write-weights",
    ),
    pytest.param(
        lambda: small_ntm()(z(2, 3, 5), ntm_state_with(reads=z(3, 1, 6))),
        "state.reads",
        "(3, 1, 6)",
        "(2, 1, 6)",
        id="ntm-state-reads-batch",
    ),
    pytest.param(
        lambda: small_ntm()(z(2, 3, 5), ntm_state_with(controller=(z(4, 8), z(4, 8)))),
        "state.controller[0]",
        "(4, 8)",
        "(2, 8)",
        id="ntm-state-lstm-batch",
    ),
    pytest.param(lambda: small_ntm()(z(2, 3, 7)), "x", "(2, 3, 7)", "(B, T, 5)", id="ntm-x-width"),
    pytest.param(lambda: small_ntm()(z(3, 5)), "x", "(3, 5)", "(B, T, 5)", id="ntm-x-2d"),
    pytest.param(
        lambda: small_ntm()(z(2, 3, 5), small_ntm().initial_state(4)),
        "state.memory",
        "(4, 8, 6)",
        "(2, 8, 6)",
        id="ntm-state-of-wrong-batch-size",
    ),
    pytest.param(
        lambda: small_ntm(batch_first=False)(z(3, 2, 5), small_ntm().initial_state(3)),
        "state.memory",
        "(3, 8, 6)",
        "(2, 8, 6)",
        id="ntm-time-major-state-of-wrong-batch-size",
    ),
    pytest.param(
        lambda: small_ntm()(z(2, 0, 5)),
        "x",
        "(2, 0, 5)",
        "at least one step",
        id="ntm-empty-sequence",
    ),
    # MemN2N
    pytest.param(
        lambda: memory_hop(z(3, 4), z(2, 3, 4), z(2, 4)),
        "memory_in",
        "(3, 4)",
        "(B, N, D)",
        id="hop-memory-in-2d",
    ),
    pytest.param(
        lambda: memory_hop(z(2, 3, 4), z(2, 5, 4), z(2, 4)),
        "memory_out",
        "(2, 5, 4)",
        "(2, 3, *)",
        id="hop-memory-out-slots",
    ),
    pytest.param(
        lambda: memory_hop(z(2, 3, 4), z(2, 3, 4), z(2, 5)),
        "query",
        "(2, 5)",
        "(2, 4)",
        id="hop-query-width",
    ),
    pytest.param(
        lambda: memory_hop(z(2, 3, 4), z(2, 3, 4), z(2, 4), mask(2, 4)),
        "mask",
        "(2, 4)",
        "(2, 3)",
        id="hop-mask-slots",
    ),
    pytest.param(
        lambda: memory_hops(z(2, 2, 3, 4), z(2, 3, 3, 4), z(2, 4)),
        "memory_out",
        "(2, 3, 3, 4)",
        "(2, 2, 3, 4)",
        id="hops-memory-out-hops",
    ),
    pytest.param(
        lambda: memory_hops(z(2, 0, 3, 4), z(2, 0, 3, 4), z(2, 4)),
        "memory_in",
        "(2, 0, 3, 4)",
        "K = 0",
        id="hops-no-hops",
    ),
    pytest.param(
        lambda: memory_hops(z(2, 2, 3, 4), z(2, 2, 3, 4), z(1, 4)),
        "query",
        "(1, 4)",
        "(2, 4)",
        id="hops-query-batch",
    ),
    pytest.param(
        lambda: HOPS(z(2, 3, 3, 4), z(2, 3, 4), z(2, 4)),
        "memory_in",
        "(2, 3, 3, 4)",
        "(B, 2, N, 4)",
        id="hops-module-memory-in-hops",
    ),
    pytest.param(
        lambda: HOPS(z(2, 3, 4), z(2, 3, 5), z(2, 4)),
        "memory_out",
        "(2, 3, 5)",
        "(B, N, 4)",
        id="hops-module-memory-out-width",
    ),
    pytest.param(
        lambda: HOPS(z(2, 3, 4), z(2, 3, 4), z(2, 4), mask(2, 5)),
        "mask",
        "(2, 5)",
        "(2, 3)",
        id="hops-module-mask",
    ),
    pytest.param(
        lambda: MEMN2N(ids(3, 6), ids(2, 6)), "story", "(3, 6)", "(B, N, L)", id="memn2n-story-2d"
    ),
    pytest.param(
        lambda: MEMN2N(ids(2, 3, 6), ids(3, 6)),
        "question",
        "(3, 6)",
        "(2, *)",
        id="memn2n-question-batch",
    ),
    pytest.param(
        lambda: MEMN2N(ids(2, 3, 6), ids(2, 6), mask(2, 4)),
        "story_mask",
        "(2, 4)",
        "(2, 3)",
        id="memn2n-story-mask",
    ),
    pytest.param(
        lambda: MEMN2N(ids(2, 6, 6), ids(2, 6)),
        "story",
        "(2, 6, 6)",
        "memory_size is 5",
        id="memn2n-story-longer-than-memory",
    ),
    pytest.param(
        lambda: embed_sentences(ids(2, 3), z(10, 4), z(4, 4)),
        "encoding",
        "(4, 4)",
        "(3, 4)",
        id="embed-encoding-width",
    ),
    pytest.param(
        lambda: embed_sentences(ids(2, 3), z(10), None),
        "embedding",
        "(10,)",
        "(V, D)",
        id="embed-embedding-1d",
    ),
    pytest.param(
        lambda: temporal_indices(mask(5)), "story_mask", "(5,)", "(B, N)", id="temporal-mask-1d"
    ),
    pytest.param(
        lambda: insert_random_noise(ids(2, 3, 4), mask(2, 4), 0.5),
        "story_mask",
        "(2, 4)",
        "(2, 3)",
        id="noise-mask-slots",
    ),
]


@pytest.mark.parametrize(("call", "argument", "actual", "expected"), SHAPE_CASES)
def test_wrong_shapes_name_the_argument_and_show_both_shapes(call, argument, actual, expected):
    with shape_error(argument, actual, expected):
        call()


def test_shape_messages_read_well():
    """Spot-check whole messages, so the pattern above cannot pass by accident."""
    with pytest.raises(ValueError) as error:
        content_weights(z(1, 5, 3), z(1, 1, 4), torch.ones(1, 1))
    assert str(error.value) == (
        "keys has shape (1, 1, 4) but expected (1, H, 3): dimension 2 must be 3, got 4"
    )
    with pytest.raises(ValueError) as error:
        small_ntm()(z(2, 3, 5), small_ntm().initial_state(4))
    assert str(error.value) == (
        "state.memory has shape (4, 8, 6) but expected (2, 8, 6): dimension 0 must be 2, got 4"
    )
    with pytest.raises(ValueError) as error:
        dot_product_attention(z(1, 3, 4), z(1, 5, 4), z(1, 5, 2), mask(5))
    assert str(error.value) == (
        "mask must have shape (B, N) = (1, 5) or (B, Q, N) = (1, 3, 5), got shape (5,)"
    )


# other bad values


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        pytest.param(
            lambda: shift(z(1, 1, 5), z(1, 1, 2)),
            r"shift_weights.*odd.*\(1, 1, 2\)",
            id="shift-even-range",
        ),
        pytest.param(
            lambda: shift(z(1, 1, 5), z(1, 1, 0)),
            r"shift_weights.*odd.*\(1, 1, 0\)",
            id="shift-no-shifts",
        ),
        pytest.param(lambda: hard_attention(z(2, 0)), r"weights.*\(2, 0\)", id="hard-no-slots"),
        pytest.param(
            lambda: MEMN2N(ids(2, 3, 6) * 12, ids(2, 6)),
            r"story holds word ids in \[12, 12\] but vocab_size is 12",
            id="memn2n-word-id-too-large",
        ),
        pytest.param(
            lambda: MEMN2N(ids(2, 3, 6), -ids(2, 6)),
            r"question holds word ids in \[-1, -1\]",
            id="memn2n-negative-word-id",
        ),
        pytest.param(
            lambda: MEMN2N(ids(2, 3, 6), ids(2, 6), random_noise=2.0),
            r"random_noise must lie in \[0, 1\]",
            id="memn2n-random-noise-at-call",
        ),
        pytest.param(
            lambda: insert_random_noise(ids(2, 3, 4), mask(2, 3), -0.1),
            "fraction must lie in",
            id="noise-negative-fraction",
        ),
        pytest.param(
            lambda: embed_sentences(ids(()), z(10, 4)), r"words.*\(\)", id="embed-words-0d"
        ),
    ],
)
def test_other_bad_values_are_rejected_clearly(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# non-tensors


def _list(*shape):
    return torch.zeros(*shape).tolist()


TYPE_CASES = [
    pytest.param(lambda: cosine_similarity(_list(1, 5, 3), z(1, 1, 3)), "memory", id="cosine"),
    pytest.param(
        lambda: content_weights(z(1, 5, 3), z(1, 1, 3), 2.0), "strengths", id="content-float"
    ),
    pytest.param(lambda: masked_softmax(_list(2, 4)), "scores", id="masked-softmax-scores"),
    pytest.param(
        lambda: masked_softmax(z(2, 4), [[True] * 4] * 2), "mask", id="masked-softmax-mask"
    ),
    pytest.param(
        lambda: dot_product_attention(_list(1, 3, 4), z(1, 5, 4), z(1, 5, 2)),
        "query",
        id="dot-query",
    ),
    pytest.param(
        lambda: dot_product_attention(z(1, 3, 4), z(1, 5, 4), z(1, 5, 2), [[True] * 5]),
        "mask",
        id="dot-mask",
    ),
    pytest.param(
        lambda: scaled_dot_product_attention(_list(1, 3, 4), z(1, 5, 4), z(1, 5, 2)),
        "query",
        id="scaled-query",
    ),
    pytest.param(
        lambda: ADDITIVE(z(1, 2, 4), z(1, 6, 3), np.zeros((1, 6, 2))), "values", id="additive"
    ),
    pytest.param(
        lambda: ADDITIVE(z(1, 2, 4), z(1, 6, 3), z(1, 6, 2), [[True] * 6]),
        "mask",
        id="additive-mask",
    ),
    pytest.param(lambda: hard_attention(_list(1, 4)), "weights", id="hard"),
    pytest.param(
        lambda: interpolate(z(1, 1, 5), z(1, 1, 5), 0.5), "gate", id="interpolate-float-gate"
    ),
    pytest.param(lambda: shift(z(1, 1, 5), _list(1, 1, 3)), "shift_weights", id="shift"),
    pytest.param(lambda: sharpen(z(1, 1, 5), 2.0), "gamma", id="sharpen-float-gamma"),
    pytest.param(lambda: read(np.zeros((1, 5, 3)), z(1, 1, 5)), "memory", id="read-numpy"),
    pytest.param(
        lambda: write(z(1, 5, 3), z(1, 1, 5), _list(1, 1, 3), z(1, 1, 3)), "erase", id="write"
    ),
    pytest.param(lambda: HEAD(_list(2, 8)), "controller_output", id="read-head"),
    pytest.param(
        lambda: small_cell()(_list(2, 5), small_cell().initial_state(2)), "x", id="cell-x"
    ),
    pytest.param(
        lambda: small_cell()(z(2, 5), tuple(small_cell().initial_state(2))),
        "state",
        id="cell-state-plain-tuple",
    ),
    pytest.param(
        lambda: small_ntm()(z(2, 3, 5), ntm_state_with(controller=z(2, 8))),
        "state.controller",
        id="ntm-lstm-state-not-a-pair",
    ),
    pytest.param(lambda: small_ntm()(np.zeros((2, 3, 5))), "x", id="ntm-numpy"),
    pytest.param(
        lambda: small_ntm()(z(2, 3, 5), ntm_state_with(memory=_list(2, 8, 6))),
        "state.memory",
        id="ntm-state-memory-list",
    ),
    pytest.param(lambda: memory_hop(z(2, 3, 4), z(2, 3, 4), _list(2, 4)), "query", id="hop-query"),
    pytest.param(
        lambda: memory_hop(z(2, 3, 4), z(2, 3, 4), z(2, 4), [[True] * 3] * 2), "mask", id="hop-mask"
    ),
    pytest.param(
        lambda: memory_hops(_list(2, 2, 3, 4), z(2, 2, 3, 4), z(2, 4)),
        "memory_in",
        id="hops-memory-in",
    ),
    pytest.param(lambda: HOPS(z(2, 3, 4), _list(2, 3, 4), z(2, 4)), "memory_out", id="hops"),
    pytest.param(lambda: MEMN2N(_list(2, 3, 6), ids(2, 6)), "story", id="memn2n-story-list"),
    pytest.param(lambda: MEMN2N(ids(2, 3, 6).float(), ids(2, 6)), "story", id="memn2n-story-float"),
    pytest.param(
        lambda: MEMN2N(ids(2, 3, 6), ids(2, 6).bool()), "question", id="memn2n-question-bool"
    ),
    pytest.param(lambda: embed_sentences(_list(2, 3), z(10, 4)), "words", id="embed-words"),
    pytest.param(
        lambda: embed_sentences(ids(2, 3).float(), z(10, 4)), "words", id="embed-float-words"
    ),
    pytest.param(
        lambda: embed_sentences(ids(2, 3), np.zeros((10, 4))), "embedding", id="embed-table"
    ),
    pytest.param(lambda: temporal_indices(_list(2, 3)), "story_mask", id="temporal"),
]


@pytest.mark.parametrize(("call", "argument"), TYPE_CASES)
def test_non_tensors_raise_type_error_naming_the_argument(call, argument):
    with pytest.raises(TypeError, match=rf"^{re.escape(argument)}\b"):
        call()


# impossible configurations


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"shift_range": 2}, r"shift_range must be a positive odd integer.*got 2"),
        ({"shift_range": 0}, r"shift_range must be a positive odd integer.*got 0"),
        ({"shift_range": -3}, r"shift_range.*got -3"),
        ({"shift_range": 3.0}, r"shift_range.*got 3\.0"),
        ({"num_read_heads": 0}, "num_read_heads must be a positive integer, got 0"),
        ({"num_write_heads": 0}, "num_write_heads must be a positive integer, got 0"),
        ({"memory_slots": 0}, "memory_slots must be a positive integer, got 0"),
        ({"memory_width": 0}, "memory_width must be a positive integer, got 0"),
        ({"controller_size": 0}, "controller_size must be a positive integer, got 0"),
        ({"input_size": 0}, "input_size must be a positive integer, got 0"),
        ({"output_size": -1}, "output_size must be a positive integer, got -1"),
        ({"memory_slots": 8.5}, "memory_slots must be a positive integer, got 8.5"),
        ({"controller": "gru"}, "controller must be 'lstm' or 'feedforward', got 'gru'"),
        ({"memory_init": "zeros"}, "memory_init must be .*got 'zeros'"),
    ],
)
@pytest.mark.parametrize("build", [small_ntm, small_cell], ids=["NTM", "NTMCell"])
def test_impossible_ntm_configs_are_rejected(build, overrides, pattern):
    with pytest.raises(ValueError, match=pattern):
        build(**overrides)


@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (lambda: ReadHead(controller_size=8, memory_width=6, num_heads=0), "num_heads"),
        (lambda: WriteHead(controller_size=8, memory_width=6, shift_range=4), "shift_range"),
        (lambda: ReadHead(controller_size=0, memory_width=6), "controller_size"),
        (lambda: WriteHead(controller_size=8, memory_width=0), "memory_width"),
        (lambda: small_ntm().initial_state(0), "batch_size must be a positive integer, got 0"),
        (lambda: AdditiveAttention(query_size=0, key_size=3), "query_size"),
        (lambda: AdditiveAttention(query_size=4, key_size=-2), "key_size"),
        (lambda: AdditiveAttention(query_size=4, key_size=3, hidden_size=0), "hidden_size"),
        (lambda: MemoryHops(hops=0), "hops must be a positive integer, got 0"),
        (lambda: MemoryHops(embedding_size=0), "embedding_size"),
        (lambda: MemoryHops(query_update="attention"), "query_update must be one of"),
        (lambda: position_encoding(0, 4), "sentence_length"),
        (lambda: position_encoding(3, 0), "embedding_size"),
    ],
)
def test_impossible_head_attention_and_hop_configs_are_rejected(build, pattern):
    with pytest.raises(ValueError, match=pattern):
        build()


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"hops": 0}, "hops must be a positive integer, got 0"),
        ({"vocab_size": 0}, "vocab_size must be a positive integer, got 0"),
        ({"memory_size": 0}, "memory_size must be a positive integer, got 0"),
        ({"embedding_size": -1}, "embedding_size must be a positive integer, got -1"),
        ({"num_answers": 0}, "num_answers must be a positive integer, got 0"),
        (
            {"encoding": "onehot"},
            r"encoding must be one of \('position', 'position_authors', 'bow'\), got 'onehot'",
        ),
        (
            {"random_noise_mode": "drop"},
            r"random_noise_mode must be one of \('empty_slots', 'time_gaps'\), got 'drop'",
        ),
        ({"weight_tying": "none"}, "weight_tying must be one of .*got 'none'"),
        ({"random_noise": 1.5}, r"random_noise must lie in \[0, 1\], got 1.5"),
        ({"random_noise": -0.1}, r"random_noise must lie in \[0, 1\], got -0.1"),
    ],
)
def test_impossible_memn2n_configs_are_rejected(overrides, pattern):
    with pytest.raises(ValueError, match=pattern):
        MemN2N(**{"vocab_size": 10, **overrides})


def test_valid_calls_still_work():
    """The validation added for this file rejects only what it should."""
    output, weights = dot_product_attention(z(2, 3, 4), z(2, 5, 4), z(2, 5, 2), mask(2, 3, 5))
    assert output.shape == (2, 3, 2) and weights.shape == (2, 3, 5)
    assert masked_softmax(z(2, 3, 4), mask(3, 1)).shape == (2, 3, 4)  # broadcasting mask
    assert scaled_dot_product_attention(z(1, 3, 4), z(1, 5, 4), z(1, 5, 2))[0].shape == (1, 3, 2)
    assert hard_attention(torch.rand(4)).shape == (4,)
    assert embed_sentences(ids(2, 3, 6), z(10, 4), position_encoding(6, 4)).shape == (2, 3, 4)
    cell = small_cell()
    state = cell.initial_state(2)._replace(controller=None)  # None: LSTM starts from zeros
    assert cell(z(2, 5), state)[0].shape == (2, 3)
    assert MEMN2N(ids(2, 3, 6) * 11, ids(2, 6).int()).shape == (2, 4)
