"""End-To-End Memory Networks: hand-computed cases, shapes, gradients, tying and a tiny task."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from memnets.memn2n import (
    MemN2N,
    MemoryHops,
    embed_sentences,
    insert_random_noise,
    memn2n_babi_1k,
    memn2n_babi_joint,
    memory_hop,
    memory_hops,
    noisy_temporal_indices,
    position_encoding,
    position_encoding_authors,
    temporal_indices,
)

# helpers

ONE_HOP_D2 = dict(vocab_size=3, num_answers=2, embedding_size=2, hops=1)  # hand-sized models


def _story(batch_size=3, slots=5, width=4, vocab_size=12, lengths=(5, 3, 1), seed=0):
    """Random left-aligned stories with the given number of real sentences per item."""
    generator = torch.Generator().manual_seed(seed)
    story = torch.randint(1, vocab_size, (batch_size, slots, width), generator=generator)
    mask = torch.arange(slots) < torch.tensor(lengths)[:, None]  # (B, S)
    question = torch.randint(1, vocab_size, (batch_size, 3), generator=generator)
    return story * mask[..., None], question, mask


def _set(parameter: torch.Tensor, values) -> None:
    with torch.no_grad():
        parameter.copy_(torch.as_tensor(values, dtype=parameter.dtype))


# position encoding and sentence embedding


def test_position_encoding_hand_values():
    # l_kj = (1 - j/J) - (k/d)(1 - 2j/J); J = 3, d = 2
    expected = torch.tensor([[1 / 2, 1 / 3], [1 / 2, 2 / 3], [1 / 2, 1.0]], dtype=torch.float64)
    got = position_encoding(3, 2, dtype=torch.float64)
    assert got.shape == (3, 2) and got.dtype == torch.float64
    torch.testing.assert_close(got, expected)
    # J = 2, d = 4: j = 1 gives 1/2 everywhere, j = 2 gives k/4
    torch.testing.assert_close(
        position_encoding(2, 4), torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.25, 0.5, 0.75, 1.0]])
    )
    torch.testing.assert_close(position_encoding(1, 1), torch.tensor([[1.0]]))
    with pytest.raises(ValueError, match="sentence_length"):
        position_encoding(0, 2)


def test_position_encoding_authors_hand_values():
    # l_kj = 1 + 4 (k - (d+1)/2)(j - (J+1)/2) / (dJ)
    # J = 2, d = 2: (k - 1.5)(j - 1.5) = +-1/4, times 4 / 4 -> 1 +- 1/4
    torch.testing.assert_close(
        position_encoding_authors(2, 2), torch.tensor([[1.25, 0.75], [0.75, 1.25]])
    )
    # J = 3, d = 2: j - 2 = -1, 0, 1; k - 1.5 = -1/2, 1/2; 4 / (dJ) = 2/3
    expected = torch.tensor(
        [[1 + 1 / 3, 1 - 1 / 3], [1.0, 1.0], [1 - 1 / 3, 1 + 1 / 3]], dtype=torch.float64
    )
    got = position_encoding_authors(3, 2, dtype=torch.float64)
    assert got.shape == (3, 2) and got.dtype == torch.float64
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(position_encoding_authors(1, 1), torch.tensor([[1.0]]))
    # about twice the paper's values away from the ends: J = d = 40, j = k = 10
    ratio = position_encoding_authors(40, 40)[9, 9] / position_encoding(40, 40)[9, 9]
    assert 1.9 < float(ratio) < 2.1
    with pytest.raises(ValueError, match="embedding_size"):
        position_encoding_authors(2, 0)


def test_model_with_authors_encoding_scales_words_and_time_by_hand():
    # d = 2, words W = 1, with temporal encoding J = 2: word column j = 1 is [1.25, 0.75] and
    # the time word's column j = 2 is [0.75, 1.25].
    model = MemN2N(memory_size=2, encoding="position_authors", **ONE_HOP_D2).eval()
    _set(model.question_embedding.weight, [[0, 0], [1, 1], [0, 0]])  # B: u = [1.25, 0.75]
    _set(model.input_temporal[0], [[4, 8], [0, 0]])  # T_A[0] scaled: [3, 10]
    story = torch.tensor([[[2]]])  # one sentence of word 2, embedded by A^1 = B to zero
    _, internals = model(story, torch.tensor([[1]]), use_softmax=False, return_internals=True)
    # score = u . (0 + [3, 10]) = 1.25 * 3 + 0.75 * 10
    torch.testing.assert_close(internals.attention, torch.tensor([[[1.25 * 3 + 0.75 * 10]]]))
    # without temporal encoding J = W = 1 and l = 1: u = [1, 1]
    plain = MemN2N(
        memory_size=2, encoding="position_authors", temporal_encoding=False, **ONE_HOP_D2
    ).eval()
    _set(plain.question_embedding.weight, [[0, 0], [1, 1], [2, 3]])
    _, internals = plain(story, torch.tensor([[1]]), use_softmax=False, return_internals=True)
    torch.testing.assert_close(internals.attention, torch.tensor([[[5.0]]]))  # [1,1].[2,3]


def test_attend_to_empty_slots_keeps_zero_scores_in_the_softmax():
    # One real slot with score s and two empty slots with score 0 (no words, no time vector):
    # p = e^s / (e^s + 2) on the real slot, 1 / (e^s + 2) on each empty one.
    kwargs = dict(memory_size=3, **ONE_HOP_D2)
    model = MemN2N(encoding="bow", attend_to_empty_slots=True, **kwargs).eval()
    masked = MemN2N(encoding="bow", **kwargs).eval()
    masked.load_state_dict(model.state_dict())
    _set(model.question_embedding.weight, [[0, 0], [1, 0], [0, 0]])  # u = [1, 0]
    _set(model.input_temporal[0], [[0.5, 0], [7, 7], [7, 7]])  # only T_A[0] is used
    _set(model.output_embeddings[0].weight, [[0, 0], [0, 0], [0, 0]])
    story = torch.zeros(1, 3, 1, dtype=torch.long)
    mask = torch.tensor([[False, False, True]])
    question = torch.tensor([[1]])
    _, internals = model(story, question, mask, return_internals=True)
    score = 1.0 * 0.5  # u . T_A[0] for the real slot; A^1 = B embeds word 0 to zero
    total = math.exp(score) + 2
    expected = torch.tensor([[[1 / total, 1 / total, math.exp(score) / total]]])
    torch.testing.assert_close(internals.attention, expected)
    masked.load_state_dict(model.state_dict())
    _, internals = masked(story, question, mask, return_internals=True)
    torch.testing.assert_close(internals.attention, torch.tensor([[[0.0, 0.0, 1.0]]]))


def test_noisy_temporal_indices_leave_gaps_in_order():
    mask = torch.arange(20) >= torch.tensor([0, 5, 12, 20])[:, None]  # (4, 20) right-aligned
    mask = mask.repeat(50, 1)  # (200, 20): n = 20, 15, 8, 0
    generator = torch.Generator().manual_seed(0)
    time = noisy_temporal_indices(mask, 0.3, memory_size=50, generator=generator)
    assert time.shape == mask.shape and time.dtype == torch.long
    assert torch.equal(time * ~mask, torch.zeros_like(time))  # 0 on empty slots
    count = mask.sum(-1)
    for row in range(mask.shape[0]):
        values = time[row][mask[row]]  # oldest first
        n = int(count[row])
        if n == 0:
            continue
        assert bool((values[:-1] > values[1:]).all())  # strictly younger towards the end
        assert int(values.max()) <= n - 1 + math.ceil(0.3 * n)  # drawn from n + blanks
    # some items drew blanks (an index above n - 1), some did not
    oldest = time[:, 0]  # full rows (n = 20): the oldest slot's index
    full = count == 20
    assert bool((oldest[full] > 19).any()) and bool((oldest[full] == 19).any())
    # without noise: the plain temporal indices; capped at memory_size - 1
    assert torch.equal(noisy_temporal_indices(mask, 0.0, memory_size=50), temporal_indices(mask))
    capped = noisy_temporal_indices(mask, 1.0, memory_size=10, generator=generator)
    assert int(capped.max()) == 9


def test_noisy_temporal_indices_of_runs_are_each_runs_own():
    """A run axis with one generator per run: run r's indices are those it draws alone."""
    mask = torch.arange(12) >= torch.randint(0, 13, (3, 16, 1))  # (R, B, N) right-aligned
    together = noisy_temporal_indices(
        mask, 0.3, memory_size=10, generator=[torch.Generator().manual_seed(s) for s in (1, 2, 3)]
    )  # (R, B, N)
    for run, seed in enumerate((1, 2, 3)):
        generator = torch.Generator().manual_seed(seed)
        alone = noisy_temporal_indices(mask[run], 0.3, memory_size=10, generator=generator)
        assert torch.equal(together[run], alone)
    with pytest.raises(ValueError, match="3 generators"):
        noisy_temporal_indices(mask, 0.3, memory_size=10, generator=torch.Generator())


