"""Tests of the synthetic AVE-layout corpus generator (avalign.datasets.synthetic)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest

from avalign.datasets.synthetic import (
    CATEGORIES,
    CorpusMismatchError,
    SyntheticConfig,
    generate_corpus,
    make_clip_spec,
    plan_corpus,
    write_clip,
)

# Small frames and low sample rates keep the whole file fast; 7 clips cover the 7 categories
# (they are dealt in shuffled rounds) and this seed gives one two-event clip.
TINY = SyntheticConfig(
    num_clips=7,
    seed=5,
    resolutions=((320, 240), (426, 240)),
    sample_rates=(16000, 22050),
    multi_event_fraction=0.3,
)
LINE = re.compile(r"^([a-z_]+)&([A-Za-z0-9]{11})&good&(\d+)&(\d+)$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic") / "ave"
    summary = generate_corpus(root, TINY, workers=1, progress=False)
    assert (summary.rendered, summary.reused, summary.num_clips) == (7, 0, 7)
    return root


def _manifest(root: Path) -> dict:
    return json.loads((root / "corpus.json").read_text())


def _mp4_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "AVE").glob("*.mp4"))}


def _parse(lines: list[str]) -> list[tuple[str, str, int, int]]:
    rows = []
    for line in lines:
        match = LINE.match(line)
        assert match, f"malformed annotation line {line!r}"
        category, video_id, start, end = match.groups()
        rows.append((category, video_id, int(start), int(end)))
    return rows


# --- configuration and planning -------------------------------------------------------------


def test_fingerprint_is_stable_and_covers_every_field():
    assert SyntheticConfig().fingerprint() == SyntheticConfig().fingerprint()
    assert re.fullmatch(r"[0-9a-f]{10}", TINY.fingerprint())
    assert SyntheticConfig(seed=1).fingerprint() != SyntheticConfig(seed=2).fingerprint()
    assert SyntheticConfig(ambient_snr_db=(0.0, 20.0)).fingerprint() != (
        SyntheticConfig().fingerprint()
    )
    assert SyntheticConfig.from_dict(TINY.to_dict()) == TINY
    # settings read from YAML (lists, ints in float fields) mean the same corpus
    from_yaml = SyntheticConfig(ambient_snr_db=[0, 30], split_fractions=[0.7, 0.15, 0.15])
    assert from_yaml == SyntheticConfig()
    assert from_yaml.fingerprint() == SyntheticConfig().fingerprint()


@pytest.mark.parametrize(
    "bad",
    [
        {"categories": ("ball_bounce", "nope")},
        {"resolutions": ((321, 240),)},
        {"split_fractions": (0.5, 0.3, 0.3)},
        {"min_event_s": 1},
        {"silent_object_probability": 1.5},
    ],
)
def test_invalid_config_is_refused(bad):
    with pytest.raises(ValueError):
        SyntheticConfig(**bad)


def test_plan_is_deterministic_with_unique_alphanumeric_ids():
    config = SyntheticConfig(num_clips=300, seed=11)
    specs = plan_corpus(config)
    assert specs == plan_corpus(config)
    ids = [s.video_id for s in specs]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9]{11}", i) for i in ids)
    single = plan_corpus(dataclasses.replace(config, multi_event_fraction=0.0))
    counts = Counter(s.events[0].category for s in single)
    assert set(counts) == set(CATEGORIES)
    assert max(counts.values()) - min(counts.values()) <= 1  # dealt in balanced rounds
    assert 0 < sum(len(s.events) == 2 for s in specs) < 0.15 * len(specs)
    for spec in specs:
        events = sorted(spec.events, key=lambda e: e.start)
        assert all(0 <= e.start < e.end <= 10 and e.end - e.start >= 2 for e in events)
        if len(events) == 2:
            assert events[0].end <= events[1].start
            assert events[0].category != events[1].category
    # a clip does not depend on how many others there are
    assert plan_corpus(SyntheticConfig(num_clips=20, seed=11)) == specs[:20]
    other = plan_corpus(SyntheticConfig(num_clips=300, seed=12))
    assert not set(ids) & {s.video_id for s in other}


# --- the corpus on disk -----------------------------------------------------------------------


def test_layout_and_annotation_format(corpus):
    names = {p.name for p in corpus.iterdir()}
    expected = {"AVE", "Annotations.txt", "trainSet.txt", "valSet.txt", "testSet.txt"}
    assert expected | {"corpus.json"} <= names
    lines = (corpus / "Annotations.txt").read_text().splitlines()
    assert lines[0] == "Category&VideoID&Quality&StartTime&EndTime"
    rows = _parse(lines[1:])
    manifest = _manifest(corpus)
    assert len(rows) == manifest["num_events"] > manifest["num_clips"] == 7  # one 2-event clip
    for category, video_id, start, end in rows:
        assert category in CATEGORIES
        assert 0 <= start < end <= 10
        assert (corpus / "AVE" / f"{video_id}.mp4").is_file()
    assert {r[0] for r in rows} == set(CATEGORIES)
    clips = {c["video_id"]: c for c in manifest["clips"]}
    for category, video_id, start, end in rows:
        event = next(e for e in clips[video_id]["events"] if e["start"] == start)
        assert (event["category"], event["end"]) == (category, end)
        assert event["onsets"], "every event has ground-truth onsets"
        assert all(start <= t < end for t in event["onsets"])
    assert manifest["fingerprint"] == TINY.fingerprint()
    assert manifest["config"] == TINY.to_dict()


def test_split_files_partition_the_videos(corpus):
    all_rows = _parse((corpus / "Annotations.txt").read_text().splitlines()[1:])
    seen: dict[str, str] = {}
    union = []
    for split, name in (("train", "trainSet.txt"), ("val", "valSet.txt"), ("test", "testSet.txt")):
        text = (corpus / name).read_text()
        assert not text.startswith("Category&"), "split files have no header"
        rows = _parse(text.splitlines())
        assert rows, f"{name} is empty"
        union += rows
        for row in rows:
            assert seen.setdefault(row[1], split) == split, f"{row[1]} is in two splits"
    assert sorted(union) == sorted(all_rows)
    assert Counter(seen.values()) == {"train": 5, "val": 1, "test": 1}  # 0.7/0.15/0.15 of 7
    assert {c["video_id"]: c["split"] for c in _manifest(corpus)["clips"]} == seen


def test_every_mp4_is_h264_and_aac_as_planned(corpus):
    for clip in _manifest(corpus)["clips"]:
        with av.open(str(corpus / clip["file"])) as container:
            assert len(container.streams.video) == 1
            assert len(container.streams.audio) == 1
            video, audio = container.streams.video[0], container.streams.audio[0]
            assert video.codec_context.name == "h264"
            assert audio.codec_context.name == "aac"
            assert (video.width, video.height) == (clip["width"], clip["height"])
            assert video.codec_context.pix_fmt == "yuv420p"
            assert video.average_rate == clip["fps"]
            assert audio.rate == clip["sample_rate"]
            assert audio.channels == clip["channels"]
            assert container.duration / 1e6 == pytest.approx(10.0, abs=0.1)
            frames = sum(1 for _ in container.decode(video=0))
            assert frames == 10 * clip["fps"]


def test_same_seed_gives_identical_files(corpus, tmp_path):
    small = dataclasses.replace(TINY, num_clips=3)
    first = tmp_path / "a"
    second = tmp_path / "b"
    generate_corpus(first, small, progress=False)
    generate_corpus(second, small, progress=False)
    assert (first / "Annotations.txt").read_bytes() == (second / "Annotations.txt").read_bytes()
    assert (first / "corpus.json").read_bytes() == (second / "corpus.json").read_bytes()
    assert _mp4_bytes(first) == _mp4_bytes(second)
    # the same clips appear, byte for byte, in the larger corpus with the same seed
    big = _mp4_bytes(corpus)
    assert all(big[name] == data for name, data in _mp4_bytes(first).items())


def test_different_seed_gives_different_clips(tmp_path):
    a, b = (plan_corpus(SyntheticConfig(num_clips=2, seed=s))[0] for s in (0, 1))
    assert a.video_id != b.video_id
    spec_a = make_clip_spec("ball_bounce", width=320, height=240, fps=24, sample_rate=16000, seed=0)
    spec_b = make_clip_spec("ball_bounce", width=320, height=240, fps=24, sample_rate=16000, seed=1)
    rec_a = write_clip(spec_a, tmp_path / "a.mp4")
    rec_b = write_clip(spec_b, tmp_path / "b.mp4")
    assert rec_a.onsets != rec_b.onsets
    assert (tmp_path / "a.mp4").read_bytes() != (tmp_path / "b.mp4").read_bytes()


def test_two_workers_write_the_same_bytes(corpus, tmp_path):
    root = tmp_path / "parallel"
    summary = generate_corpus(root, TINY, workers=2, progress=False)
    assert summary.rendered == 7
    assert _mp4_bytes(root) == _mp4_bytes(corpus)
    for name in ("Annotations.txt", "trainSet.txt", "valSet.txt", "testSet.txt", "corpus.json"):
        assert (root / name).read_bytes() == (corpus / name).read_bytes(), name


def test_resume_rebuilds_only_what_is_missing(corpus, tmp_path):
    root = tmp_path / "resumed"
    shutil.copytree(corpus, root)
    victim = sorted((root / "AVE").glob("*.mp4"))[2]
    original = victim.read_bytes()
    victim.unlink()
    (root / "corpus.json").unlink()
    stale = root / "AVE" / f".{victim.name}.x1y2.partial"  # as left by a killed run
    stale.write_bytes(b"half a file")
    others = {p: p.stat().st_mtime_ns for p in (root / "AVE").glob("*.mp4")}

    summary = generate_corpus(root, TINY, workers=1, progress=False)

    assert (summary.rendered, summary.reused) == (1, 6)
    assert victim.read_bytes() == original
    assert {p: p.stat().st_mtime_ns for p in others} == others, "kept clips were rewritten"
    assert not stale.exists()
    assert (root / "corpus.json").read_bytes() == (corpus / "corpus.json").read_bytes()
    again = generate_corpus(root, TINY, workers=1, progress=False)  # complete: nothing to do
    assert (again.rendered, again.reused) == (0, 7)


def test_mismatched_fingerprint_raises(corpus, tmp_path):
    root = tmp_path / "mismatch"
    shutil.copytree(corpus, root)
    other = dataclasses.replace(TINY, seed=6)
    with pytest.raises(CorpusMismatchError, match="fingerprint"):
        generate_corpus(root, other, progress=False)
    (root / "corpus.json").unlink()  # an interrupted corpus is protected by its marker too
    with pytest.raises(CorpusMismatchError, match="fingerprint"):
        generate_corpus(root, other, progress=False)
    foreign = tmp_path / "real_ave"
    foreign.mkdir()
    (foreign / "Annotations.txt").write_text("Category&VideoID&Quality&StartTime&EndTime\n")
    with pytest.raises(CorpusMismatchError, match="not written by"):
        generate_corpus(foreign, TINY, progress=False)


# --- sound and picture are synchronized ---------------------------------------------------


def _decode(path: Path) -> tuple[np.ndarray, int, np.ndarray]:
    """Mono audio, its sample rate, and grayscale frames (float) of an mp4."""
    with av.open(str(path)) as container:
        sr = container.streams.audio[0].rate
        audio = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    return audio.mean(axis=0), sr, np.stack(frames).astype(np.float32)


@pytest.mark.parametrize("category", ["ball_bounce", "drum_strike"])
def test_onsets_are_real_in_sound_and_picture(category, tmp_path):
    fps, start, end = 25, 2, 8
    spec = make_clip_spec(
        category, width=320, height=240, fps=fps, sample_rate=16000, seed=7,
        event=(start, end), distractors=False,
    )  # fmt: skip
    record = write_clip(spec, tmp_path / "clip.mp4")
    onsets = np.array(record.onsets)
    assert len(onsets) >= 5
    audio, sr, frames = _decode(tmp_path / "clip.mp4")

    # Audio: at every onset the (pre-emphasized) energy jumps, and its peak follows within
    # 40 ms; the same test 100 ms later finds no jump. Pre-emphasis (a first difference)
    # weights the contact transient over the low ringing of earlier impacts.
    emphasized = np.diff(audio, prepend=0.0) ** 2
    w = round(0.02 * sr)

    def jump(t: float) -> float:
        i = round(t * sr)
        return emphasized[i : i + w].sum() / (emphasized[i - w : i].sum() + 1e-12)

    smooth = np.convolve(emphasized, np.ones(sr // 200) / (sr // 200), mode="same")
    for t in onsets:
        assert jump(t) > 3.0, f"no energy jump at the onset {t:.3f}s"
        i, r = round(t * sr), round(0.04 * sr)
        peak_delay = (np.argmax(smooth[i - r : i + r]) - r) / sr
        assert -0.005 <= peak_delay <= 0.04, f"energy peak {peak_delay * 1000:.0f} ms off"
    assert np.median([jump(t + 0.1) for t in onsets]) < 1.0

    # Silence and stillness outside the event (no distractors in this clip).
    loud = np.sqrt(np.mean(audio[start * sr : end * sr] ** 2))
    assert np.sqrt(np.mean(audio[: start * sr] ** 2)) < 1e-3 * loud
    motion = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))  # [k]: frame k -> k + 1
    t_motion = (np.arange(len(motion)) + 1) / fps
    outside = (t_motion <= start) | (t_motion > end + 0.5)
    inside = (t_motion > start) & (t_motion <= end)
    assert motion[outside].max() < 0.05 < motion[inside].mean()

    # Picture: the visible action peaks at the sound. Average the motion envelope (25 Hz)
    # around the onsets; its maximum is within one frame (40 ms) of the onset.
    lags = np.arange(-4, 5)
    first_after = np.ceil(onsets * fps).astype(int) - 1  # motion step that spans the onset
    profile = [motion[np.clip(first_after + lag, 0, len(motion) - 1)].mean() for lag in lags]
    assert abs(lags[int(np.argmax(profile))]) <= 1, f"motion profile {np.round(profile, 2)}"
