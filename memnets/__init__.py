"""memnets: differentiable memory architectures in PyTorch.

The core (this package's modules other than ``memnets.training``) imports torch
only; the Lightning training layer lives in ``memnets.training``.

Glossary of tensor letters, used by the shape notes (``# (B, N, M)``) and shape errors of
every file of the package:

    B  batch                          T  time steps
    I  input size                     O  outputs (output bits, answer logits)
    C  controller size                N  memory slots: NTM rows, MemN2N story sentences, keys
    M  slot width (NTM)               D  key, query or embedding width
    E  value width (attention)        U  hidden units (additive attention)
    Q  queries                        H  heads of one kind
    R  read heads                     W  write heads
    S  shift range (odd kernel width) K  hops (MemN2N memory layers)
    L  words per sentence             V  vocabulary size
    A  answer classes

A paper's matrices (MemN2N's A, B, C, W, H, T_A, T_C) are named in words, not by these letters.
"""

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
from memnets.dnc import DNC, DNCInternals, DNCState, dnc_babi, dnc_copy
from memnets.ntm import (
    NTM,
    Addressing,
    NTMCell,
    NTMInternals,
    NTMState,
    ReadHead,
    WriteHead,
    ntm_associative_recall,
    ntm_copy,
    ntm_priority_sort,
    ntm_repeat_copy,
)

__version__ = "0.1.0"

__all__ = [
    "AdditiveAttention",
    "Addressing",
    "DNC",
    "DNCInternals",
    "DNCState",
    "NTM",
    "NTMCell",
    "NTMInternals",
    "NTMState",
    "ReadHead",
    "WriteHead",
    "content_weights",
    "cosine_similarity",
    "dnc_babi",
    "dnc_copy",
    "dot_product_attention",
    "hard_attention",
    "interpolate",
    "masked_softmax",
    "ntm_associative_recall",
    "ntm_copy",
    "ntm_priority_sort",
    "ntm_repeat_copy",
    "read",
    "scaled_dot_product_attention",
    "sharpen",
    "shift",
    "write",
]