@pytest.mark.parametrize(
    "options",
    [
        dict(random_noise_mode="time_gaps", attend_to_empty_slots=True),  # all runs at once
        dict(random_noise_mode="time_gaps"),  # slots trimmed run by run
        dict(random_noise_mode="empty_slots"),  # noise inserted run by run
    ],
    ids=["sink-slots", "time-gaps", "empty-slots"],
)
@pytest.mark.parametrize("training", [True, False])
def test_prepare_runs_is_prepare_run_by_run(options, training):
    """Exactly: the runs' own noise streams, and slots padded to the longest run's."""
    model = MemN2N(vocab_size=30, memory_size=12, random_noise=0.3, **options).train(training)
    runs = [_story(batch_size=8, slots=12, lengths=lengths) for lengths in
            ([3, 5, 1, 2, 4, 6, 2, 1], [9, 2, 2, 3, 1, 1, 4, 2], [1] * 8)]  # fmt: skip
    story, question, mask = (torch.stack([run[index] for run in runs]) for index in range(3))
    story, mask = story.flip(-3), mask.flip(-1)  # right-aligned, as the data module's
    seeds = (4, 5, 6)
    together = model.prepare_runs(
        story, question, mask, generators=[torch.Generator().manual_seed(s) for s in seeds]
    )  # (R, B, N', L), (R, B, N'), (R, B, N')
    slots = together[1].shape[-1]
    for run, seed in enumerate(seeds):
        generator = torch.Generator().manual_seed(seed)
        alone = model.prepare(story[run], question[run], mask[run], generator=generator)
        for part, expected in zip(together, alone):
            missing = slots - expected.shape[1]  # the empty slots padded on the left
            assert torch.equal(part[run][:, missing:], expected)
            assert not part[run][:, :missing].any()


