"""`avalign.detect` on files made by the tests: every verdict, bad files, long files, JSON."""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path

import pytest

from avalign.detection.command import run
from avalign.detection.meaning import confidence_meaning
from avalign.features.config import FeatureConfig
from avalign.features.stream import stream_features
from support.media import make_video, truncate, window_sample, write_windows

SR = 16000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An 8 s window of a 10 s source, written once per misalignment, like `materialize` does."""
    folder = tmp_path_factory.mktemp("detect")
    specs = {
        "synced": window_sample("None"),
        "late": window_sample("time_shift", offset_ms=480.0),
        "early": window_sample("time_shift", offset_ms=-600.0),
        "noise": window_sample("noise", snr_db=-5.0, noise_seed=3),
        "mute": window_sample("mute"),
    }
    made, _ = write_windows(folder, specs)
    made["broken"] = truncate(make_video(folder / "broken.mp4", seconds=3.0), 0.5)
    return made


def detect(tmp_path, paths, *extra) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    code = run(
        [
            *map(str, paths),
            "--json",
            str(report),
            "progress=false",
            "window_s=4",
            "hop_s=2",
            "source=null",
            *extra,
        ]
    )
    return code, json.loads(report.read_text())


def test_verdicts_of_the_training_free_default(files, tmp_path):
    code, report = detect(
        tmp_path, [files[k] for k in ("synced", "late", "early", "noise", "mute")]
    )
    verdicts = {Path(f["path"]).stem: f for f in report["files"]}
    assert verdicts["synced"]["verdict"] == "in sync" and not verdicts["synced"]["out_of_sync"]
    assert verdicts["late"]["verdict"].startswith("audio late by")
    assert verdicts["late"]["offset_ms"] == pytest.approx(480, abs=40)
    assert verdicts["early"]["verdict"].startswith("audio early by")
    assert verdicts["early"]["offset_ms"] == pytest.approx(-600, abs=40)
    assert (
        verdicts["noise"]["verdict"] == "audio replaced by noise"
        and verdicts["noise"]["kind"] == "noise"
    )
    assert verdicts["mute"]["verdict"] == "no audio track" and verdicts["mute"]["kind"] == "mute"
    assert code == 1  # some out of sync, none failed
    assert report["summary"] == {
        "files": 5,
        "in_sync": 1,
        "out_of_sync": 4,
        "cannot_tell": 0,
        "failed": 0,
    }


def test_a_corrupt_file_among_good_ones(files, tmp_path, caplog):
    missing = tmp_path / "nowhere.mp4"
    code, report = detect(tmp_path, [files["synced"], files["broken"], missing])
    assert code == 2  # some failed, none out of sync
    status = {Path(f["path"]).name: f for f in report["files"]}
    assert status["synced.mp4"]["verdict"] == "in sync"
    assert (
        status["broken.mp4"]["status"] == "error"
        and "not a readable video" in status["broken.mp4"]["error"]
    )
    assert status["nowhere.mp4"]["error"] == "file not found"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(
        m.endswith(
            "broken.mp4: not a readable video (corrupt, truncated or not media): "
            "Invalid data found when processing input"
        )
        for m in errors
    )


def test_json_schema_and_plots(files, tmp_path):
    code, report = detect(tmp_path, [files["late"]], f"plots={tmp_path / 'plots'}")
    assert code == 1
    assert report["schema_version"] == 5
    assert set(report["model"]) == {"description", "feature_fps", "window_s", "hop_s"}
    entry = report["files"][0]
    expected = {
        "path",
        "status",
        "duration_s",
        "has_audio",
        "verdict",
        "out_of_sync",
        "kind",
        "reason",
        "since_s",
        "offset_ms",
        "offset_method",
        "offset_strength",
        "confidence",
        "confidence_meaning",
        "windows",
        "plot",
    }
    assert expected <= set(entry)
    assert entry["confidence"] in ("high", "medium", "low") and entry["confidence_meaning"]
    # the meaning explains the verdict's own confidence, not the offset estimate's
    assert entry["confidence_meaning"] == confidence_meaning(entry["kind"], entry["confidence"])
    assert entry["reason"] is None  # only a cannot tell has one
    assert len(entry["windows"]) == 3  # 8 s in 4 s windows every 2 s
    for window in entry["windows"]:
        assert set(window) == {
            "start_s",
            "end_s",
            "p_out_of_sync",
            "out_of_sync",
            "kind",
            "kind_probability",
            "offset_ms",
        }
        assert 0 <= window["p_out_of_sync"] <= 1 and window["end_s"] > window["start_s"]
    assert Path(entry["plot"]).is_file() and Path(entry["plot"]).stat().st_size > 10_000


def test_folders_and_globs_expand(files, tmp_path):
    code, report = detect(tmp_path, [files["synced"].parent / "s*.mp4", files["mute"].parent])
    names = sorted(Path(f["path"]).name for f in report["files"])
    assert names.count("synced.mp4") == 1 and "mute.mp4" in names and "source.mp4" in names
    assert code == 3  # the broken file in the folder failed and some are out of sync


def test_long_video_streams_in_bounded_memory(tmp_path):
    """Peak memory grows far slower than the video: 4x longer costs well under 2x the memory."""
    config = FeatureConfig(fps=25.0, save_frames=False)
    peaks = {}
    for seconds in (60, 240):
        path = make_video(
            tmp_path / f"long{seconds}.mp4", seconds=float(seconds), fps=10, size=(96, 64)
        )
        tracemalloc.start()
        features, info = stream_features(path, config)
        peaks[seconds] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(features["flow_energy"]) == math.floor(info.duration_s * 25 + 1e-6)
    assert peaks[240] < 2.0 * peaks[60], peaks


def test_lag_head_offset_averages_window_probabilities():
    from avalign.detection.windows import lag_head_offset

    # two windows point at +3 steps, one confused window at -2: the file is 3 steps late
    windows = [{3: 0.8, 2: 0.1, 4: 0.1}, {3: 0.7, 4: 0.3}, {-2: 0.9, 0: 0.1}]
    estimate = lag_head_offset(windows, fps=25.0)
    assert estimate.method == "lag_head"
    assert 3 * 40 <= estimate.offset_ms <= 3.5 * 40  # refined towards 4, never past half a step
    assert estimate.strength == pytest.approx((0.8 + 0.1 + 0.1 + 0.7 + 0.3) / 3)
    assert estimate.confidence == "medium"  # 0.67: two of three windows agree
    assert estimate.lags_ms[estimate.curve.argmax()] == 120.0


def test_lag_evidence_in_the_json_and_tempering_keeps_the_peak(files, tmp_path):
    """``evidence=true`` writes every window's log-likelihood over lags; ``evidence_weight``
    scales what their sum counts (tempering) without moving the file's best lag."""
    _, plain = detect(tmp_path, [files["late"]])
    assert "lag_evidence" not in plain["files"][0]  # only when asked for
    _, report = detect(tmp_path, [files["late"]], "evidence=true")
    entry = report["files"][0]
    evidence = entry["lag_evidence"]
    lags = evidence["lags_ms"]
    assert len(evidence["loglik"]) == len(evidence["centres_s"]) == len(entry["windows"]) == 3
    assert all(len(row) == len(lags) for row in evidence["loglik"])
    assert evidence["weight"] == pytest.approx(0.5)  # hop / window: overlapping windows
    for row in evidence["loglik"]:  # each window's probabilities over lags sum to 1
        assert sum(math.exp(x) for x in row) == pytest.approx(1.0, abs=0.01)
    _, tempered = detect(tmp_path, [files["late"]], "evidence=true", "evidence_weight=0.25")
    again = tempered["files"][0]
    assert again["lag_evidence"]["weight"] == pytest.approx(0.125)
    assert again["offset_ms"] == pytest.approx(entry["offset_ms"], abs=1.0)


