"""Attention and memory addressing: the primitive every memnets model is built on.

A query is compared with keys, a softmax turns the scores into weights over the
addressed axis, and the weights read a weighted sum of values. The Neural
Turing Machine (Graves et al. 2014, "Neural Turing Machines", section 3) adds
location-based addressing on top of content addressing:

    content      w_c[i] = softmax_i(beta * K(k, M[i]))                 (eqs. 5-6)
    interpolate  w_g    = g * w_c + (1 - g) * w_{t-1}                  (eq. 7)
    shift        w~[i]  = sum_j w_g[j] * s[(i - j) mod N]              (eq. 8)
    sharpen      w[i]   = w~[i]^gamma / sum_j w~[j]^gamma              (eq. 9)
    read         r      = sum_i w[i] M[i]                              (eq. 2)
    write        M'     = M * (1 - w e^T) + w a^T                      (eqs. 3-4)

with K the cosine similarity. Multiple heads erase and add in one vectorised
step: M' = M * prod_h (1 - w_h e_h^T) + sum_h w_h a_h^T.

Every function here is pure, batched and device/dtype agnostic.

Tensor letters follow the package glossary (``memnets/__init__.py``): B batch, N memory slots
(keys), M slot width, H heads, Q queries, D key/query width, E value width, U hidden units,
S shift range.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from memnets._checks import check_positive, check_shape

__all__ = [
    "masked_softmax",
    "cosine_similarity",
    "content_weights",
    "dot_product_attention",
    "scaled_dot_product_attention",
    "AdditiveAttention",
    "hard_attention",
    "interpolate",
    "shift",
    "sharpen",
    "read",
    "write",
]

# helpers


def _check_tensor(name: str, value: object) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")


def masked_softmax(scores: Tensor, mask: Tensor | None = None, *, dim: int = -1) -> Tensor:
    """Softmax over ``dim`` ignoring positions where ``mask`` is False.

    ``mask`` broadcasts against ``scores``. Rows whose every position is masked
    give all-zero weights instead of NaN.
    """
    _check_tensor("scores", scores)
    if mask is not None:
        _check_tensor("mask", mask)
        try:
            broadcast = torch.broadcast_shapes(mask.shape, scores.shape)
        except RuntimeError:
            broadcast = None
        if broadcast != scores.shape:
            raise ValueError(
                f"mask has shape {tuple(mask.shape)}, which does not broadcast against scores "
                f"of shape {tuple(scores.shape)}"
            )
    if mask is None:
        return torch.softmax(scores, dim=dim)
    mask = mask.to(torch.bool)
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=dim)
    return weights * mask.to(weights.dtype)  # exact zeros where masked, zero rows if all masked


def _as_head_scalar(name: str, value: Tensor, batch: int, heads: int) -> Tensor:
    """Accept a per-head scalar as (B, H) or (B, H, 1); return (B, H, 1)."""
    _check_tensor(name, value)
    if value.dim() == 3:
        check_shape(name, value, (batch, heads, 1))
        return value
    check_shape(name, value, (batch, heads))
    return value.unsqueeze(-1)


# content addressing


def cosine_similarity(memory: Tensor, keys: Tensor) -> Tensor:
    """Cosine similarity of every key with every memory row.

    memory (B, N, M), keys (B, H, M) -> (B, H, N). Zero rows or keys give 0.
    """
    sizes = check_shape("memory", memory, ("B", "N", "M"))
    check_shape("keys", keys, (sizes["B"], "H", sizes["M"]))
    return _cosine(memory, keys)


def _cosine_eps(dtype: torch.dtype) -> float:
    # float16 needs a larger eps: 1e-8 rounds to 0 there and a zero vector gave 0 * inf = NaN
    return {torch.float64: 1e-12, torch.float16: 1e-6}.get(dtype, 1e-8)


def _cosine(memory: Tensor, keys: Tensor, eps: float | None = None) -> Tensor:
    """:func:`cosine_similarity` without checks: dot products scaled by the inverse norms.

    Equal to ``(k / sqrt(||k||^2 + eps)) . (m / sqrt(||m||^2 + eps))``: the keys are
    normalised, the memory is not (its rows' inverse norms scale the dot products), so no
    normalised copy of memory is built. Zero rows or keys give 0, no NaN.

    Supported magnitudes (tests/test_numerics.py): values and gradients are exact for entries
    up to 1e12 in float32 and 1e100 in float64 (M <= 4096). Beyond, rsqrt's backward cubes
    ~1/||x|| and underflows, so gradients lose accuracy (float32 from ~1e13); once ||x||^2
    overflows (float32 ~1e19 / sqrt(M), float64 ~1e154 / sqrt(M)) the similarity silently
    becomes 0. ``eps`` (default by dtype: 1e-8 for float32) is added to the squared norms: rows
    much smaller than sqrt(eps) all get a cosine near 0 (pass a smaller one to tell them apart).
    """
    eps = _cosine_eps(memory.dtype) if eps is None else eps
    unit_keys = keys * torch.rsqrt((keys * keys).sum(dim=-1, keepdim=True) + eps)  # (B, H, M)
    row_scale = torch.rsqrt((memory * memory).sum(dim=-1) + eps)  # (B, N)
    return (unit_keys @ memory.transpose(1, 2)) * row_scale.unsqueeze(1)  # (B, H, N)


def content_weights(
    memory: Tensor, keys: Tensor, strengths: Tensor, *, hard: bool = False, training: bool = False
) -> Tensor:
    """NTM content addressing: softmax over slots of ``strength * cosine(key, row)``.

    memory (B, N, M), keys (B, H, M), strengths (B, H) or (B, H, 1) -> weights (B, H, N).
    ``hard=True`` returns one slot per head (see :func:`hard_attention`).
    """
    sizes = check_shape("memory", memory, ("B", "N", "M"))
    heads = check_shape("keys", keys, (sizes["B"], "H", sizes["M"]))["H"]
    strengths = _as_head_scalar("strengths", strengths, sizes["B"], heads)
    weights = _content_weights(memory, keys, strengths)  # (B, H, N)
    return hard_attention(weights, training=training) if hard else weights


def _content_weights(memory: Tensor, keys: Tensor, strengths: Tensor) -> Tensor:
    """:func:`content_weights` without checks: strengths (B, H, 1) -> weights (B, H, N)."""
    return torch.softmax(strengths * _cosine(memory, keys), dim=-1)  # (B, H, N)


# attention with queries, keys and values


def hard_attention(
    weights: Tensor, *, training: bool = False, generator: torch.Generator | None = None
) -> Tensor:
    """Turn soft weights (..., N) into one-hot selections of one slot.

    At training time a slot is sampled from the weights and the straight-through
    estimator passes the gradient of the soft weights; at eval the argmax is taken.
    The forward value is exactly one-hot either way.
    """
    _check_tensor("weights", weights)
    if weights.dim() == 0 or weights.shape[-1] == 0:
        raise ValueError(
            f"weights must have a non-empty last axis (..., N), got shape {tuple(weights.shape)}"
        )
    if training:
        flat = weights.detach().reshape(-1, weights.shape[-1]).float()  # (*, N)
        # an all-zero row (e.g. every key masked) made multinomial raise; sample it uniformly
        # instead (callers with a mask zero the selection again, as argmax does at eval)
        flat = torch.where(flat.sum(-1, keepdim=True) > 0, flat, torch.ones_like(flat))
        index = torch.multinomial(flat, 1, generator=generator)  # (*, 1)
        index = index.reshape(*weights.shape[:-1], 1)
    else:
        index = weights.argmax(dim=-1, keepdim=True)
    one_hot = torch.zeros_like(weights).scatter_(-1, index, 1.0)
    # value exactly one-hot, gradient of the soft weights; the brackets matter: w - w.detach()
    # is exactly 0, whereas (1 + w) - w rounds to 1 - ulp
    return one_hot + (weights - weights.detach())


def _scores(query: Tensor, keys: Tensor) -> Tensor:
    """Dot products of query (B, Q, D) with keys (B, N, D) -> (B, Q, N). One query (MemN2N's
    hops) takes a broadcast product and a sum: on a CPU, a batch of tiny matrix products
    costs several times as much, forward and backward."""
    if query.shape[1] == 1:
        return (query * keys).sum(-1).unsqueeze(1)  # (B, 1, N)
    return torch.einsum("bqd,bnd->bqn", query, keys)  # (B, Q, N)


def _read(weights: Tensor, values: Tensor) -> Tensor:
    """The weighted sums of values (B, N, E) by weights (B, Q, N) -> (B, Q, E); one query as
    a broadcast product and a sum, as in :func:`_scores`."""
    if weights.shape[1] == 1:
        return (weights.transpose(1, 2) * values).sum(1, keepdim=True)  # (B, 1, E)
    return torch.einsum("bqn,bnv->bqv", weights, values)  # (B, Q, E)


def _attend(
    scores: Tensor,
    values: Tensor,
    mask: Tensor | None,
    hard: bool,
    training: bool,
    use_softmax: bool = True,
) -> tuple[Tensor, Tensor]:
    if not use_softmax:  # linear attention: the raw scores, zero where masked
        if hard:
            raise ValueError("hard=True needs use_softmax=True (it samples from the softmax)")
        weights = scores if mask is None else scores * mask.to(scores.dtype)  # (B, Q, N)
        return _read(weights, values), weights  # (B, Q, E), (B, Q, N)
    weights = masked_softmax(scores, mask, dim=-1)  # (B, Q, N)
    if hard:
        weights = hard_attention(weights, training=training)
        if mask is not None:
            weights = weights * mask.to(weights.dtype)
    return _read(weights, values), weights  # (B, Q, E), (B, Q, N)


def _check_mask(mask: Tensor | None, batch: int, queries: int, keys: int) -> None:
    """A mask is (B, N) (per key) or (B, Q, N) (per query and key)."""
    if mask is None:
        return
    _check_tensor("mask", mask)
    if mask.dim() == 2:
        check_shape("mask", mask, (batch, keys))
    elif mask.dim() == 3:
        check_shape("mask", mask, (batch, queries, keys))
    else:
        raise ValueError(
            f"mask must have shape (B, N) = {(batch, keys)} or (B, Q, N) = "
            f"{(batch, queries, keys)}, got shape {tuple(mask.shape)}"
        )


def _check_qkv(query: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None) -> None:
    sizes = check_shape("query", query, ("B", "Q", "D"))
    check_shape("keys", keys, (sizes["B"], "N", sizes["D"]))
    check_shape("values", values, (sizes["B"], keys.shape[1], "E"))
    _check_mask(mask, sizes["B"], sizes["Q"], keys.shape[1])


def _expand_mask(mask: Tensor | None) -> Tensor | None:
    return mask.unsqueeze(1) if mask is not None and mask.dim() == 2 else mask  # (B, 1|Q, N)


def dot_product_attention(
    query: Tensor,
    keys: Tensor,
    values: Tensor,
    mask: Tensor | None = None,
    *,
    scale: float = 1.0,
    hard: bool = False,
    training: bool = False,
    use_softmax: bool = True,
) -> tuple[Tensor, Tensor]:
    """Dot-product attention.

    query (B, Q, D), keys (B, N, D), values (B, N, E), mask (B, N) or (B, Q, N) with
    True where a key may be attended -> (output (B, Q, E), weights (B, Q, N)).
    ``use_softmax=False`` skips the softmax: the weights are the raw scores, zero where
    masked (MemN2N's linear start, Sukhbaatar et al. 2015 section 4.2).
    """
    _check_qkv(query, keys, values, mask)
    scores = scale * _scores(query, keys)  # (B, Q, N)
    return _attend(scores, values, _expand_mask(mask), hard, training, use_softmax)


def scaled_dot_product_attention(
    query: Tensor,
    keys: Tensor,
    values: Tensor,
    mask: Tensor | None = None,
    *,
    hard: bool = False,
    training: bool = False,
) -> tuple[Tensor, Tensor]:
    """Dot-product attention scaled by ``1/sqrt(D)`` (Vaswani et al. 2017)."""
    scale = check_shape("query", query, ("B", "Q", "D"))["D"] ** -0.5
    return dot_product_attention(
        query, keys, values, mask, scale=scale, hard=hard, training=training
    )


class AdditiveAttention(nn.Module):
    """Additive attention (Bahdanau et al. 2015): ``score = v^T tanh(W_q q + W_k k)``.

    ``hard=True`` selects one key per query (sampled in training, argmax in eval).
    """

    def __init__(
        self, *, query_size: int, key_size: int, hidden_size: int = 64, hard: bool = False
    ) -> None:
        super().__init__()
        check_positive("query_size", query_size)
        check_positive("key_size", key_size)
        check_positive("hidden_size", hidden_size)
        self.query_projection = nn.Linear(query_size, hidden_size, bias=False)
        self.key_projection = nn.Linear(key_size, hidden_size, bias=True)
        self.score = nn.Linear(hidden_size, 1, bias=False)
        self.hard = hard

    def forward(
        self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """query (B, Q, Dq), keys (B, N, Dk), values (B, N, E) -> ((B, Q, E), (B, Q, N))."""
        sizes = check_shape("query", query, ("B", "Q", self.query_projection.in_features))
        check_shape("keys", keys, (sizes["B"], "N", self.key_projection.in_features))
        check_shape("values", values, (sizes["B"], keys.shape[1], "E"))
        _check_mask(mask, sizes["B"], sizes["Q"], keys.shape[1])
        hidden = torch.tanh(
            self.query_projection(query).unsqueeze(2)  # (B, Q, 1, U)
            + self.key_projection(keys).unsqueeze(1)  # (B, 1, N, U)
        )
        scores = self.score(hidden).squeeze(-1)  # (B, Q, N)
        return _attend(scores, values, _expand_mask(mask), self.hard, self.training)


# location addressing


def interpolate(content: Tensor, previous: Tensor, gate: Tensor) -> Tensor:
    """``gate * content + (1 - gate) * previous``.

    content, previous (B, H, N); gate (B, H) or (B, H, 1) in [0, 1] -> (B, H, N).
    """
    sizes = check_shape("content", content, ("B", "H", "N"))
    check_shape("previous", previous, (sizes["B"], sizes["H"], sizes["N"]))
    gate = _as_head_scalar("gate", gate, sizes["B"], sizes["H"])
    return gate * content + (1 - gate) * previous


def shift(weights: Tensor, shift_weights: Tensor) -> Tensor:
    """Circular convolution of weights with a distribution over shifts.

    weights (B, H, N); shift_weights (B, H, S) with S odd, entry s the weight of a
    shift by ``s - S // 2`` slots (S = 3: -1, 0, +1) -> (B, H, N). A one-hot at
    slot i shifted by +1 moves to slot i + 1 and wraps around at the end.
    """
    sizes = check_shape("weights", weights, ("B", "H", "N"))
    check_shape("shift_weights", shift_weights, (sizes["B"], sizes["H"], "S"))
    shifts = shift_weights.shape[-1]
    if shifts % 2 == 0:
        raise ValueError(
            f"shift_weights must cover an odd number of shifts, got {shifts} "
            f"(shape {tuple(shift_weights.shape)})"
        )
    return _shift(weights, shift_weights)


def _shift(weights: Tensor, shift_weights: Tensor) -> Tensor:
    """:func:`shift` without checks: circular padding and ``unfold``, no index tensors."""
    slots, half = weights.shape[-1], shift_weights.shape[-1] // 2
    if half <= slots:  # wrap by slicing: the last `half` slots before, the first `half` after
        padded = torch.cat([weights[..., slots - half :], weights, weights[..., :half]], dim=-1)
    else:  # a shift range wider than the memory wraps more than once: tile enough copies
        copies = -(-half // slots)  # ceil(half / slots)
        tiled = weights.repeat(1, 1, 2 * copies + 1)  # (B, H, (2 copies + 1) N)
        padded = tiled[..., copies * slots - half : copies * slots + slots + half]
    windows = padded.unfold(-1, 2 * half + 1, 1)  # (B, H, N, S): window i holds w[i-half..i+half]
    # window entry j is w[i - half + j], the source of the shift by half - j: weight s[S-1-j]
    return (windows * shift_weights.flip(-1).unsqueeze(2)).sum(dim=-1)  # (B, H, N)


def sharpen(weights: Tensor, gamma: Tensor) -> Tensor:
    """``w^gamma / sum w^gamma``, computed as a softmax of ``gamma * log w``.

    weights (B, H, N); gamma (B, H) or (B, H, 1), gamma >= 1 -> (B, H, N). The
    log-domain form stays finite for gamma in the thousands, where ``w ** gamma``
    underflows to 0/0.
    """
    sizes = check_shape("weights", weights, ("B", "H", "N"))
    gamma = _as_head_scalar("gamma", gamma, sizes["B"], sizes["H"])
    return _sharpen(weights, gamma)


def _sharpen(weights: Tensor, gamma: Tensor) -> Tensor:
    """:func:`sharpen` without checks: weights (B, H, N), gamma (B, H, 1)."""
    eps = 1e-30 if weights.dtype == torch.float64 else 1e-12
    if weights.dtype in (torch.float16, torch.bfloat16):
        eps = 1e-4
    return torch.softmax(gamma * torch.log(weights + eps), dim=-1)


# memory access


def read(memory: Tensor, weights: Tensor) -> Tensor:
    """Weighted read, all heads at once: memory (B, N, M), weights (B, H, N) -> (B, H, M)."""
    sizes = check_shape("memory", memory, ("B", "N", "M"))
    check_shape("weights", weights, (sizes["B"], "H", sizes["N"]))
    return weights @ memory  # (B, H, M)


def write(memory: Tensor, weights: Tensor, erase: Tensor, add: Tensor) -> Tensor:
    """Erase then add, all heads at once.

    memory (B, N, M); weights (B, H, N); erase (B, H, M) in [0, 1]; add (B, H, M)
    -> new memory (B, N, M) = M * prod_h (1 - w_h e_h^T) + sum_h w_h a_h^T.
    """
    sizes = check_shape("memory", memory, ("B", "N", "M"))
    check_shape("weights", weights, (sizes["B"], "H", sizes["N"]))
    heads = weights.shape[1]
    check_shape("erase", erase, (sizes["B"], heads, sizes["M"]))
    check_shape("add", add, (sizes["B"], heads, sizes["M"]))
    return _write(memory, weights, erase, add)


def _write(memory: Tensor, weights: Tensor, erase: Tensor, add: Tensor) -> Tensor:
    """:func:`write` without checks."""
    heads = weights.shape[1]
    added = weights.transpose(1, 2) @ add  # (B, N, M)
    if heads == 1:  # the common case, without a product over heads
        return memory * (1 - weights.transpose(1, 2) * erase) + added
    keep = 1 - weights.unsqueeze(-1) * erase.unsqueeze(2)  # (B, H, N, M)
    return memory * keep.prod(dim=1) + added
