"""The sound where a player presents it: gaps and overlaps in its timestamps, loops, a sound
track that runs past the picture. Sample ``i`` of `decode_audio` is the sound at
``start_s + i / rate`` of the file's timeline, whatever the packets between."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from avalign.media import decode_audio, probe_media
from avalign.media.ffmpeg import run_ffmpeg
from support.flashes import flash_clip

RATE = 16000


def beeps(audio: np.ndarray, rate: int = RATE, start_s: float = 0.0) -> np.ndarray:
    """Times (s) where the beeps start (loud after quiet, 50 ms apart at least)."""
    loud = np.abs(audio) > 0.2
    rises = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    if rises.size:
        rises = rises[np.concatenate([[True], np.diff(rises) > 0.05 * rate])]
    return rises / rate + start_s


def flash_onsets(path: Path) -> np.ndarray:
    """Presented times (s) of the pictures where the square lights up."""
    with av.open(str(path)) as container:
        times, lit = [], []
        for frame in container.decode(container.streams.video[0]):
            times.append(float(frame.pts * frame.time_base))
            lit.append(frame.to_ndarray(format="gray").mean() > 115)
    order = np.argsort(times)
    times, lit = np.asarray(times)[order], np.asarray(lit)[order]
    return times[np.flatnonzero(lit[1:] & ~lit[:-1]) + 1]


def test_a_looped_file_keeps_every_loop_in_sync(tmp_path):
    """``-stream_loop 2 -c copy`` starts each loop's sound at the loop's time, 64 ms (the AAC
    padding at 16 kHz) before the previous loop's decoded sound ends: laid end to end, the
    sound drifted 56 ms early per loop."""
    clip = flash_clip(tmp_path / "c.mp4", seconds=3.0, size=(64, 48), rate=RATE)
    looped = tmp_path / "looped.mp4"
    run_ffmpeg(["-stream_loop", "2", "-i", str(clip), "-c", "copy", str(looped)], target=looped)
    flashes = flash_onsets(looped)
    assert flashes.size == 6
    whole = beeps(decode_audio(looped, RATE))
    assert whole == pytest.approx(flashes, abs=0.002)
    later = beeps(decode_audio(looped, RATE, start_s=4.0, end_s=9.0), start_s=4.0)
    assert later == pytest.approx(flashes[flashes > 4.0], abs=0.002)


def gapped_clip(path: Path, second_part_s: float) -> Path:
    """An MKV whose sound stops at 2 s and resumes at ``second_part_s`` (a gap if later, an
    overlap if earlier, but after the last frame's start: timestamps must increase), with a
    beep 0.5 s into each part, over 4 s of gray picture."""
    container = av.open(str(path), "w", format="matroska")
    video = container.add_stream("libx264", rate=25)
    video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    video.codec_context.time_base = Fraction(1, 25)
    sound = container.add_stream("aac", rate=RATE)
    sound.layout = "mono"
    for index in range(100):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 110, np.uint8), format="rgb24")
        frame.pts, frame.time_base = index, Fraction(1, 25)
        container.mux(video.encode(frame))
    container.mux(video.encode())
    part = 0.005 * np.random.default_rng(0).standard_normal(2 * RATE).astype(np.float32)
    t = np.arange(RATE // 10) / RATE
    part[RATE // 2 : RATE // 2 + t.size] += 0.5 * np.sin(2 * np.pi * 900 * t).astype(np.float32)
    for begin in (0.0, second_part_s):
        for start in range(0, part.size, 1024):
            chunk = np.ascontiguousarray(part[None, start : start + 1024])
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate, frame.time_base = RATE, Fraction(1, RATE)
            frame.pts = round(begin * RATE) + start
            container.mux(sound.encode(frame))
    container.mux(sound.encode())
    container.close()
    return path


@pytest.mark.parametrize(("second_part_s", "kind"), [(2.5, "gap"), (1.96, "overlap")])
def test_gaps_and_overlaps_in_the_sound_follow_its_timestamps(tmp_path, second_part_s, kind):
    """A gap becomes silence and an overlap is dropped: the second beep is where its timestamp
    says (laid end to end, it came 0.5 s early after the gap, 40 ms late after the overlap)."""
    path = gapped_clip(tmp_path / f"{kind}.mkv", second_part_s)
    with av.open(str(path)) as container:  # the file is what the test says
        stream = container.streams.audio[0]
        starts = [float(p.pts * stream.time_base) for p in container.demux(stream) if p.size]
    assert min(abs(s - second_part_s) for s in starts) < 0.07
    expected = [0.5, second_part_s + 0.5]
    audio = decode_audio(path, RATE)
    assert beeps(audio) == pytest.approx(expected, abs=0.003)
    if kind == "gap":  # silence, not sound, between the parts
        assert np.abs(audio[round(2.1 * RATE) : round(2.4 * RATE)]).max() < 1e-3
    late = decode_audio(path, RATE, start_s=1.5, end_s=3.5)
    assert beeps(late, start_s=1.5) == pytest.approx(expected[1:], abs=0.003)


def test_sound_that_runs_past_the_picture_is_a_valid_file(tmp_path):
    """``-itsoffset 0.54`` on the sound, copied into MKV: the container lasts 8.54 s, the picture
    8 s. It was rejected as truncated ("frames stop at 8.00 s of the declared 8.54 s")."""
    clip = flash_clip(tmp_path / "c.mp4", seconds=8.0, size=(64, 48), rate=RATE)
    late = tmp_path / "late.mkv"
    run_ffmpeg(
        [
            *("-itsoffset", "0.54", "-i", str(clip), "-i", str(clip)),
            *("-map", "1:v", "-map", "0:a", "-c", "copy", str(late)),
        ],
        target=late,
    )
    info = probe_media(late)
    assert info.duration_s == pytest.approx(8.0, abs=0.05)
    assert info.audio_start_s == pytest.approx(0.54, abs=0.01)
    assert info.audio_end_s == pytest.approx(8.54, abs=0.03)
    # the sound is there, 0.54 s late: every beep after its flash
    flashes = flash_onsets(late)
    heard = beeps(decode_audio(late, RATE))
    assert heard[: flashes.size] - flashes == pytest.approx(0.54, abs=0.002)
