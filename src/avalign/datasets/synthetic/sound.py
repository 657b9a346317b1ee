"""Sound synthesis primitives: impacts, tones, noises, and placing them on a timeline.

Every burst starts at its first sample (no pre-roll), so that placing it at the sample of
an onset puts the audible attack exactly there. Bursts are scaled to a peak near 1; the
caller sets the loudness.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import fft as sp_fft
from scipy import signal

#: Distinct renderings of a source's burst per clip. Impacts of one object sound alike, so
#: a few variants (differing in their noise) picked at random per onset are enough, and
#: much cheaper than synthesizing every impact.
VARIANTS = 4


def place(track: np.ndarray, burst: np.ndarray, t: float, sr: int, gain: float = 1.0) -> None:
    """Add ``gain * burst`` into ``track`` starting at time ``t`` seconds (in place)."""
    start = round(t * sr)
    if start >= len(track) or start + len(burst) <= 0:
        return
    lo = max(0, -start)
    hi = min(len(burst), len(track) - start)
    track[start + lo : start + hi] += gain * burst[lo:hi]


def _normalized(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return x / peak if peak > 0 else x


def _time(sr: int, dur_s: float) -> np.ndarray:
    return np.arange(max(1, round(dur_s * sr))) / sr


@functools.lru_cache(maxsize=256)
def _sos(kind: str, cutoff: float | tuple[float, float], sr: int, order: int = 2) -> np.ndarray:
    """Butterworth design, cached: the same few filters serve every burst of a clip."""
    nyquist = 0.5 * sr
    if isinstance(cutoff, tuple):
        lo, hi = (min(max(c / nyquist, 1e-4), 0.99) for c in cutoff)
        return signal.butter(order, [lo, max(hi, lo * 1.01)], btype=kind, output="sos")
    return signal.butter(order, min(max(cutoff / nyquist, 1e-4), 0.99), btype=kind, output="sos")


def filtered_noise(
    rng: np.random.Generator, n: int, sr: int, kind: str, cutoff, order: int = 2
) -> np.ndarray:
    """White noise through a Butterworth filter (``kind``: lowpass, highpass, bandpass)."""
    key = tuple(float(c) for c in cutoff) if np.ndim(cutoff) else float(cutoff)
    return signal.sosfilt(_sos(kind, key, sr, order), rng.standard_normal(n))


def decaying_partials(
    sr: int, freqs, amps, decays_s, dur_s: float, glide: float = 0.0
) -> np.ndarray:
    """Sum of exponentially decaying sinusoids, a struck resonator's modes.

    ``glide`` lowers every frequency by that fraction over the first 50 ms, the pitch drop
    of a struck membrane or a body settling after impact.
    """
    t = _time(sr, dur_s)
    bend = 1.0 - glide * (1.0 - np.exp(-t / 0.05))
    out = np.zeros_like(t)
    for freq, amp, decay in zip(freqs, amps, decays_s, strict=True):
        phase = 2 * np.pi * np.cumsum(freq * bend) / sr
        out += amp * np.sin(phase) * np.exp(-t / decay)
    return out


def noise_burst(
    rng: np.random.Generator, sr: int, decay_s: float, kind: str = "lowpass", cutoff=2000.0
) -> np.ndarray:
    """Filtered noise with an instant attack and exponential decay, a contact transient."""
    t = _time(sr, 6 * decay_s)
    return filtered_noise(rng, len(t), sr, kind, cutoff) * np.exp(-t / decay_s)


def thud(
    rng: np.random.Generator, sr: int, freq: float, decay_s: float, noise_mix: float = 0.4
) -> np.ndarray:
    """A dull impact: a low decaying sinusoid with a pitch drop plus a short noise burst."""
    dur = 6 * decay_s
    body = decaying_partials(sr, [freq, 2.3 * freq], [1.0, 0.3], [decay_s, decay_s / 2], dur, 0.15)
    click = noise_burst(rng, sr, 0.006, "lowpass", 6 * freq)
    out = np.zeros(max(len(body), len(click)))
    out[: len(body)] += (1 - noise_mix) * _normalized(body)
    out[: len(click)] += noise_mix * _normalized(click)
    return _normalized(out)


def membrane_hit(
    rng: np.random.Generator, sr: int, f0: float, decay_s: float, brightness: float
) -> np.ndarray:
    """A drum stroke: inharmonic membrane modes plus a sharp stick click."""
    ratios = np.array([1.0, 1.59, 2.14, 2.30, 2.65, 2.92])
    amps = np.array([1.0, 0.6, 0.45, 0.35, 0.25, 0.2]) * brightness ** np.arange(6)
    decays = decay_s / (1.0 + 0.8 * np.arange(6))
    freqs = np.minimum(f0 * ratios, 0.45 * sr)
    body = decaying_partials(sr, freqs, amps, decays, 4 * decay_s, glide=0.08)
    click = noise_burst(rng, sr, 0.003, "highpass", 1500.0)
    out = _normalized(body)
    out[: len(click)] += (0.3 + 0.5 * brightness) * _normalized(click)
    return _normalized(out)


def clank(rng: np.random.Generator, sr: int, base_hz: float, decay_s: float) -> np.ndarray:
    """A metallic impact: a few high inharmonic partials (a struck bar) plus a click."""
    ratios = np.array([1.0, 2.76, 5.40, 8.93])
    freqs = np.minimum(base_hz * ratios, 0.45 * sr)
    decays = decay_s / np.arange(1, 5)
    body = decaying_partials(sr, freqs, [1.0, 0.7, 0.4, 0.2], decays, 5 * decay_s)
    click = noise_burst(rng, sr, 0.002, "highpass", 2000.0)
    out = _normalized(body)
    out[: len(click)] += 0.6 * _normalized(click)
    return _normalized(out)


def clap(rng: np.random.Generator, sr: int, center_hz: float, decay_s: float) -> np.ndarray:
    """A hand clap: band-limited noise with a fast decay and a faint palm resonance."""
    burst = noise_burst(rng, sr, decay_s, "bandpass", (0.5 * center_hz, 2.0 * center_hz))
    palm = decaying_partials(sr, [center_hz / 4], [1.0], [decay_s], 6 * decay_s)
    out = _normalized(burst)
    out[: len(palm)] += 0.2 * _normalized(palm)
    return _normalized(out)


def knock(rng: np.random.Generator, sr: int) -> np.ndarray:
    """An off-screen knock on wood: a short mid resonance with a noisy attack."""
    freq = rng.uniform(150.0, 600.0)
    body = decaying_partials(sr, [freq, 2.6 * freq], [1.0, 0.4], [0.03, 0.012], 0.2)
    click = noise_burst(rng, sr, 0.004, "bandpass", (500.0, 4000.0))
    out = _normalized(body)
    out[: len(click)] += 0.7 * _normalized(click)
    return _normalized(out)


def click(rng: np.random.Generator, sr: int) -> np.ndarray:
    """An off-screen click: a few milliseconds of high-passed noise."""
    return _normalized(noise_burst(rng, sr, rng.uniform(0.001, 0.004), "highpass", 1500.0))


def tone(
    sr: int, freq: float, dur_s: float, harmonics: float = 0.0, attack_s: float = 0.003
) -> np.ndarray:
    """A beep with a short linear attack and release; ``harmonics`` adds odd overtones."""
    t = _time(sr, dur_s)
    out = np.sin(2 * np.pi * freq * t)
    for k in (3, 5):
        if k * freq < 0.45 * sr:
            out += harmonics / k * np.sin(2 * np.pi * k * freq * t)
    release = min(0.01, dur_s / 3)
    env = np.minimum(1.0, np.minimum(t / attack_s, (dur_s - t) / release))
    return _normalized(out * np.clip(env, 0.0, 1.0))


def colored_noise_shape(n: int, sr: int, pink: float, brown: float) -> np.ndarray:
    """Amplitude spectrum (per rfft bin) of a mix of pink (1/f) and brown (1/f^2) noise.

    Each part is scaled to unit power before mixing, so the weights are power-like shares;
    below 20 Hz the spectrum is flat, like a recording's high-pass.
    """
    f = np.maximum(np.fft.rfftfreq(n, 1.0 / sr), 20.0)
    pink_power = 1.0 / f
    brown_power = 1.0 / f**2
    power = pink**2 * pink_power / pink_power.sum() + brown**2 * brown_power / brown_power.sum()
    return np.sqrt(power)


def white_spectrum(rng: np.random.Generator, n: int) -> np.ndarray:
    """The rfft of ``n`` samples of white noise, in single precision (twice as fast)."""
    return sp_fft.rfft(rng.standard_normal(n, dtype=np.float32))


def shaped_noise(spectrum_of_white: np.ndarray, shape: np.ndarray, n: int) -> np.ndarray:
    """Filter white noise (given by its rfft) with the amplitude ``shape``; unit RMS."""
    x = sp_fft.irfft(spectrum_of_white * shape.astype(np.float32), n)
    return x / (np.std(x) + 1e-12)


def mains_hum(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Electrical hum at 50 or 60 Hz with a few decaying harmonics, unit RMS.

    Computed over 0.1 s (a whole number of cycles of both mains frequencies) and tiled.
    """
    base = 50.0 if rng.random() < 0.5 else 60.0
    period = round(0.1 * sr)
    t = np.arange(period) / sr
    x = np.zeros(period)
    for k in range(1, 6):
        if k * base < 0.45 * sr:
            x += rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * k * base * t + rng.uniform(0, 6.3))
    x = np.tile(x, n // period + 1)[:n]
    return x / (np.std(x) + 1e-12)


def slow_gain(rng: np.random.Generator, n: int, sr: int, depth_db: float) -> np.ndarray:
    """A smooth random level wander of about ``depth_db`` over a few seconds."""
    coarse_t = np.arange(0.0, n / sr + 0.02, 0.01)
    db = np.zeros_like(coarse_t)
    for _ in range(3):
        db += np.sin(2 * np.pi * rng.uniform(0.05, 0.4) * coarse_t + rng.uniform(0, 6.3))
    gain = 10.0 ** (depth_db / 3 * db / 20.0)
    return np.interp(np.arange(n) / sr, coarse_t, gain)


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power left/right gains for ``pan`` in [-1 (left), 1 (right)]."""
    angle = (np.clip(pan, -1.0, 1.0) + 1.0) * np.pi / 4
    return float(np.cos(angle)), float(np.sin(angle))