def test_time_gap_noise_keeps_slots_and_applies_only_in_training():
    story, question, mask = _story(batch_size=64, slots=12, lengths=[6] * 64)
    torch.manual_seed(0)
    model = MemN2N(
        vocab_size=12,
        num_answers=4,
        memory_size=12,
        random_noise=0.5,
        random_noise_mode="time_gaps",
    )
    _, internals = model(story, question, mask, return_internals=True)
    assert torch.equal(internals.story_mask, mask)  # no slot inserted
    assert not torch.equal(internals.temporal_index, temporal_indices(mask))
    model.eval()
    _, internals = model(story, question, mask, return_internals=True)
    assert torch.equal(internals.temporal_index, temporal_indices(mask))


def test_embed_sentences_position_and_bow_by_hand():
    table = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    words = torch.tensor([[1, 2], [2, 0]])  # (2, W)
    # PE(2, 2) = [[0.5, 0.5], [0.5, 1.0]]
    pe = embed_sentences(words, table, position_encoding(2, 2))
    torch.testing.assert_close(pe, torch.tensor([[0.5 + 1.5, 1.0 + 4.0], [1.5, 2.0]]))
    bow = embed_sentences(words, table)
    torch.testing.assert_close(bow, torch.tensor([[4.0, 6.0], [3.0, 4.0]]))
    torch.testing.assert_close(bow, table[words].sum(-2))


def test_bow_ignores_word_order_and_position_encoding_does_not():
    story, question, mask = _story()
    shuffled = story.flip(-1)
    for encoding, same in (("bow", True), ("position", False)):
        torch.manual_seed(0)
        model = MemN2N(vocab_size=12, num_answers=4, memory_size=5, encoding=encoding).eval()
        changed = not torch.allclose(model(story, question, mask), model(shuffled, question, mask))
        assert changed is not same


# attention over hops


def test_hop_attention_sums_to_one_over_real_slots_and_zero_on_masked():
    story, question, mask = _story()
    torch.manual_seed(0)
    model = MemN2N(vocab_size=12, num_answers=4, memory_size=5).eval()
    logits, internals = model(story, question, mask, return_internals=True)
    assert logits.shape == (3, 4)
    attention = internals.attention  # (B, H, S)
    assert attention.shape == (3, 3, 5)
    torch.testing.assert_close(attention.sum(-1), torch.ones(3, 3))
    assert torch.all(attention.masked_select(~mask[:, None, :]) == 0)
    assert torch.all(attention.masked_select(mask[:, None, :]) > 0)


def _one_hop_model():
    """1 hop, BoW, no TE, V = 3, d = 2, two answer classes, weights set by hand."""
    model = MemN2N(
        vocab_size=3,
        num_answers=2,
        memory_size=3,
        embedding_size=2,
        hops=1,
        encoding="bow",
        temporal_encoding=False,
    ).eval()
    _set(model.input_embeddings[0].weight, [[0, 0], [1, 0], [0, 2]])  # A^1 = B
    _set(model.output_embeddings[0].weight, [[0, 0], [1, 1], [2, -1]])  # C^1
    _set(model.answer_weight, [[1, 0], [0, 1]])  # W
    story = torch.tensor([[[1, 0], [2, 0], [0, 0]]])  # (1, 3, 2)
    question = torch.tensor([[1, 2]])  # u = [1, 2]
    mask = torch.tensor([[True, True, False]])
    return model, story, question, mask


