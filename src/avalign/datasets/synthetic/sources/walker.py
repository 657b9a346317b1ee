"""``footsteps``: a walking figure whose heels strike the ground audibly.

Gait (an inverted-pendulum walk): the stance leg is straight and pivots over its planted
foot while the swing leg mirrors it with a bent knee. In step units ``u`` the stance angle
is ``A sin(pi (u - k))`` for the step ``k = floor(u - 1/2)``, so a heel strikes at every
``u = k + 1/2``, with both feet on the ground, the hip at its lowest and the legs spread
widest. The hip rides on the stance foot, so feet never slide. Walks come in bouts of a few
steps with pauses; the walker turns around at the edges of its box. A thud plus a scuff
sounds at each heel strike.
"""

from __future__ import annotations

import math

import numpy as np

from .. import draw, sound
from ..draw import Box
from .base import Source


class Footsteps(Source):
    category = "footsteps"
    aspect = 1.6

    def __init__(self, rng, box: Box, span, background_luma):
        super().__init__(rng, box, span, background_luma)
        height = rng.uniform(0.7, 0.9) * box.h
        self.ground = box.y1 - 0.04 * box.h
        self.leg = 0.47 * height
        self.torso = 0.3 * height
        self.head_r = 0.09 * height
        self.width = max(3.0, 0.06 * height)
        self.swing = rng.uniform(0.3, 0.5)  # leg amplitude A (rad)
        margin = 0.25 * height
        self.x_lo, self.x_hi = box.x0 + margin, box.x1 - margin
        max_step = 0.5 * (self.x_hi - self.x_lo)
        if 2 * self.leg * math.sin(self.swing) > max_step:  # a narrow box: shorter steps
            self.swing = math.asin(max_step / (2 * self.leg))
        self.step_len = 2 * self.leg * math.sin(self.swing)
        self.step_s = rng.uniform(0.35, 0.65)
        self.knee = rng.uniform(0.5, 0.9)
        self.color = draw.contrasting_color(rng, background_luma)
        self.ground_color = draw.contrasting_color(rng, background_luma, 40.0)
        self._plan_bouts(rng)
        self.thud_hz = rng.uniform(70.0, 140.0)
        self.thud_decay = rng.uniform(0.03, 0.06)
        self.hardness = rng.uniform(0.2, 0.8)
        self.scuff_decay = rng.uniform(0.01, 0.03)

    def _plan_bouts(self, rng):
        """Bouts as (start time, steps, start hip x, direction)."""
        self.bouts: list[tuple[float, int, float, int]] = []
        x = self.x_rest = rng.uniform(self.x_lo, self.x_hi)
        direction = 1 if rng.random() < 0.5 else -1
        self.dir_rest = direction
        t = self.start + rng.uniform(0.05, 0.5)
        strikes, gains = [], []
        leg_gain = (1.0, rng.uniform(0.8, 1.0))
        while True:
            room = (self.x_hi - x) if direction > 0 else (x - self.x_lo)
            if room < self.step_len:
                direction = -direction
                room = (self.x_hi - x) if direction > 0 else (x - self.x_lo)
            n = min(
                math.floor(room / self.step_len),
                math.floor((self.end - 0.05 - t) / self.step_s),
                int(rng.integers(2, 12)),
            )
            if n < 1:
                break
            self.bouts.append((t, n, x, direction))
            for k in range(n):
                strikes.append(t + (k + 0.5) * self.step_s)
                gains.append(rng.uniform(0.75, 1.0) * leg_gain[(len(strikes)) % 2])
            x += direction * n * self.step_len
            t += n * self.step_s
            if rng.random() < 0.4:
                t += rng.uniform(0.3, 1.2)
        self._set_onsets(strikes, gains)

    def _pose(self, t: float) -> tuple[float, float, float, int]:
        """Hip x, stance angle, knee bend and direction at time ``t``."""
        x, direction = self.x_rest, self.dir_rest
        for t0, n, x0, d in self.bouts:
            if t < t0:
                break
            u = (t - t0) / self.step_s
            if u >= n:
                x, direction = x0 + d * n * self.step_len, d
                continue
            k = math.floor(u - 0.5)
            stance = self.swing * math.sin(math.pi * (u - k))
            plant = x0 + d * self.step_len * (k + 1)
            hip_x = plant - d * self.leg * math.sin(stance)
            ease = min(1.0, u / 0.5, (n - u) / 0.5)
            return hip_x, stance, self.knee * abs(math.cos(math.pi * u)) * ease, d
        return x, 0.0, 0.0, direction

    def _leg(self, canvas, hip_x, hip_y, angle, bend, d):
        half = 0.5 * self.leg
        knee_x = hip_x + d * half * math.sin(angle)
        knee_y = hip_y + half * math.cos(angle)
        foot_x = knee_x + d * half * math.sin(angle - bend)
        foot_y = knee_y + half * math.cos(angle - bend)
        draw.line(canvas, hip_x, hip_y, knee_x, knee_y, self.color, self.width)
        draw.line(canvas, knee_x, knee_y, foot_x, foot_y, self.color, self.width)
        draw.line(
            canvas, foot_x, foot_y, foot_x + d * 2.2 * self.width, foot_y, self.color, self.width
        )

    def draw(self, canvas, t):
        draw.rect(
            canvas,
            self.box.x0,
            self.ground + 0.5 * self.width,
            self.box.x1,
            self.box.y1,
            self.ground_color,
        )
        hip_x, stance, bend, d = self._pose(t)
        hip_y = self.ground - self.leg * math.cos(stance)
        self._leg(canvas, hip_x, hip_y, stance, 0.0, d)
        self._leg(canvas, hip_x, hip_y, -stance, bend, d)
        neck_y = hip_y - self.torso
        draw.line(canvas, hip_x, hip_y, hip_x, neck_y, self.color, 1.4 * self.width)
        arm = 0.66 * self.leg
        for sign in (-1, 1):
            a = 0.6 * sign * stance
            draw.line(
                canvas,
                hip_x,
                neck_y + self.width,
                hip_x + d * arm * math.sin(a),
                neck_y + self.width + arm * math.cos(a),
                self.color,
                0.8 * self.width,
            )
        draw.circle(
            canvas, hip_x + d * 0.15 * self.head_r, neck_y - self.head_r, self.head_r, self.color
        )

    def sound(self, sr, n, rng):
        track = np.zeros(n)
        bank = [self._footfall(rng, sr) for _ in range(sound.VARIANTS)]
        for t, gain in zip(self.onsets, self.gains, strict=True):
            sound.place(track, bank[rng.integers(len(bank))], t, sr, gain)
        return track

    def _footfall(self, rng, sr):
        """A heel strike: a body thud plus a shoe scuff (louder for hard soles)."""
        step = (1 - 0.5 * self.hardness) * sound.thud(rng, sr, self.thud_hz, self.thud_decay, 0.3)
        scuff = sound.noise_burst(rng, sr, self.scuff_decay, "bandpass", (800.0, 3500.0))
        scuff = self.hardness * scuff[: len(step)] / (np.max(np.abs(scuff)) + 1e-12)
        step[: len(scuff)] += scuff
        return step
