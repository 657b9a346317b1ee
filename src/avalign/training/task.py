"""How a detector is taught and judged: its steps, metrics per split, θ chosen on validation.

As pyannote-audio separates a *Model* from its *Task*, `avalign.models` says what a detector is
(its layers, its outputs, its loss) and this module says how it is trained and evaluated. The
detector is a plain ``torch.nn.Module``; the `SyncTask` that holds it as ``task.model`` is the
LightningModule the Trainer fits, validates and tests, and it writes the checkpoints in the form
`avalign.models.checkpoints.load_model` reads without Lightning. The task keeps the last scores
of each split (``collected``) so that the run's record can plot them.
"""

from __future__ import annotations

import warnings

import pytorch_lightning as pl
import torch

from avalign.models.base import SyncModel
from avalign.models.checkpoints import checkpoint_entries
from avalign.training.metrics import best_theta, classification_metrics, offset_metrics

# Epoch metrics are computed from outputs gathered from every process (identical on all ranks)
# and logged from rank 0 only, so Lightning's advice to reduce them with sync_dist does not apply.
warnings.filterwarnings("ignore", message=".*sync_dist=True.*")


class SyncTask(pl.LightningModule):
    """Training and evaluation of a `SyncModel` on labelled samples or windows.

    Parameters
    ----------
    model : the detector (``task.model``); it may be replaced, e.g. by its best epoch.
    tune_theta : choose θ on the validation split (maximising F1); None follows the model
        (its ``theta`` setting was None). Evaluating elsewhere passes False: θ comes from
        training, never from the data under evaluation.
    """

    def __init__(self, model: SyncModel, tune_theta: bool | None = None) -> None:
        super().__init__()
        self.model = model
        self.tune_theta = tune_theta
        self._outputs: dict[str, list[dict[str, torch.Tensor]]] = {}
        #: the last scores, targets and offsets of each split, on the CPU
        self.collected: dict[str, dict[str, torch.Tensor]] = {}

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        return self.model(batch)

    def configure_optimizers(self):
        return self.model.configure_optimizers(self.trainer.max_epochs)

    # ------------------------------------------------------------------ steps
    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self.model.loss(batch, self.model(batch))
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["target"]))
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        out = self.model(batch)
        self._collect("val", batch, out)
        loss = self.model.loss(batch, out) if self.model.trainable else None
        if loss is not None:
            self.log("val/loss", loss, batch_size=len(batch["target"]), sync_dist=True)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._collect("test", batch, self.model(batch))

    def on_validation_epoch_end(self) -> None:
        self.evaluate("val")

    def on_test_epoch_end(self) -> None:
        self.evaluate("test")

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

    # ------------------------------------------------------------- evaluation
    def _gathered(self, stage: str) -> dict[str, torch.Tensor]:
        records = self._outputs.pop(stage, [])
        merged = {k: torch.cat([r[k] for r in records]) for k in records[0]} if records else {}
        if merged and self.trainer.world_size > 1:
            merged = {k: self.all_gather(v).reshape(-1, *v.shape[1:]) for k, v in merged.items()}
        return merged

    def evaluate(self, stage: str) -> None:
        """At the end of an epoch of ``stage``: choose θ (validation) and log every metric."""
        data = self._gathered(stage)
        if not data:
            return
        model = self.model
        scores = data["score"].float().cpu()
        targets = data["target"].cpu()
        tune = model.tune_theta if self.tune_theta is None else self.tune_theta
        if stage == "val" and tune and targets.min() != targets.max():
            model.theta.fill_(best_theta(scores, targets))
        metrics = classification_metrics(
            scores, targets, float(model.theta), data["type_index"].cpu(), data["offset_ms"].cpu()
        )
        if "offset_pred_ms" in data:
            metrics.update(
                offset_metrics(
                    data["offset_pred_ms"].cpu(), data["offset_ms"].cpu(), data["type_index"].cpu()
                )
            )
        metrics["theta"] = float(model.theta)
        self.collected[stage] = {k: v.cpu() for k, v in data.items()}
        if not self.trainer.sanity_checking:
            self.log_dict({f"{stage}/{k}": v for k, v in metrics.items()}, rank_zero_only=True)

    # ------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Write the detector as `avalign.models.checkpoints.load_model` reads it: its own
        weights (without this task's ``model.`` prefix), settings, class and features."""
        checkpoint.update(checkpoint_entries(self.model))

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Resuming a fit from one of these checkpoints: the weights go back under ``model.``."""
        checkpoint["state_dict"] = {
            f"model.{key}": value for key, value in checkpoint["state_dict"].items()
        }
        self.model.feature_settings = dict(checkpoint.get("avalign_feature_config") or {})
