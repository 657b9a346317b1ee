"""Inspect a media file before any work is spent on it.

`probe_media` opens the container, reads the stream headers and walks the video packets (no
decoding) to learn what the file really holds: whether it has a picture and a sound track, how long
the picture truly lasts (a truncated file declares more than it holds), whether the frame rate is
variable, and whether the resolution is odd. Anything that makes the file unusable raises a
`MediaError` whose message names the file and the problem on one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from avalign.media.errors import MediaError

#: A clip shorter than this cannot hold a single sample (samples are at least 1 s long).
MIN_DURATION_S = 1.0
#: Frame-count rounding: a 1 s cut of a 24 fps video can hold 23 frames (0.96 s).
DURATION_SLACK_S = 0.05
#: Frame-interval spread (relative to the median interval) above which a stream is variable-rate.
VFR_TOLERANCE = 0.25
#: A file whose packets stop this much before its declared duration is truncated.
TRUNCATION_TOLERANCE_S = 0.5


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds, as far as avalign cares.

    Attributes
    ----------
    path : the file.
    duration_s : seconds of picture actually present (from the packets, not the header).
    width, height : frame size in pixels.
    fps : average frame rate in Hz.
    variable_frame_rate : True when frame intervals vary (avalign samples frames by timestamp).
    has_audio : whether an audio stream exists.
    audio_rate : audio sample rate in Hz (0 without audio).
    audio_channels : number of audio channels (0 without audio).
    notes : harmless oddities worth reporting (variable frame rate, odd resolution).
    """

    path: str
    duration_s: float
    width: int
    height: int
    fps: float
    variable_frame_rate: bool
    has_audio: bool
    audio_rate: int
    audio_channels: int
    notes: tuple[str, ...] = field(default_factory=tuple)


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise MediaError(path, "file not found")
    if path.is_dir():
        raise MediaError(path, "is a folder, not a media file")
    if path.stat().st_size == 0:
        raise MediaError(path, "empty file (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except av.error.FFmpegError as error:
        raise MediaError(
            path, f"not a readable video (corrupt, truncated or not media): {error.strerror}"
        ) from error


def _packet_times(container: av.container.InputContainer, path: Path) -> np.ndarray:
    """Presentation times (s) of every video packet, sorted; raises on a damaged stream."""
    stream = container.streams.video[0]
    base = float(stream.time_base)
    times: list[float] = []
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size > 0:
                times.append(packet.pts * base)
    except av.error.FFmpegError as error:
        raise MediaError(path, f"damaged video stream: {error.strerror}") from error
    return np.sort(np.asarray(times, dtype=np.float64))


def probe_media(path: str | Path) -> MediaInfo:
    """Return what `path` holds, or raise `MediaError` when it cannot serve as a video.

    Raises for: a missing or empty file, a file that is not media, an audio-only file, a video
    without frames, a clip shorter than 1 s, and a file truncated against its own header.
    A missing audio stream is *not* an error here (`has_audio` is False): whether that matters
    depends on the caller (a source for misaligned samples needs audio; `detect` reports it).
    """
    path = Path(path)
    container = _open(path)
    try:
        if not container.streams.video:
            what = "audio-only file" if container.streams.audio else "no streams"
            raise MediaError(path, f"{what}: no video stream")
        video = container.streams.video[0]
        width = int(video.codec_context.width or 0)
        height = int(video.codec_context.height or 0)
        if width <= 0 or height <= 0:
            raise MediaError(path, "video stream has no frame size (corrupt header)")
        audio = container.streams.audio[0] if container.streams.audio else None
        declared = float(container.duration) / av.time_base if container.duration else 0.0
        times = _packet_times(container, path)
    finally:
        container.close()

    if times.size == 0:
        raise MediaError(path, "zero-length video: no frames")
    intervals = np.diff(times)
    step = float(np.median(intervals)) if intervals.size else 0.0
    duration = float(times[-1] - min(times[0], 0.0) + step)
    if duration < MIN_DURATION_S - DURATION_SLACK_S:
        raise MediaError(
            path, f"too short: {duration:.2f} s (at least {MIN_DURATION_S:.0f} s needed)"
        )
    if declared and duration < declared - TRUNCATION_TOLERANCE_S:
        raise MediaError(
            path, f"truncated: frames stop at {duration:.2f} s of the declared {declared:.2f} s"
        )
    variable = bool(
        intervals.size > 2
        and step > 0
        and np.percentile(np.abs(intervals - step), 90) > VFR_TOLERANCE * step
    )
    notes = []
    if variable:
        notes.append("variable frame rate: frames are sampled by timestamp")
    if width % 2 or height % 2:
        notes.append(f"odd resolution {width}x{height}")
    return MediaInfo(
        path=str(path),
        duration_s=duration,
        width=width,
        height=height,
        fps=(1.0 / step) if step > 0 else 0.0,
        variable_frame_rate=variable,
        has_audio=audio is not None,
        audio_rate=int(audio.codec_context.sample_rate or 0) if audio is not None else 0,
        audio_channels=int(audio.codec_context.channels or 0) if audio is not None else 0,
        notes=tuple(notes),
    )
