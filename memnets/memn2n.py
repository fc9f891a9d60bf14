"""End-To-End Memory Networks (Sukhbaatar, Szlam, Weston, Fergus 2015, "End-To-End Memory
Networks", NeurIPS), with the optional gate of Gated End-to-End Memory Networks (Liu & Perez
2017, "Gated End-to-End Memory Networks", EACL).

A story of N sentences is embedded twice per hop, into input memories m_i and output
memories c_i; a query vector u attends over them and is updated, hop after hop (section 2):

    sentence      m_i   = sum_j l_j * A x_ij + T_A[t_i]         (section 4.1, PE and TE)
                  c_i   = sum_j l_j * C x_ij + T_C[t_i]
    question      u^1   = sum_j l_j * B q_j
    attention     p_i   = softmax_i(u^T m_i)                    (eq. 1; raw u^T m_i under LS)
    read          o     = sum_i p_i c_i                         (eq. 2)
    next query    u^k+1 = u^k + o^k                             (section 2.2, adjacent)
                  u^k+1 = H u^k + o^k                           (section 2.2, layer-wise)
                  u^k+1 = o^k * g + u^k * (1 - g),  g = sigmoid(W_g u^k + b_g)   (gated, Liu &
                                                                                  Perez eq. 3)
    answer        a     = softmax(W u^K+1)                      (eq. 3; we return the logits)

Position encoding (PE, section 4.1): l_kj = (1 - j/J) - (k/d)(1 - 2j/J) with j = 1..J the word
position and k = 1..d the embedding dimension. As in the authors' code J is the padded
sentence width W, not each sentence's own word count (nil words embed to zero either way).
Bag-of-words (BoW) is l_kj = 1. ``encoding="position_authors"`` is the formula of the authors'
released MATLAB code instead, l_kj = 1 + 4 (k - (d+1)/2) (j - (J+1)/2) / (dJ), about twice the
paper's (see :func:`position_encoding_authors`); with temporal encoding their code treats the
time index as one more word at position J = L + 1, so T_A and T_C are scaled by that column.

Their code differs in two more ways that are options here. ``attend_to_empty_slots=True``: the
empty slots of the memory (all nil words, no time word) stay in the softmax with score 0, as
their memory always has its full number of slots. ``random_noise_mode="time_gaps"``: random
noise leaves random gaps in the temporal indices (each item draws up to ceil(0.1 n) blanks)
instead of inserting empty memories.

Weight tying (section 2.2):
    adjacent    A^k+1 = C^k, B = A^1, and W^T = C^K when the answers are words
                (``num_answers=None``); temporal matrices are tied the same way
                (T_A^k+1 = T_C^k). K + 1 embedding tables in all.
    layerwise   A^1 = ... = A^K, C^1 = ... = C^K (and the same T_A, T_C), a separate B and W,
                and a linear map H between hops: u^k+1 = H u^k + o^k.

Slot and temporal convention (the data layer must follow it):
    * ``story`` is (B, N, L) word ids, sentences in chronological order, OLDEST FIRST;
      padding slots are all nil (id 0) and False in ``story_mask``. Either alignment works
      (the temporal indices come from the mask): ``BabiDataModule`` right-aligns, so slot
      N - 1 is the most recent sentence; left-aligned stories pad at the end.
      Stories longer than ``memory_size`` keep their ``memory_size`` most
      recent sentences.
    * The temporal index counts back from the MOST RECENT real sentence, as in the paper and
      the authors' code: the last real sentence of each item uses T_A[0], the one before it
      T_A[1], and so on, whatever the padding. See :func:`temporal_indices`.

Linear start (LS, section 4.2) is state passed at call time, ``forward(..., use_softmax=False)``:
the hops' softmax is removed, so the attention weights are the raw scores u^T m_i (masked slots
zero); the answer softmax stays (it lives in the loss). Random noise (RN, section 4.2) inserts
empty memories between sentences at training time only, see :func:`insert_random_noise`; the
empty slots are real memories (mask True, all-nil words), so they shift the temporal indices
of older sentences, which is what regularises T_A.

Tensor letters follow the package glossary (``memnets/__init__.py``): B batch, N memory slots
(story sentences), L words per sentence, D embedding size, K hops, V vocabulary, A answer
classes, O outputs. The paper's matrices A, B, C, W, H, T_A, T_C are named in words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from memnets._checks import check_positive, check_shape
from memnets.attention import dot_product_attention

__all__ = [
    "position_encoding",
    "position_encoding_authors",
    "temporal_indices",
    "noisy_temporal_indices",
    "insert_random_noise",
    "trim_padding",
    "without_nil",
    "embed_sentences",
    "memory_hop",
    "memory_hops",
    "MemoryHops",
    "MemN2NInternals",
    "MemN2N",
    "memn2n_babi_1k",
    "memn2n_babi_joint",
]

ENCODINGS = ("position", "position_authors", "bow")
RANDOM_NOISE_MODES = ("empty_slots", "time_gaps")
WEIGHT_TYING = ("adjacent", "layerwise")
QUERY_UPDATES = ("residual", "linear", "gated")
INIT_STD = 0.1  # the paper initialises every weight from N(0, 0.1)
# The revision of the numbers a MemN2N configuration produces: bumped by a change of the
# mathematics (1: before the nil word was zero everywhere). Cached results carry it.
REVISION = 2

# helpers


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")


def _check_word_ids(name: str, tensor: Tensor) -> None:
    if tensor.dtype.is_floating_point or tensor.dtype.is_complex or tensor.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer word ids, got dtype {tensor.dtype}")


def _check_vocabulary(vocab_size: int, **words: Tensor) -> None:
    """Word ids must lie in [0, V): an out-of-range id is an opaque IndexError on the CPU and a
    device-side assert on the GPU. One host sync for all the tensors."""
    tensors = [tensor for tensor in words.values() if tensor.numel() > 0]
    if not tensors:
        return
    low = torch.stack([tensor.min().long() for tensor in tensors]).min()
    high = torch.stack([tensor.max().long() for tensor in tensors]).max()
    if bool((low < 0) | (high >= vocab_size)):  # the only host sync
        for name, tensor in words.items():
            if tensor.numel() > 0 and (tensor.min() < 0 or tensor.max() >= vocab_size):
                raise ValueError(
                    f"{name} holds word ids in [{int(tensor.min())}, {int(tensor.max())}] but "
                    f"vocab_size is {vocab_size} (ids must lie in [0, {vocab_size - 1}])"
                )


def _word_and_dimension_indices(
    sentence_length: int, embedding_size: int, device, dtype
) -> tuple[Tensor, Tensor]:
    """j = 1..J as (J, 1) and k = 1..d as (1, D), after checking both sizes."""
    check_positive("sentence_length", sentence_length)
    check_positive("embedding_size", embedding_size)
    j = torch.arange(1, sentence_length + 1, device=device, dtype=dtype).unsqueeze(1)  # (J, 1)
    k = torch.arange(1, embedding_size + 1, device=device, dtype=dtype).unsqueeze(0)  # (1, D)
    return j, k


def position_encoding(
    sentence_length: int,
    embedding_size: int,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """The position encoding weights l of section 4.1, shape (L, D) with L = ``sentence_length``.

    l[j-1, k-1] = (1 - j/J) - (k/d)(1 - 2j/J), j = 1..J word position, k = 1..d dimension.

    >>> position_encoding(3, 2)
    tensor([[0.5000, 0.3333],
            [0.5000, 0.6667],
            [0.5000, 1.0000]])
    """
    j, k = _word_and_dimension_indices(sentence_length, embedding_size, device, dtype)
    J, d = sentence_length, embedding_size
    return (1 - j / J) - (k / d) * (1 - 2 * j / J)  # (L, D)


def position_encoding_authors(
    sentence_length: int,
    embedding_size: int,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """The position encoding of the authors' MATLAB code (``build_model.m``), shape (J, D).

    l[j-1, k-1] = 1 + 4 (k - (d+1)/2) (j - (J+1)/2) / (d J), j = 1..J, k = 1..d. Expanded, this
    is 2 (1 - j/J - k/d + 2jk/(dJ)) + O(1/J + 1/d), about twice the paper's section 4.1 values
    (:func:`position_encoding`), and it averages to exactly 1 over the positions.

    >>> position_encoding_authors(2, 2)
    tensor([[1.2500, 0.7500],
            [0.7500, 1.2500]])
    """
    j, k = _word_and_dimension_indices(sentence_length, embedding_size, device, dtype)
    J, d = sentence_length, embedding_size
    return 1 + 4 * (k - (d + 1) / 2) * (j - (J + 1) / 2) / (d * J)  # (J, D)


def _position_factors(
    sentence_length: int,
    embedding_size: int,
    *,
    authors: bool,
    device=None,
    dtype=None,
) -> tuple[Tensor, Tensor]:
    """:func:`position_encoding` (``authors=False``) or :func:`position_encoding_authors` as a
    product of two rank-2 factors, ``words (J, 2) @ dimensions (2, D)``. Both encodings are
    affine in the dimension k for each word position j, so a sentence vector sum_j l_j * E x_j
    is two weighted bags of words times E (:func:`_embed_bags`)."""
    j, k = _word_and_dimension_indices(sentence_length, embedding_size, device, dtype)
    J, d = sentence_length, embedding_size
    if authors:  # 1 + [4 (j - (J+1)/2) / J] [(k - (d+1)/2) / d]
        words = torch.cat([torch.ones_like(j), 4 * (j - (J + 1) / 2) / J], dim=1)  # (J, 2)
        dimensions = torch.cat([torch.ones_like(k), (k - (d + 1) / 2) / d])  # (2, D)
    else:  # (1 - j/J) + [-(1 - 2j/J)] [k/d]
        words = torch.cat([1 - j / J, 2 * j / J - 1], dim=1)  # (J, 2)
        dimensions = torch.cat([torch.ones_like(k), k / d])  # (2, D)
    return words, dimensions


def _embed_bags(
    words: Tensor, tables: Sequence[Tensor], factors: tuple[Tensor, Tensor] | None
) -> Tensor:
    """:func:`embed_sentences` of ``words`` (..., L) with each table in ``tables`` (V, D), side
    by side in the result (..., T D) for T tables, the encoding given as factors ``(word
    weights (L, r), dimension weights (r, D))`` (None: bag-of-words). Unchecked, no host
    synchronisation (``torch.func.vmap`` runs it).

    Each sentence becomes r weighted bags of words (..., r, V), bag[s, w] = sum of the word
    weights u_s[j] at the positions j where word w occurs, and every table is read by one
    matrix product of the bags with the tables side by side, each scaled by the dimension
    weights of its bag: the backward is a matrix product too, not a scatter-add of every word
    of every slot. Column 0, the nil word's, is left out, so padding adds nothing and row 0 of
    a table gets no gradient (:func:`without_nil`).
    """
    vocab = tables[0].shape[0]
    if factors is None:
        weights = torch.ones(words.shape[-1], 1, dtype=tables[0].dtype, device=words.device)
    else:
        weights = factors[0]  # (L, r)
    rank = weights.shape[1]
    index = words.unsqueeze(-2).expand(*words.shape[:-1], rank, words.shape[-1])  # (..., r, L)
    bags = torch.zeros(
        *words.shape[:-1], rank, vocab, dtype=weights.dtype, device=words.device
    ).scatter_add(-1, index, weights.T.expand_as(index))  # (..., r, V)
    side_by_side = torch.cat(tuple(tables), dim=1)[1:]  # (V-1, T D) without the nil row
    if factors is not None:  # one copy of the tables per bag, scaled by its dimension weights
        scale = factors[1].repeat(1, len(tables)).unsqueeze(1)  # (r, 1, T D)
        side_by_side = (side_by_side * scale).flatten(0, 1)  # (r (V-1), T D)
    return bags[..., 1:].flatten(-2) @ side_by_side  # (..., T D)


def temporal_indices(story_mask: Tensor) -> Tensor:
    """Temporal index of each slot, counted back from the most recent real sentence.

    ``story_mask`` is (B, N) bool, True for real slots. A real slot's index is the number of
    real slots after it, so the most recent real sentence gets 0 however much padding follows
    it. Masked slots get 0 (they are never attended to). Returns (B, N) int64.

    >>> temporal_indices(torch.tensor([[True, True, True, False]]))
    tensor([[2, 1, 0, 0]])
    """
    check_shape("story_mask", story_mask, ("B", "N"))
    mask = story_mask.to(torch.long)  # (B, N)
    later_or_same = mask.flip(-1).cumsum(-1).flip(-1)  # (B, N) real slots at or after i
    return ((later_or_same - 1) * mask).clamp_min(0)  # (B, N)


def noisy_temporal_indices(
    story_mask: Tensor,
    fraction: float,
    *,
    memory_size: int,
    generator: torch.Generator | Sequence[torch.Generator | None] | None = None,
) -> Tensor:
    """Temporal indices with random gaps: random noise as the authors' code applies it.

    An item with n real slots draws a number of blanks b uniformly from 0..ceil(fraction * n),
    then n distinct indices from 0..n + b - 1 at random; sorted, they go to its real slots, the
    smallest to the most recent sentence. Indices are capped at ``memory_size - 1`` (the last
    row of T_A). With ``fraction=0`` this is :func:`temporal_indices`. ``story_mask`` (B, N)
    bool -> (B, N) int64, 0 on masked slots. Vectorised over the batch.

    Runs trained together: ``story_mask`` (R, B, N) with ``generator`` a sequence of R
    generators gives (R, B, N), run r's indices exactly those of ``story_mask[r]`` with
    ``generator[r]`` (each run draws its own numbers in the same order), computed at once.
    """
    if story_mask.dim() == 3:
        runs = check_shape("story_mask", story_mask, ("R", "B", "N"))["R"]
        generators = list(generator) if isinstance(generator, Sequence) else []
        if len(generators) != runs:
            raise ValueError(
                f"story_mask has a run axis of {runs} (shape {tuple(story_mask.shape)}): "
                f"generator must be a sequence of {runs} generators"
            )
        time = noisy_temporal_indices(
            story_mask.flatten(0, 1), fraction, memory_size=memory_size, generator=generators
        )  # (R B, N)
        return time.view(story_mask.shape)  # (R, B, N)
    generators = list(generator) if isinstance(generator, Sequence) else [generator]
    dims = check_shape("story_mask", story_mask, ("B", "N"))
    _check_fraction("fraction", fraction)
    check_positive("memory_size", memory_size)
    if dims["B"] % len(generators):
        raise ValueError(f"{len(generators)} generators cannot share a batch of {dims['B']}")
    items = dims["B"] // len(generators)  # questions per generator (per run)
    mask = story_mask.to(torch.bool)  # (B, N)
    device = mask.device
    count = mask.sum(-1)  # (B,) n
    most_blanks = torch.ceil(count.to(torch.float64) * fraction).long()  # (B,)
    width = dims["N"] + math.ceil(dims["N"] * fraction)  # (N + ceil(f N),) >= every span
    draws = [  # each generator's (run's) numbers in the order one run alone draws them
        (
            torch.rand(items, generator=source, device=device, dtype=torch.float64),  # (B/R,)
            torch.rand((items, width), generator=source, device=device),  # (B/R, L)
        )
        for source in generators
    ]
    draw = torch.cat([blank_draw for blank_draw, _ in draws])  # (B,)
    blanks = (draw * (most_blanks + 1)).long().clamp_max(most_blanks)  # (B,) 0..ceil(f n)
    span = count + blanks  # (B,) indices drawn from 0..span-1
    candidates = torch.arange(width, device=device)  # (L,)
    keys = torch.cat([key_draw for _, key_draw in draws])  # (B, L)
    keys = keys.masked_fill(candidates >= span.unsqueeze(-1), 2.0)  # (B, L) out of range last
    chosen = keys.argsort(-1)[:, : dims["N"]]  # (B, N) a random order of 0..span-1 first
    chosen = chosen.masked_fill(
        torch.arange(dims["N"], device=device) >= count.unsqueeze(-1), width
    )  # (B, N) keep the first n draws
    ordered = chosen.sort(-1).values  # (B, N) the n chosen indices ascending, then fill
    age = temporal_indices(mask)  # (B, N) 0 for the most recent real slot
    time = ordered.gather(-1, age)  # (B, N) the age-th smallest index
    return time.clamp_max(memory_size - 1) * mask  # (B, N)


def insert_random_noise(
    story: Tensor,
    story_mask: Tensor,
    fraction: float,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Random noise (RN, section 4.2): insert empty memories between the story's sentences.

    Each of the n - 1 gaps between consecutive real sentences of an item independently
    receives one empty slot (all nil words, mask True) with probability ``fraction``, so about
    ``fraction * (n - 1)`` empty slots are added per item. The real sentences keep their order
    and the result is left-aligned again. The slot count N is kept: when an item no longer
    fits, its OLDEST slots are dropped, so the most recent sentence always survives. Returns
    ``(story, story_mask)`` of the input shapes (B, N, L) and (B, N). Vectorised over the batch;
    a ``generator`` must live on the story's device.

    The empty slots are real memories: they enter the attention and push the temporal indices
    of all older sentences back by one each, which regularises T_A.
    """
    dims = check_shape("story", story, ("B", "N", "L"))
    check_shape("story_mask", story_mask, (dims["B"], dims["N"]))
    _check_fraction("fraction", fraction)
    mask = story_mask.to(torch.bool)  # (B, N)
    batch_size, num_slots = mask.shape
    rank = mask.long().cumsum(-1) - 1  # (B, N) position of each real sentence among the real ones
    draws = torch.rand(mask.shape, generator=generator, device=story.device)  # (B, N)
    inserted_before = (draws < fraction) & mask & (rank > 0)  # (B, N) an empty slot precedes it
    new_position = rank + inserted_before.long().cumsum(-1)  # (B, N)
    new_length = mask.sum(-1) + inserted_before.sum(-1)  # (B,)
    overflow = (new_length - num_slots).clamp_min(0)  # (B,) oldest slots to drop
    new_position = new_position - overflow.unsqueeze(-1)  # (B, N)
    keep = mask & (new_position >= 0)  # (B, N)

    batch_index, slot_index = keep.nonzero(as_tuple=True)  # (P,), (P,) kept sentences
    noisy_story = torch.zeros_like(story)  # (B, N, L) nil everywhere
    noisy_story[batch_index, new_position[batch_index, slot_index]] = story[batch_index, slot_index]
    slots = torch.arange(num_slots, device=story.device)  # (N,)
    noisy_mask = slots < new_length.clamp_max(num_slots).unsqueeze(-1)  # (B, N)
    return noisy_story, noisy_mask


