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
from avalign.models.curves import zscore

METHODS = ("ncc", "gcc_phat")


def cross_correlation(
    v: torch.Tensor, a: torch.Tensor, mask: torch.Tensor, method: str
) -> torch.Tensor:
    """Correlation of ``a`` against ``v`` at every lag, ``(B, 2T - 1)``, lag ``-(T-1) .. T-1``.

    Entry for lag ``k`` measures ``sum_t v(t) a(t + k)``; ``ncc`` divides by the number of valid
    overlapping steps, so values are correlations in [-1, 1] for standardised curves.
    """
    steps = v.shape[1]
    size = 2 * steps
    spec_v = torch.fft.rfft(v * mask, n=size)
    spec_a = torch.fft.rfft(a * mask, n=size)
    cross = spec_a * spec_v.conj()
    if method == "gcc_phat":
        cross = cross / cross.abs().clamp_min(1e-9)
    full = torch.fft.irfft(cross, n=size)  # circular; lags 0..T-1 then -(T)..-1
    lags = torch.cat([full[:, size - steps + 1 :], full[:, :steps]], dim=1)
    if method == "ncc":
        m = mask.float()
        overlap = torch.fft.irfft(
            torch.fft.rfft(m, n=size) * torch.fft.rfft(m, n=size).conj(), n=size
        )
        overlap = torch.cat([overlap[:, size - steps + 1 :], overlap[:, :steps]], dim=1).round()
        lags = lags / overlap.clamp_min(1.0)
    return lags


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
        self.save_hyperparameters(logger=False)

    def correlate(self, batch: dict) -> dict[str, torch.Tensor]:
        """Correlation per lag, best lag (steps, sub-step refined), offset (ms) and confidence."""
        mask = batch["mask"]
        v = zscore(batch["v_curve"], mask)
        a = zscore(batch["a_curve"], mask)
        rho = cross_correlation(v, a, mask, self.hparams.method)
        steps = mask.shape[1]
        lags = torch.arange(-(steps - 1), steps, device=mask.device)
        length = mask.sum(1, keepdim=True)
        max_lag = self.hparams.max_lag_s * 1000.0 / self.step_ms
        # a lag must leave at least min_overlap of the sample overlapping
        allowed = (lags.abs().unsqueeze(0) <= max_lag) & (
            lags.abs().unsqueeze(0) <= (1 - self.hparams.min_overlap) * length
        )
        search = rho.masked_fill(~allowed, float("-inf"))
        best = search.argmax(1)
        peak = rho.gather(1, best[:, None]).squeeze(1)
        left = rho.gather(1, (best - 1).clamp_min(0)[:, None]).squeeze(1)
        right = rho.gather(1, (best + 1).clamp_max(rho.shape[1] - 1)[:, None]).squeeze(1)
        curvature = left - 2 * peak + right
        shift = torch.where(
            curvature < -1e-9, 0.5 * (left - right) / curvature, torch.zeros_like(peak)
        )
        lag_steps = lags[best].float() + shift.clamp(-0.5, 0.5)
        zero = rho[:, steps - 1]
        values = rho.masked_fill(~allowed, 0.0)
        count = allowed.sum(1).clamp_min(1)
        mean = values.sum(1) / count
        spread = ((values - mean[:, None]).pow(2) * allowed).sum(1).div(count).sqrt()
        return {
            "rho": rho,
            "rho_peak": peak,
            "rho_zero": zero,
            "lag_steps": lag_steps,
            "offset_ms": lag_steps * self.step_ms,
            "confidence": (peak - mean) / spread.clamp_min(1e-6),
        }

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        result = self.correlate(batch)
        score = (result["rho_peak"] - result["rho_zero"]) + (1 - result["rho_zero"]) / 2
        return {
            "score": score,
            "offset_ms": result["offset_ms"],
            "confidence": result["confidence"],
        }
