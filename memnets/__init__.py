"""memnets: differentiable memory architectures in PyTorch.

The core (this package's modules other than ``memnets.training``) imports torch
only; the Lightning training layer lives in ``memnets.training``.
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
    "NTM",
    "NTMCell",
    "NTMInternals",
    "NTMState",
    "ReadHead",
    "WriteHead",
    "content_weights",
    "cosine_similarity",
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
