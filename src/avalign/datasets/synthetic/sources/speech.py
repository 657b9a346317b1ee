"""``speech_mouth``: a face whose mouth opens with syllable-like voiced sounds.

Each syllable is a glottal pulse train (a sawtooth at the pitch ``f0``, 100-250 Hz, with a
falling contour) filtered through three formant resonators of a vowel, shaped by a
syllable envelope. The mouth opening follows the same envelope scaled by the vowel's
openness, so the picture and the sound rise and fall together. Syllables come at 3-6 per
second, grouped into words with pauses between them. The eyes blink now and then, a
silent motion of the same face.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

from .. import draw, sound
from ..draw import Box
from .base import Source

#: Vowel: first three formants (Hz) of an adult voice, and how wide it opens the mouth.
VOWELS: dict[str, tuple[tuple[float, float, float], float]] = {
    "a": ((730.0, 1090.0, 2440.0), 1.0),
    "e": ((530.0, 1840.0, 2480.0), 0.6),
    "i": ((270.0, 2290.0, 3010.0), 0.3),
    "o": ((570.0, 840.0, 2410.0), 0.75),
    "u": ((300.0, 870.0, 2240.0), 0.4),
}
_BANDWIDTHS = (80.0, 110.0, 160.0)
_ATTACK_S = 0.035


def syllable_envelope(tau: np.ndarray | float, dur: float) -> np.ndarray:
    """Loudness (and mouth opening) ``tau`` seconds into a syllable lasting ``dur``.

    A quarter-sine attack of at most 35 ms, a plateau, and a half-cosine release over the
    last 40 %; zero outside the syllable.
    """
    tau = np.asarray(tau, dtype=float)
    attack = min(_ATTACK_S, 0.3 * dur)
    release = 0.4 * dur
    rise = np.sin(0.5 * np.pi * np.clip(tau / attack, 0.0, 1.0))
    fall = 0.5 + 0.5 * np.cos(np.pi * np.clip((tau - (dur - release)) / release, 0.0, 1.0))
    inside = (tau >= 0) & (tau < dur)
    return np.where(inside, rise * fall, 0.0)


def _resonator(freq: float, bandwidth: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Two-pole resonance with unit gain at 0 Hz (a formant of the vocal tract)."""
    r = math.exp(-math.pi * bandwidth / sr)
    a = np.array([1.0, -2 * r * math.cos(2 * math.pi * freq / sr), r * r])
    return np.array([a.sum()]), a


class SpeechMouth(Source):
    category = "speech_mouth"
    aspect = 0.9

    def __init__(self, rng, box: Box, span, background_luma):
        super().__init__(rng, box, span, background_luma)
        self.head_ry = rng.uniform(0.3, 0.4) * box.h
        self.head_rx = self.head_ry * rng.uniform(0.72, 0.85)
        self.x = box.cx + rng.uniform(-0.1, 0.1) * box.w
        self.y = box.y0 + 0.45 * box.h
        self.sway_px = rng.uniform(0.0, 0.03) * box.w
        self.sway_hz = rng.uniform(0.1, 0.4)
        self.skin = draw.contrasting_color(rng, background_luma)
        self.inner = (25, 10, 10) if draw.luma(self.skin) > 100 else (240, 220, 220)
        self.mouth_w = rng.uniform(0.35, 0.5) * self.head_rx
        self.blinks = np.sort(rng.uniform(0.0, max(self.end, 10.0), size=rng.integers(1, 6)))

        self.f0 = rng.uniform(100.0, 250.0)
        self.formant_scale = rng.uniform(1.0, 1.15)  # shorter vocal tract: higher formants
        self._plan_syllables(rng)

    def _plan_syllables(self, rng):
        """Words of 1-4 syllables at 3-6 syllables/s, separated by pauses."""
        rate = rng.uniform(3.0, 6.0)
        self.durations, self.vowels, self.plosive = [], [], []
        onsets, gains = [], []
        t = self.start + rng.uniform(0.05, 0.4)
        while True:
            for _ in range(rng.integers(1, 5)):
                dur = rng.uniform(0.75, 1.15) / rate
                if t + dur > self.end - 0.05:
                    self._set_onsets(onsets, gains)
                    return
                onsets.append(t)
                gains.append(rng.uniform(0.6, 1.0))
                self.durations.append(dur)
                self.vowels.append(str(rng.choice(list(VOWELS))))
                self.plosive.append(bool(rng.random() < 0.5))
                t += dur + rng.uniform(0.0, 0.03)
            t += rng.uniform(0.08, 0.45)
            if rng.random() < 0.15:
                t += rng.uniform(0.4, 1.0)

    def _opening(self, t: float) -> float:
        """Mouth opening in [0, 1] at time ``t``: the current syllable's envelope."""
        k = int(np.searchsorted(self.onsets, t, side="right")) - 1
        if k < 0:
            return 0.0
        env = float(syllable_envelope(t - self.onsets[k], self.durations[k]))
        return env * self.gains[k] * VOWELS[self.vowels[k]][1]

    def draw(self, canvas, t):
        x = self.x + self.sway_px * math.sin(2 * math.pi * self.sway_hz * t)
        y, rx, ry = self.y, self.head_rx, self.head_ry
        draw.rect(canvas, x - 1.3 * rx, y + 0.95 * ry, x + 1.3 * rx, self.box.y1, self.skin)
        draw.ellipse(canvas, x, y, rx, ry, self.skin)
        eye_y, eye_r = y - 0.25 * ry, 0.11 * rx
        blinking = np.any(np.abs(t - self.blinks) < 0.08)
        for side in (-1, 1):
            ex = x + side * 0.38 * rx
            if blinking:
                draw.line(canvas, ex - eye_r, eye_y, ex + eye_r, eye_y, self.inner, 0.3 * eye_r)
            else:
                draw.circle(canvas, ex, eye_y, eye_r, self.inner)
        opening = self._opening(t)
        mouth_y = y + 0.5 * ry
        draw.ellipse(canvas, x, mouth_y, self.mouth_w, 0.03 * ry + 0.3 * ry * opening, self.inner)

    def sound(self, sr, n, rng):
        track = np.zeros(n)
        for t, gain, dur, vowel, plosive in zip(
            self.onsets, self.gains, self.durations, self.vowels, self.plosive, strict=True
        ):
            tau = np.arange(round(dur * sr)) / sr
            accent = rng.uniform(-0.08, 0.12)
            f0 = self.f0 * (1 + accent) * (1 - 0.12 * tau / dur)  # falling pitch
            phase = np.cumsum(f0) / sr
            voice = 2.0 * (phase % 1.0) - 1.0 + 0.05 * rng.standard_normal(len(tau))
            for freq, bw in zip(VOWELS[vowel][0], _BANDWIDTHS, strict=True):
                b, a = _resonator(min(freq * self.formant_scale, 0.45 * sr), bw, sr)
                voice = signal.lfilter(b, a, voice)
            voice *= syllable_envelope(tau, dur) / (np.max(np.abs(voice)) + 1e-12)
            if plosive:
                burst = sound.noise_burst(rng, sr, 0.004, "highpass", 2000.0)[: len(voice)]
                voice[: len(burst)] += 0.3 * burst / (np.max(np.abs(burst)) + 1e-12)
            sound.place(track, voice, t, sr, gain)
        return track
