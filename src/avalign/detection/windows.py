"""Score sliding windows of a file: with a trained model, or with the training-free default.

A window is ``window_s`` long and starts every ``hop_s``; for each we report the probability that
picture and sound are out of sync and the most likely kind of problem. The training-free default
reads the sound itself for the problems it can see without any training (no sound, silence,
noise) and uses the Fourier cross-correlation of V(t) and A(t) for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import torch
import torchaudio

from avalign.detection.band import in_band
from avalign.features.audio import audio_features
from avalign.features.config import FeatureConfig
from avalign.models.correlation import correlate_curves, parabolic_offset
from avalign.models.inputs import TYPES, SampleInputs, audio_curve, collate

if TYPE_CHECKING:  # the training-free default never imports the training framework
    from avalign.models.base import SyncModel

#: Sound quieter than this (dBFS RMS) over a step is silence.
SILENCE_DBFS = -60.0
#: Flatness alone does not make noise: rain, wind, engines, crowds and gunfire are as flat as noise
#: that replaced the sound (issue 17). A window is noise when its energy-weighted spectral flatness
#: is high AND either its spectrum above ~1 kHz is white (`WHITE_DEVIATION_DB`: white noise that
#: replaced or drowns the sound) or it is a stationary power law (`POWER_LAW_DEVIATION_DB` and
#: `STATIONARY_SPREAD`: coloured noise such as pink or brown, flat or not). Natural recordings
#: roll off above 1 kHz and change over time. Fitted on the odd-indexed half of the 166 real
#: in-sync clips of data/realdev{,_extra} with 50 noise-replaced and 20 muted copies of them
#: (README, the detect section).
NOISE_FLATNESS = 0.3  # flatness a window of white noise needs (white noise: >= 0.66)
COLOURED_NOISE_FLATNESS = 0.2  # flatness a window of coloured noise needs (brown noise: >= 0.25)
#: RMS deviation (dB) of the window's mean mel spectrum from white noise's, over the mel bands
#: above ~1 kHz, an offset aside (white noise replacing the sound: <= 0.82; real clips: >= 1.3).
WHITE_DEVIATION_DB = 1.4
#: Noise holds its level. Steps louder than the window's median level by `BURST_DB` are bursts;
#: when they carry more than `BURST_SHARE` of the window's energy, the window is hiss under loud
#: broadband bursts (footsteps, clicks, the synthetic corpus's events), not noise.
BURST_DB = 10.0
BURST_SHARE = 0.5
#: RMS deviation (dB) of that spectrum from a straight line over those bands (pink and brown
#: noise, which are power laws: <= 0.42; real windows as flat as 0.2: >= 0.68, and none of those
#: is also stationary).
POWER_LAW_DEVIATION_DB = 0.8
#: Median over MFCC 1-12 of the standard deviation of their 200 ms means (5 steps at 25 steps/s)
#: across the window: how much the spectrum's shape changes (noise: <= 0.95; real clips >= 1.03).
STATIONARY_SPREAD = 1.0
#: The standard deviation of MFCC 0 (the level; 6.3 per dB) of those 200 ms means (pink and brown
#: noise: <= 3.0, i.e. 0.5 dB; real clips that pass every other test of coloured noise: none).
STATIONARY_LEVEL_SPREAD = 5.0
#: Mel bands from which the spectrum's shape is compared (of 40 up to 8 kHz: from ~1 kHz).
UPPER_BANDS = 16
STATIONARY_BLOCK_STEPS = 5


@dataclass(frozen=True)
class WindowScore:
    """One window's assessment."""

    start_s: float
    end_s: float
    p_out_of_sync: float  # the model's probability (a squashed score for score-based models)
    out_of_sync: bool  # the decision (the model's own threshold θ)
    kind: str  # "none", "time_shift", "noise", "mute", "distort", "silent"
    kind_probability: float
    offset_ms: float | None


