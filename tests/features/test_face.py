"""Faces and mouths (`avalign.features.face`) on drawn faces whose mouths open by a known amount."""

from __future__ import annotations

import threading

import av
import cv2
import numpy as np
import pytest

from avalign.features import face
from avalign.features.face import (
    Face,
    FaceConfig,
    FaceDetector,
    FaceLandmarker,
    FaceTracker,
    Roi,
    find_model,
    models_available,
    mouth_features,
)
from avalign.media.decode import decode_audio
from support.faces import draw_face

FPS = 25.0


def mouth_sequence(frames: int, seed: int = 0) -> np.ndarray:
    """Known mouth heights (px): syllable-like openings of random size, some closed stretches."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / FPS
    envelope = np.clip(np.sin(2 * np.pi * 3.1 * t + rng.uniform(0, 6)), 0, None)
    syllable = np.floor(3.1 * t * 2).astype(int)  # one random loudness per opening
    return 1.0 + 16.0 * envelope * rng.uniform(0.5, 1.0, syllable.max() + 1)[syllable]


def speech_sequence(frames: int, seed: int = 0) -> np.ndarray:
    """Known mouth heights (px) of irregular speech: bumps of random length, size and spacing."""
    rng = np.random.default_rng(seed)
    heights = np.ones(frames)
    start = 0
    while start < frames:
        length = int(rng.integers(4, 11))
        bump = np.sin(np.pi * (np.arange(length) + 0.5) / length)
        stop = min(frames, start + length)
        heights[start:stop] += 16.0 * rng.uniform(0.4, 1.0) * bump[: stop - start]
        start = stop + int(rng.integers(0, 9))
    return heights


def _two_faces(heights: np.ndarray) -> list[np.ndarray]:
    """A small still face and a large talking one (mouth ``heights``) on one canvas per frame."""
    frames = []
    for h in heights:
        canvas = np.full((240, 320, 3), (70, 90, 110), np.uint8)
        draw_face(3.0, centre=(70, 150), scale=0.45, canvas=canvas)  # small, mouth still
        draw_face(h, centre=(215, 120), scale=0.85, canvas=canvas)  # large, talking
        frames.append(canvas)
    return frames


needs_models = pytest.mark.skipif(
    not models_available(), reason="face models not found (avalign/features/models or mediapipe)"
)


@pytest.fixture(scope="module")
def models():
    return FaceDetector(), FaceLandmarker()


@needs_models
@pytest.mark.parametrize("every", [1, 2])
def test_mouth_opening_follows_a_drawn_mouth(models, every):
    heights = mouth_sequence(60)
    frames = np.stack([draw_face(h) for h in heights])
    times = np.arange(len(frames)) / FPS
    detector, landmarker = models
    tracker = FaceTracker(
        FaceConfig(landmarks_every=every), detector=detector, landmarker=landmarker
    )
    out = mouth_features(frames, times, tracker=tracker)
    assert set(out) == set(face.FEATURE_KEYS)
    assert all(v.shape == (60,) and v.dtype == np.float32 for v in out.values())
    assert out["face_present"].min() == 1.0
    assert np.corrcoef(out["mouth_open"], heights)[0, 1] > (0.9 if every == 1 else 0.8)
    # the crop's change follows how much the mouth moved since the previous frame
    moved = np.abs(np.diff(heights))
    assert np.corrcoef(out["mouth_motion"][1:], moved)[0, 1] > 0.6
    assert out["face_motion"][1:].mean() < out["mouth_motion"][1:].mean()  # the head stays put
    assert 0.1 < out["face_size"][0] < 0.5 and abs(out["face_x"][0] - 0.5) < 0.05


@needs_models
def test_no_face_is_cheap_and_all_zero(models):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(50)]
    calls = []
    detector, landmarker = models

    def counting(rgb):
        calls.append(1)
        return detector(rgb)

    tracker = FaceTracker(FaceConfig(detect_every_s=0.5), detector=counting, landmarker=landmarker)
    out = mouth_features(frames, np.arange(50) / FPS, tracker=tracker)
    assert all(not v.any() for v in out.values())
    assert len(calls) == 4  # 2 s at 2 detections per second, nothing else


@needs_models
def test_the_largest_of_two_faces_is_followed(models):
    heights = mouth_sequence(30, seed=1)
    frames = _two_faces(heights)
    detector, landmarker = models
    tracker = FaceTracker(detector=detector, landmarker=landmarker)
    out = mouth_features(frames, np.arange(30) / FPS, tracker=tracker)
    assert out["face_present"].min() == 1.0
    assert np.allclose(out["face_x"], 215 / 320, atol=0.05)
    assert np.corrcoef(out["mouth_open"], heights)[0, 1] > 0.8


@needs_models
def test_litert_and_opencv_give_the_same_faces_and_meshes(tmp_path):
    """LiteRT (the declared, default backend) and OpenCV's DNN module run the same models: same
    detections, meshes and tracker values on drawn and encoded faces."""
    assert face.default_backend() == "litert", "ai-edge-litert is a dependency: pip install -e ."
    by_backend = {b: (FaceDetector(backend=b), FaceLandmarker(backend=b)) for b in face.BACKENDS}
    assert by_backend["litert"][0]._model.backend == "litert"
    assert by_backend["opencv"][1]._model.backend == "opencv"
    path = tmp_path / "talking.mp4"
    _write_talking_face(path, speech_sequence(50, seed=4))
    with av.open(str(path)) as container:
        encoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    frames = [draw_face(h) for h in mouth_sequence(10)] + _two_faces([2.0, 12.0]) + encoded[:10]
    (detector, landmarker), (cv_detector, cv_landmarker) = by_backend.values()
    for rgb in frames:
        faces, cv_faces = detector(rgb), cv_detector(rgb)
        assert len(faces) == len(cv_faces) > 0
        for a, b in zip(faces, cv_faces, strict=True):
            assert abs(a.score - b.score) < 1e-4
            assert np.allclose(a.box, b.box, atol=0.02)
            assert np.allclose(a.keypoints, b.keypoints, atol=0.02)
        roi = Roi.from_face(faces[0])
        (points, presence), (cv_points, cv_presence) = landmarker(rgb, roi), cv_landmarker(rgb, roi)
        assert points.shape == cv_points.shape == (468, 3)
        assert np.abs(points - cv_points).max() < 0.02 and abs(presence - cv_presence) < 1e-4
    tables = [
        mouth_features(
            encoded, np.arange(len(encoded)) / FPS, tracker=FaceTracker(detector=d, landmarker=m)
        )
        for d, m in by_backend.values()
    ]
    assert np.array_equal(tables[0]["face_present"], tables[1]["face_present"])
    for key in face.FEATURE_KEYS:  # the mesh's region follows the last mesh: drift up to ~6e-4
        assert np.allclose(tables[0][key], tables[1][key], atol=5e-3), key


@needs_models
@pytest.mark.parametrize("shared", [False, True], ids=["own-models", "shared-models"])
def test_trackers_in_parallel_threads_match_sequential_runs(models, shared):
    """Two trackers stepping at once in two threads (each with its own interpreters, or sharing
    one pair) measure exactly what each measures alone."""
    config = FaceConfig(landmarks_every=1, detect_every_s=0.2)
    clips = [
        [draw_face(h) for h in mouth_sequence(60, seed=6)],
        _two_faces(mouth_sequence(60, seed=7)),
    ]
    times = np.arange(60) / FPS

    def tracker() -> FaceTracker:
        if shared:
            return FaceTracker(config, detector=models[0], landmarker=models[1])
        return FaceTracker(config)

    alone = [mouth_features(frames, times, tracker=tracker()) for frames in clips]
    together: list[dict | None] = [None, None]
    trackers = [tracker(), tracker()]
    start = threading.Barrier(2)

    def run(index: int) -> None:
        start.wait()
        together[index] = mouth_features(clips[index], times, tracker=trackers[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for expected, got in zip(alone, together, strict=True):
        assert got is not None and expected["face_present"].min() == 1.0
        for key in face.FEATURE_KEYS:
            assert np.array_equal(expected[key], got[key]), key


class _GivenBox:
    """A detector that always reports the same face (no model): tests the tracking part alone."""

    def __init__(self, box, keypoints):
        self.face = Face(1.0, np.asarray(box, float), np.asarray(keypoints, float))

    def __call__(self, rgb):
        return [self.face]


class _DrawnMesh:
    """A landmarker that knows the drawing: places the points the tracker reads, no model."""

    def __init__(self, centre, unit):
        self.centre, self.unit = np.asarray(centre, float), unit

    def __call__(self, rgb, roi):
        points = np.zeros((468, 3), np.float32)
        points[:, :2] = self.centre
        u = self.unit
        points[face.EYE_RIGHT_OUTER, :2] = self.centre + np.array([-0.2 * u, -0.08 * u])
        points[face.EYE_LEFT_OUTER, :2] = self.centre + np.array([0.2 * u, -0.08 * u])
        points[face.MOUTH_LEFT, :2] = self.centre + np.array([-0.107 * u, 0.21 * u])
        points[face.MOUTH_RIGHT, :2] = self.centre + np.array([0.107 * u, 0.21 * u])
        points[face.LIP_UPPER_INNER, :2] = self.centre + np.array([0, 0.2 * u])
        points[face.LIP_LOWER_INNER, :2] = self.centre + np.array([0, 0.22 * u])
        points[0, :2] = self.centre + np.array(
            [-0.35 * u, -0.45 * u]
        )  # the face's extent, for the box
        points[1, :2] = self.centre + np.array([0.35 * u, 0.45 * u])
        return points, 1.0


def test_mouth_crop_motion_with_a_given_face_box():
    """Without any model: a fixed face box and mesh; the mouth crop's change follows the mouth."""
    heights = mouth_sequence(40, seed=2)
    frames = [draw_face(h) for h in heights]
    unit = 0.75 * 192
    detector = _GivenBox(
        [40, 30, 152, 170], [[70, 84], [122, 84], [96, 100], [96, 126], [50, 90], [142, 90]]
    )
    tracker = FaceTracker(detector=detector, landmarker=_DrawnMesh((96, 96), unit))
    out = mouth_features(frames, np.arange(40) / FPS, tracker=tracker)
    assert out["face_present"].min() == 1.0
    assert np.corrcoef(out["mouth_motion"][1:], np.abs(np.diff(heights)))[0, 1] > 0.8
    assert out["face_motion"][1:].max() <= out["mouth_motion"][1:].max()


