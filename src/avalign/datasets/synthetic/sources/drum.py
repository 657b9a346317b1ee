"""``drum_strike``: a stick swings up slowly, down fast, and strikes a drum skin.

The stick pivots at a fist; its angle above the skin follows :func:`strike_height`, so the
downswing accelerates into the contact. A harder stroke starts from higher up and sounds
louder. At contact the skin flashes brighter and vibrates, decaying with the sound.
"""

from __future__ import annotations

import math

import numpy as np

from .. import draw, sound
from ..draw import Box
from ..timing import irregular_times, strike_height
from .base import Source


class DrumStrike(Source):
    category = "drum_strike"
    aspect = 1.1

    def __init__(self, rng, box: Box, span, background_luma):
        super().__init__(rng, box, span, background_luma)
        w, h = box.w, box.h
        self.side = 1 if rng.random() < 0.5 else -1  # the stick comes from the right (+1)
        self.radius = min(0.3 * w, 0.4 * h) * rng.uniform(0.8, 1.0)
        body_h = rng.uniform(0.25, 0.35) * h
        self.skin_y = box.y1 - body_h - 0.04 * h
        self.skin_x = box.cx - self.side * 0.12 * w
        self.body_h = body_h
        contact = (self.skin_x + self.side * 0.3 * self.radius, self.skin_y)
        self.pivot = (box.cx + self.side * 0.38 * w, self.skin_y - rng.uniform(0.35, 0.5) * h)
        dx, dy = contact[0] - self.pivot[0], contact[1] - self.pivot[1]
        self.stick_len = math.hypot(dx, dy)
        self.contact_angle = math.atan2(dy, dx)
        self.stick_width = max(3.0, 0.035 * h)

        self.fall_s = rng.uniform(0.05, 0.1)
        self.rise_s = 0.3
        self.rest_angle = rng.uniform(0.15, 0.35)  # radians above the skin when idle
        hits = irregular_times(
            rng,
            self.start,
            self.end,
            rate_hz=(1.2, 4.5),
            min_gap=self.fall_s + 0.12,
            lead_in=self.rise_s + self.fall_s,
            tail=self.rise_s,  # back at rest by the end of the event
        )
        self.lift = rng.uniform(0.35, 1.1, size=len(hits))  # radians: higher = harder
        self._set_onsets(hits, self.lift / 1.1)
        self.pulse_s = rng.uniform(0.06, 0.15)

        self.skin_color = draw.contrasting_color(rng, background_luma)
        self.body_color = draw.contrasting_color(rng, background_luma, 50.0)
        self.stick_color = draw.contrasting_color(rng, background_luma)
        self.flash_color = (255, 255, 255) if draw.luma(self.skin_color) < 128 else (0, 0, 0)
        self.f0 = rng.uniform(90.0, 260.0)
        self.decay_s = rng.uniform(0.08, 0.3)

    def _pulse(self, t: float) -> float:
        """Skin excitation: the last stroke's strength decaying since its contact."""
        k = int(np.searchsorted(self.onsets, t, side="right")) - 1
        if k < 0:
            return 0.0
        return float(self.gains[k] * math.exp(-(t - self.onsets[k]) / self.pulse_s))

    def draw(self, canvas, t):
        x, y, r = self.skin_x, self.skin_y, self.radius
        draw.rect(canvas, x - r, y, x + r, y + self.body_h, self.body_color)
        draw.ellipse(canvas, x, y + self.body_h, r, 0.28 * r, self.body_color)
        pulse = self._pulse(t)
        wobble = 1.0 + 0.3 * pulse * math.cos(2 * math.pi * 14.0 * t)
        skin = draw.mix(self.skin_color, self.flash_color, 0.7 * pulse)
        draw.ellipse(canvas, x, y, r * (1 + 0.06 * pulse), 0.28 * r * wobble, skin)

        lift = strike_height(
            t,
            self.onsets,
            self.lift,
            fall_s=self.fall_s,
            rise_s=self.rise_s,
            rest=self.rest_angle,
        )
        angle = self.contact_angle + self.side * lift
        px, py = self.pivot
        tip_x = px + self.stick_len * math.cos(angle)
        tip_y = py + self.stick_len * math.sin(angle)
        arm_x = px + self.side * 0.12 * self.box.w
        draw.line(canvas, arm_x, self.box.y1, px, py, self.stick_color, 2.2 * self.stick_width)
        draw.line(canvas, px, py, tip_x, tip_y, self.stick_color, self.stick_width)
        draw.circle(canvas, tip_x, tip_y, 0.9 * self.stick_width, self.stick_color)
        draw.circle(canvas, px, py, 1.6 * self.stick_width, draw.shade(self.stick_color, 0.8))

    def sound(self, sr, n, rng):
        track = np.zeros(n)
        # harder strokes sound brighter: one rendering per level of loudness
        levels = np.linspace(0.0, 1.0, sound.VARIANTS)
        bank = [sound.membrane_hit(rng, sr, self.f0, self.decay_s, 0.3 + 0.5 * g) for g in levels]
        for t, gain in zip(self.onsets, self.gains, strict=True):
            burst = bank[int(np.argmin(np.abs(levels - gain)))]
            sound.place(track, burst, t, sr, gain)
        return track