def trim_padding(
    story: Tensor, story_mask: Tensor, *, random_noise: float
) -> tuple[Tensor, Tensor]:
    """Drop the leading empty slots no item of the batch needs; the result is exact.

    Stories are right-aligned (empty slots first), and empty slots change nothing when they
    are masked out of the attention and of the temporal indices. With L the longest story of
    the batch, L slots suffice, or 2L - 1 when random noise may insert up to L - 1 empty
    slots (then no item overflows and loses a sentence that it would have kept in the full
    N slots). story (B, N, L), story_mask (B, N) -> the last N' <= N slots of each. A batch
    that is not right-aligned (a real slot among those to drop) is returned whole.
    """
    longest = int(story_mask.sum(-1).max()) if story_mask.numel() else 0  # L
    needed = 2 * longest - 1 if random_noise > 0 else longest
    keep = min(story.shape[1], max(needed, 1))  # N'
    if story_mask[:, : story.shape[1] - keep].any():  # not right-aligned: keep everything
        return story, story_mask
    return story[:, -keep:], story_mask[:, -keep:]  # (B, N', L), (B, N')


def _left_pad(tensor: Tensor, slots: int) -> Tensor:
    """A prepared story (B, N', L), mask or temporal indices (B, N') brought to ``slots`` slots
    by empty slots on the left (nil words, masked out, index 0)."""
    missing = slots - tensor.shape[1]
    return F.pad(tensor, (0, 0, missing, 0) if tensor.dim() == 3 else (missing, 0))


