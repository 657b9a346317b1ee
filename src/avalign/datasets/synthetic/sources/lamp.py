"""``flash_beep``: a lamp that lights up while a tone beeps.

Each beep switches the bulb on for its duration; while lit, a ring of light grows out of
the bulb, so the event makes motion and not only a change of brightness. On/off patterns
are irregular; the pitch (600-2000 Hz) and timbre are drawn per clip.
"""

from __future__ import annotations

import numpy as np

from .. import draw, sound
from ..draw import Box
from ..timing import irregular_times
from .base import Source

_RING_GROW_S = 0.3  # time for the ring to reach its full size after switching on


class FlashBeep(Source):
    category = "flash_beep"
    aspect = 0.8

    def __init__(self, rng, box: Box, span, background_luma):
        super().__init__(rng, box, span, background_luma)
        self.radius = rng.uniform(0.13, 0.2) * box.h
        self.x = box.cx + rng.uniform(-0.15, 0.15) * box.w
        self.y = box.y0 + 0.4 * box.h
        on_times = irregular_times(
            rng, self.start, self.end, rate_hz=(0.8, 3.0), min_gap=0.16, lead_in=0.05, tail=0.1
        )
        longest = rng.uniform(0.12, 0.6)
        gaps = np.diff(np.append(on_times, self.end - 0.02))
        self.durations = np.minimum(rng.uniform(0.06, longest, len(on_times)), 0.75 * gaps)
        self._set_onsets(on_times, rng.uniform(0.8, 1.0, len(on_times)))

        self.housing = draw.contrasting_color(rng, background_luma)
        lit = draw.contrasting_color(rng, 0.0, 170.0)  # a bright colour
        self.lit = lit
        self.unlit = draw.shade(lit, 0.25)
        self.freq = rng.uniform(600.0, 2000.0)
        self.second_freq = self.freq * (rng.choice([1.0, 1.25, 1.5]))  # some lamps alternate
        self.harmonics = rng.uniform(0.0, 0.6)

    def _lit_since(self, t: float) -> float | None:
        """Seconds since the bulb switched on, or ``None`` while it is off."""
        k = int(np.searchsorted(self.onsets, t, side="right")) - 1
        if k >= 0 and t - self.onsets[k] < self.durations[k]:
            return t - self.onsets[k]
        return None

    def draw(self, canvas, t):
        x, y, r = self.x, self.y, self.radius
        stand_w = 0.25 * r
        draw.rect(
            canvas, x - stand_w, y + r, x + stand_w, self.box.y1 - 0.08 * self.box.h, self.housing
        )
        draw.rect(
            canvas,
            x - 1.2 * r,
            self.box.y1 - 0.1 * self.box.h,
            x + 1.2 * r,
            self.box.y1,
            self.housing,
        )
        since = self._lit_since(t)
        if since is not None:
            grow = min(1.0, since / _RING_GROW_S)
            ring_r = r * (1.25 + 0.9 * grow)
            draw.circle(canvas, x, y, ring_r, self.lit, max(2, int(0.18 * r * (1.2 - 0.6 * grow))))
        draw.circle(canvas, x, y, 1.12 * r, self.housing)
        draw.circle(canvas, x, y, r, self.lit if since is not None else self.unlit)

    def sound(self, sr, n, rng):
        track = np.zeros(n)
        for k, (t, gain, dur) in enumerate(
            zip(self.onsets, self.gains, self.durations, strict=True)
        ):
            freq = self.freq if k % 2 == 0 else self.second_freq
            sound.place(track, sound.tone(sr, freq, dur, self.harmonics), t, sr, gain)
        return track
