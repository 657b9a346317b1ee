"""A file's audio streams as raw PCM on disk, laid on the file's own timeline, read in blocks.

`fix` must move an hour of sound without holding an hour of sound: each audio stream is decoded
packet by packet from its own first packet (never from a seek, which lands on a video keyframe
and loses the sound before it) and appended to a scratch file of interleaved float32 samples.
Every decoded frame goes where its own timestamp puts it: a gap in the timestamps becomes
digital silence, an overlap drops the samples that are presented twice. So sample ``i`` of the
scratch file is the sound a player presents at ``start_s + i / rate``, and memory stays one
decoded frame. `PcmReader` then reads any sample range back, zeros outside the track.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from avalign.media.errors import MediaError

#: Sample formats as PyAV hands them out, and the scale that maps them to -1..1.
_SCALE = {"s16": 32768.0, "s32": 2147483648.0, "s64": 9.223372036854776e18, "u8": 128.0}


@dataclass(frozen=True)
class PcmTrack:
    """One decoded audio stream: where its samples are and how the stream was coded."""

    index: int  # stream index in the container
    path: Path  # interleaved little-endian float32, (n, channels)
    samples: int  # n
    channels: int
    rate: int
    layout: str
    codec: str  # canonical decoder name: "aac", "opus", "mp3"
    bit_rate: int | None
    start_s: float  # presented time of sample 0 on the file's timeline
    gaps_filled: int = 0  # gaps in the timestamps filled with silence
    overlaps_dropped: int = 0  # overlaps whose repeated samples were dropped


def frame_samples(frame: av.AudioFrame) -> np.ndarray:
    """A decoded frame as float32 (channels, n) in -1..1, whatever its sample format."""
    data = frame.to_ndarray()
    name = frame.format.name.rstrip("p")
    channels = frame.layout.nb_channels
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T
    if name in ("flt", "dbl"):
        return data.astype(np.float32, copy=False)
    if name == "u8":
        return ((data.astype(np.float32) - 128.0) / _SCALE["u8"]).astype(np.float32)
    return (data.astype(np.float64) / _SCALE[name]).astype(np.float32)


def _tolerance(rate: int, time_base) -> int:
    """Samples by which a timestamp may miss its place without being a gap or an overlap.

    A container's clock cannot place a frame finer than one tick (1 ms in Matroska, 48 samples
    at 48 kHz): differences within a tick are rounding, not missing or repeated sound.
    """
    return max(2, math.ceil(rate * float(time_base)) + 1)


def decode_to_pcm(path: Path, stream_index: int, scratch: Path) -> PcmTrack:
    """Decode one audio stream of ``path`` into ``scratch`` (see the module docstring)."""
    try:
        container = av.open(str(path))
    except (FileNotFoundError, av.error.FFmpegError) as error:
        raise MediaError(path, f"cannot open: {getattr(error, 'strerror', error)}") from error
    try:
        stream = container.streams[stream_index]
        context = stream.codec_context
        rate = int(context.sample_rate or stream.rate or 0)
        channels = context.channels
        written, start, gaps, overlaps = 0, None, 0, 0
        tolerance = _tolerance(rate, stream.time_base)
        with open(scratch, "wb") as sink:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    samples = frame_samples(frame)
                    if frame.pts is not None:
                        at = float(frame.pts * frame.time_base)
                        if start is None:
                            start = at
                        place = round((at - start) * rate)
                        if place - written > tolerance:  # a gap: silence until this frame
                            gap = place - written
                            np.zeros((gap, channels), "<f4").tofile(sink)
                            written += gap
                            gaps += 1
                        elif written - place > tolerance:  # an overlap: drop what was presented
                            samples = samples[:, written - place :]
                            overlaps += 1
                    if samples.shape[1]:
                        np.ascontiguousarray(samples.T, dtype="<f4").tofile(sink)
                        written += samples.shape[1]
        return PcmTrack(
            stream_index,
            scratch,
            written,
            channels,
            rate,
            context.layout.name,
            context.codec.canonical_name,  # "mp3", not "mp3float"
            stream.bit_rate or context.bit_rate or None,
            start or 0.0,
            gaps,
            overlaps,
        )
    except av.error.FFmpegError as error:
        raise MediaError(path, f"audio decoding failed: {error.strerror}") from error
    finally:
        container.close()


class PcmReader:
    """Sample ranges of a `PcmTrack`'s scratch file, zeros outside ``[0, samples)``."""

    def __init__(self, track: PcmTrack) -> None:
        self.track = track
        self._file = open(track.path, "rb")  # noqa: SIM115 - closed by close()

    def read(self, begin: int, end: int) -> np.ndarray:
        """Samples ``begin .. end - 1`` as float32 (channels, end - begin)."""
        channels, n = self.track.channels, self.track.samples
        out = np.zeros((channels, max(0, end - begin)), np.float32)
        first, last = max(begin, 0), min(end, n)
        if last > first:
            self._file.seek(first * channels * 4)
            block = np.fromfile(self._file, "<f4", (last - first) * channels)
            out[:, first - begin : last - begin] = block.reshape(-1, channels).T
        return out

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PcmReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ArrayReader:
    """The `PcmReader` interface over samples already in memory (channels, n)."""

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = samples

    def read(self, begin: int, end: int) -> np.ndarray:
        channels, n = self.samples.shape
        out = np.zeros((channels, max(0, end - begin)), np.float32)
        first, last = max(begin, 0), min(end, n)
        if last > first:
            out[:, first - begin : last - begin] = self.samples[:, first:last]
        return out
