"""What every sync detector shares: normalised inputs, a decision threshold, its own loss.

A model maps a batch to a per-sample ``score`` (higher = more likely misaligned) and, if it can,
a misalignment type and an offset estimate; it turns scores into decisions with the threshold θ
(fixed, or chosen on the validation split when ``theta`` is None). How it is stepped, judged and
recorded during training is not its business: Lightning's step hooks hand over to the attached
task (`avalign.training.task.SyncTask`), which computes the metrics and chooses θ.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch

from avalign.models.inputs import InputStats


class SyncModel(pl.LightningModule):
    """Base LightningModule of avalign's detectors.

    Parameters
    ----------
    visual_dim, audio_dim : sizes of the per-step visual and audio tokens.
    theta : decision threshold on the score; None chooses it on the validation split.
    step_ms : duration of one feature step, ms (1000 / feature fps), for offsets.
    """

    #: whether `fit` has anything to learn (threshold and xcorr only tune θ on validation)
    trainable: bool = True
    #: whether the model outputs an offset estimate
    estimates_offset: bool = False

    def __init__(
        self, visual_dim: int, audio_dim: int, theta: float | None, step_ms: float
    ) -> None:
        super().__init__()
        self.tune_theta = theta is None
        self.step_ms = step_ms
        self.register_buffer("theta", torch.tensor(math.nan if theta is None else float(theta)))
        self.register_buffer("visual_mean", torch.zeros(visual_dim))
        self.register_buffer("visual_std", torch.ones(visual_dim))
        self.register_buffer("audio_mean", torch.zeros(audio_dim))
        self.register_buffer("audio_std", torch.ones(audio_dim))
        self.feature_settings: dict[str, Any] = {}  # the features it was trained on (set by train)
        self.task = None  # how it is trained and judged: `avalign.training.task.SyncTask`

    # ----------------------------------------------------------------- inputs
    def set_input_stats(self, stats: InputStats) -> None:
        """Store the training split's feature statistics (saved with the checkpoint)."""
        self.visual_mean.copy_(stats.visual_mean)
        self.visual_std.copy_(stats.visual_std)
        self.audio_mean.copy_(stats.audio_mean)
        self.audio_std.copy_(stats.audio_std)

    def normalized(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised visual and audio tokens; padded steps are zero."""
        mask = batch["mask"].unsqueeze(-1)
        visual = (batch["visual"] - self.visual_mean) / self.visual_std
        audio = (batch["audio"] - self.audio_mean) / self.audio_std
        return visual * mask, audio * mask

    # --------------------------------------------------------------- outputs
    def forward(self, batch: dict) -> dict[str, torch.Tensor]:  # pragma: no cover - abstract
        """``{"score": (B,)}`` plus optional ``"offset_ms": (B,)`` and ``"type_logits": (B, 5)``."""
        raise NotImplementedError

    def decide(self, scores: torch.Tensor) -> torch.Tensor:
        """1 (misaligned) where the score reaches θ."""
        return (scores >= self.theta).long()

    # ------------------------------------------------------ training (delegated)
    # How a detector is taught and judged (steps, metrics, θ chosen on validation) is the task's
    # job (`avalign.training.task.SyncTask`, attached by the training code), as pyannote-audio
    # separates a Model from its Task: the model only says what it is and what it outputs.
    def _attached_task(self):
        if self.task is None:
            raise RuntimeError(
                f"{type(self).__name__} has no training task: attach one "
                "(model.task = avalign.training.task.SyncTask()) before fitting or testing it"
            )
        return self.task

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._attached_task().training_step(self, batch)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._attached_task().validation_step(self, batch)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._attached_task().test_step(self, batch)

    def on_validation_epoch_end(self) -> None:
        self._attached_task().evaluate(self, "val")

    def on_test_epoch_end(self) -> None:
        self._attached_task().evaluate(self, "test")

    def loss(self, batch: dict, out: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """Training loss; models without parameters to learn return None."""
        return None

    def adamw(self, cosine: bool = False):
        """AdamW at ``hparams.lr``/``weight_decay``; with ``cosine``, annealed over the epochs."""
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        if (
            not cosine
            or self.trainer is None
            or not self.trainer.max_epochs
            or self.trainer.max_epochs < 1
        ):
            return optimizer
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=self.trainer.max_epochs
        )
        return {"optimizer": optimizer, "lr_scheduler": schedule}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Record the class and feature settings, so any checkpoint can be rebuilt and fed."""
        checkpoint["avalign_model_class"] = f"{type(self).__module__}.{type(self).__qualname__}"
        checkpoint["avalign_feature_config"] = self.feature_settings

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.feature_settings = dict(checkpoint.get("avalign_feature_config") or {})
