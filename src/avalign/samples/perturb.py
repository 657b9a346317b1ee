"""Make a sample's sound track from its source video's decoded sound.

One function, `render_sample_audio`, serves every label: positives and every misalignment type
take their sound from the same decoded array through the same slicing, so nothing but the
misalignment differs between them. It works at any sample rate: the feature extractor calls it on
the sound decoded at the feature rate, and `materialize` on the sound it writes to mp4 files.
"""

from __future__ import annotations

import numpy as np

# END_SLACK_S: sound a window may lack at the end of the track; defined beside the real extent
# of the sound that planning keeps every window within (one constant for both sides)
from avalign.datasets.prepared import END_SLACK_S
from avalign.samples.plan import SampleSpec

#: Samples a window may lack beyond ``END_SLACK_S``: times are rounded to samples and stored to
#: 0.1 ms, and the tempo change reads two samples past its window.
ROUNDING_SAMPLES = 8
#: Signal power floor for SNR scaling: a silent source still gets audible noise (-60 dBFS).
POWER_FLOOR = 1e-6


class NotEnoughAudioError(ValueError):
    """The source's sound track does not cover the window the sample needs."""


def source_window(source: np.ndarray, sample_rate: int, start_s: float, length: int) -> np.ndarray:
    """``length`` samples of real sound starting at ``start_s``; never invents sound.

    A shortfall at the end of the track of at most ``END_SLACK_S`` (codec rounding) and
    ``ROUNDING_SAMPLES`` more is filled with zeros; a larger one, or a start before 0, raises
    `NotEnoughAudioError`. Planning keeps every window within ``END_SLACK_S`` of the track's
    real end (`avalign.datasets.prepared`), which the decoded sound reaches: for a planned
    sample, this error means a source changed since it was probed.
    """
    first = round(start_s * sample_rate)
    if first < 0:
        raise NotEnoughAudioError(f"needs sound from {start_s:.3f} s, before the track starts")
    window = source[first : first + length]
    missing = length - window.size
    if missing > round(END_SLACK_S * sample_rate) + ROUNDING_SAMPLES:
        raise NotEnoughAudioError(
            f"needs sound until {(first + length) / sample_rate:.3f} s, "
            f"the track ends at {source.size / sample_rate:.3f} s"
        )
    if missing > 0:
        window = np.concatenate([window, np.zeros(missing, dtype=source.dtype)])
    return window.astype(np.float32, copy=True)


def add_noise(signal: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """Add white Gaussian noise so that signal power / noise power is ``snr_db`` over the window."""
    noise = np.random.default_rng(seed).standard_normal(signal.size)
    power = max(float(np.mean(signal.astype(np.float64) ** 2)), POWER_FLOOR)
    noise *= np.sqrt(power / 10.0 ** (snr_db / 10.0) / max(float(np.mean(noise**2)), 1e-12))
    return (signal + noise).astype(np.float32)


def change_tempo(
    source: np.ndarray, sample_rate: int, start_s: float, length: int, tempo: float
) -> np.ndarray:
    """Play the sound from ``start_s`` at ``tempo`` times its speed for ``length`` samples.

    The sound drifts against the picture: after ``t`` seconds the audio shows what happened at
    ``start_s + tempo * t``. Linear interpolation resamples (pitch changes with speed, like a
    misclocked recorder).
    """
    span = int(np.ceil(tempo * length)) + 2
    window = source_window(source, sample_rate, start_s, span)
    positions = tempo * np.arange(length)
    return np.interp(positions, np.arange(window.size), window).astype(np.float32)


def soft_clip(signal: np.ndarray, drive_db: float) -> np.ndarray:
    """Overdrive the waveform through ``tanh`` at ``drive_db`` of gain, keeping the peak level."""
    peak = float(np.max(np.abs(signal))) if signal.size else 0.0
    if peak < 1e-6:
        return signal.astype(np.float32, copy=True)
    gain = 10.0 ** (drive_db / 20.0)
    return (np.tanh(gain * signal / peak) / np.tanh(gain) * peak).astype(np.float32)


def render_sample_audio(
    source: np.ndarray, sample_rate: int, spec: SampleSpec
) -> np.ndarray | None:
    """The sound track of ``spec`` (mono float32) cut from ``source``; None when muted.

    ``source`` is the whole source video's sound, sample 0 at time 0. Raises `NotEnoughAudioError`
    when the real sound a sample needs is not there (the sample is then skipped).
    """
    length = round(spec.duration_s * sample_rate)
    kind = spec.misalignment
    if kind == "mute":
        return None
    if kind == "time_shift":
        return source_window(source, sample_rate, spec.start_s - spec.offset_ms / 1000.0, length)
    if kind == "distort":
        drifted = change_tempo(source, sample_rate, spec.start_s, length, spec.tempo)
        return soft_clip(drifted, spec.drive_db)
    window = source_window(source, sample_rate, spec.start_s, length)
    if kind == "noise":
        return add_noise(window, spec.snr_db, spec.noise_seed)
    if kind != "None":
        raise ValueError(f"{spec.sample_id}: unknown misalignment type {kind!r}")
    return window
