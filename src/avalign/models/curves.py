"""Per-sample curve normalisation shared by the training-free models."""

from __future__ import annotations

import torch

#: Curves flatter than this (std) are treated as constant: their z-score is 0 everywhere.
FLAT = 1e-6


def zscore(curve: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Standardise each row of ``curve`` (B, T) over its valid steps; padding and flat rows -> 0.

    This is the normalisation of the seed's Method 1: subtracting each curve's own mean and
    dividing by its own standard deviation makes V(t) (pixels per step) and A(t) (log energy)
    comparable in shape regardless of their units and levels.
    """
    weight = mask.float()
    count = weight.sum(1, keepdim=True).clamp_min(1.0)
    mean = (curve * weight).sum(1, keepdim=True) / count
    centred = (curve - mean) * weight
    std = (centred.pow(2).sum(1, keepdim=True) / count).sqrt()
    return torch.where(std > FLAT, centred / std.clamp_min(FLAT), torch.zeros_like(centred))