def without_nil(table: Tensor) -> Tensor:
    """``table`` (V, D) with row 0, the nil (padding) word's, replaced by zeros: the nil word
    contributes nothing to a sentence, a question, a memory slot or an answer score, and row
    0 of the parameter gets no gradient, so it stays as it was (zero from the initialisation)
    under any optimiser. The authors' code zeroes the nil column of every table after every
    update to the same effect."""
    return torch.cat([table.new_zeros(1, table.shape[1]), table[1:]])  # (V, D)


def embed_sentences(words: Tensor, embedding: Tensor, encoding: Tensor | None = None) -> Tensor:
    """Sentence vectors sum_j l_j * E x_j over the last axis of ``words``.

    ``words`` (..., L) integer ids, ``embedding`` (V, D) the table E, ``encoding`` (L, D) the
    position weights l (``None`` for bag-of-words). Returns (..., D). Nil words (id 0)
    contribute nothing, whatever row 0 of the table holds (:func:`without_nil`).
    """
    if not isinstance(words, Tensor):
        raise TypeError(f"words must be a torch.Tensor, got {type(words).__name__}")
    _check_word_ids("words", words)
    if words.dim() == 0:
        raise ValueError(f"words must have shape (..., L), got shape {tuple(words.shape)}")
    dims = check_shape("embedding", embedding, ("V", "D"))
    if encoding is not None:
        check_shape("encoding", encoding, (words.shape[-1], dims["D"]))
    vectors = without_nil(embedding)[words]  # (..., L, D)
    if encoding is not None:
        vectors = vectors * encoding  # (..., L, D)
    return vectors.sum(-2)  # (..., D)


