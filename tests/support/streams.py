"""Tiny media whose picture and sound disagree the way real files do, made with the bundled ffmpeg.

Real clips are seldom as tidy as `media.make_video`'s: a clip cut without re-encoding keeps the
pictures before the cut and hides them with an edit list; a sound track can end before the picture
or start after it; an MPEG transport stream's timeline starts at 1.4 s. These helpers copy the
streams of `media.make_video` clips into such containers (no re-encoding, so the content is known).
`numbered_clip` makes a clip whose every frame looks different from its neighbours, with keyframes
as sparse as asked, to check which source frame a cut shows when.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avalign.media.ffmpeg import run_ffmpeg
from support.media import event_times, make_video, render_audio


def clip_with_sound(
    path: Path,
    *,
    picture_s: float,
    sound_s: float,
    sound_delay_s: float = 0.0,
    fps: int = 25,
    sample_rate: int = 16000,
) -> Path:
    """An mp4 with ``picture_s`` of picture and ``sound_s`` of sound, the sound starting
    ``sound_delay_s`` after the picture (both streams copied from `make_video` clips)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as parts:
        picture = make_video(
            Path(parts) / "picture.mp4", seconds=picture_s, fps=fps, sample_rate=None
        )
        sound = make_video(
            Path(parts) / "sound.m4a", seconds=sound_s, video=False, sample_rate=sample_rate
        )
        delay = ["-itsoffset", f"{sound_delay_s:.3f}"] if sound_delay_s else []
        streams = ["-map", "0:v:0", "-map", "1:a:0", "-c", "copy"]
        run_ffmpeg(["-i", str(picture), *delay, "-i", str(sound), *streams, str(path)], target=path)
    return path


def cut_with_edit_list(source: Path, path: Path, start_s: float) -> Path:
    """``source`` from ``start_s`` on, cut without re-encoding: the pictures from the keyframe
    before the cut stay in the file, hidden by an edit list (their times are negative)."""
    run_ffmpeg(["-ss", f"{start_s:.3f}", "-i", str(source), "-c", "copy", str(path)], target=path)
    return path


def as_transport_stream(source: Path, path: Path) -> Path:
    """``source``'s streams in an MPEG transport stream, whose timeline starts at about 1.4 s."""
    run_ffmpeg(["-i", str(source), "-c", "copy", "-f", "mpegts", str(path)], target=path)
    return path


def numbered_picture(index: int, width: int, height: int) -> np.ndarray:
    """RGB picture of frame ``index``: two flat halves whose gray levels step by 67 and 29 (of
    190) a frame, so that frames up to 2.8 s (70 frames at 25 fps) apart differ by at least 20
    levels on average and any frame tells which one it is."""
    image = np.empty((height, width, 3), np.uint8)
    image[:, : width // 2] = 30 + (67 * index) % 190
    image[:, width // 2 :] = 30 + (29 * index + 95) % 190
    return image


def numbered_clip(
    path: Path,
    *,
    seconds: float = 4.0,
    fps: int = 25,
    size: tuple[int, int] = (160, 120),
    sample_rate: int | None = 16000,
    keyframe_every: int = 250,
) -> Path:
    """An H.264/AAC mp4 whose frame i (at i / fps s) is `numbered_picture(i)` (`keyframed_clip`)."""
    return keyframed_clip(
        path,
        lambda index: numbered_picture(index, *size),
        seconds=seconds,
        fps=fps,
        size=size,
        sample_rate=sample_rate,
        keyframe_every=keyframe_every,
    )


def keyframed_clip(
    path: Path,
    picture: Callable[[int], np.ndarray],
    *,
    seconds: float,
    fps: int = 25,
    size: tuple[int, int] = (160, 120),
    sample_rate: int | None = 16000,
    keyframe_every: int = 250,
) -> Path:
    """An H.264/AAC mp4 whose frame i (at i / fps s) is ``picture(i)`` (RGB, ``size``), with a
    keyframe every ``keyframe_every`` frames only (x264's scene-cut keyframes off) and B-frames
    (x264's ``veryfast``, as real encodes), and `media.render_audio`'s clicks as its sound."""
    path.parent.mkdir(parents=True, exist_ok=True)
    container = av.open(str(path), "w", format="mp4")
    video = container.add_stream("libx264", rate=fps)
    video.width, video.height = size
    video.pix_fmt = "yuv420p"
    video.codec_context.time_base = Fraction(1, fps)
    video.codec_context.thread_count = 1
    video.options = {
        "preset": "veryfast",
        "x264-params": f"keyint={keyframe_every}:min-keyint={keyframe_every}:scenecut=0",
    }
    sound = None
    if sample_rate:
        sound = container.add_stream("aac", rate=sample_rate)
        sound.layout = "mono"
    for index in range(round(seconds * fps)):
        frame = av.VideoFrame.from_ndarray(picture(index), format="rgb24")
        frame.pts = index
        frame.time_base = video.codec_context.time_base
        for packet in video.encode(frame):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    if sound is not None:
        audio = render_audio(seconds, sample_rate, event_times(seconds))
        for start in range(0, audio.size, 1024):
            chunk = np.ascontiguousarray(audio[None, start : start + 1024])
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate, frame.pts = sample_rate, start
            for packet in sound.encode(frame):
                container.mux(packet)
        for packet in sound.encode():
            container.mux(packet)
    container.close()
    return path
