"""Inspect a media file before any work is spent on it.

`probe_media` opens the container, reads the stream headers and walks the packets once to learn
what the file really holds: whether it has a picture and a sound track, where on the file's
timeline each of them really starts and ends (a truncated file declares more than it holds; an
edit list hides packets before its start; a sound track may be shorter than the picture or start
after it), whether the frame rate is variable, and whether the resolution is odd. The pictures are
not decoded (their packets tell when each is shown); the sound is, because only the decoder knows
which samples are real (see `MediaInfo`). Anything that makes the file unusable raises a
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

    Times are on the file's own timeline, the one that decoding uses (`avalign.media.decode`):
    a frame requested at time t is the picture on screen at t, and sample i of the decoded sound
    is the sound at ``audio_start_s + i / rate``.

    Attributes
    ----------
    path : the file.
    duration_s : where the picture really ends (from the packets, not the header): the last
        shown picture's time plus one frame interval. It is the picture's length when the picture
        starts at 0, as in nearly every mp4. Pictures that an edit list hides (packets before the
        edit's start, which the decoder discards) do not count.
    width, height : frame size in pixels.
    fps : average frame rate in Hz.
    variable_frame_rate : True when frame intervals vary (avalign samples frames by timestamp).
    has_audio : whether an audio stream exists.
    audio_rate : audio sample rate in Hz (0 without audio).
    audio_channels : number of audio channels (0 without audio).
    notes : harmless oddities worth reporting (variable frame rate, odd resolution).
    video_start_s : when the first shown picture appears.
    picture_times : the sorted presentation times of the shown pictures, s (what the packets say;
        `avalign.features.stream` places the picture's changes in time with them).
    audio_start_s, audio_end_s : the real extent of the sound (0, 0 without audio). It starts at
        the first sample the decoder gives: encoders prime AAC (and MP3) with about 1,000 samples
        that are not part of the recording, and the decoder drops them, as it drops what an edit
        list hides. It ends where the container says the last packet's real sound ends: AAC
        fills its last frame with padding (up to 1,024 samples, 64 ms at 16 kHz) that decoders
        return but that was never recorded. The decoded sound therefore covers
        [audio_start_s, audio_end_s] and at most one frame more.
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
    video_start_s: float = 0.0
    audio_start_s: float = 0.0
    audio_end_s: float = 0.0
    picture_times: np.ndarray = field(
        default_factory=lambda: np.zeros(0), repr=False, compare=False
    )

    @property
    def audio_duration_s(self) -> float:
        """Seconds of real sound (0 without audio)."""
        return max(0.0, self.audio_end_s - self.audio_start_s)


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


@dataclass
class _Walk:
    """What one pass over a file's packets learned."""

    picture_times: np.ndarray  # sorted presentation times (s) of the pictures that are shown
    sound_start: float | None = None  # time of the first decoded sample
    sound_seconds: float = 0.0  # seconds of decoded sound
    last_frame_seconds: float = 0.0  # length of the last decoded sound frame
    packets_end: float | None = None  # latest end (pts + duration) of a shown sound packet
    damage: str = ""  # the first error met ("damaged <stream> stream: ..."), which ended the walk


def _shown(packet: av.Packet) -> bool:
    """A packet with content that the decoder will show (not one an edit list discards)."""
    return packet.pts is not None and packet.size > 0 and not packet.is_discard


def _walk(container: av.container.InputContainer) -> _Walk:
    """Read every packet of the first video and audio streams; decode only the sound.

    An error ends the walk and is kept in ``damage`` (naming the stream), for the caller to
    report after what the packets read so far tell (a truncated file says so more clearly).
    """
    video = container.streams.video[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    video_base = float(video.time_base)
    times: list[float] = []
    walk = _Walk(np.zeros(0))
    kind = "video"
    try:
        for packet in container.demux(*[s for s in (video, audio) if s is not None]):
            if packet.stream.type == "video":
                kind = "video"
                if _shown(packet):
                    times.append(packet.pts * video_base)
                continue
            kind = "audio"
            if _shown(packet) and packet.duration:
                end = float((packet.pts + packet.duration) * packet.time_base)
                walk.packets_end = end if walk.packets_end is None else max(walk.packets_end, end)
            for frame in packet.decode():  # the empty packet at the end flushes the decoder
                if walk.sound_start is None and frame.pts is not None:
                    walk.sound_start = float(frame.pts * frame.time_base)
                walk.last_frame_seconds = frame.samples / frame.sample_rate
                walk.sound_seconds += walk.last_frame_seconds
    except av.error.FFmpegError as error:
        walk.damage = f"damaged {kind} stream: {error.strerror}"
    walk.picture_times = np.sort(np.asarray(times, dtype=np.float64))
    return walk


def _sound_extent(walk: _Walk) -> tuple[float, float]:
    """The real sound's (start, end): the decoded sound without the padding of its last frame.

    The decoder returns the whole last frame; the container's packet times say where its real
    sound ends. Only that padding is taken off: a packet end further back than one frame means
    the packet times are not to be trusted, and the decoded length stands.
    """
    start = walk.sound_start or 0.0
    end = start + walk.sound_seconds
    if walk.packets_end is not None and 0.0 <= end - walk.packets_end <= walk.last_frame_seconds:
        end = max(start, walk.packets_end)
    return start, end


def probe_media(path: str | Path) -> MediaInfo:
    """Return what `path` holds, or raise `MediaError` when it cannot serve as a video.

    Raises for: a missing or empty file, a file that is not media, an audio-only file, a video
    without frames, a clip shorter than 1 s, a file truncated against its own header, and a
    damaged video or audio stream. A missing audio stream is *not* an error here (`has_audio` is
    False): whether that matters depends on the caller (a source for misaligned samples needs
    audio; `detect` reports it).
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
        walk = _walk(container)
    finally:
        container.close()

    times = walk.picture_times
    if times.size == 0:
        raise MediaError(path, walk.damage or "zero-length video: no frames")
    intervals = np.diff(times)
    step = float(np.median(intervals)) if intervals.size else 0.0
    end = float(times[-1] + step)
    length = end - float(times[0])
    sound_start, sound_end = _sound_extent(walk) if audio is not None else (0.0, 0.0)
    # The declared duration is the container's: from the earliest start to the latest end over
    # all streams. A picture that ends before the sound (or a sound that ends before the
    # picture) is a valid file; it is truncated only when no stream reaches that far.
    held = length
    if audio is not None and sound_end > sound_start:
        held = max(end, sound_end) - min(float(times[0]), sound_start)
    if declared and held < declared - TRUNCATION_TOLERANCE_S:
        raise MediaError(
            path, f"truncated: frames stop at {length:.2f} s of the declared {declared:.2f} s"
        )
    if walk.damage:
        raise MediaError(path, walk.damage)
    if length < MIN_DURATION_S - DURATION_SLACK_S:
        raise MediaError(
            path, f"too short: {length:.2f} s (at least {MIN_DURATION_S:.0f} s needed)"
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
        duration_s=end,
        width=width,
        height=height,
        fps=(1.0 / step) if step > 0 else 0.0,
        variable_frame_rate=variable,
        has_audio=audio is not None,
        audio_rate=int(audio.codec_context.sample_rate or 0) if audio is not None else 0,
        audio_channels=int(audio.codec_context.channels or 0) if audio is not None else 0,
        notes=tuple(notes),
        video_start_s=float(times[0]),
        audio_start_s=sound_start,
        audio_end_s=sound_end,
        picture_times=times,
    )