def test_linear_start_weights_are_raw_scores_by_hand():
    model, story, question, mask = _one_hop_model()
    logits, internals = model(story, question, mask, use_softmax=False, return_internals=True)
    # scores u.m = [1, 4, (masked) 0]; o = 1 [1, 1] + 4 [2, -1] = [9, -3]; W(u + o) = [10, -1]
    torch.testing.assert_close(internals.attention, torch.tensor([[[1.0, 4.0, 0.0]]]))
    torch.testing.assert_close(logits, torch.tensor([[10.0, -1.0]]))


def test_softmax_hop_by_hand():
    model, story, question, mask = _one_hop_model()
    logits, internals = model(story, question, mask, return_internals=True)
    p1, p2 = 1 / (1 + math.exp(3)), math.exp(3) / (1 + math.exp(3))  # softmax([1, 4])
    torch.testing.assert_close(internals.attention, torch.tensor([[[p1, p2, 0.0]]]))
    expected = torch.tensor([[1 + p1 + 2 * p2, 2 + p1 - p2]])  # u + o
    torch.testing.assert_close(logits, expected)


def test_memory_hops_query_updates_by_hand():
    memory_in, memory_out = torch.tensor([[[2.0]]]), torch.tensor([[[3.0]]])  # (1, 1, 1)
    query = torch.tensor([[1.0]])  # one slot, so every hop reads o = 3
    residual = MemoryHops(embedding_size=1, hops=2)
    state, attention = residual(memory_in, memory_out, query)
    torch.testing.assert_close(state, torch.tensor([[7.0]]))  # 1 + 3 + 3
    torch.testing.assert_close(attention, torch.ones(1, 2, 1))
    linear = MemoryHops(embedding_size=1, hops=2, query_update="linear")
    _set(linear.query_map.weight, [[0.5]])  # H
    state, _ = linear(memory_in, memory_out, query)
    torch.testing.assert_close(state, torch.tensor([[4.75]]))  # 0.5 (0.5 + 3) + 3
    gated = MemoryHops(embedding_size=1, hops=2, query_update="gated")
    assert len(gated.gates) == 2
    for gate in gated.gates:  # g = sigmoid(0) = 1/2
        _set(gate.weight, [[0.0]])
    state, _ = gated(memory_in, memory_out, query)
    torch.testing.assert_close(state, torch.tensor([[2.5]]))  # u2 = (3 + 1)/2, u3 = (3 + 2)/2


def test_memory_hops_matches_hop_by_hop():
    generator = torch.Generator().manual_seed(1)
    memory_in = torch.randn(2, 3, 4, 5, generator=generator)  # (B, H, S, D)
    memory_out = torch.randn(2, 3, 4, 5, generator=generator)
    query = torch.randn(2, 5, generator=generator)
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    state, attention = memory_hops(memory_in, memory_out, query, mask)
    expected = query
    for hop in range(3):
        output, weights = memory_hop(memory_in[:, hop], memory_out[:, hop], expected, mask)
        torch.testing.assert_close(attention[:, hop], weights)
        expected = expected + output
    torch.testing.assert_close(state, expected)


# temporal encoding


def test_temporal_indices_count_back_from_most_recent_real_sentence():
    mask = torch.tensor(
        [
            [True, True, True, False, False],
            [True, False, False, False, False],
            [True, True, True, True, True],
            [False, False, False, False, False],
        ]
    )
    expected = torch.tensor([[2, 1, 0, 0, 0], [0, 0, 0, 0, 0], [4, 3, 2, 1, 0], [0, 0, 0, 0, 0]])
    assert torch.equal(temporal_indices(mask), expected)


def test_model_uses_temporal_row_zero_for_most_recent_sentence():
    model = MemN2N(
        vocab_size=2, num_answers=2, memory_size=4, embedding_size=2, hops=1, encoding="bow"
    ).eval()
    _set(model.input_embeddings[0].weight, [[0, 0], [1, 0]])  # B = A^1: u = [1, 0]
    _set(model.input_temporal[0], [[10, 0], [20, 0], [30, 0], [40, 0]])  # T_A^1
    story = torch.zeros(2, 4, 1, dtype=torch.long)  # empty sentences: m_i = T_A[t_i]
    mask = torch.tensor([[True, True, False, False], [True, True, True, False]])
    question = torch.tensor([[1], [1]])
    _, internals = model(story, question, mask, use_softmax=False, return_internals=True)
    expected = torch.tensor([[[20.0, 10.0, 0.0, 0.0]], [[30.0, 20.0, 10.0, 0.0]]])
    torch.testing.assert_close(internals.attention, expected)
    assert torch.equal(internals.temporal_index, torch.tensor([[1, 0, 0, 0], [2, 1, 0, 0]]))


