"""One file's features from several threads (`avalign.features.stream`): time segments of the
picture, each decoded from its own seek, give the features of one pass over the file."""

from __future__ import annotations

import numpy as np
import pytest

from avalign.features.config import FaceFeatureConfig, FeatureConfig
from avalign.features.face import models_available
from avalign.features.stream import (
    SEGMENT_MIN_S,
    segments,
    stream_evidence,
    stream_features,
    tracker_period,
)
from avalign.media import decode
from avalign.media.decode import iter_frames_at
from support.streams import as_transport_stream, cut_with_edit_list, numbered_clip

SECONDS = 45.0


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """45 s whose every frame differs from its neighbours, a keyframe every 2 s, B-frames."""
    folder = tmp_path_factory.mktemp("segments")
    return numbered_clip(folder / "numbered.mp4", seconds=SECONDS, keyframe_every=50)


def _frames(path, times, **options):
    return [(t, f.copy()) for t, f in iter_frames_at(path, times, (32, 24), **options)]


@pytest.mark.parametrize("layout", ["mp4", "edit list", "transport stream"])
def test_a_seek_shows_the_frames_of_a_pass_from_the_start(long_clip, tmp_path, layout):
    """From 30.04 s on, the seeking decoder gives each requested time the very frame that a
    decoder started at the file's beginning gives, however the container keeps its time."""
    path = {
        "mp4": lambda: long_clip,
        "edit list": lambda: cut_with_edit_list(long_clip, tmp_path / "cut.mp4", 3.3),
        "transport stream": lambda: as_transport_stream(long_clip, tmp_path / "clip.ts"),
    }[layout]()
    times = np.round(30.04 + np.arange(60) / 25.0, 6)
    whole = _frames(path, times)
    sought = _frames(path, times, seek=True)
    assert [t for t, _ in sought] == [t for t, _ in whole]
    pairs = zip(whole, sought, strict=True)
    assert [t for (t, a), (_, b) in pairs if not np.array_equal(a, b)] == []


def test_a_seek_that_lands_late_falls_back_to_the_start(long_clip, monkeypatch):
    """A container that seeks past the time asked for (some cannot seek well) is decoded from
    its start instead: the frames are still those of a pass from the start."""
    real_seek = decode.av.container.InputContainer.seek
    late = []

    class LateSeeking:
        def __init__(self, container):
            self._container = container

        def __getattr__(self, name):
            return getattr(self._container, name)

        def seek(self, offset, **options):
            if offset > 0 and not late:
                late.append(offset)
                offset += int(3.0 / self._container.streams.video[0].time_base)
            return real_seek(self._container, offset, **options)

    opened = decode._open
    monkeypatch.setattr(decode, "_open", lambda path: LateSeeking(opened(path)))
    times = np.round(20.0 + np.arange(30) / 25.0, 6)
    sought = _frames(long_clip, times, seek=True)
    monkeypatch.setattr(decode, "_open", opened)
    whole = _frames(long_clip, times)
    assert late, "the test's container did not seek"
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(whole, sought, strict=True))


def test_segments_cover_the_file_in_whole_rounds():
    fps = 25.0
    assert segments(250, fps, 2) == [(0, 250)]  # 10 s: too short to cut
    quarters = [(0, 3750), (3750, 7500), (7500, 11250), (11250, 15000)]
    assert segments(int(600 * fps), fps, 2) == quarters  # 10 min: two rounds of two
    three = segments(int(3 * SEGMENT_MIN_S * fps), fps, 2)
    assert len(three) == 2 and three[0][0] == 0 and three[-1][1] == int(3 * SEGMENT_MIN_S * fps)
    assert segments(15000, fps, 1) == [(0, 15000)]


def test_the_tracker_period_repeats_detector_and_mesh():
    config = FeatureConfig(fps=25.0, face=FaceFeatureConfig(enabled=True))
    assert tracker_period(config) == 26  # detector every 13 pictures (0.52 s), mesh every 2nd
    assert tracker_period(FeatureConfig(fps=25.0)) == 1