def memory_hop(
    memory_in: Tensor,
    memory_out: Tensor,
    query: Tensor,
    mask: Tensor | None = None,
    *,
    use_softmax: bool = True,
) -> tuple[Tensor, Tensor]:
    """One memory layer (eqs. 1-2): attention p = softmax(m u) over the slots, output o = sum p c.

    ``memory_in`` (B, N, D) the input memories m, ``memory_out`` (B, N, D) the output memories
    c, ``query`` (B, D) the controller state u, ``mask`` (B, N) bool (True = real slot). With
    ``use_softmax=False`` (linear start) the weights are the raw scores m u, zero on masked
    slots. Returns ``(output (B, D), attention (B, N))``; with the softmax, each row of the
    attention sums to 1 over the real slots (0 for an item with no real slot).
    """
    dims = check_shape("memory_in", memory_in, ("B", "N", "D"))
    check_shape("memory_out", memory_out, (dims["B"], dims["N"], None))
    check_shape("query", query, (dims["B"], dims["D"]))
    output, attention = dot_product_attention(
        query.unsqueeze(1), memory_in, memory_out, mask, use_softmax=use_softmax
    )  # (B, 1, D), (B, 1, N)
    return output.squeeze(1), attention.squeeze(1)  # (B, D), (B, N)