# weight tying


def test_adjacent_tying_shares_parameters():
    vocab, dim, size, hops = 7, 4, 5, 3
    model = MemN2N(vocab_size=vocab, memory_size=size, embedding_size=dim, hops=hops)
    assert model.question_embedding is model.input_embeddings[0]  # B = A^1
    for k in range(hops - 1):
        assert model.input_embeddings[k + 1] is model.output_embeddings[k]  # A^k+1 = C^k
        assert model.input_temporal[k + 1] is model.output_temporal[k]
    assert model.answer is None  # W^T = C^K when answers are words
    assert model.answer_weight.data_ptr() == model.output_embeddings[-1].weight.data_ptr()
    count = sum(p.numel() for p in model.parameters())
    assert count == (hops + 1) * (vocab * dim + size * dim)
    story, question, _ = _story(vocab_size=vocab)
    assert model(story, question).shape == (3, vocab)

    classes = MemN2N(vocab_size=vocab, num_answers=2, memory_size=size, embedding_size=dim)
    assert classes.answer_weight.shape == (2, dim)
    assert classes.answer_weight.data_ptr() != classes.output_embeddings[-1].weight.data_ptr()


def test_layerwise_tying_uses_one_a_one_c_and_h():
    vocab, dim, size, hops, answers = 7, 4, 5, 3, 2
    model = MemN2N(
        vocab_size=vocab,
        num_answers=answers,
        memory_size=size,
        embedding_size=dim,
        hops=hops,
        weight_tying="layerwise",
    )
    assert len({id(e) for e in model.input_embeddings}) == 1
    assert len({id(e) for e in model.output_embeddings}) == 1
    assert len({id(t) for t in model.input_temporal + model.output_temporal}) == 2
    assert model.input_embeddings[0] is not model.output_embeddings[0]
    assert model.question_embedding is not model.input_embeddings[0]
    assert isinstance(model.memory_hops.query_map, nn.Linear)
    assert model.memory_hops.query_map.weight.shape == (dim, dim)
    count = sum(p.numel() for p in model.parameters())
    assert count == 3 * vocab * dim + 2 * size * dim + answers * dim + dim * dim
    story, question, mask = _story(vocab_size=vocab)
    assert model(story, question, mask).shape == (3, answers)


def test_gated_flag_adds_gates():
    adjacent = MemN2N(vocab_size=12, num_answers=4, memory_size=5, embedding_size=6, gated=True)
    assert adjacent.memory_hops.query_update == "gated" and len(adjacent.memory_hops.gates) == 3
    layerwise = MemN2N(
        vocab_size=12, num_answers=4, memory_size=5, weight_tying="layerwise", gated=True
    )
    assert len(layerwise.memory_hops.gates) == 1 and layerwise.memory_hops.query_map is None
    story, question, mask = _story()
    assert adjacent(story, question, mask).shape == (3, 4)
    assert torch.isfinite(layerwise(story, question, mask)).all()


# random noise


def test_insert_random_noise_by_hand_with_every_gap_filled():
    a, b, c, d = ([i, i] for i in range(1, 5))
    empty = [0, 0]
    story = torch.tensor([[a, b, c, empty, empty, empty], [a, b, c, d, empty, empty]])
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    noisy, noisy_mask = insert_random_noise(story, mask, 1.0)
    # item 0 fits: a _ b _ c; item 1 needs 7 slots for a _ b _ c _ d, so the oldest, a, drops
    expected = torch.tensor([[a, empty, b, empty, c, empty], [empty, b, empty, c, empty, d]])
    assert torch.equal(noisy, expected)
    assert torch.equal(noisy_mask, torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]).bool())
    # S = 4 and full: a _ b _ c _ d keeps its last four slots, _ c _ d
    noisy, noisy_mask = insert_random_noise(story[1:, :4], mask[1:, :4], 1.0)
    assert torch.equal(noisy, torch.tensor([[empty, c, empty, d]]))
    assert noisy_mask.all()
    assert torch.equal(temporal_indices(noisy_mask), torch.tensor([[3, 2, 1, 0]]))


