"""Stage 2: the sampling plan, each misalignment's measured effect, and the metadata CSV."""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import replace

import av
import numpy as np
import pytest

from avalign.datasets.prepared import END_SLACK_S, PreparedSegment
from avalign.features.pipeline import extract_features, generate_samples, prepare_dataset
from avalign.media.decode import decode_audio, decode_frames_at
from avalign.media.errors import MediaError
from avalign.samples.materialize import (
    SEEK_MARGIN_S,
    MaterializeJob,
    PictureIndex,
    encode_sample,
    materialize_video,
    plan_cut,
    sample_file,
)
from avalign.samples.metadata import COLUMNS, read_metadata, write_metadata
from avalign.samples.perturb import NotEnoughAudioError, render_sample_audio
from avalign.samples.plan import (
    MISALIGNMENT_TYPES,
    SampleConfig,
    SampleSpec,
    cut_subsegments,
    plan_samples,
)
from support.media import event_times, make_video, render_audio
from support.streams import as_transport_stream, clip_with_sound, cut_with_edit_list, numbered_clip

SR = 16000


def segment(video_id: str, start: float, end: float, line: int = 1) -> PreparedSegment:
    return PreparedSegment(
        video_id,
        "Bark",
        "good",
        start,
        end,
        "train",
        f"AVE/{video_id}.mp4",
        line,
        10.0,
        160,
        120,
        25.0,
        16000,
    )


SEGMENTS = [segment(f"v{i:03d}", float(i % 5), float(i % 5) + 2 + i % 6, i) for i in range(200)]


def spec(kind: str, start=2.0, end=5.0, **params) -> SampleSpec:
    return SampleSpec(
        "s",
        "v",
        "Bark",
        "train",
        "AVE/v.mp4",
        start,
        end,
        0 if kind != "None" else 1,
        kind,
        segment_start_s=0.0,
        segment_end_s=10.0,
        source_duration_s=10.0,
        **params,
    )


@pytest.fixture(scope="module")
def source():
    return render_audio(10.0, SR, event_times(10.0, every_s=0.45), seed=3)


def test_subsegments_cover_the_segment_on_the_grid():
    config = SampleConfig()
    rng = np.random.default_rng(0)
    counts = Counter()
    for length in (1.0, 1.8, 2.0, 3.0, 7.0, 10.0):
        for _ in range(50):
            pieces = cut_subsegments(0.0, length, config, rng)
            counts[len(pieces)] += 1
            assert pieces[0][0] == 0.0 and pieces[-1][1] == length
            assert all(b - a >= 1.0 - 1e-9 for a, b in pieces)
            assert all(abs(round(a / 0.2) * 0.2 - a) < 1e-6 for a, _ in pieces)
            assert all(pieces[i][1] == pieces[i + 1][0] for i in range(len(pieces) - 1))
            if length < 2.0:
                assert len(pieces) == 1
    assert set(counts) == {1, 2, 3}


def test_plan_is_deterministic_balanced_and_local():
    samples, _report = plan_samples(SEGMENTS, SampleConfig(seed=7))
    again, _ = plan_samples(list(reversed(SEGMENTS)), SampleConfig(seed=7))
    other, _ = plan_samples(SEGMENTS, SampleConfig(seed=8))
    assert samples == again and samples != other
    # a segment's samples do not depend on which other segments are present
    alone, _ = plan_samples(SEGMENTS[5:6], SampleConfig(seed=7))
    assert alone == [s for s in samples if s.video_id == "v005"]
    positives = {s.video_id for s in samples if s.label == 1}
    assert 0.35 < len(positives) / len(SEGMENTS) < 0.65
    kinds = Counter(s.misalignment for s in samples)
    assert set(kinds) == {"None", "time_shift", "noise", "mute", "distort"}
    assert len({s.sample_id for s in samples}) == len(samples)
    assert all(len({s.label for s in samples if s.video_id == v}) == 1 for v in positives)


def test_balance_and_types_are_configurable():
    only_noise, _ = plan_samples(
        SEGMENTS, SampleConfig(negative_fraction=1.0, type_weights={"noise": 1.0})
    )
    assert {s.misalignment for s in only_noise} == {"noise"}
    none, _ = plan_samples(SEGMENTS, SampleConfig(negative_fraction=0.0))
    assert {s.label for s in none} == {1}
    with pytest.raises(ValueError, match="unknown misalignment"):
        SampleConfig(type_weights={"reverse": 1.0})