def window_spans(steps: int, fps: float, window_s: float, hop_s: float) -> list[tuple[int, int]]:
    """Step ranges ``[a, b)`` of the windows (the last one may be shorter, never under half)."""
    size = max(2, round(window_s * fps))
    hop = max(1, round(hop_s * fps))
    if steps <= size:
        return [(0, steps)]
    spans = [(a, a + size) for a in range(0, steps - size + 1, hop)]
    if spans[-1][1] < steps and steps - spans[-1][0] - hop >= size // 2:
        spans.append((spans[-1][0] + hop, steps))
    return spans


def _inputs(features: dict[str, np.ndarray], span: tuple[int, int], name: str) -> SampleInputs:
    a, b = span
    part = {
        k: v[a:b]
        for k, v in features.items()
        if np.ndim(v) and len(v) == len(features["flow_energy"])
    }
    return SampleInputs.from_features(name, part, 1, "None", float("nan"))


@cache
def _white_noise_mel_db() -> tuple[np.ndarray, np.ndarray]:
    """(DCT matrix (mels, mfcc), mel spectrum in dB) of white noise, with the default settings."""
    config = FeatureConfig()
    dct = torchaudio.functional.create_dct(config.mfcc.n_mfcc, config.mfcc.n_mels, "ortho")
    dct = dct.numpy().astype(np.float64)
    noise = np.random.default_rng(0).standard_normal(config.sample_rate * 10).astype(np.float32)
    steps = round(10 * config.fps)
    mfcc = audio_features(0.1 * noise, steps, config)["mfcc"].astype(np.float64)
    return dct, mfcc.mean(axis=0) @ dct.T


