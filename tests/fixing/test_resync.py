"""`avalign.fix`: a re-synced copy whose picture is untouched, refusals, batches with bad files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import numpy as np
import pytest

from avalign.fixing.resync import EXIT_FAILED, EXIT_REFUSED, RefusedError, plan_fix, run
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


def sound_lag_ms(fixed_path: Path, synced_path: Path) -> float:
    """How much later the fixed file's sound plays than the in-sync file's, against the picture.

    A remux that moves sound before the picture's start shifts every stream (the picture then
    starts later): what counts is the sound relative to the picture, not to 00:00.
    """
    fixed, synced = decode_audio(fixed_path, SR), decode_audio(synced_path, SR)
    n = min(fixed.size, synced.size)
    lag = (np.argmax(np.correlate(fixed[:n], synced[:n], "full")) - (n - 1)) / SR
    return 1000.0 * (lag - (picture_start(fixed_path) - picture_start(synced_path)))


def picture_start(path: Path) -> float:
    with av.open(str(path)) as container:
        frame = next(container.decode(container.streams.video[0]))
        return float(frame.pts * frame.time_base)


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
    plan_ms = result["plan"]["offset_ms"]
    assert abs(sound_lag_ms(out, files["synced"])) <= abs(plan_ms - 480) + 1.0


@pytest.mark.parametrize("method", ["remux", "reencode"])
def test_a_given_offset_is_applied_sample_accurately(files, tmp_path, method):
    out = tmp_path / "given.mp4"
    code, report = fix(
        tmp_path, files["late"], out, "offset_ms=480", "check=false", f"method={method}"
    )
    result = report["files"][0]
    assert code == 0 and result["plan"]["source"] == "given" and result["method"] == method
    assert all(abs(miss) <= 2.0 for miss in result["landed_ms"])
    assert abs(sound_lag_ms(out, files["synced"])) <= 1000 / SR  # a sample at 16 kHz
    if method == "reencode":
        fixed = decode_audio(out, SR)
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
    assert code == EXIT_FAILED and "OUT is IN" in report["files"][0]["reason"]
    code, report = fix(
        tmp_path, files["unrelated"], tmp_path / "u.mp4", "force=true", "check=false"
    )
    assert code == 0 and (tmp_path / "u.mp4").is_file()


def test_the_default_min_confidence_is_high(files, tmp_path):
    """A medium-confidence offset is not applied unless asked: the default guards real files."""
    record = {"kind": "time_shift", "verdict": "audio late by 480 ms", "has_audio": True}
    record |= {"offset_ms": 480.0, "confidence": "medium"}
    from hydra import compose, initialize_config_dir

    from avalign.storage.config import config_dir

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(config_name="fix")
    assert cfg.min_confidence == "high"
    with pytest.raises(RefusedError, match="confidence medium is below high"):
        plan_fix(record, None, cfg)
    assert plan_fix({**record, "confidence": "high"}, None, cfg).offset_ms == 480.0


def test_a_fix_whose_check_fails_is_refused_and_removed(files, tmp_path):
    """Moving an in-sync file by 480 ms: the check sees it early, OUT is removed, bit 4 set."""
    out = tmp_path / "wrong.mp4"
    code, report = fix(tmp_path, files["synced"], out, "offset_ms=480")
    result = report["files"][0]
    assert code == EXIT_REFUSED and result["status"] == "refused"
    assert result["reason"].startswith("refused after check: residual -4")
    assert not out.exists()


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


def test_every_stream_and_the_metadata_are_kept(tmp_path):
    """Two audio streams (AAC stereo, MP3 in French), subtitles, a title: all survive the fix."""
    from avalign.fixing.reencode import reencode_file
    from avalign.fixing.remux import remux_file
    from avalign.media.ffmpeg import run_ffmpeg

    source = make_video(tmp_path / "a.mp4", seconds=3.0, sample_rate=44100)
    (tmp_path / "s.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nhello\n")
    mixed = tmp_path / "mixed.mkv"
    inputs = ["-i", str(source), "-i", str(source), "-i", str(tmp_path / "s.srt")]
    maps = ["-map", "0:v", "-map", "0:a", "-map", "1:a", "-map", "2:s", "-c:v", "copy"]
    codecs = ["-c:a:0", "aac", "-ac:a:0", "2", "-c:a:1", "libmp3lame", "-c:s", "srt"]
    tags = ["-metadata:s:a:1", "language=fra", "-metadata", "title=Two tracks"]
    run_ffmpeg([*inputs, *maps, *codecs, *tags, str(mixed)])
    out, remuxed = tmp_path / "fixed.mkv", tmp_path / "remuxed.mkv"
    assert reencode_file(mixed, out, 200.0) == ["aac", "mp3"]
    remux_file(mixed, remuxed, -0.2)

    def streams(path):
        with av.open(str(path)) as container:
            return container.metadata.get("title"), [
                (s.type, s.codec_context.codec.canonical_name, s.metadata.get("language"))
                for s in container.streams
            ]

    from avalign.fixing.verify import sound_move_ms

    for index in (1, 2):  # each audio stream moved by the 200 ms asked, both ways
        assert sound_move_ms(mixed, out, index, -200.0) == pytest.approx(-200.0, abs=1.0)
        assert sound_move_ms(mixed, remuxed, index, -200.0) == pytest.approx(-200.0, abs=1.0)
    assert streams(out) == streams(mixed) == streams(remuxed)
    assert streams(out)[1][2] == ("audio", "mp3", "fra")
    assert video_packets(out) == video_packets(mixed) == video_packets(remuxed)