def test_time_shifts_stay_in_real_audio_and_respect_bounds():
    config = SampleConfig(negative_fraction=1.0, type_weights={"time_shift": 1.0})
    samples, report = plan_samples(SEGMENTS, config)
    assert (
        samples and report.skipped
    )  # whole-event single pieces have no room: skipped, never padded
    signs = Counter(np.sign(s.offset_ms) for s in samples)
    assert signs[1] > 0 and signs[-1] > 0
    for s in samples:
        magnitude = abs(s.offset_ms) / 1000
        assert 0.1 - 1e-9 <= magnitude <= 0.8 * s.duration_s + 1e-6
        source_start = s.start_s - s.offset_ms / 1000
        # sound and picture both come from inside the annotated event (shift_source=event)
        for window_start in (source_start, s.start_s):
            assert s.segment_start_s - 1e-6 <= window_start
            assert window_start + s.duration_s <= s.segment_end_s + 1e-6


def _on_grid(t: float, origin: float, grid: float = 0.2) -> bool:
    return abs((t - origin) / grid - round((t - origin) / grid)) < 1e-6


@pytest.mark.parametrize("anchor", ["video", "audio", "either"])
def test_time_shift_anchor_says_which_stream_keeps_the_subsegment(anchor):
    """Sub-segments lie on the time grid from the event start; a moved window almost never does.
    With ``either`` the sound keeps the sub-segment in about half of the shifts, so that neither
    stream alone can tell a shifted sample by where its window starts."""
    config = SampleConfig(
        negative_fraction=1.0,
        type_weights={"time_shift": 1.0},
        draws_per_segment=20,
        shift_anchor=anchor,
    )
    samples, _ = plan_samples(SEGMENTS, config)
    picture_kept = [_on_grid(s.start_s, s.segment_start_s) for s in samples]
    sound_kept = [_on_grid(s.start_s - s.offset_ms / 1000, s.segment_start_s) for s in samples]
    # exactly one stream is on the grid, except when an offset happens to be a grid multiple
    kept = [(p, q) for p, q in zip(picture_kept, sound_kept, strict=True) if not (p and q)]
    assert len(kept) > 0.99 * len(samples) and all(p or q for p, q in kept)
    share = float(np.mean([q for _, q in kept]))
    expected = {"video": (0.0, 0.0), "audio": (1.0, 1.0), "either": (0.35, 0.65)}[anchor]
    assert expected[0] <= share <= expected[1], share
    assert all(math.isclose(s.duration_s, round(s.duration_s / 0.2) * 0.2) for s in samples)


def test_positive_is_the_source_window(source):
    audio = render_sample_audio(source, SR, spec("None"))
    assert np.array_equal(audio, source[2 * SR : 5 * SR])


@pytest.mark.parametrize("offset_ms", [250.0, -730.0, 1200.0])
def test_time_shift_cross_correlation_peaks_at_the_offset(source, offset_ms):
    original = source[2 * SR : 5 * SR]
    shifted = render_sample_audio(source, SR, spec("time_shift", offset_ms=offset_ms))
    assert shifted.size == original.size
    envelope = lambda x: np.convolve(np.abs(x), np.ones(80) / 80, mode="same")  # noqa: E731
    a, b = (
        envelope(original) - envelope(original).mean(),
        envelope(shifted) - envelope(shifted).mean(),
    )
    corr = np.correlate(b, a, mode="full")
    lag = (np.argmax(corr) - (a.size - 1)) / SR * 1000
    assert lag == pytest.approx(offset_ms, abs=2.0)  # audio late: the sound plays offset_ms later


def test_time_shift_never_pads(source):
    with pytest.raises(NotEnoughAudioError):
        render_sample_audio(source, SR, spec("time_shift", start=0.2, end=2.0, offset_ms=500.0))
    with pytest.raises(NotEnoughAudioError):
        render_sample_audio(source, SR, spec("time_shift", start=8.0, end=10.0, offset_ms=-500.0))