def test_roi_crop_maps_back_to_the_frame():
    """A crop of a rotated region, mapped back through its matrix, lands on the same pixels."""
    image = np.zeros((200, 300, 3), np.uint8)
    cv2.circle(image, (180, 90), 6, (255, 255, 255), -1)
    roi = Roi(170.0, 100.0, 80.0, np.deg2rad(20))
    matrix = roi.affine(64, 64)
    patch = face.crop(image, matrix, 64, 64)
    ys, xs = np.nonzero(patch[..., 0] > 128)
    back = np.array([xs.mean(), ys.mean()]) @ matrix[:, :2].T + matrix[:, 2]
    assert np.allclose(back, (180, 90), atol=1.5)


def test_interpolation_stays_inside_face_runs():
    values = np.array([np.nan, 1.0, np.nan, 3.0, np.nan, np.nan, 5.0, np.nan])
    present = np.array([1, 1, 1, 1, 0, 1, 1, 1], bool)
    filled = face._fill_between(values, present)
    assert filled.tolist() == [1.0, 1.0, 2.0, 3.0, 0.0, 5.0, 5.0, 5.0]


def test_models_are_found_by_environment_and_missing_ones_named(tmp_path, monkeypatch):
    monkeypatch.setenv(face.MODELS_ENV, str(tmp_path))
    (tmp_path / "face_landmark").mkdir()
    (tmp_path / "face_landmark" / "face_landmark.tflite").write_bytes(b"x")
    assert find_model("face_landmark.tflite") == tmp_path / "face_landmark" / "face_landmark.tflite"
    monkeypatch.setattr(face, "_model_dirs", lambda: [tmp_path / "nowhere"])
    assert find_model("face_landmark.tflite") is None and not models_available()
    with pytest.raises(face.FaceModelMissingError, match=r"face_detection_short_range\.tflite"):
        FaceDetector()


