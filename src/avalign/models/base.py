"""What every sync detector shares: normalised inputs, a decision threshold, its own loss.

A model maps a batch to a per-sample ``score`` (higher = more likely misaligned) and, if it can,
a misalignment type and an offset estimate; it turns scores into decisions with the threshold θ
(fixed, or chosen on the validation split when ``theta`` is None). It is a plain
``torch.nn.Module``: checking videos needs nothing else (not Lightning, whose import alone costs
about 300 MB and 4 s per process here). How it is stepped, judged and recorded during training
is not its business: the Lightning side is the task that trains it
(`avalign.training.task.SyncTask`), which computes the metrics, chooses θ and writes the
checkpoints.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import torch
from torch import nn

from avalign.models.inputs import InputStats


class HyperParameters(dict):
    """A model's constructor settings, also readable as attributes (``hparams.lr``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(name) from error


class SyncModel(nn.Module):
    """Base class of avalign's detectors.

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
        self.hparams = HyperParameters()
        self.tune_theta = theta is None
        self.step_ms = step_ms
        self.register_buffer("theta", torch.tensor(math.nan if theta is None else float(theta)))
        self.register_buffer("visual_mean", torch.zeros(visual_dim))
        self.register_buffer("visual_std", torch.ones(visual_dim))
        self.register_buffer("audio_mean", torch.zeros(audio_dim))
        self.register_buffer("audio_std", torch.ones(audio_dim))
        self.feature_settings: dict[str, Any] = {}  # the features it was trained on (set by train)

    def save_hyperparameters(self) -> None:
        """Record the arguments of the calling ``__init__`` as ``hparams`` (the contents of its
        ``**kwargs`` merged in, as Lightning's method of this name does): a checkpoint stores
        them, and ``type(model)(**hparams)`` rebuilds the same network."""
        frame = inspect.currentframe().f_back
        try:
            arguments = inspect.getargvalues(frame)
            values = {name: arguments.locals[name] for name in arguments.args[1:]}  # not self
            if arguments.keywords:
                values.update(arguments.locals[arguments.keywords])
        finally:
            del frame
        self.hparams = HyperParameters(values)

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

    # ------------------------------------------------------------- learning
    # How a detector is taught and judged (steps, metrics, θ chosen on validation) is the task's
    # job (`avalign.training.task.SyncTask`), as pyannote-audio separates a Model from its Task:
    # the model only says what it is, what it outputs, and what it minimises with which optimiser.
    def loss(self, batch: dict, out: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """Training loss; models without parameters to learn return None."""
        return None

    def configure_optimizers(self, max_epochs: int | None = None):
        """The optimiser (and schedule) that trains it over ``max_epochs`` epochs, in the form of
        Lightning's hook of this name (the task returns it to the Trainer)."""
        raise NotImplementedError(f"{type(self).__name__} has nothing to train")

    def adamw(self, cosine: bool = False, max_epochs: int | None = None):
        """AdamW at ``hparams.lr``/``weight_decay``; with ``cosine``, annealed over
        ``max_epochs`` epochs (when known)."""
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        if not cosine or not max_epochs or max_epochs < 1:
            return optimizer
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_epochs)
        return {"optimizer": optimizer, "lr_scheduler": schedule}
