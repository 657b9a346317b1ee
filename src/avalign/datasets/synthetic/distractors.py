"""Everything in a clip that does not belong to the annotated source.

Motion that makes no sound (a drifting background texture, camera shake, a second object
moving around) and sound that has no visible source (ambient noise, off-screen knocks and
clicks). They keep a detector from equating "something moves" or "something is loud" with
"the sound belongs to the picture".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import draw, sound
from .draw import Canvas


def _periodic_pattern(rng: np.random.Generator, height: int, width: int, kind: str) -> np.ndarray:
    """A pattern in [0, 1] that tiles seamlessly with period (height, width)."""
    y = np.arange(height)[:, None] / height
    x = np.arange(width)[None, :] / width
    if kind == "stripes":
        kx, ky = int(rng.integers(0, 12)), int(rng.integers(0, 9))
        kx = kx if kx or ky else 4
        p = np.sin(2 * np.pi * (kx * x + ky * y) + rng.uniform(0, 2 * np.pi))
        return 0.5 + 0.5 * p
    if kind == "checks":
        kx, ky = 2 * int(rng.integers(2, 9)), 2 * int(rng.integers(2, 7))
        p = np.sin(2 * np.pi * kx * x) * np.sin(2 * np.pi * ky * y)
        return 0.5 + 0.5 * np.tanh(4 * p)
    # blobs: low-pass filtered noise, built in the frequency domain, hence periodic
    spectrum = np.fft.rfft2(rng.standard_normal((height, width)))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    scale = rng.uniform(0.01, 0.05)  # cycles per pixel
    p = np.fft.irfft2(spectrum * np.exp(-(fx**2 + fy**2) / (2 * scale**2)), (height, width))
    p = (p - p.min()) / (np.ptp(p) + 1e-12)
    return p


class Background:
    """A textured backdrop; with a drift speed it scrolls (silently) across the frame.

    The texture tiles with the frame's period, so scrolling is a slice of a 2x2 tiling.
    """

    def __init__(self, rng: np.random.Generator, width: int, height: int, drift_px_s: float):
        self.width, self.height = width, height
        kind = str(rng.choice(["blobs", "stripes", "checks"]))
        base = rng.uniform(35.0, 215.0)
        contrast = rng.uniform(8.0, 35.0) * (1 if base < 128 else -1)
        c0 = np.array(_color_with_luma(rng, base), dtype=np.float32)
        c1 = np.array(_color_with_luma(rng, base + contrast), dtype=np.float32)
        pattern = _periodic_pattern(rng, height, width, kind).astype(np.float32)[..., None]
        tile = np.clip(c0 + pattern * (c1 - c0), 0, 255).astype(np.uint8)
        self.tiled = np.tile(tile, (2, 2, 1))
        self.kind = kind
        self.luma = float(base + 0.5 * contrast)
        angle = rng.uniform(0, 2 * np.pi)
        self.velocity = (drift_px_s * math.cos(angle), drift_px_s * math.sin(angle))
        self.sway = rng.uniform(0.0, 0.5) * drift_px_s  # px of slow back-and-forth on top

    def frame(self, t: float, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
        """A fresh copy of the backdrop at time ``t``, moved by ``shift`` (whole pixels)."""
        sway = self.sway * math.sin(2 * math.pi * 0.3 * t)
        ox = round(self.velocity[0] * t + sway - shift[0]) % self.width
        oy = round(self.velocity[1] * t + sway - shift[1]) % self.height
        return self.tiled[oy : oy + self.height, ox : ox + self.width].copy()


def _color_with_luma(rng: np.random.Generator, target: float) -> tuple[int, int, int]:
    """A random colour whose luma is close to ``target``."""
    tint = rng.uniform(-40.0, 40.0, size=3)
    rgb = target + tint - draw.luma(tuple(tint))
    return tuple(int(v) for v in np.clip(np.round(rgb), 0, 255))


class CameraShake:
    """A smooth random translation of the whole frame (a hand-held camera).

    Each axis is a sum of three sinusoids of 0.3-4 Hz scaled to ``rms_px`` RMS. It is
    applied by drawing every object and the backdrop displaced, not by warping the frame.
    """

    def __init__(self, rng: np.random.Generator, rms_px: float):
        self.freqs = rng.uniform(0.3, 4.0, size=(2, 3))
        self.phases = rng.uniform(0, 2 * np.pi, size=(2, 3))
        amps = rng.uniform(0.2, 1.0, size=(2, 3))
        self.amps = rms_px * amps / np.sqrt(0.5 * np.sum(amps**2, axis=1, keepdims=True))

    def offset(self, t: float) -> tuple[float, float]:
        """Displacement (dx, dy) of the picture at time ``t``, in pixels."""
        d = np.sum(self.amps * np.sin(2 * np.pi * self.freqs * t + self.phases), axis=1)
        return float(d[0]), float(d[1])


class SilentObject:
    """A shape that moves without making any sound.

    It bounces off the frame edges (abrupt, impact-like turns with no sound), wanders on a
    smooth curve, or swings like a pendulum (periodic, like the machinery). Sometimes it
    moves only during a random window, starting and stopping silently.
    """

    def __init__(self, rng: np.random.Generator, width: int, height: int, background_luma: float):
        self.width, self.height = width, height
        self.shape = str(rng.choice(["circle", "square", "triangle", "ring"]))
        self.motion = str(rng.choice(["bounce", "wander", "swing"]))
        self.size = rng.uniform(0.06, 0.12) * height  # half-extent
        self.color = draw.contrasting_color(rng, background_luma, 50.0)
        self.spin = rng.uniform(-3.0, 3.0)  # rad/s
        self.x0, self.y0 = rng.uniform(0.15, 0.85) * width, rng.uniform(0.15, 0.85) * height
        if rng.random() < 0.5:  # moves all the time
            self.window = (0.0, math.inf)
        else:
            a = rng.uniform(0.0, 8.0)
            self.window = (a, a + rng.uniform(1.0, 6.0))
        speed = rng.uniform(0.1, 0.5) * width
        angle = rng.uniform(0, 2 * np.pi)
        self.velocity = (speed * math.cos(angle), speed * math.sin(angle))
        self.wander = (
            rng.uniform(0.1, 0.35, 2) * (width, height),
            rng.uniform(0.1, 0.6, 2),
            rng.uniform(0, 2 * np.pi, 2),
        )
        self.swing = (rng.uniform(0.4, 2.0), rng.uniform(0.3, 0.9), 0.3 * height)

    def _moving_time(self, t: float) -> float:
        """Time spent moving up to ``t`` (the object freezes outside its window)."""
        a, b = self.window
        return min(max(t - a, 0.0), b - a)

    def position(self, t: float) -> tuple[float, float]:
        s = self._moving_time(t)
        lo_x, hi_x = self.size, self.width - self.size
        lo_y, hi_y = self.size, self.height - self.size
        if self.motion == "bounce":
            return (
                _fold(self.x0 + self.velocity[0] * s, lo_x, hi_x),
                _fold(self.y0 + self.velocity[1] * s, lo_y, hi_y),
            )
        if self.motion == "wander":
            amp, freq, phase = self.wander
            x = self.x0 + amp[0] * math.sin(2 * math.pi * freq[0] * s + phase[0])
            y = self.y0 + amp[1] * math.sin(2 * math.pi * freq[1] * s + phase[1])
            return _clamp(x, lo_x, hi_x), _clamp(y, lo_y, hi_y)
        period, max_angle, length = self.swing
        theta = max_angle * math.sin(2 * math.pi * s / period)
        pivot_y = max(lo_y, self.y0 - length)
        return (
            _clamp(self.x0 + length * math.sin(theta), lo_x, hi_x),
            _clamp(pivot_y + length * math.cos(theta), lo_y, hi_y),
        )

    def draw(self, canvas: Canvas, t: float) -> None:
        x, y = self.position(t)
        r = self.size
        if self.shape == "circle":
            draw.circle(canvas, x, y, r, self.color)
        elif self.shape == "ring":
            draw.circle(canvas, x, y, 0.85 * r, self.color, max(2, int(0.3 * r)))
        else:
            corners = 4 if self.shape == "square" else 3
            a = self.spin * self._moving_time(t) + 2 * np.pi * np.arange(corners) / corners
            draw.polygon(
                canvas, np.stack([x + r * np.cos(a), y + r * np.sin(a)], axis=1), self.color
            )


def _clamp(v: float, lo: float, hi: float) -> float:
    return min(max(float(v), lo), hi)


def _fold(v: float, lo: float, hi: float) -> float:
    """Reflect ``v`` back into [lo, hi] as a ball bouncing between two walls."""
    span = hi - lo
    u = (v - lo) % (2 * span)
    return lo + (u if u <= span else 2 * span - u)


@dataclass(frozen=True)
class OffscreenSound:
    """An impulsive sound with no visible source."""

    time: float
    kind: str  # "knock" or "click"
    level_db: float  # relative to the peak of the visible sources
    pan: float


def plan_offscreen(
    rng: np.random.Generator, rate_hz: float, duration_s: float
) -> list[OffscreenSound]:
    """Off-screen sounds at Poisson times of mean rate ``rate_hz`` over the whole clip."""
    count = int(rng.poisson(rate_hz * duration_s)) if rate_hz > 0 else 0
    times = np.sort(rng.uniform(0.0, duration_s - 0.05, size=count))
    return [
        OffscreenSound(
            time=round(float(t), 6),
            kind=str(rng.choice(["knock", "click"])),
            level_db=round(float(rng.uniform(-18.0, -3.0)), 2),
            pan=round(float(rng.uniform(-1.0, 1.0)), 3),
        )
        for t in times
    ]


def render_offscreen(
    rng: np.random.Generator, events: list[OffscreenSound], sr: int, out: np.ndarray, ref: float
) -> None:
    """Add the off-screen sounds into ``out`` (channels, n), ``ref`` being 0 dB."""
    for ev in events:
        burst = sound.knock(rng, sr) if ev.kind == "knock" else sound.click(rng, sr)
        gain = ref * 10.0 ** (ev.level_db / 20.0)
        pans = sound.pan_gains(ev.pan) if out.shape[0] == 2 else (1.0,)
        for ch, g in enumerate(pans):
            sound.place(out[ch], burst, ev.time, sr, gain * g)


def ambient_noise(
    rng: np.random.Generator,
    n: int,
    sr: int,
    channels: int,
    mix: tuple[float, float, float],
) -> np.ndarray:
    """Room ambience of shape (channels, n) with unit RMS per channel.

    A weighted sum of pink noise, brown noise (rumble) and mains hum. In stereo the noise
    is partly shared between channels (a diffuse field); the level wanders by a few dB so
    that the ambience itself has no flat level against which event boundaries stand out.
    """
    pink_w, brown_w, hum_w = mix
    shape = sound.colored_noise_shape(n, sr, pink_w, brown_w)
    shared = sound.white_spectrum(rng, n)
    correlation = rng.uniform(0.3, 0.9)
    hum = hum_w * sound.mains_hum(rng, n, sr)
    out = np.empty((channels, n))
    for ch in range(channels):
        white = shared
        if channels == 2:
            own = sound.white_spectrum(rng, n)
            white = correlation * shared + math.sqrt(1 - correlation**2) * own
        out[ch] = math.hypot(pink_w, brown_w) * sound.shaped_noise(white, shape, n) + hum
    out *= sound.slow_gain(rng, n, sr, depth_db=rng.uniform(1.0, 4.0))
    return out / (np.sqrt(np.mean(out**2, axis=1, keepdims=True)) + 1e-12)
