"""The benchmark: folds by recording, the window protocol, its figures, the command end to end."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from itertools import pairwise

import numpy as np
import pytest

from avalign.benchmark.folds import FoldMember, assign_folds, fold_splits
from avalign.benchmark.metrics import WindowTable, bootstrap_figures, weighted_auroc
from avalign.benchmark.runner import final_roles
from avalign.benchmark.sources import ClipCandidate, rooted
from avalign.benchmark.windows import (
    BenchmarkClip,
    WindowProtocol,
    offset_fits,
    plan_windows,
    window_starts,
)
from avalign.media.decode import decode_audio
from avalign.samples.perturb import render_sample_audio
from support import REPO
from support.media import make_video


def _members(count: int = 40) -> list[FoldMember]:
    categories = ("talking-head", "music", "sound-event", "speech")
    return [
        FoldMember(f"clip{i:02d}", f"rec{i // 3:02d}", categories[(i // 3) % 4])
        for i in range(count)
    ]


def test_folds_keep_a_recording_together_and_repeat_for_a_seed():
    members = _members()
    folds = assign_folds(members, k=5, seed=3)
    assert set(folds) == {m.clip_id for m in members}
    assert set(folds.values()) == set(range(5))
    for source in {m.source_video for m in members}:
        assert len({folds[m.clip_id] for m in members if m.source_video == source}) == 1
    assert assign_folds(list(reversed(members)), k=5, seed=3) == folds  # order does not matter
    assert assign_folds(members, k=5, seed=4) != folds
    sizes = np.bincount(list(folds.values()))
    assert sizes.max() - sizes.min() <= 3  # recordings hold 3 clips: folds differ by one at most
    for category in {m.category for m in members}:  # every category is spread over the folds
        assert len({folds[m.clip_id] for m in members if m.category == category}) >= 3


def test_fold_roles_hold_out_one_fold_and_validate_on_another():
    roles = fold_splits(2, 5)
    assert roles[2] == "test" and roles[3] == "val"
    assert sorted(roles.values()).count("train") == 3
    with pytest.raises(ValueError):
        assign_folds(_members(4), k=5)


def test_the_model_to_ship_trains_on_every_fold_but_one_that_validates():
    assert final_roles(5) == {0: "val", 1: "train", 2: "train", 3: "train", 4: "train"}
    assert list(final_roles(3, val_fold=2).values()) == ["train", "train", "val"]
    with pytest.raises(ValueError):
        final_roles(3, val_fold=3)


def test_two_clip_sets_are_named_from_their_common_folder(tmp_path):
    base = ClipCandidate(tmp_path / "realdev/raw/a.mp4", "a.mp4", "music", "youtube:a")
    extra = ClipCandidate(tmp_path / "realdev_extra/raw/b.mp4", "b.mp4", "music", "youtube:b")
    root, named = rooted([base, extra])
    assert root == tmp_path
    assert [c.relative for c in named] == ["realdev/raw/a.mp4", "realdev_extra/raw/b.mp4"]
    root, named = rooted([base])  # one set: its raw folder and plain names, as before
    assert root == tmp_path / "realdev/raw" and named[0].relative == "a.mp4"


def test_offset_grid_is_synchformers():
    protocol = WindowProtocol()
    assert protocol.classes == 21
    assert protocol.offsets_ms[0] == -2000 and protocol.offsets_ms[-1] == 2000
    assert np.allclose(np.diff(protocol.offsets_ms), 200)
    assert protocol.offset_class(0.0) == 10
    assert protocol.offset_class(-2000.0) == 0
    assert protocol.offset_class(90.0) == 10 and protocol.offset_class(110.0) == 11
    assert protocol.offset_class(5000.0) == 20  # clipped to the grid


def test_window_starts_keep_every_offset_inside_the_track():
    protocol = WindowProtocol()
    long = BenchmarkClip("long", "long.mp4", "music", "long", picture_s=12.0, sound_s=11.9)
    starts = window_starts(long, protocol)
    assert len(starts) >= 3 and all(b - a == pytest.approx(1.2) for a, b in pairwise(starts))
    for start in starts:
        assert all(offset_fits(long, start, o, 4.8) for o in protocol.offsets_ms)
    windows = plan_windows(long, protocol)
    per_start = len(windows) // len(starts)
    assert per_start == 21 + 2  # every offset (0 included), a muted and a noisy window
    assert {w.misalignment for w in windows} == {"None", "time_shift", "mute", "noise"}
    # a short clip: one window in the middle, only the offsets whose sound is there
    short = BenchmarkClip("short", "short.mp4", "speech", "short", picture_s=6.0, sound_s=6.0)
    (start,) = window_starts(short, protocol)
    assert start == pytest.approx(0.6)
    windows = plan_windows(short, protocol)
    shifted = sorted(w.offset_ms for w in windows if w.misalignment == "time_shift")
    assert shifted == [o for o in protocol.offsets_ms if 0 < abs(o) <= 600]
    tiny = BenchmarkClip("tiny", "tiny.mp4", "speech", "tiny", picture_s=4.0, sound_s=4.0)
    assert plan_windows(tiny, protocol) == []


def test_shifted_sound_is_the_tracks_sound_from_the_shifted_time(tmp_path):
    """The sound of a window with offset o is the track from t - o: cross-correlating it with the
    track finds the offset to the sample."""
    rate = 16000
    path = make_video(tmp_path / "clicks.mp4", seconds=9.0)
    track = decode_audio(path, rate)
    clip = BenchmarkClip("clicks", "clicks.mp4", "sound-event", "clicks", 9.0, track.size / rate)
    windows = plan_windows(clip, WindowProtocol())
    assert windows
    for spec in windows:
        if spec.misalignment != "time_shift":
            continue
        sound = render_sample_audio(track, rate, spec)
        start = round(spec.start_s * rate)
        found = np.correlate(track, sound, mode="valid").argmax()  # where the window's sound sits
        assert start - found == round(spec.offset_ms / 1000 * rate)  # positive: audio late


def test_weighted_auroc_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    scores = np.round(rng.random(60), 1)  # ties on purpose
    positive = rng.random(60) < 0.4
    weights = rng.integers(0, 3, 60).astype(float)
    pairs = [
        (wp * wn) * (1.0 if sp > sn else 0.5 if sp == sn else 0.0)
        for sp, wp in zip(scores[positive], weights[positive], strict=True)
        for sn, wn in zip(scores[~positive], weights[~positive], strict=True)
    ]
    expected = sum(pairs) / (weights[positive].sum() * weights[~positive].sum())
    assert weighted_auroc(scores, positive, weights) == pytest.approx(expected)


def test_figures_and_their_intervals():
    protocol = WindowProtocol()
    clips = np.repeat(np.arange(10), 22)
    kinds = np.tile(["None"] + ["time_shift"] * 20 + ["mute"], 10)
    offsets = np.tile(np.r_[0.0, protocol.offsets_ms[protocol.offsets_ms != 0], 0.0], 10)
    shifted = kinds == "time_shift"
    table = WindowTable(
        clip=clips,
        category=np.where(clips < 5, "music", "speech"),
        kind=kinds,
        offset_ms=offsets,
        true_class=protocol.offset_class(offsets),
        p_out=np.where(shifted | (kinds == "mute"), 0.9, 0.1),
        decision=shifted | (kinds == "mute"),
        offset_pred_ms=offsets + 30.0,  # every estimate 30 ms off: right class, 30 ms error
        class_pred=protocol.offset_class(offsets),
    )
    result = bootstrap_figures(table, resamples=50)
    figures = result["figures"]
    assert figures["sync_auroc"].value == 1.0 and figures["sync_balanced_acc"].value == 1.0
    assert figures["offset_exact"].value == 1.0
    assert figures["offset_median_err_ms"].value == pytest.approx(30.0)
    assert figures["mute_called_out"].value == 1.0
    assert result["counts"] == {
        "clips": 10,
        "windows_synced": 10,
        "windows_shifted": 200,
        "windows_mute": 10,
        "windows_noise": 0,
    }
    # a detector that calls half the clips' in-sync windows out of sync: an interval around 0.75
    flipped = table.decision.copy()
    flipped[(kinds == "None") & (clips < 5)] = True
    half = WindowTable(**{**vars(table), "decision": flipped})
    figure = bootstrap_figures(half, resamples=200)["figures"]["sync_balanced_acc"]
    assert figure.value == pytest.approx(0.75)
    assert figure.low < 0.75 < figure.high


def test_benchmark_command_end_to_end(tmp_path):
    """Tiny folder of generated clips: windows, folds, a detector trained on folds, files checked
    by detect; a rerun resumes from what is stored and reports the same figures."""
    root = tmp_path / "clips"
    for i in range(6):
        category = "impacts" if i % 2 else "jumps"
        make_video(root / category / f"clip{i}.mp4", seconds=6.0 + 0.4 * i, size=(64, 48))
    command = [
        sys.executable,
        "-m",
        "avalign.benchmark",
        "source=folder",
        f"root={root}",
        f"paths.data_dir={tmp_path / 'data'}",
        "run=[xcorr]",
        "files.run=[xcorr]",
        "training=[folds]",
        "final=[xcorr]",
        "folds=3",
        "bootstrap=30",
        "files.offsets_ms=[-300]",
        "logger=none",
        "progress=false",
        "workers=1",
    ]
    first = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    assert first.returncode == 0, first.stderr[-2000:]
    (results,) = (tmp_path / "data" / "benchmark").glob("folder-*/results.json")
    report = json.loads(results.read_text())
    assert report["clips"] == 6 and report["windows"] > 6 * 10
    (xcorr,) = report["detectors"]
    assert (xcorr["detector"], xcorr["training"]) == ("xcorr", "folds")
    counts = xcorr["overall"]["counts"]
    assert counts["clips"] == 6 and counts["windows_synced"] >= 6
    assert set(xcorr["per_category"]) == {"impacts", "jumps"}
    figures = xcorr["overall"]["figures"]
    for name in ("sync_auroc", "offset_exact", "offset_within1", "mute_called_out"):
        assert figures[name]["low"] <= figures[name]["value"] <= figures[name]["high"]
    files = report["files"]
    assert files["variants"] == ["sync", "early300", "mute", "noise"]
    labels = [row["label"] for row in files["detectors"]]
    assert labels == ["training-free", "xcorr (folds)"]
    for row in files["detectors"]:
        assert row["all"]["files"] == 6 * 4
        assert row["agreement"]["mute"]["value"] == 1.0  # no audio track: always found
    assert "| xcorr (folds, 5 steps/s) |" in first.stdout
    out = results.parent
    with open(out / "folds.csv", newline="") as source:
        folds = {row["clip_id"]: int(row["fold"]) for row in csv.DictReader(source)}
    assert len(folds) == 6 and set(folds.values()) == {0, 1, 2}
    assert (out / "models" / "xcorr-all.ckpt").is_file()  # the model to ship, beside the folds
    second = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    assert second.returncode == 0, second.stderr[-2000:]
    assert json.loads(results.read_text())["detectors"] == report["detectors"]
