"""Timing shared by several sources: irregular rhythms and the swing of a striker.

Rhythms vary between clips in tempo, regularity and pauses, so that a detector cannot rely
on one tempo; a striker (stick, hand) rises slowly and falls fast onto its target, so that
the fastest visible motion ends exactly at the sound.
"""

from __future__ import annotations

import numpy as np


def irregular_times(
    rng: np.random.Generator,
    start: float,
    end: float,
    *,
    rate_hz: tuple[float, float],
    min_gap: float,
    lead_in: float,
    tail: float,
) -> np.ndarray:
    """Event times in ``[start + lead_in, end - tail]`` with a random rhythm.

    The rhythm is one of: *steady* (a tempo with a few percent jitter), *grouped*
    (alternating short and long gaps, like a repeated motif) or *random* (gamma-distributed
    gaps). Each may be broken by pauses. Gaps never fall under ``min_gap``. At least one
    time is returned whenever the window is not empty.
    """
    first = start + lead_in
    last = end - tail
    if last < first:
        return np.array([0.5 * (first + last)]) if end - start > 0 else np.array([])
    base = 1.0 / rng.uniform(*rate_hz)
    mode = rng.choice(["steady", "grouped", "random"])
    pause_prob = rng.uniform(0.0, 0.15)
    motif = rng.uniform(0.5, 1.5, size=rng.integers(2, 5))
    times = [first + rng.uniform(0.0, min(base, 0.5 * (last - first)))]
    while True:
        k = len(times)
        if mode == "steady":
            gap = base * rng.normal(1.0, 0.04)
        elif mode == "grouped":
            gap = base * motif[k % len(motif)] * rng.normal(1.0, 0.03)
        else:
            gap = base * rng.gamma(4.0, 0.25)
        if rng.random() < pause_prob:
            gap += rng.uniform(0.4, 1.5)
        t = times[-1] + max(gap, min_gap)
        if t > last:
            break
        times.append(t)
    return np.asarray(times)


def strike_height(
    t: float,
    hits: np.ndarray,
    heights: np.ndarray,
    *,
    fall_s: float,
    rise_s: float,
    rest: float,
) -> float:
    """Height of a striker above its target at time ``t`` (0 = touching).

    Before hit ``k`` the striker falls from ``heights[k]`` to 0 in ``fall_s`` with
    accelerating (quadratic) motion, so it is fastest at contact. Between hits it rises
    smoothly; before the first hit it rises from ``rest`` over ``rise_s``, and after the
    last one it returns to ``rest`` and stays there.
    """
    if len(hits) == 0:
        return rest
    k = int(np.searchsorted(hits, t, side="right"))  # hits[k-1] <= t < hits[k]
    if k < len(hits):
        fall_at = hits[k] - fall_s
        if t >= fall_at:
            u = (t - fall_at) / fall_s
            return heights[k] * (1.0 - u * u)
        if k == 0:
            rise_from, h0 = fall_at - rise_s, rest
        else:
            rise_from, h0 = hits[k - 1], 0.0
        if t < rise_from:
            return rest
        u = (t - rise_from) / max(fall_at - rise_from, 1e-6)
        return h0 + (heights[k] - h0) * _smoothstep(u)
    u = (t - hits[-1]) / rise_s
    return rest * _smoothstep(min(u, 1.0))


def _smoothstep(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)
