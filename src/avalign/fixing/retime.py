"""Move a track's sound in time against its picture, sample-accurately, block by block.

What "moved" means, on the file's own timeline:

- **constant offset** (audio late by ``o`` ms): the new sound at time ``t`` is the old sound at
  ``t + o``, shifted by a whole number of samples at the track's own rate (sample-accurate: the
  error is at most half a sample, 0.01 ms at 48 kHz). The track keeps its length and start:
  audio that was late loses its first ``o`` ms and ends with ``o`` ms of digital silence; audio
  that was early starts with silence and loses its last ``|o|`` ms.
- **drift** (``o(t) = o0 + b t``): the sound is resampled to the picture's clock, new ``t`` = old
  ``t + o0 + b t``, by windowed-sinc interpolation (Kaiser window, `SINC_HALF_WIDTH` taps each
  side, low-passed when the sound is sped up). Pitch moves with speed, as it did when the
  recorder's clock was wrong.
- **edit** (``o1`` before time ``tau``, ``o2`` after): each part moved by its own offset.

Every place where moved sound meets silence or a cut (the start of a trimmed track, the end of
a track that runs into silence, an edit) gets a raised-cosine fade of `FADE_MS`, so no click.

The work is done `BLOCK` output samples at a time from a reader of the old samples
(`avalign.fixing.pcm`): memory is a few blocks whatever the length of the track. Each block
sees the positions of `FADE_MS` of its neighbours, so a fade that crosses a block boundary is
the same as in one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from avalign.fixing.pcm import ArrayReader, PcmReader, PcmTrack

#: Length of the fades where moved sound meets silence or a cut, ms.
FADE_MS = 10.0
#: Taps on each side of the windowed-sinc interpolator (drift correction).
SINC_HALF_WIDTH = 16
#: Kaiser window shape of the interpolator (stop-band about -80 dB).
KAISER_BETA = 8.6
#: Fractional positions the interpolator distinguishes per sample (1/1024: -60 dB error).
PHASES = 1024
#: Output samples moved per block (bounds memory: 2.7 s of 48 kHz sound).
BLOCK = 1 << 17

Offsets = Callable[[np.ndarray], np.ndarray] | float


def _sinc_table(cutoff: float) -> np.ndarray:
    """Kaiser-windowed sinc weights, ``(PHASES + 1, 2 * SINC_HALF_WIDTH)``, per fractional phase.

    Row ``p`` holds the weights of taps ``-SINC_HALF_WIDTH + 1 .. SINC_HALF_WIDTH`` around
    ``floor(position)`` for a position whose fractional part is ``p / PHASES``.
    """
    taps = np.arange(-SINC_HALF_WIDTH + 1, SINC_HALF_WIDTH + 1)
    distance = taps[None, :] - (np.arange(PHASES + 1) / PHASES)[:, None]
    window = np.i0(KAISER_BETA * np.sqrt(np.clip(1 - (distance / SINC_HALF_WIDTH) ** 2, 0, 1)))
    weights = cutoff * np.sinc(cutoff * distance) * window / np.i0(KAISER_BETA)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def _sinc_interpolate(samples: np.ndarray, positions: np.ndarray, cutoff: float) -> np.ndarray:
    """``samples`` (C, n) read at fractional ``positions`` (m,) with a Kaiser-windowed sinc.

    ``cutoff`` (<= 1) is the low-pass edge as a share of the input's Nyquist frequency. The
    fractional part of each position is rounded to 1 / `PHASES` of a sample.
    """
    channels = samples.shape[0]
    table = _sinc_table(cutoff)
    taps = np.arange(-SINC_HALF_WIDTH + 1, SINC_HALF_WIDTH + 1)
    padded = np.pad(samples, ((0, 0), (SINC_HALF_WIDTH, SINC_HALF_WIDTH + 1)))
    out = np.zeros((channels, positions.size), np.float32)
    for start in range(0, positions.size, BLOCK):
        where = positions[start : start + BLOCK]
        base = np.floor(where).astype(np.int64)
        weights = table[np.round((where - base) * PHASES).astype(np.int64)]
        index = np.clip(base[:, None] + taps[None, :] + SINC_HALF_WIDTH, 0, padded.shape[1] - 1)
        for c in range(channels):
            out[c, start : start + where.size] = np.einsum("ij,ij->i", padded[c][index], weights)
    return out


def _fade(gain: np.ndarray, edge: int, length: int, rising: bool) -> None:
    """Multiply ``gain`` by a raised-cosine ramp of ``length`` that ends (or starts) at ``edge``."""
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)
    if rising:
        part = slice(edge, min(gain.size, edge + length))
        gain[part] *= ramp[: part.stop - part.start]
    else:
        part = slice(max(0, edge - length), edge)
        gain[part] *= ramp[::-1][length - (part.stop - part.start) :]


def _positions(begin: int, end: int, rate: int, start_s: float, offset_ms: Offsets):
    """Where output samples ``begin .. end - 1`` read the old track (fractional sample index)."""
    index = np.arange(begin, end, dtype=np.float64)
    if callable(offset_ms):
        times = start_s + index / rate
        return index + np.asarray(offset_ms(times), np.float64) * rate / 1000.0
    return index + round(float(offset_ms) * rate / 1000.0)


def _speed(rate: int, start_s: float, n: int, offset_ms: Offsets) -> float:
    """Old samples read per new sample (1 for a constant offset or an edit)."""
    if not callable(offset_ms) or n < 2:
        return 1.0
    probe = _positions(0, min(n, 4096), rate, start_s, offset_ms)
    return float(np.median(np.diff(probe)))


def retime_block(
    reader: PcmReader | ArrayReader,
    n: int,
    rate: int,
    start_s: float,
    offset_ms: Offsets,
    begin: int,
    end: int,
    fade_ms: float = FADE_MS,
    speed: float | None = None,
) -> np.ndarray:
    """Output samples ``begin .. end - 1`` of the moved track of ``n`` samples (channels, m).

    ``offset_ms`` is the offset to undo (positive = audio late): a number (constant, moved by
    whole samples) or a function of the time on the file's timeline (s) giving the offset there.
    """
    length = max(1, round(fade_ms * rate / 1000.0))
    speed = _speed(rate, start_s, n, offset_ms) if speed is None else speed
    lo, hi = max(0, begin - length), min(n, end + length)  # the block and its fades' reach
    positions = _positions(lo, hi, rate, start_s, offset_ms)
    inside = (positions >= 0) & (positions <= n - 1)
    gain = np.where(inside, 1.0, 0.0)
    changes = np.flatnonzero(np.diff(inside.astype(np.int8))) + 1
    cuts = np.zeros(0, int)
    if callable(offset_ms):  # edits: the offset jumps
        cuts = np.flatnonzero(np.abs(np.diff(positions) - speed) > 0.5) + 1
    for edge in np.concatenate([changes, cuts]):
        _fade(gain, int(edge), length, rising=True)
        _fade(gain, int(edge), length, rising=False)
    if lo == 0 and inside.size and inside[0] and positions[0] >= 1:
        _fade(gain, 0, length, rising=True)  # the track now starts in the middle of a sound
    if hi == n and inside.size and inside[-1] and positions[-1] <= n - 2:
        _fade(gain, gain.size, length, rising=False)  # ... or stops in the middle of one
    keep = slice(begin - lo, end - lo)
    positions, inside, gain = positions[keep], inside[keep], gain[keep]
    out = np.zeros((reader.read(0, 0).shape[0], end - begin), np.float32)
    if inside.any():
        wanted = positions[inside]
        if callable(offset_ms):
            first = int(np.floor(wanted.min())) - SINC_HALF_WIDTH
            last = int(np.ceil(wanted.max())) + SINC_HALF_WIDTH + 2
            cutoff = 1.0 if abs(speed - 1.0) < 1e-9 else min(1.0, 1.0 / max(speed, 1e-6)) * 0.97
            out[:, inside] = _sinc_interpolate(reader.read(first, last), wanted - first, cutoff)
        else:
            first = int(wanted[0])
            out[:, inside] = reader.read(first, first + wanted.size)
    return (out * gain[None, :]).astype(np.float32)


def retime_samples(
    samples: np.ndarray,
    rate: int,
    start_s: float,
    offset_ms: Offsets,
    fade_ms: float = FADE_MS,
) -> np.ndarray:
    """The sound in memory moved (see the module docstring); same shape as ``samples`` (C, n)."""
    n = samples.shape[1]
    reader = ArrayReader(samples)
    speed = _speed(rate, start_s, n, offset_ms)
    blocks = [
        retime_block(reader, n, rate, start_s, offset_ms, b, min(n, b + BLOCK), fade_ms, speed)
        for b in range(0, n, BLOCK)
    ]
    return np.concatenate(blocks, axis=1) if blocks else samples.copy()


def retime_track(track: PcmTrack, offset_ms: Offsets, target: Path, fade_ms: float = FADE_MS):
    """Write ``track`` moved to ``target`` as interleaved float32, one block at a time."""
    n, rate = track.samples, track.rate
    speed = _speed(rate, track.start_s, n, offset_ms)
    with PcmReader(track) as reader, open(target, "wb") as sink:
        for begin in range(0, n, BLOCK):
            block = retime_block(
                reader,
                n,
                rate,
                track.start_s,
                offset_ms,
                begin,
                min(n, begin + BLOCK),
                fade_ms,
                speed,
            )
            np.ascontiguousarray(block.T, dtype="<f4").tofile(sink)
