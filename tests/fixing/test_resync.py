"""`avalign.fix`: a re-synced copy whose picture is untouched, refusals, batches with bad files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import numpy as np
import pytest

from avalign.fixing.resync import EXIT_FAILED, EXIT_REFUSED, RefusedError, plan_fix, run
from avalign.fixing.retime import retime_samples
from avalign.media.decode import decode_audio
from avalign.samples.materialize import encode_sample
from support.media import make_video, render_audio, truncate, window_sample, write_windows

SR = 16000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """8 s windows of a 10 s clip: in sync, audio 480 ms late, and a sound from elsewhere."""
    folder = tmp_path_factory.mktemp("fix")
    specs = {"synced": window_sample("None"), "late": window_sample("time_shift", offset_ms=480.0)}
    made, source = write_windows(folder, specs, into=folder / "in")
    # picture of the clip, clicks at unrelated times: detect guesses a shift with low confidence
    elsewhere = np.sort(np.random.default_rng(0).uniform(0.2, 7.8, 10))
    made["unrelated"] = folder / "unrelated.mp4"
    encode_sample(
        source, window_sample("None"), render_audio(8.0, SR, elsewhere), SR, made["unrelated"]
    )
    return made


def fix(tmp_path, source, target, *extra) -> tuple[int, dict]:
    report = tmp_path / "fix.json"
    code = run(
        [str(source), str(target), f"json={report}", "progress=false", "source=null", *extra]
    )
    return code, json.loads(report.read_text())


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fix_recovers_a_known_shift(files, tmp_path):
    before = digest(files["late"])
    out = tmp_path / "fixed.mp4"
    code, report = fix(tmp_path, files["late"], out)
    assert code == 0
    result = report["files"][0]
    assert result["status"] == "fixed" and result["detected"].startswith("audio late by")
    assert result["plan"]["offset_ms"] == pytest.approx(480, abs=40)
    assert result["check"]["verdict"] == "in sync"
    assert abs(result["check"]["offset_ms"]) <= 40  # the residual offset
    assert digest(files["late"]) == before  # IN untouched
    assert video_packets(out) == video_packets(files["late"])  # the picture, bit for bit
    assert result["audio_codecs"] == ["aac"]  # the input's own codec
    # the moved sound lines up with the in-sync file's sound to a millisecond
    fixed, synced = decode_audio(out, SR), decode_audio(files["synced"], SR)
    n = min(fixed.size, synced.size)
    correlation = np.correlate(fixed[:n], synced[:n], "full")
    plan_ms = result["plan"]["offset_ms"]
    assert abs((np.argmax(correlation) - (n - 1)) / SR * 1000) <= abs(plan_ms - 480) + 1.0


def test_a_given_offset_is_applied_sample_accurately(files, tmp_path):
    out = tmp_path / "given.mp4"
    code, report = fix(tmp_path, files["late"], out, "offset_ms=480", "check=false")
    assert code == 0 and report["files"][0]["plan"]["source"] == "given"
    fixed, synced = decode_audio(out, SR), decode_audio(files["synced"], SR)
    n = min(fixed.size, synced.size)
    lag = np.argmax(np.correlate(fixed[:n], synced[:n], "full")) - (n - 1)
    assert abs(lag) <= 1  # samples at 16 kHz
    assert fixed[-int(0.4 * SR) :].std() < 1e-3  # the freed end is silence


def test_refusals_have_their_own_exit_code(files, tmp_path):
    code, report = fix(tmp_path, files["unrelated"], tmp_path / "u.mp4")
    result = report["files"][0]
    assert code == EXIT_REFUSED and result["status"] == "refused"
    assert "confidence low" in result["reason"] and "force=true" in result["reason"]
    assert not (tmp_path / "u.mp4").exists()
    code, report = fix(tmp_path, files["synced"], tmp_path / "s.mp4")
    assert code == EXIT_REFUSED and "in sync" in report["files"][0]["reason"]
    code, report = fix(tmp_path, files["late"], files["late"])
    assert code == EXIT_REFUSED and "OUT is IN" in report["files"][0]["reason"]
    code, report = fix(
        tmp_path, files["unrelated"], tmp_path / "u.mp4", "force=true", "check=false"
    )
    assert code == 0 and (tmp_path / "u.mp4").is_file()


def test_plan_refuses_sound_problems_even_when_forced():
    class Config:
        min_confidence, force = "medium", True

    record = {"kind": "noise", "verdict": "audio replaced by noise", "has_audio": True}
    record |= {"offset_ms": None, "confidence": "high"}
    with pytest.raises(RefusedError, match="not a time shift"):
        plan_fix(record, None, Config)
    with pytest.raises(RefusedError, match="no audio track"):
        plan_fix({**record, "has_audio": False}, None, Config)


def test_a_batch_skips_a_corrupt_file(files, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "late.mp4").write_bytes(files["late"].read_bytes())
    truncate(make_video(folder / "broken.mp4", seconds=3.0), 0.5)
    out = tmp_path / "out"
    code, report = fix(tmp_path, folder, out, "check=false")
    status = {Path(r["in"]).name: r for r in report["files"]}
    assert code == EXIT_FAILED
    assert status["late.mp4"]["status"] == "fixed" and (out / "late.mp4").is_file()
    assert status["broken.mp4"]["status"] == "error"
    assert "not a readable video" in status["broken.mp4"]["reason"]
    assert sorted(p.name for p in out.iterdir()) == ["late.mp4"]  # no partial file left


def test_drift_resampling_is_accurate():
    """A 1 kHz tone read 1% fast by the sinc interpolator matches the tone at those times."""
    rate = 16000
    t = np.arange(rate * 2) / rate
    tone = np.sin(2 * np.pi * 1000 * t)[None, :].astype(np.float32)
    moved = retime_samples(tone, rate, 0.0, lambda times: 10.0 * times)  # +10 ms per second
    expected = np.sin(2 * np.pi * 1000 * t * 1.01)
    middle = slice(1000, int(1.9 * rate))
    assert np.max(np.abs(moved[0, middle] - expected[middle])) < 2e-3
    assert np.all(moved[0, -200:] == 0)  # past the end of the old sound: silence


def test_an_edit_moves_each_part_by_its_own_offset():
    """In sync for 1 s, then 100 ms late: each part lands where it belongs, faded at the cut."""
    rate = 8000
    sound = np.random.default_rng(0).standard_normal((2, 2 * rate)).astype(np.float32)
    moved = retime_samples(sound, rate, 0.0, lambda t: np.where(t < 1.0, 0.0, 100.0))
    fade = int(0.010 * rate)
    before, after = slice(0, rate - fade), slice(rate + fade, int(1.85 * rate))
    assert np.allclose(moved[:, before], sound[:, before], atol=1e-5)
    shifted = slice(after.start + 800, after.stop + 800)  # 100 ms at 8 kHz
    assert np.allclose(moved[:, after], sound[:, shifted], atol=1e-5)
    assert np.all(np.abs(moved[:, rate - 2 : rate + 2]) < np.abs(sound).max() * 0.2)  # faded
    assert np.all(moved[:, -700:] == 0)  # the last 100 ms had no sound to take


def test_every_stream_and_the_metadata_are_kept(tmp_path):
    """Two audio streams (AAC stereo, MP3 in French), subtitles, a title: all survive the fix."""
    from avalign.fixing.retime import retime_file
    from avalign.media.ffmpeg import run_ffmpeg

    source = make_video(tmp_path / "a.mp4", seconds=3.0, sample_rate=44100)
    (tmp_path / "s.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nhello\n")
    mixed = tmp_path / "mixed.mkv"
    inputs = ["-i", str(source), "-i", str(source), "-i", str(tmp_path / "s.srt")]
    maps = ["-map", "0:v", "-map", "0:a", "-map", "1:a", "-map", "2:s", "-c:v", "copy"]
    codecs = ["-c:a:0", "aac", "-ac:a:0", "2", "-c:a:1", "libmp3lame", "-c:s", "srt"]
    tags = ["-metadata:s:a:1", "language=fra", "-metadata", "title=Two tracks"]
    run_ffmpeg([*inputs, *maps, *codecs, *tags, str(mixed)])
    out = tmp_path / "fixed.mkv"
    assert retime_file(mixed, out, 200.0) == ["aac", "mp3"]

    def streams(path):
        with av.open(str(path)) as container:
            return container.metadata.get("title"), [
                (s.type, s.codec_context.codec.canonical_name, s.metadata.get("language"))
                for s in container.streams
            ]

    assert streams(out) == streams(mixed)
    assert streams(out)[1][2] == ("audio", "mp3", "fra")
    assert video_packets(out) == video_packets(mixed)
