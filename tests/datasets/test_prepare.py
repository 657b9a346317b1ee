"""Stage 1 on AVE-layout and folder datasets, with every kind of bad input in one batch."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avalign.batch.failures import read_failures
from avalign.datasets.ave import prepare_ave
from avalign.datasets.folder import prepare_folder, video_id_for
from avalign.datasets.prepared import PREPARE_VERSION, PreparedDataset
from avalign.features.pipeline import dataset_settings, prepare_dataset
from avalign.storage.layout import dataset_dir
from support import SHARED_AVE
from support.media import make_video, truncate, write_ave_root
from support.streams import as_transport_stream, clip_with_sound, cut_with_edit_list


def _bad_ave_root(root: Path) -> Path:
    videos = root / "AVE"
    videos.mkdir(parents=True)
    make_video(videos / "good1.mp4", seconds=4.0)
    make_video(videos / "good2.mp4", seconds=4.0, size=(128, 96))
    make_video(videos / "vidéo_ü.mp4", seconds=3.0)  # non-ASCII name: must just work
    make_video(videos / "vfr.mp4", seconds=3.0, variable_rate=True)  # used, with a warning
    make_video(videos / "odd.mp4", seconds=3.0, size=(161, 121), pix_fmt="yuv444p")  # used, warning
    make_video(videos / "noaudio.mp4", seconds=3.0, sample_rate=None)
    make_video(videos / "audioonly.mp4", video=False)
    make_video(videos / "short.mp4", seconds=0.5)
    truncate(make_video(videos / "truncated.mp4", seconds=3.0, faststart=True), 0.4)
    truncate(make_video(videos / "corrupt.mp4", seconds=3.0), 0.5)
    (videos / "text.mp4").write_text("this is not a video")
    (videos / "zero.mp4").write_bytes(b"")
    rows = [
        "Bark&good1&good&0&4",
        "Bark&good1&good&1&3",  # a second annotation of the same video (multi-label)
        "Drum&good2&good&1&4",
        "Drum&vidéo_ü&good&0&3",
        "Drum&vfr&good&0&3",
        "Drum&odd&good&0&2",
        "Drum&good2&good&2&9",  # segment past the end of its 4 s video
        "Drum&noaudio&good&0&3",
        "Drum&audioonly&good&0&3",
        "Drum&short&good&0&1",
        "Drum&truncated&good&0&3",
        "Drum&corrupt&good&0&3",
        "Drum&text&good&0&3",
        "Drum&zero&good&0&3",
        "Drum&missing&good&0&3",
        "Drum&good1&good&3",  # field count
        "Drum&good1&good&x&3",  # non-integer
        "Drum&good1&good&1&12",  # out of range
        "Drum&good1&good&3&1",  # end before start
        "Drum&../escape&good&0&3",  # path escape
        "Drum&a/b&good&0&3",
        "Drum&a\\b&good&0&3",
    ]
    ids = [
        "good1",
        "good2",
        "vidéo_ü",
        "vfr",
        "odd",
        "noaudio",
        "audioonly",
        "short",
        "truncated",
        "corrupt",
        "text",
        "zero",
        "missing",
    ]
    splits = {
        "train": [f"X&{v}&good&0&3" for v in ids[:-3]] + ["X&good2&good&0&3"],
        "val": ["X&vidéo_ü&good&0&3"],
        "test": [f"X&{v}&good&0&3" for v in ids[-3:]] + ["X&good2&good&0&3"],
    }
    write_ave_root(root, [], splits)
    (root / "Annotations.txt").write_text(
        "\ufeffCategory&VideoID&Quality&StartTime&EndTime\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    return root


EXPECTED_ERRORS = {
    "noaudio.mp4": "no audio stream",
    "audioonly.mp4": "audio-only file",
    "short.mp4": "too short",
    "truncated.mp4": "truncated",
    "corrupt.mp4": "not a readable video",
    "text.mp4": "not a readable video",
    "zero.mp4": "empty file",
    "missing.mp4": "video file not found",
}


def test_prepare_ave_skips_every_bad_input_and_keeps_the_rest(tmp_path):
    root = _bad_ave_root(tmp_path / "AVE_Dataset")
    dataset, failures = prepare_ave(root, workers=1, progress=False)
    kept = sorted({(s.video_id, s.start_s, s.end_s) for s in dataset.segments})
    assert kept == [
        ("good1", 0.0, 4.0),
        ("good1", 1.0, 3.0),
        ("good2", 1.0, 4.0),
        ("odd", 0.0, 2.0),
        ("vfr", 0.0, 3.0),
        ("vidéo_ü", 0.0, 3.0),
    ]
    by_file = {}
    for f in failures.failures:
        by_file.setdefault(Path(f.file).name, []).append(f)
    for name, problem in EXPECTED_ERRORS.items():
        assert any(problem in f.problem and f.severity == "error" for f in by_file[name]), name
    assert any("ends after the video" in f.problem for f in by_file["good2.mp4"])
    assert any(
        "variable frame rate" in f.problem and f.severity == "warning" for f in by_file["vfr.mp4"]
    )
    assert any(
        "odd resolution" in f.problem and f.severity == "warning" for f in by_file["odd.mp4"]
    )
    annotation_problems = [f.problem for f in by_file["Annotations.txt"]]
    for expected in (
        "found 4",
        "not an integer",
        "outside [0, 10]",
        "before start",
        "dataset root",
    ):
        assert any(expected in p for p in annotation_problems), expected
    assert sum("dataset root" in p for p in annotation_problems) == 3
    # good2 is listed in train and test: it goes to test only
    assert {s.split for s in dataset.segments if s.video_id == "good2"} == {"test"}
    assert any("kept in test only" in f.problem for f in by_file["good2"])
    assert dataset.summary["videos_missing"] == 1
    # the report on disk lists every failure with the file named
    stage = prepare_dataset(
        {"name": "ave", "kind": "ave", "root": str(root)}, tmp_path / "data", progress=False
    )
    report = read_failures(stage.folder / "prepare_failures.csv")
    assert len(report) == len(failures.failures)
    assert {Path(f.file).name for f in report} >= set(EXPECTED_ERRORS)


def test_partial_copy_reports_missing_videos(tmp_path):
    root = tmp_path / "AVE_Dataset"
    rows = ["Bark&v1&good&0&3", "Bark&v2&good&0&3", "Bark&v3&good&1&3", "Bark&v4&good&0&2"]
    write_ave_root(root, rows, {"train": rows[:2], "val": rows[2:3], "test": rows[3:]})
    make_video(root / "AVE" / "v1.mp4", seconds=3.0)
    make_video(root / "AVE" / "v3.mp4", seconds=3.0)
    dataset, failures = prepare_ave(root, progress=False)
    assert {s.video_id for s in dataset.segments} == {"v1", "v3"}
    assert dataset.summary["videos_missing"] == 2
    assert sorted(Path(f.file).name for f in failures.errors) == ["v2.mp4", "v4.mp4"]


@pytest.mark.skipif(
    not (SHARED_AVE / "Annotations.txt").is_file(), reason=f"no AVE files at {SHARED_AVE}"
)
def test_real_ave_files_with_a_few_videos_present(tmp_path):
    root = tmp_path / "AVE_Dataset"
    (root / "AVE").mkdir(parents=True)
    for name in ("Annotations.txt", "trainSet.txt", "valSet.txt", "testSet.txt"):
        (root / name).write_bytes((SHARED_AVE / name).read_bytes())
    present = ["RUhOCu3LNXM", "MH3m4AwEcRY"]  # the first two annotated videos
    for video_id in present:
        make_video(root / "AVE" / f"{video_id}.mp4", seconds=10.0, size=(96, 64))
    dataset, failures = prepare_ave(root, progress=False)
    assert {s.video_id for s in dataset.segments} == set(present)
    assert dataset.summary["videos_annotated"] == 4096
    assert dataset.summary["videos_missing"] == 4094
    assert dataset.summary["annotation_rows"] == 4143
    overlaps = [f for f in failures.failures if "splits: kept in" in f.problem]
    assert len(overlaps) == 18


def test_folder_dataset_windows_and_split_by_video(tmp_path):
    root = tmp_path / "my videos"
    make_video(root / "street" / "clip ü 1.mp4", seconds=5.0)
    make_video(root / "street" / "clip2.mp4", seconds=3.0)
    make_video(root / "home.mp4", seconds=9.0)
    make_video(root / "silent.mp4", seconds=3.0, sample_rate=None)
    (root / "broken.mov").write_text("nope")
    dataset, failures = prepare_folder(root, window_s=2.0, hop_s=2.0, seed=0, progress=False)
    by_video = {}
    for s in dataset.segments:
        by_video.setdefault(s.video_path, []).append((s.start_s, s.end_s, s.split, s.category))
    assert sorted(by_video) == ["home.mp4", "street/clip ü 1.mp4", "street/clip2.mp4"]
    assert [w[:2] for w in by_video["home.mp4"]] == [(0, 2), (2, 4), (4, 6), (6, 8)]
    assert {w[3] for w in by_video["street/clip2.mp4"]} == {"street"}
    for windows in by_video.values():
        assert len({w[2] for w in windows}) == 1  # one split per video
    assert sorted(Path(f.file).name for f in failures.errors) == ["broken.mov", "silent.mp4"]
    assert video_id_for(Path("street/clip ü 1.mp4")).startswith("street-clip-u-1-")


def _run(module: str, *overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "AVALIGN_DATA_DIR": str(cwd / "data"),
        "AVALIGN_OUTPUT_DIR": str(cwd / "outputs"),
    }
    return subprocess.run(
        [sys.executable, "-m", module, *overrides, "progress=false"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_prepare_cli_exit_status(tmp_path):
    root = _bad_ave_root(tmp_path / "AVE_Dataset")
    good = _run("avalign.prepare", "dataset=ave", f"dataset.root={root}", "workers=1", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert "prepared ave: 6 segments" in good.stdout
    assert "truncated.mp4: truncated" in good.stderr  # the one-line error is shown
    bad_root = tmp_path / "nothing_usable"
    write_ave_root(bad_root, ["Bark&gone&good&0&3"], {"train": ["Bark&gone&good&0&3"]})
    bad = _run(
        "avalign.prepare", "dataset=ave", f"dataset.root={bad_root}", "workers=1", cwd=tmp_path
    )
    assert bad.returncode == 1
    assert "gone.mp4: video file not found" in bad.stderr
    with (
        (tmp_path / "data").glob("datasets/ave-*/prepare_failures.csv").__next__().open() as handle
    ):
        assert list(csv.DictReader(handle))


def test_folder_windows_lie_where_picture_and_real_sound_both_are(tmp_path):
    """Real clips: sound that ends early or starts late, pictures hidden by an edit list, a
    clock that starts at 1.4 s. Windows stay where both streams are; the mismatch is a warning."""
    root = tmp_path / "clips"
    clip_with_sound(root / "short_sound.mp4", picture_s=4.0, sound_s=2.0)
    clip_with_sound(root / "late_sound.mp4", picture_s=4.0, sound_s=3.0, sound_delay_s=0.5)
    clip_with_sound(root / "no_overlap.mp4", picture_s=3.0, sound_s=0.5)
    cut_with_edit_list(make_video(tmp_path / "long.mp4", seconds=4.0), root / "cut.mp4", 1.5)
    as_transport_stream(make_video(tmp_path / "clip.mp4", seconds=3.0), root / "clock.ts")
    dataset, failures = prepare_folder(root, window_s=1.0, hop_s=0.5, progress=False)
    windows = {}
    for s in dataset.segments:
        windows.setdefault(s.video_path, []).append((s.start_s, s.end_s))
        low, high = s.usable_extent
        assert low <= s.start_s < s.end_s <= high
    assert windows["short_sound.mp4"] == [(0.0, 1.0), (0.5, 1.5), (1.0, 2.0)]  # not up to 4 s
    assert min(start for start, _ in windows["late_sound.mp4"]) == pytest.approx(0.386, abs=2e-3)
    assert windows["cut.mp4"] == [(0.0, 1.0), (0.5, 1.5), (1.0, 2.0)]  # 2.48 s, not 4 s
    assert windows["clock.ts"][0] == (1.464, 2.464) and len(windows["clock.ts"]) == 5
    assert "no_overlap.mp4" not in windows
    problems = {Path(f.file).name: (f.severity, f.problem) for f in failures.failures}
    assert problems["no_overlap.mp4"][0] == "error"
    assert "picture and sound overlap for 0.55 s only" in problems["no_overlap.mp4"][1]
    assert problems["short_sound.mp4"] == (
        "warning",
        "sound ends 2.000 s before the picture (picture 0.000-4.000 s, sound 0.000-2.000 s): "
        "samples use only the time where both are",
    )
    assert "sound starts 0.436 s after the picture" in problems["late_sound.mp4"][1]


def test_ave_segments_are_cut_to_the_real_sound(tmp_path):
    rows = ["Bark&v&good&0&3", "Bark&v&good&1&6", "Bark&v&good&0&2"]
    root = write_ave_root(tmp_path / "AVE_Dataset", rows, {"train": rows[:1]})
    clip_with_sound(root / "AVE" / "v.mp4", picture_s=6.0, sound_s=2.7)
    dataset, failures = prepare_ave(root, progress=False)
    kept = sorted((s.start_s, s.end_s) for s in dataset.segments)
    assert kept == [(0.0, 2.0), (0.0, pytest.approx(2.75))]  # 0-3 s ends 0.3 s after the sound
    assert [f.problem for f in failures.errors] == ["segment 1-6 s ends after the sound (2.70 s)"]


def test_annotations_of_an_older_layout_still_read_and_are_rebuilt(tmp_path):
    root = tmp_path / "clips"
    make_video(root / "a.mp4", seconds=3.0)
    stage = prepare_dataset(
        {"name": "folder", "kind": "folder", "root": str(root)}, tmp_path / "data", progress=False
    )
    segment = stage.dataset.segments[0]
    assert segment.sound_extent == pytest.approx((0.0, 3.0), abs=1e-3)
    # version 1 had no sound extent: such a file still reads, its sound taken to cover the picture
    table = (stage.folder / "annotations.csv").read_text().splitlines()
    old = [",".join(line.split(",")[:-3]) for line in table]
    (stage.folder / "annotations.csv").write_text("\n".join(old) + "\n")
    read = PreparedDataset.read(stage.folder).segments[0]
    assert math.isnan(read.audio_end_s) and read.sound_extent == read.picture_extent
    # but the pipeline never reads it: the layout's version is part of the dataset's fingerprint
    settings = dataset_settings({"name": "folder", "kind": "folder", "root": str(root)})
    assert settings["prepare_version"] == PREPARE_VERSION
    assert dataset_dir(tmp_path / "data", "folder", settings) == stage.folder
    older = dataset_dir(tmp_path / "data", "folder", {**settings, "prepare_version": 1})
    assert older != stage.folder
