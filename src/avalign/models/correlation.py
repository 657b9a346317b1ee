"""FFT cross-correlation of the visual and audio activity curves: lag, offset and confidence.

Pure tensor code (no Lightning), shared by the `xcorr` model and by `detect`'s training-free
default, which should not pay for importing a training framework. See `avalign.models.xcorr` for
the method.
"""

from __future__ import annotations

import torch

from avalign.models.curves import zscore

METHODS = ("ncc", "gcc_phat")


def circular_overlap(mask: torch.Tensor, size: int) -> torch.Tensor:
    """Number of valid steps overlapping at every circular lag of an ``n=size`` FFT, ``(B, size)``.

    The autocorrelation of the validity mask: lag ``k`` (0.., then negative from ``size - 1``)
    counts the steps ``t`` valid in both the sequence and its copy moved by ``k``.
    """
    ones = torch.fft.rfft(mask.float(), n=size)
    return torch.fft.irfft(ones * ones.conj(), n=size).round()


def parabolic_offset(curve: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
    """Where each row's peak really is, relative to its index ``best``: in [-0.5, 0.5] steps.

    The vertex of the parabola through the peak and its two neighbours; 0 at the edges of the
    curve or where the three points are not clearly curved downwards.
    """
    peak = curve.gather(1, best[:, None]).squeeze(1)
    left = curve.gather(1, (best - 1).clamp_min(0)[:, None]).squeeze(1)
    right = curve.gather(1, (best + 1).clamp_max(curve.shape[1] - 1)[:, None]).squeeze(1)
    curvature = left - 2 * peak + right
    inside = (best > 0) & (best < curve.shape[1] - 1) & (curvature < -1e-6)
    delta = torch.where(
        inside, 0.5 * (left - right) / curvature.clamp_max(-1e-6), torch.zeros_like(peak)
    )
    return delta.clamp(-0.5, 0.5)


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

    def in_lag_order(circular: torch.Tensor) -> torch.Tensor:  # 0..T-1, -T..-1 -> -(T-1)..T-1
        return torch.cat([circular[:, size - steps + 1 :], circular[:, :steps]], dim=1)

    lags = in_lag_order(torch.fft.irfft(cross, n=size))
    if method == "ncc":
        lags = lags / in_lag_order(circular_overlap(mask, size)).clamp_min(1.0)
    return lags


def correlate_curves(
    v_curve: torch.Tensor,
    a_curve: torch.Tensor,
    mask: torch.Tensor,
    *,
    method: str = "ncc",
    max_lag_s: float = 2.0,
    min_overlap: float = 0.5,
    step_ms: float = 200.0,
) -> dict[str, torch.Tensor]:
    """Correlation per lag, best lag (steps, sub-step refined), offset (ms) and confidence.

    Curves are ``(B, T)`` with a ``(B, T)`` validity mask; a lag must stay within ``max_lag_s``
    and leave at least ``min_overlap`` of the sample overlapping.
    """
    v = zscore(v_curve, mask)
    a = zscore(a_curve, mask)
    rho = cross_correlation(v, a, mask, method)
    steps = mask.shape[1]
    lags = torch.arange(-(steps - 1), steps, device=mask.device)
    length = mask.sum(1, keepdim=True)
    max_lag = max_lag_s * 1000.0 / step_ms
    allowed = (lags.abs().unsqueeze(0) <= max_lag) & (
        lags.abs().unsqueeze(0) <= (1 - min_overlap) * length
    )
    search = rho.masked_fill(~allowed, float("-inf"))
    best = search.argmax(1)
    peak = rho.gather(1, best[:, None]).squeeze(1)
    lag_steps = lags[best].float() + parabolic_offset(rho, best)
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
        "offset_ms": lag_steps * step_ms,
        "confidence": (peak - mean) / spread.clamp_min(1e-6),
    }
