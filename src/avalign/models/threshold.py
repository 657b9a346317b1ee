"""Seed Method 1: a threshold on the mean distance between the visual and audio curves.

``sync_score = mean_t |z(V)(t) - z(A)(t)|`` over the sample's steps, where ``z`` standardises each
curve by its own mean and standard deviation (`avalign.models.curves.zscore`). The sample is
synchronized when ``sync_score < theta``; θ is chosen on the validation split to maximise F1
unless given. Nothing is learned, which makes it the baseline every other model must beat.
"""

from __future__ import annotations

import torch

from avalign.models.base import SyncModel
from avalign.models.curves import zscore


class ThresholdModel(SyncModel):
    """|V - A| distance with a tuned (or fixed) threshold θ."""

    trainable = False

    def __init__(
        self,
        visual_dim: int,
        audio_dim: int,
        theta: float | None = None,
        step_ms: float = 200.0,
        **_: object,
    ) -> None:
        super().__init__(visual_dim, audio_dim, theta, step_ms)
        self.save_hyperparameters()

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        mask = batch["mask"]
        distance = (zscore(batch["v_curve"], mask) - zscore(batch["a_curve"], mask)).abs()
        score = (distance * mask).sum(1) / mask.sum(1).clamp_min(1)
        return {"score": score}
