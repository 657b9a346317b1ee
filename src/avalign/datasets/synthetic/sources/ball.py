"""``ball_bounce``: a ball falling under gravity and bouncing on a floor.

Physics: a flight launched upward from the floor at speed ``v`` lasts ``2 v / g`` and lands
at speed ``v``; each bounce keeps a fraction ``e`` (the restitution) of the speed, so the
bounces shorten geometrically until the ball settles; after a pause it is launched again.
A thud sounds at every floor contact, its amplitude proportional to the impact speed.
"""

from __future__ import annotations

import numpy as np

from .. import draw, sound
from ..draw import Box
from .base import Source

_MIN_GAIN = 0.12  # impacts below this fraction of the top speed are treated as settling
_SQUASH_S = 0.04  # how long the ball stays visibly squashed around a contact


class BallBounce(Source):
    category = "ball_bounce"
    aspect = 0.8

    def __init__(self, rng, box: Box, span, background_luma):
        super().__init__(rng, box, span, background_luma)
        self.radius = rng.uniform(0.09, 0.15) * box.h
        self.floor_top = box.y1 - 0.06 * box.h
        room = self.floor_top - box.y0 - 2 * self.radius
        apex = rng.uniform(0.5, 0.9) * room
        top_flight_s = rng.uniform(0.5, 1.1)
        self.g = 8 * apex / top_flight_s**2  # px/s^2, from apex = g T^2 / 8
        self.v_max = 0.5 * self.g * top_flight_s
        self.restitution = rng.uniform(0.5, 0.85)
        self.x_lo, self.x_hi = box.x0 + self.radius, box.x1 - self.radius
        self.x_rest = rng.uniform(self.x_lo, self.x_hi)
        self.color = draw.contrasting_color(rng, background_luma)
        self.floor_color = draw.contrasting_color(rng, background_luma, 40.0)
        self.thud_hz = rng.uniform(70.0, 180.0)
        self.thud_decay = rng.uniform(0.02, 0.05)
        self.thud_noise = rng.uniform(0.2, 0.5)
        self._simulate(rng)

    def _simulate(self, rng):
        """Record flights as (launch time, launch speed, x at launch, x speed)."""
        self.flights: list[tuple[float, float, float, float]] = []
        v_min = _MIN_GAIN * self.v_max
        latest_landing = self.end - 0.1
        t, x = self.start, self.x_rest
        v = self.v_max * rng.uniform(0.45, 1.0)
        vx = rng.uniform(-0.25, 0.25) * self.box.w
        contacts, gains = [], []
        while True:
            v = min(v, 0.5 * self.g * (latest_landing - t))  # land before the event ends
            if v < v_min:
                break
            flight_s = 2 * v / self.g
            self.flights.append((t, v, x, vx))
            t += flight_s
            x = self._reflect(x + vx * flight_s)
            contacts.append(t)
            gains.append(v / self.v_max)
            v *= self.restitution
            if v < v_min:  # settled: rest a moment, then launch again
                t += rng.uniform(0.05, 0.8)
                v = self.v_max * rng.uniform(0.45, 1.0)
                vx = rng.uniform(-0.25, 0.25) * self.box.w
        self.x_final = x
        self._set_onsets(contacts, gains)

    def _reflect(self, x: float) -> float:
        """Fold a free horizontal position back between the side walls."""
        span = self.x_hi - self.x_lo
        u = (x - self.x_lo) % (2 * span)
        return self.x_lo + (u if u <= span else 2 * span - u)

    def _state(self, t: float) -> tuple[float, float]:
        """Ball centre x and height of its bottom above the floor at time ``t``."""
        if not self.flights or t < self.flights[0][0]:
            return self.x_rest, 0.0
        for t0, v, x0, vx in self.flights:
            dt = t - t0
            if 0 <= dt < 2 * v / self.g:
                return self._reflect(x0 + vx * dt), v * dt - 0.5 * self.g * dt * dt
        # between flights, or after the last one: resting where the previous flight landed
        before = [f for f in self.flights if f[0] <= t]
        t0, v, x0, vx = before[-1]
        return self._reflect(x0 + vx * 2 * v / self.g), 0.0

    def draw(self, canvas, t):
        box = self.box
        draw.rect(canvas, box.x0, self.floor_top, box.x1, box.y1, self.floor_color)
        x, height = self._state(t)
        squash = 0.0
        k = int(np.searchsorted(self.onsets, t))
        for j in (k - 1, k):
            if 0 <= j < len(self.onsets) and abs(t - self.onsets[j]) < _SQUASH_S:
                squash = 0.3 * self.gains[j] * (1 - abs(t - self.onsets[j]) / _SQUASH_S)
        r = self.radius
        ax, ay = r * (1 + squash), r * (1 - squash)
        y = self.floor_top - height - ay
        draw.ellipse(canvas, x, y, ax, ay, self.color)
        draw.circle(canvas, x - 0.35 * r, y - 0.35 * ay, 0.25 * r, draw.shade(self.color, 1.4))

    def sound(self, sr, n, rng):
        track = np.zeros(n)
        bank = [
            sound.thud(rng, sr, self.thud_hz, self.thud_decay, self.thud_noise)
            for _ in range(sound.VARIANTS)
        ]
        for t, gain in zip(self.onsets, self.gains, strict=True):
            sound.place(track, bank[rng.integers(len(bank))], t, sr, gain)
        return track
