"""``machinery``: a wheel drives a ram through a crank; the ram clanks on an anvil.

Kinematics: the crank pin turns with the wheel at angle ``phi`` (0 = pin at the top); a rod
of length ``L`` pushes the ram, whose top sits ``L`` below the pin's height corrected for
the rod's tilt. At bottom dead centre (``phi = pi``) the ram hits the anvil: one clank per
cycle. The machine spins up at the event start and down before its end; a motor hum
follows the speed (pitch and level) and swells towards each impact. A period of 0.3-1.2 s
makes the source periodic, so its time offset is honestly ambiguous by whole periods.
"""

from __future__ import annotations

import math

import numpy as np

from .. import draw, sound
from ..draw import Box
from .base import Source

_GRID_HZ = 1000.0  # resolution of the integrated crank angle
_MIN_AUDIBLE_SPEED = 0.2  # impacts slower than this fraction of full speed make no clank


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


class Machinery(Source):
    category = "machinery"
    aspect = 0.9

    def __init__(self, rng, box: Box, span, background_luma):
        super().__init__(rng, box, span, background_luma)
        h = box.h
        self.wheel_r = rng.uniform(0.18, 0.24) * h
        self.wheel_x = box.cx + rng.uniform(-0.1, 0.1) * box.w
        self.wheel_y = box.y0 + self.wheel_r + 0.05 * h
        self.crank_r = 0.55 * self.wheel_r
        self.ram_h, self.ram_w = 0.12 * h, rng.uniform(0.22, 0.3) * h
        self.anvil_top = box.y1 - 0.08 * h
        self.rod_len = self.anvil_top - self.ram_h - (self.wheel_y + self.crank_r)
        self.spokes = int(rng.integers(3, 7))
        self.metal = draw.contrasting_color(rng, background_luma)
        self.frame = draw.contrasting_color(rng, background_luma, 50.0)

        period = rng.uniform(0.3, 1.2)
        self.omega = 2 * math.pi / period
        dur = self.end - self.start
        max_ramp = max(0.05, 0.5 * (dur - 0.05 - 1.5 * period))
        self.ramp_up = min(rng.uniform(0.2, 0.8), max_ramp)
        self.ramp_down = min(rng.uniform(0.2, 0.8), max_ramp)
        self.drift = (rng.uniform(0.0, 0.06), rng.uniform(0.1, 0.5), rng.uniform(0, 2 * math.pi))
        self.phi0 = rng.uniform(0.0, 2 * math.pi)
        self._integrate()
        self.clank_hz = rng.uniform(600.0, 1500.0)
        self.clank_decay = rng.uniform(0.04, 0.15)
        self.hum_hz = rng.uniform(40.0, 120.0)
        self.hum_level = rng.uniform(0.05, 0.3)
        self.hum_swell = rng.uniform(0.2, 0.8)

    def speed(self, t: np.ndarray) -> np.ndarray:
        """Angular speed as a fraction of full speed: ramps at both ends, a slow drift."""
        depth, rate, phase = self.drift
        s = _smoothstep((t - self.start) / self.ramp_up)
        s = s * _smoothstep((self.end - 0.05 - t) / self.ramp_down)
        return s * (1.0 + depth * np.sin(2 * math.pi * rate * t + phase))

    def _integrate(self):
        """Tabulate the crank angle and find the impacts (crossings of phi = pi mod 2 pi)."""
        self.grid_t = np.arange(self.start, self.end + 1.0 / _GRID_HZ, 1.0 / _GRID_HZ)
        speed = self.speed(self.grid_t)
        self.grid_phi = self.phi0 + np.concatenate(
            [[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1])) * self.omega / _GRID_HZ]
        )
        cycles = np.floor((self.grid_phi - math.pi) / (2 * math.pi))
        steps = np.nonzero(np.diff(cycles) > 0)[0]
        onsets, gains = [], []
        for i in steps:
            target = math.pi + 2 * math.pi * cycles[i + 1]
            frac = (target - self.grid_phi[i]) / (self.grid_phi[i + 1] - self.grid_phi[i])
            t = self.grid_t[i] + frac / _GRID_HZ
            s = float(self.speed(np.array([t]))[0])
            if s >= _MIN_AUDIBLE_SPEED:
                onsets.append(t)
                gains.append(min(1.0, s))
        self._set_onsets(onsets, gains)

    def angle(self, t: np.ndarray | float) -> np.ndarray:
        """Crank angle at ``t``; constant before the start and after the end."""
        return np.interp(t, self.grid_t, self.grid_phi)

    def draw(self, canvas, t):
        phi = float(self.angle(t))
        wx, wy, wr = self.wheel_x, self.wheel_y, self.wheel_r
        pin_x = wx + self.crank_r * math.sin(phi)
        pin_y = wy - self.crank_r * math.cos(phi)
        ram_top = pin_y + math.sqrt(self.rod_len**2 - (self.crank_r * math.sin(phi)) ** 2)
        rail = 0.5 * self.ram_w + 0.04 * self.box.h
        lo = wy + self.crank_r + 0.5 * self.rod_len
        for side in (-1, 1):
            draw.line(
                canvas,
                wx + side * rail,
                lo,
                wx + side * rail,
                self.anvil_top,
                self.frame,
                0.03 * self.box.h,
            )
        draw.rect(
            canvas,
            wx - 0.7 * self.ram_w,
            self.anvil_top,
            wx + 0.7 * self.ram_w,
            self.box.y1,
            self.frame,
        )
        draw.rect(
            canvas,
            wx - 0.5 * self.ram_w,
            ram_top,
            wx + 0.5 * self.ram_w,
            ram_top + self.ram_h,
            self.metal,
        )
        draw.circle(canvas, wx, wy, wr, self.metal, max(2, int(0.12 * wr)))
        for j in range(self.spokes):
            a = phi + 2 * math.pi * j / self.spokes
            draw.line(
                canvas, wx, wy, wx + wr * math.sin(a), wy - wr * math.cos(a), self.metal, 0.08 * wr
            )
        draw.line(canvas, pin_x, pin_y, wx, ram_top, draw.shade(self.metal, 0.7), 0.1 * wr)
        draw.circle(canvas, pin_x, pin_y, 0.12 * wr, self.frame)
        draw.circle(canvas, wx, wy, 0.15 * wr, self.frame)

    def sound(self, sr, n, rng):
        track = np.zeros(n)
        bank = [
            sound.clank(rng, sr, self.clank_hz, self.clank_decay) for _ in range(sound.VARIANTS)
        ]
        for t, gain in zip(self.onsets, self.gains, strict=True):
            sound.place(track, bank[rng.integers(len(bank))], t, sr, gain)
        # hum over the active span: pitch and level follow the speed, louder near impacts
        i0, i1 = round(self.start * sr), min(n, round(self.end * sr))
        t = np.arange(i0, i1) / sr
        speed = self.speed(t)
        phase = 2 * math.pi * np.cumsum(self.hum_hz * np.maximum(speed, 0.0)) / sr
        hum = np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase)
        swell = 1.0 + self.hum_swell * np.cos(self.angle(t) - math.pi)
        track[i0:i1] += self.hum_level * speed * swell * hum / 1.75
        return track
