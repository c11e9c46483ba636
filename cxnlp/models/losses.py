"""The training loss both torch-trained parts share (the encoder and the fast family's hidden layer).

Multi-label log-loss where each (example, key) cell has a weight: 0 where the key is unknown for that
example (a partially labelled row), the example's weight otherwise (synthetic comments count less,
soft distillation targets as they are).  Averaged over the weight actually present in the batch, so a
batch with few known cells is not scaled down.
"""

from __future__ import annotations

import torch


def masked_bce(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, pos_weight: torch.Tensor | None = None
) -> torch.Tensor:
    """``pos_weight`` (one per key) scales the positive term, for keys with few positives."""
    el = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none", pos_weight=pos_weight)
    return (el * weights).sum() / weights.sum().clamp(min=1.0)
