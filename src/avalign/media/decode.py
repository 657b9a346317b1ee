"""Decode pictures and sound into the arrays that features are computed from.

Every source video is decoded once per job. Pictures are taken at requested times (the frame on
screen at each time, so a variable frame rate is handled by timestamps) and shrunk to small gray
images, only for the frames that are needed; pictures that are neither needed nor referred to
by others are not decoded at all. Sound is resampled to one mono rate. Both return plain numpy
arrays; decoding errors become `MediaError`.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from avalign.media.errors import MediaError

#: Two timestamps closer than this (s) are the same instant (absorbs float rounding of pts).
TIME_EPS = 1e-6


def _open(path: Path) -> av.container.InputContainer:
    """Open a media file for reading; failures become a one-line `MediaError`."""
    try:
        return av.open(str(path), mode="r")
    except FileNotFoundError as error:
        raise MediaError(path, "file not found") from error
    except av.error.FFmpegError as error:
        raise MediaError(path, f"cannot open: {error.strerror}") from error


def _open_video(path: Path, threads: int) -> tuple[av.container.InputContainer, av.VideoStream]:
    container = _open(path)
    if not container.streams.video:
        container.close()
        raise MediaError(path, "no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO" if threads != 1 else "SLICE"
    stream.codec_context.thread_count = max(0, threads)
    return container, stream


#: Decoders that apply ``skip_frame`` to the very packet sent next (one thread) and keep every
#: other picture intact when they skip (checked bit for bit, `tests/media/test_decode.py`). Others
#: decode everything: libdav1d (AV1) decodes asynchronously, so a per-packet setting lands on
#: the wrong picture and changes the frames.
_SKIPS_IN_STEP = {"h264", "hevc", "mpeg1video", "mpeg2video", "mpeg4"}

#: Packets read ahead to learn when the next picture is shown: more than the deepest B-frame
#: reordering any codec allows (H.264 and HEVC keep at most 16 pictures for reordering).
LOOKAHEAD_PACKETS = 34


def _decode_shown(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    queue: list[float],
    skip_unshown: bool,
) -> Iterator[av.VideoFrame]:
    """Decode ``stream``, skipping pictures that no request shows and no other picture needs.

    A picture is on screen from its timestamp until the next one's. When no time in ``queue``
    (sorted) falls in that interval, it is decoded only if it is a reference picture: the decoder
    is told to drop it otherwise (``skip_frame=NONREF``, decided packet by packet), which leaves
    every other picture bit-identical, since by definition nothing is predicted from it. At 5
    requests a second from 30 fps H.264 this avoids about a third of the decoding work. Needs one
    of the decoders in `_SKIPS_IN_STEP` on one thread (with frame threads the setting would not
    apply to the packet at hand); otherwise, or with ``skip_unshown`` false, every picture is
    decoded.
    """
    context = stream.codec_context
    if not skip_unshown or context.thread_count != 1 or context.name not in _SKIPS_IN_STEP:
        yield from container.decode(stream)
        return
    time_base = float(stream.time_base)
    ahead: deque[av.Packet] = deque()
    window: list[int] = []  # sorted timestamps of the packets around the one being decided
    recent: deque[int] = deque()  # the same, in decoding order, to forget the oldest

    def shown(pts: int) -> bool:
        later = bisect.bisect_right(window, pts)
        until = window[later] * time_base if later < len(window) else np.inf
        first = bisect.bisect_left(queue, pts * time_base - TIME_EPS)
        return first < len(queue) and queue[first] < until - TIME_EPS

    def send(packet: av.Packet) -> list[av.VideoFrame]:
        skip = packet.pts is not None and packet.size > 0 and not shown(packet.pts)
        context.skip_frame = "NONREF" if skip else "DEFAULT"
        return packet.decode()

    for packet in container.demux(stream):
        if packet.pts is not None:
            bisect.insort(window, packet.pts)
            recent.append(packet.pts)
        ahead.append(packet)
        if len(ahead) > LOOKAHEAD_PACKETS:
            yield from send(ahead.popleft())
            if len(recent) > 2 * LOOKAHEAD_PACKETS + 1:
                window.pop(bisect.bisect_left(window, recent.popleft()))
    while ahead:
        yield from send(ahead.popleft())


def halve_then_bilinear(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` shrunk to ``width x height``: Gaussian pyramid halvings while it is at least twice
    the target both ways, then bilinear (under a factor 2 bilinear does not alias). For the
    colour pictures of the face models: 5x faster than the area filter at non-integer ratios,
    0.85 gray levels from it on average (measured on 720p video)."""
    while image.shape[0] >= 2 * height and image.shape[1] >= 2 * width:
        image = cv2.pyrDown(image)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def gray_thumbnail(
    frame: av.VideoFrame, width: int, height: int, scaler: VideoReformatter | None = None
) -> np.ndarray:
    """The frame as 8-bit gray at ``width x height`` (area-averaged), full range 0-255.

    FFmpeg's scaler does it in one pass from any pixel format, limited-range ("TV") luma
    stretched to full range, within 0.3-3 gray levels of OpenCV's area filter after a pyramid
    halving (measured on real 720p and 360p clips; the pyramid smooths a little more). Give the
    same ``scaler`` for every frame of a stream: it keeps FFmpeg's set-up between frames, 0.19 ms
    a 720p frame on one core against 0.97 ms with a new one each time (and 0.72 ms for the
    OpenCV path).
    """
    scaler = scaler or VideoReformatter()
    small = scaler.reformat(frame, width=width, height=height, format="gray", interpolation="AREA")
    return small.to_ndarray()