@pytest.mark.parametrize("snr_db", [-10.0, 0.0, 5.0])
def test_noise_has_the_recorded_snr(source, snr_db):
    clean = source[2 * SR : 5 * SR].astype(np.float64)
    noisy = render_sample_audio(source, SR, spec("noise", snr_db=snr_db, noise_seed=11)).astype(
        np.float64
    )
    noise = noisy - clean
    measured = 10 * np.log10(np.mean(clean**2) / np.mean(noise**2))
    assert measured == pytest.approx(snr_db, abs=0.05)
    assert abs(np.corrcoef(noise[:-1], noise[1:])[0, 1]) < 0.05  # white


def test_mute_has_no_sound(source):
    assert render_sample_audio(source, SR, spec("mute")) is None


def test_distort_drifts_and_clips(source):
    tempo = 1.2
    audio = render_sample_audio(source, SR, spec("distort", tempo=tempo, drive_db=20.0))
    assert audio.size == 3 * SR
    # the peak level is kept but the waveform is squashed: far more samples near the peak
    original = source[2 * SR : 5 * SR]
    near_peak = lambda x: np.mean(np.abs(x) > 0.5 * np.abs(x).max())  # noqa: E731
    assert near_peak(audio) > 5 * near_peak(original)
    # the click that happens at source time t is heard at (t - start) / tempo: it drifts
    late_event = [t for t in event_times(10.0, every_s=0.45) if 2 + 0.5 < t < 2 + 3 * tempo - 0.2][
        -1
    ]
    heard = (late_event - 2.0) / tempo
    window = np.abs(audio[int((heard - 0.04) * SR) : int((heard + 0.04) * SR)])
    assert window.max() > 0.5 * np.abs(audio).max()
    drift_ms = (late_event - 2.0) * (1 - 1 / tempo) * 1000
    assert drift_ms > 150  # a drift a viewer would notice


def test_metadata_roundtrip_with_seed_columns(tmp_path):
    samples, _ = plan_samples(SEGMENTS[:30], SampleConfig(seed=1))
    path = write_metadata(
        tmp_path / "generated_samples_metadata.csv",
        samples,
        seed=1,
        file_paths={samples[0].sample_id: "generated_samples/x.mp4"},
    )
    with path.open() as handle:
        header = next(csv.reader(handle))
    assert header[:7] == [
        "VideoID",
        "StartTime",
        "EndTime",
        "Label",
        "MisalignmentType",
        "Category",
        "FilePath",
    ]
    assert header == list(COLUMNS)
    rows = read_metadata(path)
    for (back, _file_path), original in zip(rows, samples, strict=True):
        for name in (
            "sample_id",
            "label",
            "misalignment",
            "start_s",
            "end_s",
            "split",
            "noise_seed",
        ):
            assert getattr(back, name) == getattr(original, name)
        for name in ("offset_ms", "snr_db", "tempo", "drive_db"):
            a, b = getattr(back, name), getattr(original, name)
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)
    assert rows[0][1] == "generated_samples/x.mp4"
    with path.open() as handle:
        labels = {r["Label"] for r in csv.DictReader(handle)}
    assert labels == {"Positive", "Negative"}


def test_several_draws_per_segment_are_independent():
    one, _ = plan_samples(SEGMENTS[:40], SampleConfig(seed=3, draws_per_segment=1))
    three, _ = plan_samples(SEGMENTS[:40], SampleConfig(seed=3, draws_per_segment=3))
    assert len({s.sample_id for s in three}) == len(three)
    assert {s.sample_id for s in one} <= {s.sample_id for s in three}  # draw 0 is the seed's
    labels = {}
    for s in three:
        labels.setdefault(s.video_id, set()).add(s.label)
    assert any(len(v) == 2 for v in labels.values())  # one segment, both labels across draws


def sound_window(s: SampleSpec) -> tuple[float, float]:
    """Where a sample's sound comes from on the source's timeline."""
    start = s.start_s - s.offset_ms / 1000 if s.misalignment == "time_shift" else s.start_s
    stretch = s.tempo if s.misalignment == "distort" else 1.0
    return start, start + stretch * s.duration_s