def test_frames_and_times_must_agree_and_frames_be_rgb():
    tracker = FaceTracker(detector=_GivenBox([0, 0, 1, 1], np.zeros((6, 2))), landmarker=None)
    with pytest.raises(ValueError, match="3 frames but 2 timestamps"):
        mouth_features(np.zeros((3, 8, 8, 3), np.uint8), [0.0, 0.04], tracker=tracker)
    with pytest.raises(ValueError, match=r"RGB uint8 \(H, W, 3\), got uint8 \(8, 8\)"):
        mouth_features(np.zeros((2, 8, 8), np.uint8), [0.0, 0.04], tracker=tracker)


def _write_talking_face(path, heights: np.ndarray, sample_rate: int = 16000) -> None:
    """H.264 + AAC clip of a drawn face whose voice (a 140 Hz buzz) is loud when the mouth opens."""
    container = av.open(str(path), "w", format="mp4")
    video = container.add_stream("libx264", rate=int(FPS))
    video.width = video.height = 192
    video.pix_fmt = "yuv420p"
    video.codec_context.thread_count = 1
    video.options = {"preset": "ultrafast"}
    audio = container.add_stream("aac", rate=sample_rate)
    audio.layout = "mono"
    for index, height in enumerate(heights):
        frame = av.VideoFrame.from_ndarray(draw_face(height), format="rgb24")
        frame.pts = index
        for packet in video.encode(frame):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    t = np.arange(round(len(heights) / FPS * sample_rate)) / sample_rate
    loudness = np.interp(t, np.arange(len(heights)) / FPS, (heights - 1.0) / 16.0)
    buzz = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    sound = (0.3 * loudness * buzz / 2.6).astype(np.float32)
    for start in range(0, sound.size, 1024):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(sound[None, start : start + 1024]), format="flt", layout="mono"
        )
        frame.sample_rate, frame.pts = sample_rate, start
        for packet in audio.encode(frame):
            container.mux(packet)
    for packet in audio.encode():
        container.mux(packet)
    container.close()