def test_insert_random_noise_fraction_order_and_shapes():
    batch_size, slots, real, fraction = 4000, 20, 10, 0.1
    generator = torch.Generator().manual_seed(0)
    story = torch.randint(1, 9, (batch_size, slots, 3), generator=generator)
    mask = (torch.arange(slots) < real).expand(batch_size, slots)
    story = story * mask[..., None]
    noisy, noisy_mask = insert_random_noise(story, mask, fraction, generator=generator)
    assert noisy.shape == story.shape and noisy.dtype == story.dtype
    assert noisy_mask.shape == mask.shape and noisy_mask.dtype == torch.bool
    inserted = (noisy_mask.sum(-1) - real).float()  # no overflow: 10 + 9 gaps < 20 slots
    assert abs(inserted.mean().item() - fraction * (real - 1)) < 0.06
    assert inserted.min() >= 0 and inserted.max() <= real - 1
    # the real sentences keep their order, the inserted slots are empty
    assert torch.equal(noisy[noisy.ne(0).any(-1)], story[mask])
    assert not noisy[~noisy_mask].any()
    same, same_mask = insert_random_noise(story, mask, 0.0)
    assert torch.equal(same, story) and torch.equal(same_mask, mask)
    with pytest.raises(ValueError, match="fraction"):
        insert_random_noise(story, mask, 1.5)


def test_model_applies_random_noise_only_in_training():
    story, question, mask = _story(batch_size=64, slots=12, lengths=[6] * 64)
    torch.manual_seed(0)
    model = MemN2N(vocab_size=12, num_answers=4, memory_size=12, random_noise=0.5)
    clean = MemN2N(vocab_size=12, num_answers=4, memory_size=12)
    clean.load_state_dict(model.state_dict())

    logits, internals = model(story, question, mask, return_internals=True)  # training mode
    assert logits.shape == (64, 4) and internals.attention.shape == (64, 3, 12)
    assert internals.story_mask.sum() > mask.sum()  # about 0.5 * 5 empty slots per item
    assert not torch.equal(internals.temporal_index, temporal_indices(mask))
    _, off = model(story, question, mask, random_noise=0.0, return_internals=True)
    assert torch.equal(off.story_mask, mask)

    model.eval()
    clean.eval()
    logits, internals = model(story, question, mask, return_internals=True)
    assert torch.equal(internals.story_mask, mask)
    torch.testing.assert_close(logits, clean(story, question, mask))


# parameters, batching, gradients


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9, weight_decay=0.01),
        lambda p: torch.optim.Adam(p, lr=0.1, weight_decay=0.01),
    ],
    ids=["sgd-momentum-decay", "adam-decay"],
)
def test_nil_embedding_row_stays_zero_after_optimizer_steps(make_optimizer):
    story, question, mask = _story()
    torch.manual_seed(0)
    model = MemN2N(vocab_size=12, num_answers=4, memory_size=5, weight_tying="layerwise")
    before = [e.weight.detach().clone() for e in model.embeddings]
    optimizer = make_optimizer(model.parameters())
    for _ in range(3):
        loss = model(story, question, mask).logsumexp(-1).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for embedding, old in zip(model.embeddings, before):
        assert torch.all(embedding.weight[0] == 0)
        assert not torch.equal(embedding.weight[1:], old[1:])


