"""What every sync detector shares: normalised inputs, a decision threshold, and evaluation.

A model maps a batch to a per-sample ``score`` (higher = more likely misaligned) and, if it can,
a misalignment type and an offset estimate. This base class turns scores into decisions with the
threshold θ (fixed, or chosen on the validation split to maximise F1 when ``theta`` is None),
computes every metric of `avalign.metrics` per split under ``stage/metric`` names, and keeps the
last scores of each split so that the training script can plot them.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytorch_lightning as pl
import torch

from avalign.inputs import InputStats
from avalign.metrics import best_theta, classification_metrics, offset_metrics

# Epoch metrics are computed from outputs gathered from every process (identical on all ranks)
# and logged from rank 0 only, so Lightning's advice to reduce them with sync_dist does not apply.
warnings.filterwarnings("ignore", message=".*sync_dist=True.*")


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
        self._outputs: dict[str, list[dict[str, torch.Tensor]]] = {}
        self.collected: dict[str, dict[str, torch.Tensor]] = {}
        self.theta_curve_data: dict[str, Any] | None = None

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

    # ------------------------------------------------------------ evaluation
    def _collect(self, stage: str, batch: dict, out: dict[str, torch.Tensor]) -> None:
        record = {
            "score": out["score"].detach(),
            "target": batch["target"],
            "type_index": batch["type_index"],
            "offset_ms": batch["offset_ms"],
        }
        if "offset_ms" in out:
            record["offset_pred_ms"] = out["offset_ms"].detach()
        self._outputs.setdefault(stage, []).append(record)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        out = self(batch)
        self._collect("val", batch, out)
        loss = self.loss(batch, out) if self.trainable else None
        if loss is not None:
            self.log("val/loss", loss, batch_size=len(batch["target"]), sync_dist=True)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._collect("test", batch, self(batch))

    def loss(self, batch: dict, out: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """Training loss; models without parameters to learn return None."""
        return None

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self.loss(batch, self(batch))
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["target"]))
        return loss

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

    def _gathered(self, stage: str) -> dict[str, torch.Tensor]:
        records = self._outputs.pop(stage, [])
        merged = {k: torch.cat([r[k] for r in records]) for k in records[0]} if records else {}
        if merged and self.trainer is not None and self.trainer.world_size > 1:
            merged = {k: self.all_gather(v).reshape(-1, *v.shape[1:]) for k, v in merged.items()}
        return merged

    def _evaluate(self, stage: str) -> None:
        data = self._gathered(stage)
        if not data:
            return
        scores = data["score"].float().cpu()
        targets = data["target"].cpu()
        if stage == "val" and self.tune_theta and targets.min() != targets.max():
            self.theta.fill_(best_theta(scores, targets))
        metrics = classification_metrics(
            scores, targets, float(self.theta), data["type_index"].cpu(), data["offset_ms"].cpu()
        )
        if "offset_pred_ms" in data:
            metrics.update(
                offset_metrics(
                    data["offset_pred_ms"].cpu(), data["offset_ms"].cpu(), data["type_index"].cpu()
                )
            )
        metrics["theta"] = float(self.theta)
        self.collected[stage] = {k: v.cpu() for k, v in data.items()}
        if not self.trainer.sanity_checking:
            self.log_dict({f"{stage}/{k}": v for k, v in metrics.items()}, rank_zero_only=True)

    def on_validation_epoch_end(self) -> None:
        self._evaluate("val")

    def on_test_epoch_end(self) -> None:
        self._evaluate("test")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Record the class and feature settings, so any checkpoint can be rebuilt and fed."""
        checkpoint["avalign_model_class"] = f"{type(self).__module__}.{type(self).__qualname__}"
        checkpoint["avalign_feature_config"] = self.feature_settings

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.feature_settings = dict(checkpoint.get("avalign_feature_config") or {})
