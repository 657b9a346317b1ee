"""Stage 3: shapes and alignment, agreement with materialized files, cache keying, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import av
import numpy as np
import pytest

from avalign.features.cache import FeatureCache, write_npz
from avalign.features.config import FeatureConfig
from avalign.features.extract import extract_samples, file_features, shard_of
from avalign.features.pipeline import extract_features, generate_samples, prepare_dataset
from support.media import event_times, make_video, write_ave_root

SECONDS = 6.0


@pytest.fixture(scope="module")
def samples_stage(tmp_path_factory):
    """A 4-video AVE-layout dataset and its samples (every misalignment type), materialized."""
    base = tmp_path_factory.mktemp("features")
    rows = [f"Bark&v{i}&good&0&6" for i in range(4)]
    root = write_ave_root(
        base / "AVE_Dataset", rows, {"train": rows[:2], "val": rows[2:3], "test": rows[3:]}
    )
    for i in range(4):
        make_video(
            root / "AVE" / f"v{i}.mp4",
            seconds=SECONDS,
            fps=(25, 30, 24, 25)[i],
            size=(160, 120),
            sample_rate=(16000, 48000, 44100, 16000)[i],
        )
    dataset = prepare_dataset(
        {"name": "ave", "kind": "ave", "root": str(root)}, base / "data", progress=False
    )
    generate = {"seed": 7, "negative_fraction": 0.75, "materialize": True, "shift_source": "video"}
    return generate_samples(dataset, generate, progress=False)


def test_every_type_is_present(samples_stage):
    kinds = {s.misalignment for s in samples_stage.samples}
    assert kinds == {"None", "time_shift", "noise", "mute", "distort"}


def test_feature_shapes_and_alignment(samples_stage, tmp_path):
    config = FeatureConfig(fps=25.0)
    report = extract_samples(
        samples_stage.samples, samples_stage.dataset.dataset.root, tmp_path, config, progress=False
    )
    assert report.failed == 0 and report.done == len(samples_stage.samples)
    cache = FeatureCache(tmp_path, config)
    events = event_times(SECONDS)
    for spec in samples_stage.samples:
        f = cache.load(spec.sample_id)
        steps = int(np.floor(spec.duration_s * 25 + 1e-6))
        assert f["flow_energy"].shape == (steps,) and f["audio_energy"].shape == (steps,)
        assert f["flow_grid"].shape == (steps, 4, 4) and f["mfcc"].shape == (steps, 13)
        assert f["frames"].shape == (steps + 1, 112, 112) and f["frames"].dtype == np.uint8
        assert np.allclose(np.diff(f["timestamps"]), 0.04) and f["timestamps"][0] == pytest.approx(
            spec.start_s + 0.02
        )
        assert bool(f["has_audio"]) == (spec.misalignment != "mute")
        inside = [t for t in events if spec.start_s + 0.1 < t < spec.end_s - 0.1]
        if spec.misalignment != "None" or not inside:
            continue
        # synchronized: the step where the square jumps is the step where the click sounds
        for t in inside:
            k = int((t - spec.start_s) * 25)
            assert np.argmax(f["flow_energy"][max(0, k - 2) : k + 3]) + max(0, k - 2) in (k, k + 1)
            energy = f["audio_energy"]
            assert (
                energy[k] > 5 * np.median(energy) and energy[k - 1] < 0.5 * energy[k]
            )  # onset in step k


def test_time_shift_moves_the_sound_by_the_offset(samples_stage, tmp_path):
    config = FeatureConfig(fps=25.0)
    shifted = [s for s in samples_stage.samples if s.misalignment == "time_shift"]
    extract_samples(shifted, samples_stage.dataset.dataset.root, tmp_path, config, progress=False)
    cache = FeatureCache(tmp_path, config)
    for spec in shifted:
        f = cache.load(spec.sample_id)
        a = np.log(f["audio_energy"] + 1e-4)
        for t in event_times(SECONDS):
            heard = t + spec.offset_ms / 1000  # audio late: the click of time t is heard later
            if spec.start_s + 0.1 < heard < spec.end_s - 0.1:
                k = int((heard - spec.start_s) * 25)
                assert abs(int(np.argmax(a[max(0, k - 3) : k + 4])) + max(0, k - 3) - k) <= 1


def test_in_memory_samples_agree_with_materialized_files(samples_stage, tmp_path):
    """The features of a written mp4 match the in-memory ones: audio through AAC at 128 kb/s and
    video through x264 crf 18 change A(t) by <= 5% of its peak, frames by <= 3 gray levels."""
    config = FeatureConfig(fps=5.0, sample_rate=16000)
    extract_samples(
        samples_stage.samples, samples_stage.dataset.dataset.root, tmp_path, config, progress=False
    )
    cache = FeatureCache(tmp_path, config)
    for spec in samples_stage.samples:
        memory = cache.load(spec.sample_id)
        path = samples_stage.folder / "generated_samples" / f"{spec.sample_id}.mp4"
        with av.open(str(path)) as container:
            assert len(container.streams.audio) == (0 if spec.misalignment == "mute" else 1)
            assert len(container.streams.video) == 1
        written = file_features(path, config)
        if spec.misalignment == "mute":  # no sound: the length comes from whole source frames
            steps = min(len(written["flow_energy"]), len(memory["flow_energy"]))
            assert abs(len(written["flow_energy"]) - len(memory["flow_energy"])) <= 1
            written = {k: v[:steps] if np.ndim(v) else v for k, v in written.items()}
            memory = {k: v[:steps] if np.ndim(v) else v for k, v in memory.items()}
        assert written["audio_energy"].shape == memory["audio_energy"].shape
        peak = max(float(memory["audio_energy"].max()), 1e-6)
        assert np.abs(written["audio_energy"] - memory["audio_energy"]).max() <= 0.05 * peak, (
            spec.sample_id
        )
        assert np.abs(written["frames"].astype(int) - memory["frames"].astype(int)).mean() <= 3.0
        if spec.misalignment != "mute":
            assert np.corrcoef(written["mfcc"].ravel(), memory["mfcc"].ravel())[0, 1] > 0.98


def test_cache_is_keyed_by_settings_and_reused(samples_stage):
    first = extract_features(samples_stage, {"fps": 5.0}, progress=False)
    again = extract_features(samples_stage, {"fps": 5.0}, progress=False)
    finer = extract_features(samples_stage, {"fps": 10.0}, progress=False)
    other_flow = extract_features(
        samples_stage, {"fps": 5.0, "flow": {"method": "farneback"}}, progress=False
    )
    assert again.folder == first.folder and again.report.done == 0
    assert again.report.cached == len(samples_stage.samples)
    assert len({first.folder, finer.folder, other_flow.folder}) == 3
    assert finer.report.done == len(samples_stage.samples)
    sample_id = samples_stage.samples[0].sample_id
    assert FeatureCache(finer.folder, finer.config).load(sample_id)["fps"] == 10.0
    with pytest.raises(Exception, match="other feature settings"):
        # a file from another configuration is never accepted
        target = FeatureCache(first.folder, finer.config)
        target.load(sample_id)


def test_workers_and_shards_give_the_same_cache(samples_stage, tmp_path):
    config = FeatureConfig(fps=5.0, save_frames=False)
    root = samples_stage.dataset.dataset.root
    extract_samples(
        samples_stage.samples, root, tmp_path / "one", config, workers=1, progress=False
    )
    extract_samples(
        samples_stage.samples, root, tmp_path / "two", config, workers=2, progress=False
    )
    for k in range(3):
        extract_samples(
            samples_stage.samples,
            root,
            tmp_path / "shards",
            config,
            shard_index=k,
            num_shards=3,
            progress=False,
        )
    videos = [s.video_id for s in samples_stage.samples]
    parts = [shard_of(videos, k, 3) for k in range(3)]
    assert set().union(*parts) == set(videos) and sum(map(len, parts)) == len(set(videos))
    for spec in samples_stage.samples:
        reference = FeatureCache(tmp_path / "one", config).load(spec.sample_id)
        for folder in ("two", "shards"):
            other = FeatureCache(tmp_path / folder, config).load(spec.sample_id)
            for key in ("flow_energy", "audio_energy", "mfcc"):
                assert np.array_equal(reference[key], other[key]), (folder, key)


def test_damaged_and_partial_files_are_recomputed(samples_stage, tmp_path):
    config = FeatureConfig(fps=5.0, save_frames=False)
    root = samples_stage.dataset.dataset.root
    samples = samples_stage.samples
    extract_samples(samples[: len(samples) // 2], root, tmp_path, config, progress=False)
    cache = FeatureCache(tmp_path, config)
    cache.path(samples[0].sample_id).write_bytes(b"PK\x03\x04 damaged")  # a torn file
    (tmp_path / f".{samples[1].sample_id}.999.tmp.npz").write_bytes(b"left by a killed run")
    report = extract_samples(samples, root, tmp_path, config, progress=False)
    assert report.cached == len(samples) // 2 - 1
    assert report.done == len(samples) - report.cached
    assert all(cache.is_done(s.sample_id) for s in samples)


def test_killed_extraction_resumes(samples_stage, tmp_path):
    """SIGKILL an extraction half-way; the rerun keeps what was finished and completes the rest."""
    cache_dir = tmp_path / "cache"
    metadata = samples_stage.metadata_csv
    script = (
        "import sys; from pathlib import Path;"
        "from avalign.features.config import FeatureConfig;"
        "from avalign.features.extract import extract_samples;"
        "from avalign.samples.metadata import read_metadata;"
        f"samples=[s for s, _ in read_metadata(Path({str(metadata)!r}))] * 1;"
        "import avalign.features.extract as e; orig=e.sample_features;"
        "import time\n"
        "def slow(*a, **k):\n    time.sleep(0.3); return orig(*a, **k)\n"
        "e.sample_features=slow;"
        f"extract_samples(samples, Path({str(samples_stage.dataset.dataset.root)!r}),"
        f" Path({str(cache_dir)!r}),"
        " FeatureConfig(fps=25.0), progress=False)"
    )
    process = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cache_dir.glob("[!.]*.npz"))) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {p.stem for p in cache_dir.glob("[!.]*.npz")}
    assert 3 <= len(finished) < len(samples_stage.samples)
    report = extract_samples(
        samples_stage.samples,
        samples_stage.dataset.dataset.root,
        cache_dir,
        FeatureConfig(fps=25.0),
        progress=False,
    )
    assert (
        report.cached >= len(finished) - 1
    )  # at most the file being written when killed is redone
    assert report.usable == len(samples_stage.samples) and report.failed == 0


def test_a_source_that_vanished_is_reported_and_the_rest_extracted(samples_stage, tmp_path):
    root = samples_stage.dataset.dataset.root
    doomed = samples_stage.samples[0].video_id
    copy = tmp_path / "root"
    (copy / "AVE").mkdir(parents=True)
    for path in (root / "AVE").glob("*.mp4"):
        if path.stem != doomed:
            (copy / "AVE" / path.name).write_bytes(path.read_bytes())
    report = extract_samples(
        samples_stage.samples,
        copy,
        tmp_path / "cache",
        FeatureConfig(save_frames=False),
        progress=False,
    )
    lost = [s for s in samples_stage.samples if s.video_id == doomed]
    assert report.failed == len(lost) and report.usable == len(samples_stage.samples) - len(lost)
    text = report.failures_csv.read_text()
    assert f"{doomed}.mp4" in text and "file not found" in text


def test_file_features_of_a_video_without_audio(tmp_path):
    path = make_video(tmp_path / "silent.mp4", seconds=3.0, sample_rate=None)
    features = file_features(Path(path), FeatureConfig())
    assert not bool(features["has_audio"]) and features["audio_energy"].max() == 0
    assert features["flow_energy"].shape == (15,)


def test_feature_files_deflate_large_arrays_and_load_exactly(tmp_path):
    rng = np.random.default_rng(0)
    gradient = np.broadcast_to(np.arange(112, dtype=np.uint8), (6, 112, 112))
    arrays = {
        "frames": gradient + rng.integers(0, 2, (6, 112, 112), dtype=np.uint8),
        "flow_energy": rng.random(5, dtype=np.float32),
        "sample_id": np.array("clip_12_0_d0_1"),
        "has_audio": np.array(True),
    }
    path = tmp_path / "sample.npz"
    write_npz(path, arrays)
    with zipfile.ZipFile(path) as archive:
        entries = {entry.filename: entry for entry in archive.infolist()}
    assert entries["frames.npy"].compress_type == zipfile.ZIP_DEFLATED
    assert entries["flow_energy.npy"].compress_type == zipfile.ZIP_STORED
    # a fixed date in every entry: the same arrays always give the same bytes
    assert {entry.date_time for entry in entries.values()} == {(1980, 1, 1, 0, 0, 0)}
    assert path.stat().st_size < arrays["frames"].nbytes / 2  # the frames were compressed
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(arrays)
        for name, value in arrays.items():
            assert data[name].dtype == value.dtype and np.array_equal(data[name], value), name