def noise_like(mfcc: np.ndarray, flatness: float) -> bool:
    """Whether a window's sound (its per-step MFCC, its energy-weighted flatness) is synthetic
    noise: white above ~1 kHz, or a stationary power law (`NOISE_FLATNESS` and what follows)."""
    if flatness <= COLOURED_NOISE_FLATNESS:
        return False
    dct, white = _white_noise_mel_db()
    if mfcc.ndim != 2 or mfcc.shape[1] != dct.shape[1] or len(mfcc) < 2:
        return flatness > NOISE_FLATNESS  # other MFCC settings: no reference to compare with
    mfcc = mfcc.astype(np.float64)
    # the window's mean mel spectrum (dB, smoothed by the MFCC) over white noise's, upper bands
    excess = (mfcc.mean(axis=0) @ dct.T - white)[UPPER_BANDS:]
    if flatness > NOISE_FLATNESS and float(np.std(excess)) < WHITE_DEVIATION_DB:
        return True
    bands = np.arange(excess.size)
    line = np.polyval(np.polyfit(bands, excess, 1), bands)
    if float(np.std(excess - line)) >= POWER_LAW_DEVIATION_DB:
        return False
    count = max(1, len(mfcc) // STATIONARY_BLOCK_STEPS)
    means = mfcc[: count * STATIONARY_BLOCK_STEPS].reshape(count, -1, mfcc.shape[1]).mean(axis=1)
    if count <= 2 or float(np.std(means[:, 0])) >= STATIONARY_LEVEL_SPREAD:
        return False  # the level comes and goes (gusts, passing cars, a crowd's swell)
    return float(np.median(np.std(means[:, 1:], axis=0))) < STATIONARY_SPREAD


def sound_checks(
    features: dict[str, np.ndarray], span: tuple[int, int]
) -> tuple[str, float] | None:
    """('mute' | 'silent' | 'noise', certainty) when the sound itself is the problem, else None."""
    if not bool(features["has_audio"]):
        return "mute", 1.0
    a, b = span
    level = 20 * np.log10(features["audio_energy"][a:b] + 1e-12)
    if np.mean(level < SILENCE_DBFS) > 0.9:
        return "silent", 1.0
    energy = features["audio_energy"][a:b].astype(np.float64) ** 2
    # energy-weighted: noise that replaces or drowns the sound dominates the window's energy
    flatness = float(np.sum(features["audio_flatness"][a:b] * energy) / max(np.sum(energy), 1e-20))
    # steps of digital silence (a track that ends before the picture) are flat too, but are not
    # noise: only the steps that sound are compared with noise
    sounding = level >= SILENCE_DBFS
    bursts = level > np.median(level[sounding]) + BURST_DB
    if np.sum(energy[bursts]) > BURST_SHARE * np.sum(energy):
        return None  # loud bursts over a quiet bed: the sound comes and goes, noise does not
    if noise_like(features["mfcc"][a:b][sounding], flatness):
        return "noise", min(
            1.0, 0.5 + max(0.0, flatness - NOISE_FLATNESS) / (2 * (1 - NOISE_FLATNESS))
        )
    return None


def score_windows_trained(
    model: SyncModel,
    features: dict[str, np.ndarray],
    spans: list[tuple[int, int]],
    fps: float,
    delay_ms: float = 0.0,
) -> tuple[list[WindowScore], list[dict[int, float]]]:
    """Windows scored by a trained model: its decision at its own θ, type head and offset.

    Also returns, for a model with a lag head, each window's probability of every lag (in steps,
    positive = audio late, on the features' step grid); an empty list otherwise. The windows'
    offsets are less the picture's ``delay_ms`` (`avalign.features.stream.picture_delay_ms`).
    """
    theta = float(model.theta) if not torch.isnan(model.theta) else 0.5
    results = []
    lag_probabilities: list[dict[int, float]] = []
    with torch.no_grad():
        for start in range(0, len(spans), 64):
            chunk = spans[start : start + 64]
            batch = collate([_inputs(features, span, f"w{i}") for i, span in enumerate(chunk)])
            out = model(batch)
            if "lag_logits" in out:
                probability = out["lag_logits"].softmax(1)
                max_lag = (probability.shape[1] - 1) // 2
                for row in probability.tolist():
                    lag_probabilities.append(
                        {lag - max_lag: p for lag, p in enumerate(row) if p > 1e-6}
                    )
            scores = out["score"].float()
            probability = (
                scores if scores.min() >= 0 and scores.max() <= 1 else torch.sigmoid(scores - theta)
            )
            for i, (a, b) in enumerate(chunk):
                decided = bool(scores[i] >= theta)
                kind, certainty = (
                    ("time_shift", float(probability[i]))
                    if decided
                    else ("none", 1 - float(probability[i]))
                )
                if decided and "type_logits" in out:
                    misaligned = out["type_logits"][i].softmax(0)[1:]
                    index = int(misaligned.argmax())
                    kind, certainty = TYPES[index + 1], float(misaligned[index] / misaligned.sum())
                checked = sound_checks(features, (a, b))
                # a model without a type head (LagNet) cannot say "noise": the sound check says
                # it, as on the training-free path (a type head has learned noise itself)
                sound_problems = ("mute", "silent") + (() if "type_logits" in out else ("noise",))
                if checked is not None and checked[0] in sound_problems:
                    decided, kind, certainty = True, checked[0], checked[1]
                offset = float(out["offset_ms"][i]) - delay_ms if "offset_ms" in out else None
                results.append(
                    WindowScore(
                        a / fps, b / fps, float(probability[i]), decided, kind, certainty, offset
                    )
                )
    return results, lag_probabilities


def score_windows_default(
    features: dict[str, np.ndarray],
    spans: list[tuple[int, int]],
    fps: float,
    max_lag_s: float,
    delay_ms: float = 0.0,
) -> list[WindowScore]:
    """Training-free windows: sound checks first, then cross-correlation offset and confidence.

    Without training there is no calibrated probability: a window whose sound is missing, silent
    or noise-like is out of sync with the certainty of that check; otherwise the correlation's
    best lag decides (out of sync when it lies outside the in-sync band, at least one step away
    from 0, with a prominent peak). Offsets are less the picture's ``delay_ms``.
    """

    results = []
    for a, b in spans:
        checked = sound_checks(features, (a, b))
        if checked is not None:
            results.append(
                WindowScore(a / fps, b / fps, checked[1], True, checked[0], checked[1], None)
            )
            continue
        batch = collate([_inputs(features, (a, b), "w")])
        found = correlate_curves(
            batch["v_curve"],
            batch["a_curve"],
            batch["mask"],
            max_lag_s=max_lag_s,
            step_ms=1000.0 / fps,
        )
        offset = float(found["offset_ms"][0]) - delay_ms
        confidence = float(found["confidence"][0])
        shifted = (
            not in_band(offset)
            and abs(offset) >= 1000.0 / fps
            and confidence >= CONFIDENCE_LEVELS["medium"]
        )
        p = 1.0 / (1.0 + np.exp(-(confidence - CONFIDENCE_LEVELS["medium"]))) if shifted else 0.0
        results.append(
            WindowScore(
                a / fps, b / fps, p, shifted, "time_shift" if shifted else "none", p, offset
            )
        )
    return results


@dataclass(frozen=True)
class OffsetEstimate:
    """One offset for a whole file, how sure it is, and the evidence per lag (for the plot)."""

    offset_ms: float  # positive = audio late
    confidence: str  # high | medium | low
    strength: float  # xcorr: peak prominence (std above the mean); lag head: probability
    method: str  # "xcorr" (training-free) or "lag_head" (a trained model's)
    lags_ms: np.ndarray
    curve: np.ndarray  # correlation (xcorr) or mean probability (lag head) per lag


#: Peak prominence (standard deviations above the mean correlation) of each confidence level.
CONFIDENCE_LEVELS = {"high": 4.0, "medium": 3.0}
#: Lag-head probability of the best lag (+- one step) of each confidence level.
LAG_HEAD_LEVELS = {"high": 0.7, "medium": 0.4}


def confidence_level(strength: float, levels: dict[str, float] = CONFIDENCE_LEVELS) -> str:
    """'high', 'medium' or 'low' for a peak prominence (or lag-head probability with its levels)."""
    if strength >= levels["high"]:
        return "high"
    if strength >= levels["medium"]:
        return "medium"
    return "low"


def global_offset(features: dict[str, np.ndarray], fps: float, max_lag_s: float) -> OffsetEstimate:
    """Training-free: the cross-correlation of V(t) and A(t) over the whole file."""
    steps = len(features["flow_energy"])
    batch = {
        "v_curve": torch.from_numpy(features["flow_energy"].astype(np.float32))[None],
        "a_curve": torch.from_numpy(audio_curve(features["audio_energy"]))[None],
        "mask": torch.ones(1, steps, dtype=torch.bool),
    }
    found = correlate_curves(
        batch["v_curve"], batch["a_curve"], batch["mask"], max_lag_s=max_lag_s, step_ms=1000.0 / fps
    )
    rho = found["rho"][0].numpy()
    lags_ms = (np.arange(rho.size) - (steps - 1)) * 1000.0 / fps
    keep = np.abs(lags_ms) <= max_lag_s * 1000.0
    prominence = float(found["confidence"][0])
    return OffsetEstimate(
        float(found["offset_ms"][0]),
        confidence_level(prominence),
        prominence,
        "xcorr",
        lags_ms[keep],
        rho[keep],
    )


def lag_head_offset(lag_probabilities: list[dict[int, float]], fps: float) -> OffsetEstimate:
    """A trained lag head's offset for the file: its lag probabilities averaged over windows.

    Averaging (rather than multiplying) keeps one confused window from vetoing the rest. The
    peak is refined by a parabola through the log probabilities around it; the confidence is the
    probability within one step of the peak.
    """
    span = max(abs(lag) for window in lag_probabilities for lag in window)
    lags = np.arange(-span, span + 1)
    mean = np.zeros(lags.size)
    for window in lag_probabilities:
        for lag, p in window.items():
            mean[lag + span] += p
    mean /= len(lag_probabilities)
    best = int(np.argmax(mean))
    log_mean = torch.from_numpy(np.log(mean + 1e-9))[None]
    delta = float(parabolic_offset(log_mean, torch.tensor([best]))[0])
    strength = float(mean[max(0, best - 1) : best + 2].sum())
    return OffsetEstimate(
        (lags[best] + delta) * 1000.0 / fps,
        confidence_level(strength, LAG_HEAD_LEVELS),
        strength,
        "lag_head",
        lags * 1000.0 / fps,
        mean,
    )
