"""`avalign.media.decode`: frames by timestamp, unshown pictures skipped, sound on its timeline."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from avalign.media import decode_audio, decode_frames_at
from avalign.media.decode import _decode_shown, _open_video, gray_thumbnail
from support.media import event_times, make_video


def test_frames_are_the_ones_on_screen(clip_factory):
    path = clip_factory("ok.mp4", seconds=3.0, fps=25, size=(160, 120), sample_rate=16000)
    events = event_times(3.0)
    # just before and just after an event the square is at different places
    before = decode_frames_at(path, [events[1] - 0.05], (160, 120))[0]
    after = decode_frames_at(path, [events[1] + 0.05], (160, 120))[0]
    assert np.abs(before.astype(int) - after.astype(int)).mean() > 5
    # order of the request is kept, duplicates allowed
    frames = decode_frames_at(path, [2.0, 0.1, 2.0], (32, 24))
    assert frames.shape == (3, 24, 32) and np.array_equal(frames[0], frames[2])


@pytest.mark.parametrize(
    "times",
    [
        np.round(np.arange(21) / 5, 6),  # 5 requests a second: most pictures are not needed
        np.round(np.arange(101) / 25, 6),  # 25 a second
        np.sort(np.random.default_rng(3).uniform(-0.5, 4.5, 40)),  # anywhere, even outside
    ],
    ids=["5fps", "25fps", "random"],
)
@pytest.mark.parametrize("variable_rate", [False, True], ids=["cfr", "vfr"])
def test_skipping_unshown_pictures_changes_no_frame(tmp_path, times, variable_rate):
    """With B-frames, pictures nothing refers to and no request shows are not decoded, and every
    requested frame is bit-identical to the one of a full decode."""
    path = make_video(
        tmp_path / "b.mp4", seconds=4.0, fps=30, preset="veryfast", variable_rate=variable_rate
    )
    fast = decode_frames_at(path, times, (160, 120))
    full = decode_frames_at(path, times, (160, 120), skip_unshown=False)
    assert np.array_equal(fast, full)
    container, stream = _open_video(path, threads=1)
    with container:
        decoded = sum(1 for _ in _decode_shown(container, stream, sorted(times), True))
    if len(times) == 21:
        assert decoded < 100  # of 120 pictures


def _video_only(path, codec: str, options: dict) -> Path:
    """120 frames (30 fps) of a square moving over light noise, in ``codec``."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 128, "yuv420p"
        stream.options = options
        rng = np.random.default_rng(0)
        for index in range(120):
            image = rng.integers(0, 20, (128, 160, 3), dtype=np.uint8)
            image[40:60, (7 * index) % 140 : (7 * index) % 140 + 20] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize(
    ("codec", "options"),
    [
        ("libx265", {"preset": "fast", "x265-params": "log-level=none"}),  # HEVC with B-frames
        ("mpeg2video", {"bf": "2"}),
        ("libsvtav1", {}),  # decoded by libdav1d, which must not be asked to skip
    ],
)
def test_other_codecs_give_the_same_frames_with_skipping(tmp_path, codec, options):
    path = _video_only(tmp_path / f"{codec}.mp4", codec, options)
    for times in (
        np.round(np.arange(21) / 5, 6),
        np.sort(np.random.default_rng(1).uniform(-0.5, 4.5, 40)),
    ):
        fast = decode_frames_at(path, times, (80, 64))
        assert np.array_equal(fast, decode_frames_at(path, times, (80, 64), skip_unshown=False))


def _texture(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (height, width), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 1.5)


@pytest.mark.parametrize("height, width", [(360, 640), (720, 1280), (1080, 1920)])
@pytest.mark.parametrize("full_range", [True, False])
def test_gray_thumbnails_are_the_area_average_in_full_range(height, width, full_range):
    """FFmpeg's area scaler gives what OpenCV's area filter gives on the luma, within a gray
    level or two; limited-range ("TV") luma is stretched to 0-255 first."""
    image = _texture(height, width)
    direct = cv2.resize(image, (112, 112), interpolation=cv2.INTER_AREA).astype(int)
    if full_range:
        frame = av.VideoFrame.from_ndarray(image, format="gray")
    else:
        luma = np.round(16 + image.astype(float) * 219 / 255).astype(np.uint8)
        chroma = np.full((height // 2, width), 128, np.uint8)
        frame = av.VideoFrame.from_ndarray(np.concatenate([luma, chroma]), format="yuv420p")
    small = gray_thumbnail(frame, 112, 112)
    assert small.shape == (112, 112) and small.dtype == np.uint8
    difference = np.abs(small.astype(int) - direct)
    assert difference.mean() < 1.5 and difference.max() <= 8


def test_variable_rate_frames_follow_timestamps(tmp_path):
    path = make_video(tmp_path / "vfr.mp4", seconds=3.0, variable_rate=True)
    events = event_times(3.0)
    constant = make_video(tmp_path / "cfr.mp4", seconds=3.0)
    for t in (events[0] + 0.1, events[2] + 0.1):
        a = decode_frames_at(path, [t], (160, 120))[0].astype(int)
        b = decode_frames_at(constant, [t], (160, 120))[0].astype(int)
        assert np.abs(a - b).mean() < 3  # same picture at the same instant despite irregular frames


def test_audio_keeps_the_file_timeline(clip_factory):
    path = clip_factory("ok48.mp4", seconds=3.0, sample_rate=48000)
    audio = decode_audio(path, 16000)
    assert audio.dtype == np.float32 and abs(audio.size - 48000) < 1024
    for t in event_times(3.0):
        window = np.abs(audio[int((t - 0.05) * 16000) : int((t + 0.05) * 16000)])
        assert abs(np.argmax(window) / 16000 - 0.05) < 0.012  # click peak within 12 ms of its time
    part = decode_audio(path, 16000, start_s=1.0, end_s=2.0)
    assert part.size == 16000
    assert np.corrcoef(part, audio[16000:32000])[0, 1] > 0.99
    assert decode_audio(make_video(path.parent / "mute.mp4", sample_rate=None), 16000) is None