@pytest.mark.parametrize("use_softmax", [False, True], ids=["linear-start", "softmax"])
@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9, weight_decay=0.01),
        lambda p: torch.optim.Adam(p, lr=0.05),
    ],
    ids=["sgd-momentum-decay", "adam"],
)
def test_nil_is_zero_everywhere_with_padding_inside_sentences(make_optimizer, use_softmax):
    """Padding inside real sentences and the question, empty slots kept in the softmax,
    answers as words (W^T = C^K, whose nil row would score the nil word): a plain loop with
    any optimiser leaves row 0 of every table at zero, and nil words contribute nothing."""
    story, question, mask = _story(width=5)
    story[:, :, 3:] = 0  # padding inside every real sentence
    question[:, 2:] = 0  # and inside the question
    torch.manual_seed(0)
    model = MemN2N(
        vocab_size=12, num_answers=4, answers_as_words=True, memory_size=5,
        encoding="position_authors", attend_to_empty_slots=True, random_noise=0.2,
        random_noise_mode="time_gaps",
    )  # fmt: skip
    optimizer = make_optimizer(model.parameters())
    for _ in range(4):
        logits = model(story, question, mask, use_softmax=use_softmax)  # (B, V + A)
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([5, 6, 13]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for table in model.embeddings:
        assert torch.all(table.weight[0] == 0)
    model.eval()
    expected = model(story, question, mask, use_softmax=use_softmax)
    assert torch.all(expected[:, 0] == 0)  # the nil word scores nothing
    with torch.no_grad():  # whatever row 0 holds, nil words add nothing
        for table in model.embeddings:
            table.weight[0] = 7.0
    torch.testing.assert_close(model(story, question, mask, use_softmax=use_softmax), expected)


def test_extra_padding_changes_nothing_under_bag_of_words():
    story, question, mask = _story()
    torch.manual_seed(0)
    model = MemN2N(vocab_size=12, num_answers=4, memory_size=8, encoding="bow").eval()
    expected = model(story, question, mask)
    wider = torch.nn.functional.pad(story, (0, 3))  # (B, N, L + 3) more nil words per sentence
    more_slots = torch.nn.functional.pad(wider, (0, 0, 2, 0))  # (B, N + 2, L + 3) empty slots
    more_mask = torch.nn.functional.pad(mask, (2, 0))  # (B, N + 2)
    longer_question = torch.nn.functional.pad(question, (0, 2))  # (B, L' + 2)
    torch.testing.assert_close(model(more_slots, longer_question, more_mask), expected)


def test_batch_items_are_independent_in_eval():
    story, question, mask = _story()
    torch.manual_seed(0)
    model = MemN2N(vocab_size=12, num_answers=4, memory_size=5, random_noise=0.1).eval()
    together, internals = model(story, question, mask, return_internals=True)
    for i in range(story.shape[0]):
        item = (story[i : i + 1], question[i : i + 1], mask[i : i + 1])
        alone, one = model(*item, return_internals=True)
        torch.testing.assert_close(alone, together[i : i + 1])
        torch.testing.assert_close(one.attention, internals.attention[i : i + 1])


def test_mask_defaults_to_non_nil_slots_and_dtype_follows_model():
    story, question, mask = _story()
    torch.manual_seed(0)
    model = MemN2N(vocab_size=12, num_answers=4, memory_size=5).eval()
    torch.testing.assert_close(model(story, question), model(story, question, mask))
    logits = model.double()(story, question, mask)
    assert logits.dtype == torch.float64


def test_gradcheck_memory_hop_and_memory_hops():
    generator = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64, requires_grad=True)

    mask = torch.tensor([[True, True, False], [True, True, True]])
    memory_in, memory_out, query = rand(2, 3, 4), rand(2, 3, 4), rand(2, 4)
    for use_softmax in (True, False):
        assert torch.autograd.gradcheck(
            lambda m, c, u, s=use_softmax: memory_hop(m, c, u, mask, use_softmax=s),
            (memory_in, memory_out, query),
        )
    memory_in, memory_out = rand(2, 2, 3, 4), rand(2, 2, 3, 4)
    assert torch.autograd.gradcheck(
        lambda m, c, u: memory_hops(m, c, u, mask), (memory_in, memory_out, query)
    )


# validation


def test_wrong_shapes_name_the_argument():
    story, question, mask = _story()
    model = MemN2N(vocab_size=12, num_answers=4, memory_size=5)
    with pytest.raises(ValueError, match="story"):
        model(story[0], question, mask)
    with pytest.raises(ValueError, match="question"):
        model(story, question[:2], mask)
    with pytest.raises(ValueError, match=r"story_mask.*\(3, 4\)"):
        model(story, question, mask[:, :4])
    with pytest.raises(ValueError, match="memory_size"):
        model(torch.cat([story, story], 1), question)
    with pytest.raises(TypeError, match="story"):
        model(story.float(), question, mask)
    with pytest.raises(ValueError, match="query"):
        memory_hop(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="memory_out"):
        memory_hops(torch.zeros(2, 2, 3, 4), torch.zeros(2, 3, 3, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="memory_in"):
        MemoryHops(embedding_size=4, hops=2)(
            torch.zeros(2, 3, 3, 4), torch.zeros(2, 3, 4), torch.zeros(2, 4)
        )


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"hops": 0}, "hops"),
        ({"memory_size": 0}, "memory_size"),
        ({"embedding_size": -1}, "embedding_size"),
        ({"encoding": "onehot"}, "encoding"),
        ({"weight_tying": "none"}, "weight_tying"),
        ({"random_noise": 1.5}, "random_noise"),
        ({"num_answers": 0}, "num_answers"),
    ],
)
def test_impossible_configs_are_rejected(overrides, name):
    with pytest.raises(ValueError, match=name):
        MemN2N(vocab_size=10, **overrides)


def test_builders():
    small = memn2n_babi_1k(30, 8)
    assert (small.embedding_size, small.hops) == (20, 3)
    assert small.encoding == "position" and small.temporal_encoding
    assert small.weight_tying == "adjacent" and small.random_noise == 0.1
    assert small.answers_as_words and small.num_outputs == 30 + 8  # W^T = C^K
    assert memn2n_babi_joint(30, 8).embedding_size == 50
    story, question, mask = _story(vocab_size=30)
    assert small(story, question, mask, use_softmax=False).shape == (3, 38)


# a tiny task


