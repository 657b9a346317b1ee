"""How a detector is taught and judged: its steps, metrics per split, θ chosen on validation.

As pyannote-audio separates a *Model* from its *Task*, `avalign.models` says what a detector is
(its layers, its outputs, its loss) and this module says how it is trained and evaluated. A
model's Lightning hooks (``training_step``, ``validation_step``, ...) hand over to the `SyncTask`
attached to it as ``model.task``. The task keeps the last scores of each split (``collected``)
so that the run's record can plot them.
"""

from __future__ import annotations

import warnings

import torch

from avalign.models.base import SyncModel
from avalign.training.metrics import best_theta, classification_metrics, offset_metrics

# Epoch metrics are computed from outputs gathered from every process (identical on all ranks)
# and logged from rank 0 only, so Lightning's advice to reduce them with sync_dist does not apply.
warnings.filterwarnings("ignore", message=".*sync_dist=True.*")


class SyncTask:
    """Training and evaluation of a `SyncModel` on labelled samples or windows.

    Parameters
    ----------
    tune_theta : choose θ on the validation split (maximising F1); None follows the model
        (its ``theta`` setting was None). Evaluating elsewhere passes False: θ comes from
        training, never from the data under evaluation.
    """

    def __init__(self, tune_theta: bool | None = None) -> None:
        self.tune_theta = tune_theta
        self._outputs: dict[str, list[dict[str, torch.Tensor]]] = {}
        #: the last scores, targets and offsets of each split, on the CPU
        self.collected: dict[str, dict[str, torch.Tensor]] = {}

    @staticmethod
    def attach(model: SyncModel, tune_theta: bool | None = None) -> SyncTask:
        """A new task attached to ``model`` (replacing any earlier one); returned."""
        model.task = SyncTask(tune_theta)
        return model.task

    # ------------------------------------------------------------------ steps
    def training_step(self, model: SyncModel, batch: dict) -> torch.Tensor:
        loss = model.loss(batch, model(batch))
        model.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["target"]))
        return loss

    def validation_step(self, model: SyncModel, batch: dict) -> None:
        out = model(batch)
        self._collect("val", batch, out)
        loss = model.loss(batch, out) if model.trainable else None
        if loss is not None:
            model.log("val/loss", loss, batch_size=len(batch["target"]), sync_dist=True)

    def test_step(self, model: SyncModel, batch: dict) -> None:
        self._collect("test", batch, model(batch))

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
    def _gathered(self, model: SyncModel, stage: str) -> dict[str, torch.Tensor]:
        records = self._outputs.pop(stage, [])
        merged = {k: torch.cat([r[k] for r in records]) for k in records[0]} if records else {}
        if merged and model.trainer is not None and model.trainer.world_size > 1:
            merged = {k: model.all_gather(v).reshape(-1, *v.shape[1:]) for k, v in merged.items()}
        return merged

    def evaluate(self, model: SyncModel, stage: str) -> None:
        """At the end of an epoch of ``stage``: choose θ (validation) and log every metric."""
        data = self._gathered(model, stage)
        if not data:
            return
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
        if not model.trainer.sanity_checking:
            model.log_dict({f"{stage}/{k}": v for k, v in metrics.items()}, rank_zero_only=True)
