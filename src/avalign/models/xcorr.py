"""Fourier analysis: cross-correlate the visual and audio activity curves to find their offset.

The curves V(t) and A(t) of a sample are standardised (`zscore`) and cross-correlated with FFTs:
``ncc`` is the plain normalised cross-correlation, ``gcc_phat`` whitens the cross-spectrum first
(GCC-PHAT, sharper peaks for impulsive sources). The lag of the highest peak within ``max_lag_s``
estimates the offset (positive = audio late: A(t) = V(t - d) peaks at lag +d), refined to a
fraction of a step by a parabola through the peak. The peak's prominence (height above the mean of
the correlation, in standard deviations) is the confidence. Nothing is learned; a threshold θ,
fitted on validation, turns the score into a decision. The score is the correlation that the best
lag gains over lag 0, plus how little the curves agree at lag 0:
``score = (rho_max - rho_0) + (1 - rho_0) / 2``.
"""

from __future__ import annotations

import torch

from avalign.models.base import SyncModel
from avalign.models.correlation import METHODS, correlate_curves


class CrossCorrelationModel(SyncModel):
    """Training-free offset estimation and sync decision from FFT cross-correlation."""

    trainable = False
    estimates_offset = True

    def __init__(
        self,
        visual_dim: int,
        audio_dim: int,
        method: str = "ncc",
        max_lag_s: float = 2.0,
        min_overlap: float = 0.5,
        theta: float | None = None,
        step_ms: float = 200.0,
        **_: object,
    ) -> None:
        super().__init__(visual_dim, audio_dim, theta, step_ms)
        if method not in METHODS:
            raise ValueError(f"model.method must be one of {METHODS}, not {method!r}")
        self.save_hyperparameters()

    def correlate(self, batch: dict) -> dict[str, torch.Tensor]:
        """Correlation per lag, best lag (steps, sub-step refined), offset (ms) and confidence."""
        return correlate_curves(
            batch["v_curve"],
            batch["a_curve"],
            batch["mask"],
            method=self.hparams.method,
            max_lag_s=self.hparams.max_lag_s,
            min_overlap=self.hparams.min_overlap,
            step_ms=self.step_ms,
        )

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        result = self.correlate(batch)
        score = (result["rho_peak"] - result["rho_zero"]) + (1 - result["rho_zero"]) / 2
        return {
            "score": score,
            "offset_ms": result["offset_ms"],
            "confidence": result["confidence"],
        }
