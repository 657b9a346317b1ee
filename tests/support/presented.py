"""What a player presents of a `flashes` clip, read from the decoded streams' own timestamps.

Independent of avalign's features and of its fix code: every picture is decoded with its pts
and the square's brightness read; every sound frame is laid at its pts and the beeps found by
their amplitude. The offset is the median time from a flash to the beep nearest it (positive:
audio late), to the sample; a frame's pts, not its index, says when it is shown.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np

#: A beep is there when the sound's magnitude passes this (beeps peak at 0.5, noise at 0.01).
BEEP_LEVEL = 0.2


def flash_onsets(path: Path) -> np.ndarray:
    """Presented times (s) of the pictures where the square lights up."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times, lit = [], []
        for frame in container.decode(stream):
            gray = frame.to_ndarray(format="gray")
            h, w = gray.shape
            times.append(float(frame.pts * frame.time_base))
            lit.append(gray[h // 2 - 4 : h // 2 + 4, w // 2 - 4 : w // 2 + 4].mean() > 170)
    order = np.argsort(times)
    times, lit = np.asarray(times, float)[order], np.asarray(lit, bool)[order]
    return times[np.flatnonzero(lit[1:] & ~lit[:-1]) + 1]


def presented_sound(path: Path) -> tuple[np.ndarray, int, float]:
    """(mono samples, rate, time of sample 0) of the first audio stream, frames at their pts."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        parts = []
        for frame in container.decode(stream):
            data = frame.to_ndarray()
            if not frame.format.is_planar:
                data = data.reshape(-1, frame.layout.nb_channels).T
            parts.append((float(frame.pts * frame.time_base), data.astype(np.float64).mean(0)))
    start = parts[0][0]
    end = max(round((t - start) * rate) + a.size for t, a in parts)
    sound = np.zeros(end)
    for t, a in parts:
        i = round((t - start) * rate)
        sound[i : i + a.size] = a
    return sound, rate, start


def beep_onsets(path: Path) -> np.ndarray:
    """Presented times (s) where each beep starts."""
    sound, rate, start = presented_sound(path)
    loud = np.abs(sound) > BEEP_LEVEL
    rises = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    if rises.size == 0:
        return rises.astype(float)
    keep = [rises[0]] + [r for p, r in itertools.pairwise(rises) if r - p > rate // 5]
    return start + np.asarray(keep) / rate


def presented_offset_ms(path: Path) -> float:
    """Median time from each flash to the nearest beep, ms (positive: the sound is late)."""
    flashes, beeps = flash_onsets(path), beep_onsets(path)
    gaps = [beeps[np.argmin(np.abs(beeps - t))] - t for t in flashes]
    return 1000.0 * float(np.median(gaps))


def sound_samples(path: Path) -> int:
    """Samples the first audio stream decodes to (its presented length at its rate)."""
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(container.streams.audio[0]))


def video_packets(path: Path) -> list[tuple[bytes, float]]:
    """Each picture packet's bytes and its pts (s) after the first packet's, in file order: the
    picture as it is stored and as it is timed."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [(bytes(p), p.pts) for p in container.demux(stream) if p.size]
        time_base = stream.time_base  # read while the file is open
    first = packets[0][1]
    wrap = 1 << 33 if Path(path).suffix == ".ts" else 0  # MPEG-TS clocks wrap at 2^33 ticks

    def after_first(pts: int) -> float:
        ticks = pts - first
        if wrap:
            ticks = (ticks + wrap // 2) % wrap - wrap // 2
        return round(float(ticks * time_base), 6)

    return [(data, after_first(pts)) for data, pts in packets]
