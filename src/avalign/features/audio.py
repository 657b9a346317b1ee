"""Audio features per feature step: energy A(t), onset strength, flatness and MFCC (torchaudio).

Step ``k`` of a sample covers samples ``[k * n, (k + 1) * n)`` with ``n = sample_rate / fps``, the
same interval as visual step ``k``, so A(t) and V(t) describe the same instants. MFCC frames
(25 ms windows, 10 ms hop) are averaged within each step. A muted sample (no sound track) is
treated as digital silence by the same code.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
import torchaudio

from avalign.features.config import FeatureConfig, MfccConfig

#: The band of a voice's energy (its envelope follows the mouth), Hz.
VOICE_BAND_HZ = (300.0, 3000.0)


@cache
def _mfcc_transform(sample_rate: int, config: MfccConfig) -> torchaudio.transforms.MFCC:
    return torchaudio.transforms.MFCC(
        sample_rate=sample_rate,
        n_mfcc=config.n_mfcc,
        melkwargs={
            "n_fft": config.n_fft,
            "hop_length": config.hop_length,
            "n_mels": config.n_mels,
            "center": False,
        },
    )


def _frame_steps(count: int, config: MfccConfig, samples_per_step: int) -> np.ndarray:
    """The step each spectrogram frame belongs to (by the frame's centre)."""
    centres = np.arange(count) * config.hop_length + config.n_fft / 2
    return (centres // samples_per_step).astype(int)


def _step_means(values: np.ndarray, steps: np.ndarray, n_steps: int) -> np.ndarray:
    """Average rows of ``values`` (frames, dims) into ``n_steps`` bins given by ``steps``."""
    keep = steps < n_steps
    owners, rows = steps[keep], values[keep].astype(np.float64)
    # one weighted bincount per column: the same in-order float64 sums as ``np.add.at``, faster
    totals = np.stack(
        [np.bincount(owners, weights=rows[:, j], minlength=n_steps) for j in range(rows.shape[1])],
        axis=1,
    )
    counts = np.bincount(owners, minlength=n_steps)[:, None]
    return (totals / np.maximum(counts, 1)).astype(np.float32)


def audio_features(
    audio: np.ndarray | None, n_steps: int, config: FeatureConfig
) -> dict[str, np.ndarray]:
    """Per-step ``audio_energy`` (RMS), ``audio_onset`` (spectral flux) and ``mfcc`` of a window.

    ``audio`` holds ``n_steps * sample_rate / fps`` mono samples (None for a muted sample).
    """
    per_step = config.samples_per_step
    length = n_steps * per_step
    signal = np.zeros(length, np.float32) if audio is None else audio[:length]
    if signal.size < length:
        signal = np.concatenate([signal, np.zeros(length - signal.size, np.float32)])
    energy = np.sqrt(np.mean(signal.reshape(n_steps, per_step).astype(np.float64) ** 2, axis=1))

    transform = _mfcc_transform(config.sample_rate, config.mfcc)
    with torch.no_grad():
        mel = transform.MelSpectrogram(torch.from_numpy(signal))  # (n_mels, frames)
        mel_db = transform.amplitude_to_DB(mel)
        mfcc = torch.matmul(mel_db.transpose(0, 1), transform.dct_mat).numpy()  # (frames, n_mfcc)
    power = mel.numpy().T.astype(np.float64) + 1e-10  # (frames, n_mels)
    log_mel = np.log(power)
    flux = np.maximum(np.diff(log_mel, axis=0, prepend=log_mel[:1]), 0.0).mean(
        axis=1, keepdims=True
    )
    # spectral flatness: geometric over arithmetic mean of the band powers; near 1 for white
    # noise, low for tonal or structured sound
    flatness = (np.exp(log_mel.mean(axis=1)) / power.mean(axis=1))[:, None]
    steps = _frame_steps(mfcc.shape[0], config.mfcc, per_step)
    out = {
        "audio_energy": energy.astype(np.float32),
        "audio_onset": _step_means(flux, steps, n_steps)[:, 0],
        "audio_flatness": _step_means(flatness, steps, n_steps)[:, 0],
        "mfcc": _step_means(mfcc, steps, n_steps),
    }
    if config.audio_bands:
        band = _voice_band(config.sample_rate, config.mfcc)
        voice = np.log10(power[:, band].sum(axis=1, keepdims=True) + 1e-10)
        # the log of the step's mean power per band (not the mean of logs): a click inside a
        # step shows as loud as it is
        bands = np.log10(_step_means(power, steps, n_steps).astype(np.float64) + 1e-10)
        out["log_mel"] = bands.astype(np.float32)
        out["voice_energy"] = _step_means(voice, steps, n_steps)[:, 0]
    return out


@cache
def _voice_band(sample_rate: int, config: MfccConfig) -> np.ndarray:
    """Indices of the mel bands whose centre lies in the voice band, 300-3000 Hz."""
    transform = _mfcc_transform(sample_rate, config)
    filters = transform.MelSpectrogram.mel_scale.fb.numpy()  # (n_freqs, n_mels)
    freqs = np.linspace(0, sample_rate / 2, filters.shape[0])
    centres = freqs[filters.argmax(axis=0)]
    return np.flatnonzero((centres >= VOICE_BAND_HZ[0]) & (centres <= VOICE_BAND_HZ[1]))