def _same(one: dict, other: dict) -> list[str]:
    return [k for k in one if not np.array_equal(np.asarray(one[k]), np.asarray(other[k]))]


def test_two_threads_give_the_features_of_one_pass(long_clip):
    """Motion, sound and the sound moved by a third of a step: bit for bit the same."""
    config = FeatureConfig(fps=25.0, save_frames=False, audio_bands=True)
    shifts = (-1 / 75, 1 / 75)
    one, _, moved_one = stream_evidence(long_clip, config, audio_shifts_s=shifts)
    two, _, moved_two = stream_evidence(long_clip, config, threads=2, audio_shifts_s=shifts)
    assert len(segments(len(one["flow_energy"]), config.fps, 2)) == 2
    assert len(one["flow_energy"]) == round(SECONDS * 25)
    assert _same(one, two) == []
    for shift in shifts:
        assert _same(moved_one[shift], moved_two[shift]) == []


def test_sound_moved_by_a_shared_decode_is_the_sound_decoded_on_its_own(long_clip):
    """The moved sound cut from one decode agrees with a decode of its own at that shift."""
    from avalign.features.stream import audio_steps

    config = FeatureConfig(fps=25.0, save_frames=False)
    steps = 400
    shared = stream_evidence(long_clip, config, audio_shifts_s=(1 / 75,))[2][1 / 75]
    alone = audio_steps(long_clip, config, len(shared["audio_energy"]), 1 / 75)
    for key in ("audio_energy", "mfcc"):
        np.testing.assert_allclose(shared[key][:steps], alone[key][:steps], rtol=1e-3, atol=1e-3)


@pytest.mark.skipif(not models_available(), reason="face models not installed")
def test_two_threads_follow_a_face_as_one_pass(tmp_path):
    """With the face evidence on, segments start where the tracker's schedule repeats: the
    mouth and face values of a face followed throughout equal those of one pass."""
    from support.faces import talking_face_clip

    path = talking_face_clip(tmp_path / "face.mp4", seconds=SECONDS, keyframe_every=50)
    config = FeatureConfig(fps=25.0, save_frames=False, face=FaceFeatureConfig(enabled=True))
    one, _ = stream_features(path, config)
    two, _ = stream_features(path, config, threads=2)
    assert one["face_present"].mean() > 0.95
    assert _same(one, two) == []


@pytest.mark.skipif(not models_available(), reason="face models not installed")
def test_colour_pictures_are_made_only_where_the_tracker_looks(tmp_path, monkeypatch):
    """The colour picture of a frame is made on demand: the same features as making every
    one, and without a face only the detector's frames (one in 13 at 25 steps/s) pay for it."""
    import avalign.features.stream as stream
    from avalign.media import decode as decoding
    from support.faces import talking_face_clip

    config = FeatureConfig(fps=25.0, save_frames=False, face=FaceFeatureConfig(enabled=True))
    face_clip = talking_face_clip(tmp_path / "face.mp4", seconds=6.0)
    made = []
    real = decoding.rgb_picture
    monkeypatch.setattr(decoding, "rgb_picture", lambda *a: made.append(1) or real(*a))
    lazy, _ = stream_features(face_clip, config)
    eager_frames = stream.iter_frames_at

    def eager(*args, **options):
        return eager_frames(*args, **{**options, "lazy_rgb": False})

    monkeypatch.setattr(stream, "iter_frames_at", eager)
    eager_features, _ = stream_features(face_clip, config)
    assert _same(lazy, eager_features) == []
    monkeypatch.setattr(stream, "iter_frames_at", eager_frames)
    no_face = numbered_clip(tmp_path / "no_face.mp4", seconds=6.0)
    made.clear()
    features, _ = stream_features(no_face, config)
    assert features["face_present"].max() == 0
    assert len(made) == pytest.approx(151 / 13, abs=1.5)
