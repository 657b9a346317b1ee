"""Seed Method 2: a per-step MLP on [V(t), A(t)], turned into one decision per sample.

By default exactly ``Linear(2->32) -> ReLU -> Linear(32->16) -> ReLU -> Linear(16->2)``;
``hidden_sizes`` changes widths and depth. Every valid step is a training example carrying its
sample's label (cross-entropy). **Decision rule:** a sample's score is the mean, over its steps,
of the per-step probability of *misaligned*; the sample is misaligned when the score reaches θ
(0.5 by default). ``inputs="rich"`` feeds the whole visual and audio tokens instead (flow grid,
frame difference, onset, MFCC) for comparison.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from avalign.models.base import SyncModel

INPUTS = ("curves", "rich")


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class StepMLP(SyncModel):
    """Per-step classifier averaged over the sample."""

    def __init__(
        self,
        visual_dim: int,
        audio_dim: int,
        hidden_sizes: list[int] | tuple[int, ...] = (32, 16),
        inputs: str = "curves",
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        theta: float | None = 0.5,
        step_ms: float = 200.0,
        **_: object,
    ) -> None:
        super().__init__(visual_dim, audio_dim, theta, step_ms)
        if inputs not in INPUTS:
            raise ValueError(f"model.inputs must be one of {INPUTS}, not {inputs!r}")
        self.save_hyperparameters()
        width = 2 if inputs == "curves" else visual_dim + audio_dim
        self.net = mlp([width, *[int(h) for h in hidden_sizes], 2])

    def step_inputs(self, batch: dict) -> torch.Tensor:
        visual, audio = self.normalized(batch)
        if self.hparams.inputs == "curves":  # V(t) and A(t) are the first entries of the tokens
            return torch.stack([visual[..., 0], audio[..., 0]], dim=-1)
        return torch.cat([visual, audio], dim=-1)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        logits = self.net(self.step_inputs(batch))  # (B, T, 2)
        mask = batch["mask"]
        step_prob = logits.softmax(-1)[..., 1]
        score = (step_prob * mask).sum(1) / mask.sum(1).clamp_min(1)
        return {"score": score, "step_logits": logits}

    def loss(self, batch: dict, out: dict[str, torch.Tensor]) -> torch.Tensor:
        mask = batch["mask"]
        targets = batch["target"].unsqueeze(1).expand_as(mask)
        return nn.functional.cross_entropy(out["step_logits"][mask], targets[mask])

    def configure_optimizers(self, max_epochs: int | None = None):
        return self.adamw(cosine=False, max_epochs=max_epochs)