@pytest.mark.parametrize("source", ["event", "video"])
def test_plan_keeps_every_window_where_picture_and_real_sound_are(source):
    """A 10 s picture whose real sound runs from 0.4 to 6.3 s: no window of either stream may
    leave 0.35-6.35 s (the sound's extent, give or take END_SLACK_S); what cannot fit is skipped
    with its reason, never planned to fail at extraction."""
    segments = [
        replace(s, audio_start_s=0.4, audio_end_s=6.3, start_s=0.0, end_s=6.35)
        if i % 3 == 0
        else replace(s, audio_start_s=0.4, audio_end_s=6.3)
        for i, s in enumerate(SEGMENTS[:60])
    ]
    config = SampleConfig(negative_fraction=0.8, draws_per_segment=4, shift_source=source)
    samples, report = plan_samples(segments, config)
    low, high = 0.4 - END_SLACK_S, 6.3 + END_SLACK_S
    for s in samples:
        assert low - 1e-6 <= s.start_s and s.end_s <= high + 1e-6, s
        if s.misalignment != "mute":
            first, last = sound_window(s)
            assert low - 1e-6 <= first and last <= high + 1e-6, s
    kinds = Counter(s.misalignment for s in samples)
    assert all(kinds[k] > 10 for k in ("None", "time_shift", "noise", "mute", "distort"))
    assert max(sound_window(s)[1] for s in samples if s.misalignment == "distort") > 6.0
    outside = [r for _, _, r in report.skipped if "not all inside" in r]
    assert outside and all("(0.350-6.350 s)" in r for r in outside)


def test_segments_without_probed_sound_plan_as_before():
    """Hand-made segments (no sound extent) take the picture's extent for the sound: the plan is
    the one a probed sound covering the picture gives, as for the synthetic corpus."""
    probed = [replace(s, audio_start_s=0.0, audio_end_s=10.0) for s in SEGMENTS]
    for config in (SampleConfig(seed=5, draws_per_segment=3), SampleConfig(shift_source="video")):
        assert plan_samples(SEGMENTS, config) == plan_samples(probed, config)


def test_every_planned_sample_extracts_from_clips_whose_streams_disagree(tmp_path):
    """End to end on the kinds of real clips that made extraction fail: sound shorter than the
    picture, sound starting late, pictures hidden by an edit list. Planning must offer nothing
    that extraction then rejects."""
    root = tmp_path / "clips"
    clip_with_sound(root / "short_sound.mp4", picture_s=4.0, sound_s=2.5, sample_rate=44100)
    clip_with_sound(root / "late_sound.mp4", picture_s=4.0, sound_s=3.0, sound_delay_s=0.5)
    cut_with_edit_list(make_video(tmp_path / "long.mp4", seconds=4.0), root / "cut.mp4", 1.5)
    dataset = prepare_dataset(
        {"name": "folder", "kind": "folder", "root": str(root), "window_s": 1.2, "hop_s": 0.45},
        tmp_path / "data",
        progress=False,
    )
    generate = {"draws_per_segment": 4, "negative_fraction": 0.75, "shift_source": "video"}
    stage = generate_samples(dataset, generate, progress=False)
    assert {s.misalignment for s in stage.samples} == {"None", *MISALIGNMENT_TYPES}
    ends = [sound_window(s)[1] for s in stage.samples if s.source_path == "short_sound.mp4"]
    assert 2.45 < max(ends) <= 2.55  # the edge of the real sound is reached, not passed
    report = extract_features(stage, {"fps": 5.0}, progress=False).report
    assert report.failed == 0 and report.done == len(stage.samples)


# --- materialized files: the picture of [start_s, end_s) on the source's timeline -------------

THUMB = (64, 48)