def _last_location_task(n, generator, slots=6, persons=4, locations=5):
    """Sentences "person went location"; question "where person"; answer: the location of the
    most recent sentence about that person. Ids: 1..P persons, then locations, went, where."""
    went, where = 1 + persons + locations, 2 + persons + locations
    lengths = torch.randint(2, slots + 1, (n,), generator=generator)
    mask = torch.arange(slots) < lengths[:, None]  # (n, S)
    person = torch.randint(1, persons + 1, (n, slots), generator=generator)
    location = torch.randint(0, locations, (n, slots), generator=generator)
    words = [person, torch.full_like(person, went), location + 1 + persons]
    story = torch.stack(words, -1) * mask[..., None]  # (n, S, 3)
    asked_slot = (torch.rand(n, generator=generator) * lengths).long()
    asked = person.gather(1, asked_slot[:, None]).squeeze(1)  # (n,)
    about = (person == asked[:, None]) & mask  # (n, S)
    last = (about.long() * torch.arange(1, slots + 1)).argmax(1)  # (n,)
    answer = location.gather(1, last[:, None]).squeeze(1)
    question = torch.stack([torch.full_like(asked, where), asked], -1)  # (n, 2)
    return story, question, mask, answer


def test_learns_most_recent_location_task():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors; threads only contend with other processes
    try:
        torch.manual_seed(0)
        generator = torch.Generator().manual_seed(0)
        story, question, mask, answer = _last_location_task(256, generator)
        model = MemN2N(vocab_size=12, num_answers=5, memory_size=6, random_noise=0.0)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
        for _ in range(80):
            loss = nn.functional.cross_entropy(model(story, question, mask), answer)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(story, question, mask).argmax(-1) == answer).float().mean()
    finally:
        torch.set_num_threads(threads)
    assert accuracy > 0.9


# the factored story embedding the network uses


@pytest.mark.parametrize("authors", [False, True])
def test_position_factors_multiply_out_to_the_encodings(authors):
    from memnets.memn2n import _position_factors

    encoding = position_encoding_authors if authors else position_encoding
    words, dimensions = _position_factors(7, 5, authors=authors, dtype=torch.float64)
    torch.testing.assert_close(words @ dimensions, encoding(7, 5, dtype=torch.float64))
    torch.testing.assert_close(words[:3] @ dimensions, encoding(7, 5, dtype=torch.float64)[:3])


@pytest.mark.parametrize("encoding", ["position", "position_authors", "bow"])
def test_bags_of_words_embed_every_table_as_embed_sentences_does(encoding):
    """The network's one-product embedding of several tables equals embed_sentences table by
    table, with padding inside sentences and whole empty slots: values, and gradients of the
    tables (row 0, the nil word's, gets none)."""
    from memnets.memn2n import _embed_bags, _position_factors

    generator = torch.Generator().manual_seed(3)
    words = torch.randint(0, 9, (2, 4, 6), generator=generator)  # (B, N, L), 0 = nil
    words[0, 1] = 0  # an empty slot
    words[1, 2, 3:] = 0  # padding at a sentence's end
    words[1, 0, 1] = 0  # and inside one
    tables = [torch.randn(9, 5, dtype=torch.float64, generator=generator) for _ in range(3)]
    tables = [table.requires_grad_() for table in tables]
    if encoding == "bow":
        factors, dense = None, None
    else:
        words8, dimensions = _position_factors(
            8, 5, authors=encoding == "position_authors", dtype=torch.float64
        )
        factors = (words8[:6], dimensions)  # the first 6 of 8 positions, as the authors' code
        dense = factors[0] @ factors[1]  # (L, D)
    vectors = _embed_bags(words, tables, factors).unflatten(-1, (3, 5)).unbind(-2)
    expected = [embed_sentences(words, table, dense) for table in tables]
    for got, want in zip(vectors, expected):
        torch.testing.assert_close(got, want)
    weights = torch.randn(2, 4, 5, dtype=torch.float64, generator=generator)
    gradients = torch.autograd.grad(sum((v * weights).sum() for v in vectors), tables)
    expected_gradients = torch.autograd.grad(sum((v * weights).sum() for v in expected), tables)
    for got, want in zip(gradients, expected_gradients):
        torch.testing.assert_close(got, want)
        assert not got[0].any()
    # the first table by hand: word w at position j adds l[j] * E[w]
    by_hand = torch.zeros(2, 4, 5, dtype=torch.float64)
    for b, n, j in torch.cartesian_prod(torch.arange(2), torch.arange(4), torch.arange(6)):
        word = words[b, n, j]
        if word != 0:
            by_hand[b, n] += (1.0 if dense is None else dense[j]) * tables[0][word].detach()
    torch.testing.assert_close(vectors[0].detach(), by_hand)
