"""How far a written file moved its sound against its picture, read from what a player presents.

A fix is right only if the file it wrote presents the sound where it was meant to go; options
that a container silently ignores (a start offset an MPEG-TS stream cannot carry, an encoder's
priming samples no edit list hides) would otherwise go unseen. So after writing, the first
`WINDOW_S` of each audio stream of IN and OUT are decoded, each frame laid at its own
timestamp, and cross-correlated: the lag of the peak is how far OUT presents the same sound
from where IN did. The picture's own move (a container may shift every stream together; the
same picture packets are found in both files) is subtracted. The result is compared with the
move the plan asked for, to the sample; no detector is involved.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from scipy.signal import correlate

from avalign.fixing.pcm import frame_samples
from avalign.media.errors import MediaError

#: Seconds of sound compared, from the start of IN's track.
WINDOW_S = 20.0
#: A window quieter than this RMS (about -70 dBFS) carries nothing to compare.
SILENT_RMS = 3e-4
#: A written move this far from the planned one (ms) is a failure of the method.
TOLERANCE_MS = 2.0
#: Picture packets compared to learn how the picture itself moved.
PACKETS = 200


def _picture_times(path: Path, count: int = PACKETS) -> dict[bytes, float]:
    """Presentation time (s) of the first ``count`` picture packets of ``path``, by content."""
    times: dict[bytes, float] = {}
    with av.open(str(path)) as container:
        if not container.streams.video:
            return times
        for packet in container.demux(container.streams.video[0]):
            if packet.size and packet.pts is not None:
                times.setdefault(bytes(packet), float(packet.pts * packet.time_base))
                if len(times) >= count:
                    break
    return times


def picture_move_s(source: Path, target: Path) -> float:
    """How much later ``target`` presents the same pictures than ``source`` (s).

    Pictures are matched by their packets' bytes (they are copied), so a container that shows
    pictures an edit list used to hide is not mistaken for a move.
    """
    before, after = _picture_times(source), _picture_times(target)
    moves = [after[data] - at for data, at in before.items() if data in after]
    return float(np.median(moves)) if moves else 0.0


def presented_sound(
    path: Path, stream_index: int, begin_s: float, end_s: float
) -> tuple[np.ndarray, int]:
    """Mono sound that ``path`` presents from ``begin_s`` to ``end_s``, each frame at its pts."""
    with av.open(str(path)) as container:
        stream = container.streams[stream_index]
        rate = int(stream.codec_context.sample_rate)
        out = np.zeros(round((end_s - begin_s) * rate), np.float32)
        for packet in container.demux(stream):
            for frame in packet.decode():
                if frame.pts is None:
                    continue
                at = float(frame.pts * frame.time_base)
                if at > end_s:
                    return out, rate
                mono = frame_samples(frame).mean(axis=0)
                place = round((at - begin_s) * rate)
                first, last = max(place, 0), min(place + mono.size, out.size)
                if last > first:
                    out[first:last] = mono[first - place : last - place]
    return out, rate


def first_sound_s(path: Path, stream_index: int) -> float:
    """Presented time of the first decoded sound of one audio stream."""
    with av.open(str(path)) as container:
        stream = container.streams[stream_index]
        for packet in container.demux(stream):
            for frame in packet.decode():
                if frame.pts is not None:
                    return float(frame.pts * frame.time_base)
    raise MediaError(path, f"audio stream {stream_index} holds no sound")


def sound_move_ms(
    source: Path,
    target: Path,
    stream_index: int,
    expected_ms: float,
    window_s: float = WINDOW_S,
    begin_s: float | None = None,
) -> float | None:
    """How far ``target`` presents the sound of one audio stream later than ``source`` does,
    against the picture, ms (negative: earlier); None when the compared sound is silent.

    The sound compared is IN's from ``begin_s`` (default: its first sound) for ``window_s``;
    ``expected_ms`` (the planned move) centres the search, which spans 500 ms either side.
    """
    begin = first_sound_s(source, stream_index) if begin_s is None else begin_s
    reference, rate = presented_sound(source, stream_index, begin, begin + window_s)
    if reference.size == 0 or float(np.sqrt(np.mean(reference**2))) < SILENT_RMS:
        return None
    picture_move = picture_move_s(source, target)
    centre = expected_ms / 1000.0 + picture_move
    reach = 0.5
    moved, _ = presented_sound(
        target, stream_index, begin + centre - reach, begin + centre + window_s + reach
    )
    scores = correlate(moved, reference, mode="valid", method="fft")
    lag = int(np.argmax(scores))
    if 0 < lag < scores.size - 1:  # parabolic peak: a fraction of a sample
        left, mid, right = scores[lag - 1], scores[lag], scores[lag + 1]
        bend = left - 2 * mid + right
        lag = lag + (0.5 * (left - right) / bend if bend else 0.0)
    content_move = centre - reach + lag / rate
    return float(1000.0 * (content_move - picture_move))