@needs_models
def test_mouth_of_an_encoded_talking_face_moves_with_its_voice(tmp_path, models):
    """Through H.264/AAC and back: the mouth curve peaks against the voice at lag 0, not 1 s off."""
    heights = speech_sequence(200, seed=3)  # 8 s
    path = tmp_path / "talking.mp4"
    _write_talking_face(path, heights)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    sound = decode_audio(path, 16000)
    steps = min(len(frames), sound.size // 640)
    voice = np.sqrt((sound[: steps * 640].reshape(steps, 640) ** 2).mean(1))
    detector, landmarker = models
    tracker = FaceTracker(detector=detector, landmarker=landmarker)
    opening = mouth_features(frames[:steps], np.arange(steps) / FPS, tracker=tracker)["mouth_open"]

    def ncc(lag: int) -> float:
        a, b = (
            opening[max(0, -lag) : steps - max(0, lag)],
            voice[max(0, lag) : steps - max(0, -lag)],
        )
        return float(np.corrcoef(a, b)[0, 1])

    by_lag = {lag: ncc(lag) for lag in range(-25, 26)}
    assert by_lag[0] > 0.8
    assert abs(max(by_lag, key=by_lag.get)) <= 1  # within one 40 ms step
    assert by_lag[25] < 0.4 and by_lag[-25] < 0.4  # the sound 1 s late or early does not fit


@needs_models
def test_face_evidence_is_the_same_in_samples_and_whole_clips(tmp_path, models):
    """`feature.face.enabled`: a window extracted as a sample and the same steps of the whole clip
    carry the same mouth curve, and the model's visual token gains the face values."""
    from avalign.features.config import FaceFeatureConfig, FeatureConfig
    from avalign.features.extract import file_features
    from avalign.features.stream import stream_features
    from avalign.models.inputs import visual_tokens

    path = tmp_path / "talking.mp4"
    _write_talking_face(path, speech_sequence(150, seed=5))  # 6 s
    config = FeatureConfig(
        fps=FPS, save_frames=False, audio_bands=True, face=FaceFeatureConfig(enabled=True)
    )
    whole, _ = stream_features(path, config)
    sample = file_features(path, config)
    steps = min(len(whole["mouth_open"]), len(sample["mouth_open"]))
    assert steps >= 140
    assert whole["face_present"][:steps].mean() > 0.9
    agreement = np.corrcoef(whole["mouth_open"][:steps], sample["mouth_open"][:steps])[0, 1]
    assert agreement > 0.95
    assert visual_tokens(sample).shape == (len(sample["flow_energy"]), 3 + 2 * 16 + 8)
    assert sample["log_mel"].shape == (len(sample["flow_energy"]), 40)
