"""Probing and decoding: what a file holds, frames by timestamp, sound on the file's timeline."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from avalign.media import MediaError, decode_audio, decode_frames_at, probe_media
from avalign.media.decode import _decode_shown, _open_video, shrink
from media import event_times, make_video, truncate
from media_streams import as_transport_stream, clip_with_sound, cut_with_edit_list


def test_probe_reads_streams(clip_factory):
    info = probe_media(
        clip_factory("ok.mp4", seconds=3.0, fps=25, size=(160, 120), sample_rate=16000)
    )
    assert (info.width, info.height, info.has_audio, info.audio_rate) == (160, 120, True, 16000)
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    assert info.fps == pytest.approx(25, abs=0.1)
    assert not info.variable_frame_rate and not info.notes


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: d / "missing.mp4", "file not found"),
        (lambda d: (d / "empty.mp4").write_bytes(b"") or d / "empty.mp4", "empty file"),
        (
            lambda d: (d / "notes.mp4").write_text("not a video") and d / "notes.mp4",
            "not a readable video",
        ),
        (lambda d: make_video(d / "sound.m4a", video=False), "audio-only file: no video stream"),
        (lambda d: make_video(d / "short.mp4", seconds=0.5), "too short"),
        (lambda d: truncate(make_video(d / "cut.mp4", faststart=True), 0.4), "truncated"),
        (lambda d: truncate(make_video(d / "cut2.mp4"), 0.5), "not a readable video"),
    ],
)
def test_probe_rejects_bad_files_with_one_line(tmp_path, make, problem):
    path = make(tmp_path)
    with pytest.raises(MediaError) as caught:
        probe_media(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and problem in message
    assert "\n" not in message


def test_probe_notes_oddities_without_failing(tmp_path):
    vfr = probe_media(make_video(tmp_path / "vfr.mp4", variable_rate=True))
    assert vfr.variable_frame_rate and "variable frame rate" in vfr.notes[0]
    odd = probe_media(make_video(tmp_path / "odd.mp4", size=(161, 121), pix_fmt="yuv444p"))
    assert (odd.width, odd.height) == (161, 121) and "odd resolution" in odd.notes[0]
    silent = probe_media(make_video(tmp_path / "noaudio.mp4", sample_rate=None))
    assert not silent.has_audio


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


@pytest.mark.parametrize("height, width", [(240, 320), (360, 640), (270, 480), (447, 1280)])
def test_shrink_of_corpus_sized_frames_is_the_plain_area_filter(height, width):
    image = _texture(height, width)
    direct = cv2.resize(image, (112, 112), interpolation=cv2.INTER_AREA)
    assert np.array_equal(shrink(image, 112, 112), direct)


@pytest.mark.parametrize("height, width", [(720, 1280), (1080, 1920), (2160, 3840)])
def test_shrink_of_large_frames_stays_close_to_the_area_filter(height, width):
    image = _texture(height, width + 32)[:, :width]  # a strided view, as a decoded plane is
    direct = cv2.resize(np.ascontiguousarray(image), (112, 112), interpolation=cv2.INTER_AREA)
    direct = direct.astype(int)
    small = shrink(image, 112, 112)
    assert small.shape == (112, 112) and small.dtype == np.uint8
    difference = np.abs(small.astype(int) - direct)
    assert difference.mean() < 2.0 and difference.max() <= 12  # fine noise: 1.0-1.5 and 5-9


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


def test_probe_leaves_out_pictures_that_an_edit_list_hides(tmp_path):
    """A clip cut without re-encoding keeps the pictures before the cut, at negative times, and
    an edit list hides them: they are not part of the picture (real clips: 10 s said 13.2 s)."""
    source = make_video(tmp_path / "source.mp4", seconds=4.0)
    cut = cut_with_edit_list(source, tmp_path / "cut.mp4", 1.5)
    info = probe_media(cut)
    with av.open(str(cut)) as container:
        shown = [frame.time for frame in container.decode(video=0)]
    assert info.video_start_s == pytest.approx(shown[0]) == pytest.approx(0.0)
    assert info.duration_s == pytest.approx(shown[-1] + 0.04, abs=1e-6)
    assert info.duration_s == pytest.approx(2.5, abs=0.05)


@pytest.mark.parametrize("sample_rate", [16000, 44100, 48000])
def test_probe_gives_the_real_sound_without_codec_priming_or_padding(tmp_path, sample_rate):
    """AAC primes the stream and pads its last frame; the decoder drops the priming but returns
    the padding. The real sound is what was recorded: exactly the 3 s written."""
    path = make_video(tmp_path / f"clip{sample_rate}.mp4", seconds=3.0, sample_rate=sample_rate)
    info = probe_media(path)
    assert (info.audio_start_s, info.audio_end_s) == pytest.approx((0.0, 3.0), abs=1e-3)
    decoded = decode_audio(path, 16000).size / 16000
    assert info.audio_end_s <= decoded <= info.audio_end_s + 1024 / sample_rate + 1e-3


def test_probe_finds_sound_shorter_than_the_picture_or_starting_late(tmp_path):
    short = probe_media(clip_with_sound(tmp_path / "short.mp4", picture_s=4.0, sound_s=2.0))
    assert short.duration_s == pytest.approx(4.0)
    assert (short.audio_start_s, short.audio_end_s) == pytest.approx((0.0, 2.0), abs=1e-3)
    path = clip_with_sound(tmp_path / "late.mp4", picture_s=4.0, sound_s=3.0, sound_delay_s=0.5)
    late = probe_media(path)
    # the copied stream keeps its 64 ms of AAC priming, which this file presents as sound
    assert late.audio_start_s == pytest.approx(0.5 - 1024 / 16000, abs=1e-3)
    assert late.audio_end_s == pytest.approx(3.5, abs=1e-3)
    audio = decode_audio(path, 16000)  # the sound keeps the file's timeline: silence before
    assert not audio[: round(late.audio_start_s * 16000) - 1].any()


def test_probe_reads_a_timeline_that_does_not_start_at_zero(tmp_path):
    """An MPEG transport stream starts its clock at 1.4 s; decoding keeps those times."""
    path = as_transport_stream(make_video(tmp_path / "clip.mp4", seconds=3.0), tmp_path / "c.ts")
    info = probe_media(path)
    assert info.video_start_s == pytest.approx(1.4, abs=0.1)
    assert info.duration_s - info.video_start_s == pytest.approx(3.0, abs=0.05)
    assert info.audio_start_s == pytest.approx(1.4, abs=0.1)
    assert info.audio_end_s - info.audio_start_s == pytest.approx(3.0, abs=0.1)
