"""`avalign.media.probe`: streams, durations and oddities read the way a player presents them."""

from __future__ import annotations

import av
import pytest

from avalign.media import MediaError, decode_audio, probe_media
from support.media import make_video, truncate
from support.streams import as_transport_stream, clip_with_sound, cut_with_edit_list


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