def memory_hops(
    memory_in: Tensor,
    memory_out: Tensor,
    query: Tensor,
    mask: Tensor | None = None,
    *,
    use_softmax: bool = True,
    update: Callable[[int, Tensor, Tensor], Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """K memory layers stacked on any already-embedded memories and query.

    ``memory_in``/``memory_out`` (B, K, N, D) hold one input/output memory per hop (K
    hops); ``query`` (B, D) is u^1; ``mask`` (B, N). ``update(hop, u, o)`` gives the next query
    (default u + o, adjacent tying). Returns ``(u^K+1 (B, D), attention (B, K, N))``: the
    final state W is applied to, and the per-hop attention weights.
    """
    dims = check_shape("memory_in", memory_in, ("B", "K", "N", "D"))
    if dims["K"] == 0:
        raise ValueError(f"memory_in has shape {tuple(memory_in.shape)}: no hops (K = 0)")
    check_shape("memory_out", memory_out, (dims["B"], dims["K"], dims["N"], dims["D"]))
    check_shape("query", query, (dims["B"], dims["D"]))
    if mask is not None:
        check_shape("mask", mask, (dims["B"], dims["N"]))
    state = query  # (B, D)
    attention = []
    # unbind, not memory_in[:, hop]: the backward stacks K gradients instead of adding K
    # zero-filled copies of the whole memory (the same numbers)
    for hop, (hop_in, hop_out) in enumerate(zip(memory_in.unbind(1), memory_out.unbind(1))):
        output, weights = memory_hop(
            hop_in, hop_out, state, mask, use_softmax=use_softmax
        )  # (B, D), (B, N)
        state = state + output if update is None else update(hop, state, output)  # (B, D)
        attention.append(weights)
    return state, torch.stack(attention, dim=1)  # (B, D), (B, K, N)


# classes


class MemoryHops(nn.Module):
    """K memory layers with a choice of query update, for any embedded memories and query.

    ``query_update``:
        ``"residual"``  u^k+1 = u^k + o^k (adjacent tying; no parameters)
        ``"linear"``    u^k+1 = H u^k + o^k (layer-wise tying; one H (D, D) for every hop)
        ``"gated"``     u^k+1 = o^k * g^k + u^k * (1 - g^k), g^k = sigmoid(W^k u^k + b^k)
                        (Liu & Perez 2017); one gate per hop, or one for all hops when
                        ``share_across_hops`` (their "global" tying, used with layer-wise).

    ``forward(memory_in, memory_out, query, mask=None, *, use_softmax=True)`` takes memories
    (B, K, N, D) per hop or (B, N, D) shared by every hop, query (B, D), mask (B, N) bool, and
    returns ``(u^K+1 (B, D), attention (B, K, N))``.
    """

    def __init__(
        self,
        *,
        embedding_size: int = 20,
        hops: int = 3,
        query_update: str = "residual",
        share_across_hops: bool = False,
    ) -> None:
        super().__init__()
        check_positive("embedding_size", embedding_size)
        check_positive("hops", hops)
        _check_choice("query_update", query_update, QUERY_UPDATES)
        self.embedding_size = embedding_size
        self.hops = hops
        self.query_update = query_update
        self.share_across_hops = share_across_hops
        self.query_map: nn.Linear | None = None
        self.gates: nn.ModuleList | None = None
        if query_update == "linear":
            self.query_map = nn.Linear(embedding_size, embedding_size, bias=False)  # H
        elif query_update == "gated":
            num_gates = 1 if share_across_hops else hops
            self.gates = nn.ModuleList(
                nn.Linear(embedding_size, embedding_size) for _ in range(num_gates)
            )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=INIT_STD)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def _update(self, hop: int, state: Tensor, output: Tensor) -> Tensor:
        if self.query_map is not None:
            return self.query_map(state) + output  # (B, D)
        if self.gates is not None:
            gate = torch.sigmoid(self.gates[0 if self.share_across_hops else hop](state))  # (B, D)
            return output * gate + state * (1 - gate)  # (B, D)
        return state + output  # (B, D)

    def forward(
        self,
        memory_in: Tensor,
        memory_out: Tensor,
        query: Tensor,
        mask: Tensor | None = None,
        *,
        use_softmax: bool = True,
    ) -> tuple[Tensor, Tensor]:
        for name, memory in (("memory_in", memory_in), ("memory_out", memory_out)):
            if isinstance(memory, Tensor) and memory.dim() == 3:
                check_shape(name, memory, ("B", "N", self.embedding_size))
            else:
                check_shape(name, memory, ("B", self.hops, "N", self.embedding_size))
        if memory_in.dim() == 3:
            memory_in = memory_in.unsqueeze(1).expand(-1, self.hops, -1, -1)  # (B, K, N, D)
        if memory_out.dim() == 3:
            memory_out = memory_out.unsqueeze(1).expand(-1, self.hops, -1, -1)  # (B, K, N, D)
        return memory_hops(
            memory_in, memory_out, query, mask, use_softmax=use_softmax, update=self._update
        )


@dataclass
class MemN2NInternals:
    """What a forward pass saw, for visualisation and tests.

    ``attention`` (B, K, N) per-hop weights over the slots, ``story_mask`` (B, N) the slots that
    were real (after random noise, if any), ``temporal_index`` (B, N) their temporal indices.
    """

    attention: Tensor
    story_mask: Tensor
    temporal_index: Tensor


class MemN2N(nn.Module):
    """End-To-End Memory Network for question answering over a story of sentences.

    ``forward(story (B, N, L), question (B, L'), story_mask (B, N) | None, *, use_softmax=True,
    random_noise=None, return_internals=False)`` returns the logits over the model's outputs
    (B, O), or ``(logits, MemN2NInternals)`` with ``return_internals=True``. Without
    ``story_mask`` a slot is real when it holds a non-nil word. See the module docstring for
    the slot convention. Right-aligned stories are first cut to the slots the batch uses
    (:func:`trim_padding`, exact) unless ``attend_to_empty_slots``; internals are reported
    over all N slots.

    Answers (``num_answers`` = A classes, O outputs):
        ``num_answers=None``        the answer is a word: O = V, W^T = C^K under adjacent tying.
        ``answers_as_words=False``  a separate W (A, D) scores the A classes: O = A.
        ``answers_as_words=True``   (adjacent tying; the bAbI configs) the paper's W^T = C^K
                                    with the answers as words, as the authors' code: every
                                    table gets A extra rows after the V words, O = V + A, and
                                    answer class a is scored by row ``answer_word_ids[a]``: its
                                    word's id when the answer is a word, else V + a (the
                                    default, until the data give the words). The softmax runs
                                    over all O rows. :meth:`answer_targets` maps answer
                                    classes to output indices, :meth:`answer_class` back.

    Parameters, by weight tying:
        adjacent   ``embeddings`` K + 1 tables (A^1 = B, A^k+1 = C^k, C^K = W^T when tied),
                   ``temporal`` K + 1 tables (T_A^1, T_A^k+1 = T_C^k), ``answer`` W unless tied.
        layerwise  ``embeddings`` [B, A, C], ``temporal`` [T_A, T_C], ``answer`` W, H in
                   ``memory_hops.query_map`` (replaced by gates when ``gated``).
    The properties ``question_embedding``, ``input_embeddings``, ``output_embeddings``,
    ``input_temporal``, ``output_temporal`` and ``answer_weight`` name them per hop.
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        num_answers: int | None = None,
        answers_as_words: bool = False,
        answer_word_ids: list[int] | None = None,
        memory_size: int = 50,
        embedding_size: int = 20,
        hops: int = 3,
        encoding: Literal["position", "position_authors", "bow"] = "position",
        temporal_encoding: bool = True,
        weight_tying: Literal["adjacent", "layerwise"] = "adjacent",
        random_noise: float = 0.0,
        random_noise_mode: Literal["empty_slots", "time_gaps"] = "empty_slots",
        attend_to_empty_slots: bool = False,
        gated: bool = False,
    ) -> None:
        """``vocab_size`` V word ids with 0 the nil (padding) word; ``num_answers`` answer
        classes (None: the answer is a word); ``answers_as_words`` and ``answer_word_ids``: see
        the class docstring; ``memory_size`` M rows of T_A / T_C (stories may have at most M
        slots); ``embedding_size`` d; ``hops`` K; ``encoding`` of sentences: the paper's
        "position" (PE), the authors' code's "position_authors" or "bow"; ``temporal_encoding``
        adds learned T_A, T_C (TE); ``weight_tying`` "adjacent" or "layerwise" (section 2.2);
        ``random_noise`` (RN) the chance of an empty slot in each gap, training only, inserted
        as "empty_slots" or left as "time_gaps" in the temporal indices (the authors' code);
        ``attend_to_empty_slots`` keeps the empty slots in the softmax (the authors' code);
        ``gated`` the gated query update of Liu & Perez 2017."""
        super().__init__()
        check_positive("vocab_size", vocab_size)
        if num_answers is not None:
            check_positive("num_answers", num_answers)
        check_positive("memory_size", memory_size)
        check_positive("embedding_size", embedding_size)
        check_positive("hops", hops)
        _check_choice("encoding", encoding, ENCODINGS)
        _check_choice("weight_tying", weight_tying, WEIGHT_TYING)
        _check_fraction("random_noise", random_noise)
        _check_choice("random_noise_mode", random_noise_mode, RANDOM_NOISE_MODES)
        adjacent = weight_tying == "adjacent"
        if answers_as_words and not adjacent:
            raise ValueError("answers_as_words ties W to C^K, which needs weight_tying='adjacent'")
        if answers_as_words and num_answers is None:
            raise ValueError("answers_as_words needs num_answers (the answer classes)")
        self.vocab_size = vocab_size
        self.num_answers = num_answers
        self.answers_as_words = answers_as_words
        self.memory_size = memory_size
        self.embedding_size = embedding_size
        self.hops = hops
        self.encoding = encoding
        self.temporal_encoding = temporal_encoding
        self.weight_tying = weight_tying
        self.random_noise = random_noise
        self.random_noise_mode = random_noise_mode
        self.attend_to_empty_slots = attend_to_empty_slots
        self.gated = gated

        rows = vocab_size + num_answers if answers_as_words else vocab_size  # table rows
        self.num_outputs = rows if (answers_as_words or num_answers is None) else num_answers
        num_tables = hops + 1 if adjacent else 3  # adjacent: A^1..A^K+1; layerwise: B, A, C
        self.embeddings = nn.ModuleList(
            nn.Embedding(rows, embedding_size, padding_idx=0) for _ in range(num_tables)
        )
        num_temporal = (hops + 1 if adjacent else 2) if temporal_encoding else 0
        self.temporal = nn.ParameterList(
            nn.Parameter(torch.empty(memory_size, embedding_size)) for _ in range(num_temporal)
        )
        self.answer: nn.Linear | None = None  # W; None when tied to C^K
        if not (adjacent and (num_answers is None or answers_as_words)):
            self.answer = nn.Linear(embedding_size, num_answers or vocab_size, bias=False)
        query_update = "gated" if gated else ("residual" if adjacent else "linear")
        self.memory_hops = MemoryHops(
            embedding_size=embedding_size,
            hops=hops,
            query_update=query_update,
            share_across_hops=not adjacent,
        )
        # (A,) the output row scoring each answer class; saved in checkpoints
        default_rows = vocab_size + torch.arange(num_answers or 0)
        self.register_buffer("answer_word_ids", default_rows)
        if answers_as_words and answer_word_ids is not None:
            self.set_answer_words(answer_word_ids)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, 0.1) everywhere (section 4.2), nil word rows zero, biases zero."""
        for embedding in self.embeddings:
            nn.init.normal_(embedding.weight, std=INIT_STD)
            with torch.no_grad():
                embedding.weight[0].zero_()  # nil word; without_nil keeps its gradient zero
        for table in self.temporal:
            nn.init.normal_(table, std=INIT_STD)
        if self.answer is not None:
            nn.init.normal_(self.answer.weight, std=INIT_STD)
        self.memory_hops.reset_parameters()

    # answers

    def set_answer_words(self, answer_word_ids: Sequence[int] | Tensor) -> None:
        """Score answer class a by output row ``answer_word_ids[a]`` (answers as words): the
        word's id for an answer that is a word, V + a for one that is not."""
        if not self.answers_as_words:
            raise ValueError("set_answer_words needs answers_as_words=True")
        rows = torch.as_tensor(answer_word_ids, dtype=torch.long)
        if rows.shape != self.answer_word_ids.shape:
            raise ValueError(
                f"answer_word_ids has shape {tuple(rows.shape)} but the model has "
                f"{self.num_answers} answer classes (expected shape {(self.num_answers,)})"
            )
        if rows.numel() and (int(rows.min()) < 1 or int(rows.max()) >= self.num_outputs):
            raise ValueError(
                f"answer_word_ids must lie in [1, {self.num_outputs - 1}] (word ids, or V + the "
                f"class), got [{int(rows.min())}, {int(rows.max())}]"
            )
        self.answer_word_ids.copy_(rows.to(self.answer_word_ids.device))

    def answer_targets(self, answers: Tensor) -> Tensor:
        """Answer classes (B,) as output indices (B,); unknown answers (< 0) are kept."""
        if not self.answers_as_words:
            return answers
        rows = self.answer_word_ids[answers.clamp_min(0)]  # (B,)
        return torch.where(answers.lt(0), answers, rows)  # (B,)

    def answer_class(self, output: int) -> int | None:
        """The answer class that output index ``output`` scores; None for a word that is no
        answer."""
        if not self.answers_as_words:
            return output if self.num_answers is not None else None
        matches = (self.answer_word_ids == output).nonzero().flatten().tolist()
        return matches[0] if matches else None

    # parameters by role

    @property
    def _adjacent(self) -> bool:
        return self.weight_tying == "adjacent"

    @property
    def question_embedding(self) -> nn.Embedding:
        """B."""
        return self.embeddings[0]

    @property
    def input_embeddings(self) -> list[nn.Embedding]:
        """A^1..A^K."""
        hops = self.hops
        return list(self.embeddings[:hops]) if self._adjacent else [self.embeddings[1]] * hops

    @property
    def output_embeddings(self) -> list[nn.Embedding]:
        """C^1..C^K."""
        hops = self.hops
        return list(self.embeddings[1:]) if self._adjacent else [self.embeddings[2]] * hops

    @property
    def input_temporal(self) -> list[nn.Parameter]:
        """T_A^1..T_A^K, (N, D) each; empty without temporal encoding."""
        if not self.temporal_encoding:
            return []
        hops = self.hops
        return list(self.temporal[:hops]) if self._adjacent else [self.temporal[0]] * hops

    @property
    def output_temporal(self) -> list[nn.Parameter]:
        """T_C^1..T_C^K, (N, D) each; empty without temporal encoding."""
        if not self.temporal_encoding:
            return []
        hops = self.hops
        return list(self.temporal[1:]) if self._adjacent else [self.temporal[1]] * hops

    @property
    def answer_weight(self) -> Tensor:
        """W, (O, D): C^K's table under adjacent tying with word answers."""
        return self.embeddings[-1].weight if self.answer is None else self.answer.weight

    # forward

    def _encodings(
        self, story_width: int, question_width: int, like: Tensor
    ) -> tuple[tuple[Tensor, Tensor] | None, tuple[Tensor, Tensor] | None, Tensor | None]:
        """Position weights for the story and question words as factors ``(word weights (L,
        2), dimension weights (2, D))`` (:func:`_position_factors`), and the (D,) scale of the
        temporal vectors; None where nothing is scaled."""
        encoding, size = self.encoding, self.embedding_size
        options = {"device": like.device, "dtype": like.dtype}
        if encoding == "bow":
            return None, None, None
        if encoding == "position":
            story = _position_factors(story_width, size, authors=False, **options)
            return story, _position_factors(question_width, size, authors=False, **options), None
        # The authors' code: one table for the padded width, plus the time word's column.
        width = max(story_width, question_width)
        time_word = 1 if self.temporal_encoding else 0
        words, dimensions = _position_factors(width + time_word, size, authors=True, **options)
        # (J, 2), (2, D)
        time_scale = words[-1] @ dimensions if time_word else None  # (D,)
        return (words[:story_width], dimensions), (words[:question_width], dimensions), time_scale

    def forward(
        self,
        story: Tensor,
        question: Tensor,
        story_mask: Tensor | None = None,
        *,
        use_softmax: bool = True,
        random_noise: float | None = None,
        generator: torch.Generator | None = None,
        return_internals: bool = False,
    ) -> Tensor | tuple[Tensor, MemN2NInternals]:
        """:meth:`prepare`, then :meth:`network`; ``generator`` draws the random noise."""
        prepared_story, prepared_mask, time = self.prepare(
            story, question, story_mask, random_noise=random_noise, generator=generator
        )  # (B, N', L), (B, N'), (B, N')
        logits, attention = self.network(
            prepared_story, question, prepared_mask, time, use_softmax=use_softmax
        )  # (B, O), (B, K, N')
        if not return_internals:
            return logits
        dropped = story.shape[1] - prepared_mask.shape[1]  # leading slots cut by trim_padding
        return logits, MemN2NInternals(
            attention=F.pad(attention, (dropped, 0)),  # (B, K, N)
            story_mask=F.pad(prepared_mask, (dropped, 0)),  # (B, N)
            temporal_index=F.pad(time, (dropped, 0)),  # (B, N)
        )

    def prepare(
        self,
        story: Tensor,
        question: Tensor,
        story_mask: Tensor | None = None,
        *,
        random_noise: float | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Everything of a forward pass that is not the network's arithmetic: the checks, the
        slots the batch needs (:func:`trim_padding`), the random noise of training (drawn from
        ``generator``) and the temporal indices. Returns ``(story (B, N', L), story_mask
        (B, N'), time (B, N'))`` for :meth:`network`."""
        story_mask = self._checked_inputs(story, question, story_mask, ("B",))  # (B, N)
        noise = self.random_noise if random_noise is None else random_noise
        _check_fraction("random_noise", noise)
        time_gaps = self.random_noise_mode == "time_gaps"
        inserts_noise = self.training and noise > 0 and not time_gaps
        if not self.attend_to_empty_slots:  # empty slots in the softmax: keep all N of them
            story, story_mask = trim_padding(
                story, story_mask, random_noise=noise if inserts_noise else 0.0
            )  # (B, N', L), (B, N')
        if inserts_noise:
            story, story_mask = insert_random_noise(story, story_mask, noise, generator)
        if self.training and noise > 0 and time_gaps:
            time = noisy_temporal_indices(
                story_mask, noise, memory_size=self.memory_size, generator=generator
            )  # (B, N')
        else:
            time = temporal_indices(story_mask)  # (B, N')
        return story, story_mask, time

    def prepare_runs(
        self,
        story: Tensor,
        question: Tensor,
        story_mask: Tensor | None = None,
        *,
        generators: Sequence[torch.Generator | None],
    ) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`prepare` for R runs trained together, each on its own batch: story (R, B, N,
        L), question (R, B, L'), story_mask (R, B, N), one noise generator per run. Returns
        ``(story (R, B, N', L), story_mask (R, B, N'), time (R, B, N'))``, run r's exactly
        ``prepare(story[r], question[r], story_mask[r], generator=generators[r])``, left-padded
        with empty slots to the largest N' (masked out: exact). The checks run once; with
        ``attend_to_empty_slots`` (no slot is cut or inserted) the temporal indices and time-gap
        noise of every run are computed at once, otherwise run by run."""
        runs = check_shape("story", story, ("R", "B", "N", "L"))["R"]
        if len(generators) != runs:
            raise ValueError(f"{runs} runs (story {tuple(story.shape)}) need {runs} generators")
        time_gaps = self.random_noise_mode == "time_gaps"
        noise = self.random_noise if self.training else 0.0
        if self.attend_to_empty_slots and (noise == 0 or time_gaps):
            story_mask = self._checked_inputs(story, question, story_mask, ("R", "B"))
            if noise > 0:
                time = noisy_temporal_indices(
                    story_mask, noise, memory_size=self.memory_size, generator=generators
                )  # (R, B, N)
            else:
                time = temporal_indices(story_mask.flatten(0, 1)).view_as(story_mask)  # (R, B, N)
            return story, story_mask, time
        if story_mask is None:
            story_mask = story.ne(0).any(-1)  # (R, B, N)
        prepared = [  # each run's slots: trim_padding and inserted noise decide them per run
            self.prepare(story[run], question[run], story_mask[run], generator=generators[run])
            for run in range(runs)
        ]  # R x ((B, N'_r, L), (B, N'_r), (B, N'_r))
        slots = max(part[1].shape[1] for part in prepared)  # N'
        return tuple(
            torch.stack([_left_pad(part[index], slots) for part in prepared]) for index in range(3)
        )  # (R, B, N', L), (R, B, N'), (R, B, N')

    def _checked_inputs(
        self, story: Tensor, question: Tensor, story_mask: Tensor | None, batch: tuple[str, ...]
    ) -> Tensor:
        """Check the inputs of :meth:`prepare` (``batch`` the leading axes: ("B",), or ("R",
        "B") for runs) and return the story mask (..., N) as bool, made from the words when
        None. One host synchronisation, for the word ids."""
        dims = check_shape("story", story, (*batch, "N", "L"))
        leading = tuple(dims[name] for name in batch)
        check_shape("question", question, (*leading, None))
        _check_word_ids("story", story)
        _check_word_ids("question", question)
        table_rows = self.embeddings[0].num_embeddings
        _check_vocabulary(table_rows, story=story, question=question)
        if story_mask is None:
            story_mask = story.ne(0).any(-1)  # (..., N) a slot with any word is real
        check_shape("story_mask", story_mask, (*leading, dims["N"]))
        if self.temporal_encoding and dims["N"] > self.memory_size:
            raise ValueError(
                f"story has {dims['N']} slots (shape {tuple(story.shape)}) but memory_size is "
                f"{self.memory_size}; keep the {self.memory_size} most recent"
            )
        return story_mask.to(torch.bool)

    def network(
        self,
        story: Tensor,
        question: Tensor,
        story_mask: Tensor,
        time: Tensor,
        *,
        use_softmax: bool = True,
    ) -> tuple[Tensor, Tensor]:
        """The network on prepared inputs (:meth:`prepare`): story (B, N, L), question (B, L'),
        story_mask (B, N), time (B, N) -> ``(logits (B, O), attention (B, K, N))``. Tensor
        operations only, no host synchronisation, so that ``torch.func.vmap`` can run it over
        the stacked parameters of several runs."""
        weight = self.embeddings[0].weight
        story_encoding, question_encoding, time_scale = self._encodings(
            story.shape[-1], question.shape[-1], weight
        )  # factors ((L, 2), (2, D)), ((L', 2), (2, D)), (D,); None where not used
        query = _embed_bags(question, [self.question_embedding.weight], question_encoding)
        # (B, D)

        # Embed the story once per distinct table: K + 1 tables (adjacent) or A and C, side
        # by side, one matrix product; then a list, not slices: the backward of slices adds
        # zero-filled copies of the whole memory (the same numbers, more memory traffic).
        tables = self.embeddings if self._adjacent else self.embeddings[1:]
        memories = _embed_bags(story, [table.weight for table in tables], story_encoding)
        # (B, N, T D), T = K+1 or 2 tables
        if self.temporal_encoding:  # one temporal table per embedding table, side by side too
            temporal = torch.cat(tuple(self.temporal), dim=1)[time]  # (B, N, T D)
            if time_scale is not None:
                temporal = temporal * time_scale.repeat(len(tables))  # (B, N, T D)
            real = story_mask.unsqueeze(-1).to(weight.dtype)  # (B, N, 1) empty slots get none
            memories = memories + temporal * real  # (B, N, T D)
        memories = memories.unflatten(-1, (len(tables), self.embedding_size)).unbind(-2)
        # T x (B, N, D)
        if self._adjacent:
            memory_in = torch.stack(memories[:-1], dim=1)  # (B, K, N, D)
            memory_out = torch.stack(memories[1:], dim=1)  # (B, K, N, D)
        else:
            memory_in, memory_out = memories  # (B, N, D) each, shared by the hops

        attention_mask = None if self.attend_to_empty_slots else story_mask  # (B, N)
        state, attention = self.memory_hops(
            memory_in, memory_out, query, attention_mask, use_softmax=use_softmax
        )  # (B, D), (B, K, N)
        answer_weight = self.answer_weight  # (O, D)
        if self.answer is None:  # tied to C^K: the nil word is never an answer
            answer_weight = without_nil(answer_weight)
        return state @ answer_weight.T, attention  # (B, O), (B, K, N)


# builders


def memn2n_babi_1k(
    vocab_size: int,
    num_answers: int | None = None,
    *,
    answer_word_ids: list[int] | None = None,
    memory_size: int = 50,
    embedding_size: int = 20,
) -> MemN2N:
    """bAbI 1k, per task (section 4): d = 20, K = 3, PE, TE, adjacent tying, RN 0.1; with
    ``num_answers`` the answers are words (W^T = C^K, ``answers_as_words``).

    Train with linear start by calling with ``use_softmax=False`` for the first epochs.
    """
    return MemN2N(
        vocab_size=vocab_size,
        num_answers=num_answers,
        answers_as_words=num_answers is not None,
        answer_word_ids=answer_word_ids,
        memory_size=memory_size,
        embedding_size=embedding_size,
        random_noise=0.1,
    )


def memn2n_babi_joint(
    vocab_size: int,
    num_answers: int | None = None,
    *,
    answer_word_ids: list[int] | None = None,
    memory_size: int = 50,
) -> MemN2N:
    """bAbI, all 20 tasks jointly (section 4): as :func:`memn2n_babi_1k` with d = 50."""
    return memn2n_babi_1k(
        vocab_size,
        num_answers,
        answer_word_ids=answer_word_ids,
        memory_size=memory_size,
        embedding_size=50,
    )