def test_file_threads_share_the_cores_among_the_workers(monkeypatch):
    """``file_threads=auto`` gives one file the machine's cores, shared among the workers."""
    import os

    from omegaconf import OmegaConf

    from avalign.detection.check import file_threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    settings = OmegaConf.create({"workers": 1, "file_threads": "auto"})
    assert file_threads(settings) == 4
    settings.workers = 2
    assert file_threads(settings) == 2
    settings.workers = 8
    assert file_threads(settings) == 1
    settings.file_threads = 3
    assert file_threads(settings) == 3


def test_a_long_file_gives_the_verdict_of_one_pass_with_two_threads(tmp_path):
    """Cut into time segments on two threads, a 50 s file gets the record of one pass (the
    packaged LagNet, the sound read at three phases of the step)."""
    path = make_video(tmp_path / "long.mp4", seconds=50.0, preset="veryfast")
    records = []
    for threads in (1, 2):
        report = tmp_path / f"threads{threads}.json"
        run([str(path), "--json", str(report), "progress=false", f"file_threads={threads}"])
        records.append(json.loads(report.read_text())["files"][0])
    keep = ("status", "verdict", "kind", "offset_ms", "p_out_of_sync", "windows")
    assert records[0]["status"] == "ok"
    assert {k: records[0][k] for k in keep} == {k: records[1][k] for k in keep}


def test_a_broken_long_file_is_one_error_with_two_threads(tmp_path):
    """A 50 s file cut off halfway fails as one error line with two threads as with one."""
    path = truncate(make_video(tmp_path / "long.mp4", seconds=50.0, faststart=True), 0.5)
    report = tmp_path / "broken.json"
    code = run([str(path), "--json", str(report), "progress=false", "file_threads=2"])
    record = json.loads(report.read_text())["files"][0]
    assert code & 2 and record["status"] == "error"
    assert record["error"].startswith("truncated: frames stop at") and "\n" not in record["error"]