def picture_times(path) -> np.ndarray:
    """Presentation times (s) of a file's decoded pictures."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return np.array(sorted(float(f.pts * stream.time_base) for f in container.decode(stream)))


def gray_difference(written, source, start_s: float, times: np.ndarray) -> np.ndarray:
    """Mean gray difference, per time t, between ``written`` at t and ``source`` at start_s + t."""
    ours = decode_frames_at(written, times, THUMB).astype(int)
    theirs = decode_frames_at(source, start_s + times, THUMB).astype(int)
    return np.abs(ours - theirs).mean(axis=(1, 2))


@pytest.fixture(scope="module")
def numbered(tmp_path_factory):
    """Clips whose every frame differs: an mp4 (clock at 0) and the same streams as MPEG-TS
    (clock at 1.4 s), each with one keyframe (at 0) or a keyframe a second."""
    folder = tmp_path_factory.mktemp("numbered")
    clips = {}
    for every in (25, 250):
        mp4 = numbered_clip(folder / f"k{every}.mp4", seconds=6.0, keyframe_every=every)
        clips[("mp4", every)] = mp4
        clips[("ts", every)] = as_transport_stream(mp4, folder / f"k{every}.ts")
    return clips


def test_cut_starts_decoding_before_the_keyframe_and_keeps_whole_frames():
    pictures = PictureIndex(np.arange(100) * 0.04 + 1.4, np.array([1.4, 2.4, 3.4, 4.4]))
    cut = plan_cut(pictures, 3.61, 4.61)
    assert cut.seek_s == pytest.approx(3.4 - SEEK_MARGIN_S)  # the frame at 3.6 needs 3.4's GOP
    assert cut.keep_from_s == pytest.approx(3.58) and cut.keep_until_s == pytest.approx(4.62)
    assert cut.frames == 26  # 3.60 (on screen at 3.61) to 4.60
    before = plan_cut(pictures, 0.5, 2.0)  # the picture starts at 1.4: nothing earlier to show
    assert before.keep_from_s < 1.4 and before.frames == 15
    assert plan_cut(pictures, 5.5, 7.0) is None and plan_cut(pictures, 0.0, 1.4) is None


@pytest.mark.parametrize("keyframe_every", [250, 25])
def test_transport_stream_clock_is_kept(numbered, tmp_path, keyframe_every):
    """A TS clip whose clock starts at 1.4 s: the written picture is the one decoded at the same
    avalign times, not the one 1.4 s later (what ffmpeg's -ss, counted from the container's
    start, cut; with a keyframe only at the start it even wrote no picture at all). The sound
    stays where it was put: sample-exact against the rendered array."""
    source = numbered[("ts", keyframe_every)]
    spec = SampleSpec("ts", "v", "x", "test", "v.ts", 3.03, 4.63, 1, "None")
    assert materialize_video(MaterializeJob(source, (spec,), tmp_path, SR)) == [("ts", None)]
    written = sample_file(tmp_path, spec)
    times = np.arange(0.0, spec.duration_s, 0.01)
    assert gray_difference(written, source, spec.start_s, times).mean() < 3
    assert gray_difference(written, source, spec.start_s + 1.4, times).mean() > 20
    sound = render_sample_audio(decode_audio(source, SR), SR, spec)
    heard = decode_audio(written, SR)[: sound.size]
    lags = np.correlate(heard, sound, mode="full")
    assert int(np.argmax(lags)) - (sound.size - 1) == 0
    assert np.corrcoef(heard, sound)[0, 1] > 0.99


@pytest.mark.parametrize("container", ["mp4", "ts"])
def test_frames_off_the_output_grid_keep_their_times(numbered, tmp_path, container):
    """A 25 fps clip cut at 0.02 s: its frames lie half-way between the steps of a 25 fps grid
    from the cut. Each keeps its time (no half-frame snap): the frame shown at t is the source's
    frame at start_s + t at every time, and the one on screen at start_s is shown from 0."""
    source = numbered[(container, 25)]
    start = picture_times(source)[0] + 0.02
    spec = SampleSpec("grid", "v", "x", "test", "v", start, start + 2.0, 1, "None")
    target = tmp_path / "grid.mp4"
    encode_sample(source, spec, None, SR, target)
    shown = picture_times(target)
    expected = picture_times(source)
    expected = expected[(expected > start) & (expected < spec.end_s)] - start
    assert shown[0] == 0.0 and np.abs(shown[1:] - expected).max() < 1e-4
    times = np.arange(0.0, spec.duration_s, 0.005)  # 8 looks at every frame
    assert gray_difference(target, source, start, times).max() < 3
    with av.open(str(target)) as written:
        assert not written.streams.audio  # no sound given: none written


def test_a_window_without_enough_picture_fails_naming_the_file(numbered, tmp_path):
    source = numbered[("mp4", 25)]
    for start, end, problem in (
        (7.0, 9.0, "no picture shown in 7.00-9.00 s"),
        (5.0, 7.0, "picture written lasts 1.00 s of the 2.00 s asked"),
    ):
        spec = SampleSpec("late", "v", "x", "test", "v", start, end, 1, "None")
        target = tmp_path / "late.mp4"
        with pytest.raises(MediaError, match=problem) as error:
            encode_sample(source, spec, None, SR, target)
        assert "\n" not in str(error.value) and "k25.mp4" in str(error.value)
        assert not target.exists() and not list(tmp_path.iterdir())
