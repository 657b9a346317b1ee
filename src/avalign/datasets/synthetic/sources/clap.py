"""``hand_clap``: two hands swing together and clap.

The gap between the palms follows :func:`strike_height`: it opens smoothly after a clap
and closes with accelerating motion, so the hands are fastest when they meet. A wider
swing makes a louder clap.
"""

from __future__ import annotations

import numpy as np

from .. import draw, sound
from ..draw import Box
from ..timing import irregular_times, strike_height
from .base import Source


class HandClap(Source):
    category = "hand_clap"
    aspect = 1.2

    def __init__(self, rng, box: Box, span, background_luma):
        super().__init__(rng, box, span, background_luma)
        self.palm_w = rng.uniform(0.06, 0.08) * box.h
        self.palm_h = rng.uniform(0.14, 0.2) * box.h
        self.y = box.y0 + rng.uniform(0.3, 0.45) * box.h
        self.x = box.cx + rng.uniform(-0.05, 0.05) * box.w
        widest = 0.5 * box.w - 3 * self.palm_w
        self.fall_s = rng.uniform(0.06, 0.12)
        self.rise_s = 0.3
        self.rest_gap = rng.uniform(0.2, 0.5) * widest
        claps = irregular_times(
            rng,
            self.start,
            self.end,
            rate_hz=(1.0, 4.0),
            min_gap=self.fall_s + 0.12,
            lead_in=self.rise_s + self.fall_s,
            tail=self.rise_s,  # back at rest by the end of the event
        )
        self.swings = rng.uniform(0.3, 1.0, len(claps)) * widest
        self._set_onsets(claps, self.swings / widest)
        self.color = draw.contrasting_color(rng, background_luma)
        self.arm_color = draw.shade(self.color, 0.8)
        self.center_hz = rng.uniform(900.0, 2200.0)
        self.decay_s = rng.uniform(0.008, 0.025)

    def draw(self, canvas, t):
        gap = strike_height(
            t,
            self.onsets,
            self.swings,
            fall_s=self.fall_s,
            rise_s=self.rise_s,
            rest=self.rest_gap,
        )
        for side in (-1, 1):
            px = self.x + side * (0.5 * gap + self.palm_w)
            elbow_x = self.x + side * 0.4 * self.box.w
            draw.line(
                canvas,
                px,
                self.y + 0.6 * self.palm_h,
                elbow_x,
                self.box.y1,
                self.arm_color,
                1.4 * self.palm_w,
            )
            draw.ellipse(canvas, px, self.y, self.palm_w, self.palm_h, self.color)

    def sound(self, sr, n, rng):
        track = np.zeros(n)
        bank = [sound.clap(rng, sr, self.center_hz, self.decay_s) for _ in range(sound.VARIANTS)]
        for t, gain in zip(self.onsets, self.gains, strict=True):
            sound.place(track, bank[rng.integers(len(bank))], t, sr, gain)
        return track