def rgb_picture(
    frame: av.VideoFrame, short_side: int, scaler: VideoReformatter | None = None
) -> np.ndarray:
    """The frame as RGB ``(H, W, 3)`` uint8 with its short side at most ``short_side`` pixels
    (the aspect ratio kept; for face models, which need colour and more detail than a
    thumbnail).

    4:2:0 frames are shrunk plane by plane (`halve_then_bilinear`) and converted by OpenCV:
    0.4 ms from 720p against 1.1 ms through FFmpeg's scaler and 2.3 ms with the area filter at a
    non-integer ratio. Other formats go through FFmpeg's scaler (``scaler``: see
    `gray_thumbnail`).
    """
    scale = min(1.0, short_side / max(1, min(frame.width, frame.height)))
    width = max(4, round(frame.width * scale / 4) * 4)
    height = max(4, round(frame.height * scale / 4) * 4)
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        scaler = scaler or VideoReformatter()
        return scaler.reformat(frame, width=width, height=height, format="rgb24").to_ndarray()

    def plane(index: int, w: int, h: int) -> np.ndarray:
        data = frame.planes[index]
        rows = np.frombuffer(data, np.uint8).reshape(-1, data.line_size)
        return halve_then_bilinear(rows[: data.height, : data.width], w, h)

    luma = plane(0, width, height)
    blue = plane(1, width // 2, height // 2).reshape(-1, width)
    red = plane(2, width // 2, height // 2).reshape(-1, width)
    return cv2.cvtColor(np.concatenate([luma, blue, red]), cv2.COLOR_YUV2RGB_I420)


class LazyPicture:
    """`rgb_picture` of one decoded frame, made on the first call and kept (the frame's buffer
    is held until then: a few frames at a time)."""

    __slots__ = ("_frame", "_rgb", "_scaler", "_short_side")

    def __init__(
        self, frame: av.VideoFrame, short_side: int, scaler: VideoReformatter | None = None
    ) -> None:
        self._frame: av.VideoFrame | None = frame
        self._short_side = short_side
        self._scaler = scaler
        self._rgb: np.ndarray | None = None

    def __call__(self) -> np.ndarray:
        if self._rgb is None:
            self._rgb = rgb_picture(self._frame, self._short_side, self._scaler)
            self._frame = None  # the decoder's buffer is not needed any more
        return self._rgb


def iter_frames_at(
    path: str | Path,
    times: Sequence[float] | np.ndarray,
    size: tuple[int, int],
    *,
    threads: int = 1,
    skip_unshown: bool = True,
    rgb_side: int | None = None,
    seek: bool = False,
    lazy_rgb: bool = False,
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(time, gray_frame)`` for each requested time, in increasing time order.

    The frame for time ``t`` is the one on screen at ``t``: the last decoded frame whose
    timestamp is not after ``t`` (the first frame for times before it, the last frame for times
    after the end). Frames are scaled to ``size = (width, height)`` and converted to 8-bit gray by
    FFmpeg's scaler, once per distinct frame, so memory stays bounded for long videos.

    Parameters
    ----------
    path : video file.
    times : request times in seconds; sorted internally.
    size : output ``(width, height)`` in pixels.
    threads : decoder threads (1 keeps each worker on one core; 0 lets FFmpeg choose).
    skip_unshown : let the decoder drop pictures that no request shows and nothing refers to
        (same frames, less work; see `_decode_shown`).
    rgb_side : also give each frame in colour, short side at most this (`rgb_picture`): the
        items are then ``(time, (gray_frame, rgb_frame))``.
    lazy_rgb : give, instead of each colour frame, a `LazyPicture` that makes it when called
        (a face tracker that finds no face needs few of them).
    seek : start decoding at the key picture before the first requested time instead of at the
        file's start (a time segment of a long file, `avalign.features.stream`). Should the
        container land after that time, the file is decoded from its start instead, so the
        frames are those of a pass from the start.
    """
    path = Path(path)
    queue = np.sort(np.asarray(times, dtype=np.float64)).tolist()  # floats: cheap to compare
    if not queue:
        return
    width, height = size
    container, stream = _open_video(path, threads)
    # float, not Fraction: exact enough (TIME_EPS) and a Fraction per frame costs ~20 us
    time_base = float(stream.time_base)
    pending = len(queue)
    index = 0
    held: av.VideoFrame | None = None
    held_time = -np.inf
    held_array: np.ndarray | None = None

    scaler, colour_scaler = VideoReformatter(), VideoReformatter()

    def convert(frame: av.VideoFrame):
        gray = gray_thumbnail(frame, width, height, scaler)
        if rgb_side is None:
            return gray
        colour = LazyPicture(frame, rgb_side, colour_scaler)
        return gray, (colour if lazy_rgb else colour())

    try:
        for frame in _frames_from(container, stream, queue, skip_unshown, seek):
            now = frame.pts * time_base
            # Every pending time before this frame is shown by the held frame.
            while index < pending and queue[index] < now - TIME_EPS:
                if held is None:  # request before the first frame: show the first frame
                    held, held_time = frame, now
                if held_array is None:
                    held_array = convert(held)
                yield queue[index], held_array
                index += 1
            if index >= pending:
                return
            if now >= held_time:
                held, held_time, held_array = frame, now, None
        while index < pending and held is not None:
            if held_array is None:
                held_array = convert(held)
            yield queue[index], held_array
            index += 1
    except av.error.FFmpegError as error:
        raise MediaError(
            path, f"video decoding failed near {held_time:.2f} s: {error.strerror}"
        ) from error
    finally:
        container.close()
    if index < pending:
        raise MediaError(path, "no decodable video frames")


#: How far before the first requested time a seeking decoder aims (s): a key picture at the
#: very instant asked for is then found, whatever the rounding of the container's timestamps.
VIDEO_SEEK_MARGIN_S = 0.5


def _frames_from(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    queue: list[float],
    skip_unshown: bool,
    seek: bool,
) -> Iterator[av.VideoFrame]:
    """The stream's timed frames for the requests in ``queue``: from the file's start, or with
    ``seek`` from the key picture before ``queue[0]`` (from the start again when the seek lands
    after it, or cannot be done)."""
    time_base = float(stream.time_base)
    target = queue[0] - VIDEO_SEEK_MARGIN_S
    if seek and target > 0 and stream.time_base:
        try:
            container.seek(int(target / time_base), stream=stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            seek = False
        else:
            frames = _decode_shown(container, stream, queue, skip_unshown)
            first = next((f for f in frames if f.pts is not None), None)
            if first is not None and first.pts * time_base <= queue[0] + TIME_EPS:
                yield first
                yield from (f for f in frames if f.pts is not None)
                return
            frames.close()
            container.seek(0, stream=stream, backward=True, any_frame=False)
    yield from (
        f for f in _decode_shown(container, stream, queue, skip_unshown) if f.pts is not None
    )


def decode_frames_at(
    path: str | Path,
    times: Sequence[float] | np.ndarray,
    size: tuple[int, int],
    *,
    threads: int = 1,
    skip_unshown: bool = True,
    rgb_side: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Return the gray frames on screen at ``times`` as a ``(len(times), height, width)`` array.

    The result follows the order of ``times`` as given (duplicates allowed). With ``rgb_side``,
    also the colour frames (`rgb_picture`) as a second ``(len(times), H, W, 3)`` array.
    """
    requested = np.asarray(times, dtype=np.float64)
    order = np.argsort(requested, kind="stable")
    frames = np.empty((requested.size, size[1], size[0]), dtype=np.uint8)
    colour: np.ndarray | None = None
    decoded = iter_frames_at(
        path, requested, size, threads=threads, skip_unshown=skip_unshown, rgb_side=rgb_side
    )
    for slot, (_, image) in zip(order, decoded, strict=True):
        if rgb_side is not None:
            image, rgb = image
            if colour is None:
                colour = np.empty((requested.size, *rgb.shape), dtype=np.uint8)
            colour[slot] = rgb
        frames[slot] = image
    return frames if rgb_side is None else (frames, colour)


#: A sound frame whose timestamp strays further than this (s) from where the samples before it
#: in its run end (a gap, an overlap, or drift accumulated over many frames) starts a new run
#: at its own time; closer, it follows on (millisecond time bases round every timestamp).
AUDIO_JOIN_S = 0.01
#: How far before ``start_s`` decoding starts after a seek (s): the sound decoder's first frame
#: after a jump is not exact, and its output must reach back before the requested start.
SEEK_MARGIN_S = 1.0


def _place(
    segments: list[tuple[float, np.ndarray]], start_s: float, sample_rate: int, length: int | None
) -> np.ndarray:
    """The segments ``(time, samples)`` laid on the timeline from ``start_s``: silence in the
    gaps; where a segment overlaps sound already placed, its overlapping samples are dropped.
    The result ends where the sound ends, or after ``length`` samples if that comes first."""
    placed = [(round((time - start_s) * sample_rate), samples) for time, samples in segments]
    end = max([at + samples.size for at, samples in placed] + [0])
    length = end if length is None else max(0, min(length, end))
    out = np.zeros(length, np.float32)
    written = 0  # the end of the sound placed so far
    for at, samples in placed:
        skip = max(0, written - at, -at)  # overlap with earlier sound, or before the start
        begin = at + skip
        if begin >= length or skip >= samples.size:
            continue
        part = samples[skip : skip + length - begin]
        out[begin : begin + part.size] = part
        written = max(written, begin + part.size)
    return out


def _sound_segments(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    sample_rate: int,
    stop: float | None,
) -> list[tuple[float, np.ndarray]]:
    """Decode ``stream`` into runs of contiguous sound ``(time of the first sample, mono samples
    at sample_rate)``: a frame that does not start where the run's samples end (a gap or an
    overlap in the timestamps, `AUDIO_JOIN_S`) starts a new run, resampled afresh."""
    segments: list[tuple[float, np.ndarray]] = []
    resampler: av.AudioResampler | None = None
    chunks: list[np.ndarray] = []
    begin = expected = None
    run = 0.0  # seconds of sound in the current run

    def close() -> None:
        if resampler is not None:
            chunks.extend(piece.to_ndarray().reshape(-1) for piece in resampler.resample(None))
            if chunks:
                segments.append((begin, np.concatenate(chunks).astype(np.float32, copy=False)))

    for frame in container.decode(stream):
        time = None if frame.pts is None else float(frame.pts * stream.time_base)
        if time is None:
            time = expected if expected is not None else 0.0
        if stop is not None and time > stop:
            break
        if expected is None or abs(time - expected) > AUDIO_JOIN_S:
            close()
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            chunks = []
            begin, run = time, 0.0
        chunks.extend(piece.to_ndarray().reshape(-1) for piece in resampler.resample(frame))
        run += frame.samples / frame.sample_rate
        expected = begin + run
    close()
    return segments


def decode_audio(
    path: str | Path,
    sample_rate: int,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> np.ndarray | None:
    """Decode the first audio stream to mono float32 at ``sample_rate``; None when there is none.

    Sample ``i`` of the result is the sound at time ``start_s + i / sample_rate`` of the file's
    timeline, as a player presents it: every decoded frame is placed at its own timestamp, so a
    stream that starts late is preceded by silence, a gap in the timestamps becomes silence and
    sound whose timestamps overlap sound already placed is dropped. Channels are averaged to
    mono. A window that starts later than ``SEEK_MARGIN_S`` into the file is reached by seeking
    on the sound stream itself; if the seek lands after ``start_s`` (a container that cannot seek
    that stream well), the stream is decoded from its first packet instead, so no sound is lost.
    """
    path = Path(path)
    container = _open(path)
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        stop = None if end_s is None else end_s + 0.1
        segments: list[tuple[float, np.ndarray]] = []
        if start_s > SEEK_MARGIN_S and stream.time_base:
            target = int((start_s - SEEK_MARGIN_S) / stream.time_base)
            try:
                container.seek(target, stream=stream, any_frame=False, backward=True)
                segments = _sound_segments(container, stream, sample_rate, stop)
            except av.error.FFmpegError:
                segments = []
            if not segments or segments[0][0] > start_s + AUDIO_JOIN_S:
                container.seek(0, stream=stream, any_frame=False, backward=True)
                segments = []
        if not segments:
            segments = _sound_segments(container, stream, sample_rate, stop)
    except av.error.FFmpegError as error:
        raise MediaError(path, f"audio decoding failed: {error.strerror}") from error
    finally:
        container.close()
    wanted = None if end_s is None else max(0, round((end_s - start_s) * sample_rate))
    return _place(segments, start_s, sample_rate, wanted)
