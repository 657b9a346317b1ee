"""Faces and mouths: per-frame evidence of where a voice comes from, cheap enough for long files.

A talking face moves its mouth with its voice; whole-frame motion hardly does (a nodding head,
a moving camera and the background dominate it). This module finds the main face of a picture
and measures its mouth at every frame:

- ``mouth_open``: the gap between the inner lips (face-mesh points 13 and 14) divided by the
  distance of the outer eye corners (33 and 263), so that it does not depend on the face's size;
- ``mouth_width``: the distance of the mouth corners (61 and 291), same unit;
- ``mouth_motion``: mean absolute change of a small gray crop of the mouth since the previous
  frame (both frames cropped with the same, current, mouth box), 0..1;
- ``face_motion``: the same for the whole face (head motion, to tell it from mouth motion);
- ``face_present`` (1/0), ``face_size`` (eye-corner distance / the frame's short side) and
  ``face_x``, ``face_y`` (face centre, 0..1 of the frame's width and height).

The models are MediaPipe's BlazeFace short-range detector (128x128) and its 468-point face mesh
(192x192), Apache-2.0 TFLite files run by Google's LiteRT interpreter (``ai-edge-litert``, XNNPACK
on one CPU thread; about half the time of OpenCV's DNN module, same outputs within 1e-4), or by
OpenCV's DNN module where that wheel is not installed (`default_backend`): no MediaPipe runtime,
nothing downloaded. They are read from ``avalign/features/models/`` if the package ships them,
else from an installed ``mediapipe`` wheel (found without importing it), or from the folder in
``AVALIGN_FACE_MODELS``. `models_available` says whether they were found.

Cost is kept low by a schedule (`FaceConfig`): the detector runs every ``detect_every_s``
seconds (and only that when no face is found), the mesh every ``landmarks_every`` frames on the
box that the previous mesh (or detection) gives, and the crops for the motion values, which cost
almost nothing, at every frame. Mouth opening between two mesh frames is interpolated. One face
is followed: the largest at the first detection, then the detection that overlaps it most (the
largest again when it is lost).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: model file -> sub-folder of ``mediapipe/modules`` in the mediapipe 0.10.x wheels
MODEL_FILES = {
    "face_detection_short_range.tflite": "face_detection",
    "face_landmark.tflite": "face_landmark",
}
MODELS_ENV = "AVALIGN_FACE_MODELS"
#: what runs the models: "litert" (``ai_edge_litert``, preferred) or "opencv" (``cv2.dnn``)
BACKENDS = ("litert", "opencv")

# face-mesh points used here (MediaPipe's canonical 468-point topology)
LIP_UPPER_INNER, LIP_LOWER_INNER = 13, 14
MOUTH_LEFT, MOUTH_RIGHT = 61, 291
EYE_RIGHT_OUTER, EYE_LEFT_OUTER = 33, 263

FEATURE_KEYS = (
    "face_present",
    "face_size",
    "face_x",
    "face_y",
    "mouth_open",
    "mouth_width",
    "mouth_motion",
    "face_motion",
)


class FaceModelMissingError(RuntimeError):
    """The face model files were not found (see `find_model`)."""


def _model_dirs() -> list[Path]:
    dirs = []
    if os.environ.get(MODELS_ENV):
        dirs.append(Path(os.environ[MODELS_ENV]))
    dirs.append(Path(__file__).with_name("models"))
    spec = importlib.util.find_spec("mediapipe")  # locates the package without running it
    if spec is not None and spec.submodule_search_locations:
        dirs.extend(Path(p) / "modules" for p in spec.submodule_search_locations)
    return dirs


def find_model(name: str) -> Path | None:
    """Path of model file ``name`` (a key of `MODEL_FILES`), or None when it is nowhere.

    Looked for, in order: the folder in ``$AVALIGN_FACE_MODELS``, ``avalign/features/models/``,
    and ``mediapipe/modules/<sub-folder>/`` of an installed mediapipe wheel.
    """
    for folder in _model_dirs():
        for candidate in (folder / name, folder / MODEL_FILES[name] / name):
            if candidate.is_file():
                return candidate
    return None


def models_available() -> bool:
    """True when both face models can be found (face evidence can be computed)."""
    return all(find_model(name) is not None for name in MODEL_FILES)


def default_backend() -> str:
    """Backend used when none is named: "litert" if ``ai_edge_litert`` imports, else "opencv"."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except ImportError:
        return "opencv"
    return "litert"


_FIRST_INTERPRETER = threading.Lock()
_interpreter_made = False


@contextlib.contextmanager
def _quiet_first_interpreter() -> Iterator[None]:
    """While the process's first LiteRT interpreter is made, its standard error goes nowhere.

    LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." there once per
    process, from C++, with no log level that Python can set; on every detect it would read
    like a message about the user's file. Later interpreters print nothing and are left alone.
    (Another thread's writes to standard error in those few milliseconds are lost too: at
    worst one redraw of a progress bar.)
    """
    global _interpreter_made
    with _FIRST_INTERPRETER:
        if _interpreter_made:
            yield
            return
        sys.stderr.flush()
        saved, nowhere = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        os.dup2(nowhere, 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(nowhere)
            _interpreter_made = True


class _TfliteModel:
    """One TFLite model file: ``model(x)`` with a ``(1, H, W, 3)`` float32 input gives
    ``{output name: array}`` for the ``outputs`` named (shapes differ between backends).

    Each instance owns its interpreter, which runs on one thread (the callers parallelise);
    a lock keeps an instance shared between threads correct, one call at a time.
    """

    def __init__(self, name: str, outputs: tuple[str, ...], backend: str | None = None) -> None:
        self.backend = backend or default_backend()
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        path = find_model(name)
        if path is None:
            raise FaceModelMissingError(
                f"{name}: face model not found (looked in {', '.join(map(str, _model_dirs()))}); "
                f"install mediapipe==0.10.14 (pip install --no-deps) or set {MODELS_ENV}"
            )
        self.outputs = outputs
        self._lock = threading.Lock()
        if self.backend == "litert":
            from ai_edge_litert.interpreter import Interpreter

            with _quiet_first_interpreter():
                self._interpreter = Interpreter(model_path=str(path), num_threads=1)
                self._interpreter.allocate_tensors()
            self._input = self._interpreter.get_input_details()[0]["index"]
            found = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
            missing = sorted(set(outputs) - set(found))
            if missing:
                raise ValueError(f"{name}: no outputs {missing} (it has {sorted(found)})")
            self._output_index = [found[key] for key in outputs]
        else:
            # OpenCV 5's new engine returns only one of several outputs: ask for the classic one
            engine = getattr(cv2.dnn, "ENGINE_CLASSIC", None)
            kwargs = {} if engine is None else {"engine": engine}
            self._net = cv2.dnn.readNetFromTFLite(str(path), **kwargs)

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        with self._lock:
            if self.backend == "litert":
                self._interpreter.set_tensor(self._input, x)
                self._interpreter.invoke()
                values = [self._interpreter.get_tensor(i) for i in self._output_index]
            else:
                self._net.setInput(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW
                values = self._net.forward(list(self.outputs))
        return dict(zip(self.outputs, values, strict=True))


@dataclass(frozen=True)
class Face:
    """One detection: score, box ``(x0, y0, x1, y1)`` and 6 keypoints ``(6, 2)``, in pixels."""

    score: float
    box: np.ndarray
    keypoints: np.ndarray  # right eye, left eye, nose tip, mouth, right ear, left ear

    @property
    def area(self) -> float:
        return float(max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1]))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return float(w * h / union) if union > 0 else 0.0


def _blazeface_anchors() -> np.ndarray:
    """Anchor centres of the short-range model: 2 per cell at stride 8, 6 per cell at 16."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = 128 // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(xs.ravel() + 0.5) / cells, (ys.ravel() + 0.5) / cells], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


class FaceDetector:
    """BlazeFace short-range (faces that fill a good part of the picture).

    The frame is padded to a square (as MediaPipe does, so faces keep their shape), shrunk to
    128x128, and the 896 anchors decoded; overlapping boxes are merged by score-weighted
    averaging (MediaPipe's "weighted" non-maximum suppression, IoU 0.3). ``backend``: "litert"
    or "opencv" (`BACKENDS`), None for `default_backend`.
    """

    SIZE = 128

    def __init__(self, min_score: float = 0.5, *, backend: str | None = None) -> None:
        self.min_score = min_score
        self._model = _TfliteModel(
            "face_detection_short_range.tflite", ("classificators", "regressors"), backend
        )
        self._anchors = _blazeface_anchors()

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB ``(H, W, 3)`` uint8 frame, best first."""
        h, w = rgb.shape[:2]
        side = max(h, w)
        top, left = (side - h) // 2, (side - w) // 2
        square = cv2.copyMakeBorder(
            rgb, top, side - h - top, left, side - w - left, cv2.BORDER_CONSTANT, value=0
        )
        small = cv2.resize(square, (self.SIZE, self.SIZE), interpolation=cv2.INTER_AREA)
        x = (small[None].astype(np.float32) - np.float32(127.5)) * np.float32(1 / 127.5)
        out = self._model(x)
        scores, boxes = out["classificators"], out["regressors"]
        logits = np.clip(scores.reshape(-1), -80, 80)
        score = 1.0 / (1.0 + np.exp(-logits))
        keep = np.flatnonzero(score >= self.min_score)
        if keep.size == 0:
            return []
        raw = boxes.reshape(-1, 16)[keep] / self.SIZE
        anchors = self._anchors[keep]
        centre = raw[:, 0:2] + anchors
        half = raw[:, 2:4] / 2
        box = np.concatenate([centre - half, centre + half], axis=1)
        points = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        order = np.argsort(-score[keep])
        faces = []
        remaining = list(order)
        while remaining:
            first = remaining[0]
            group = [i for i in remaining if _iou(box[first], box[i]) > 0.3]
            weights = score[keep][group]
            merged_box = (box[group] * weights[:, None]).sum(0) / weights.sum()
            merged_points = (points[group] * weights[:, None, None]).sum(0) / weights.sum()
            offset = np.array([left, top], np.float32)
            faces.append(
                Face(
                    score=float(score[keep][first]),
                    box=merged_box * side - np.tile(offset, 2),
                    keypoints=merged_points * side - offset,
                )
            )
            remaining = [i for i in remaining if i not in group]
        return faces


@dataclass(frozen=True)
class Roi:
    """A rotated square region of the frame: centre ``(cx, cy)``, side and rotation, pixels/rad."""

    cx: float
    cy: float
    side: float
    angle: float  # rotation that makes the eye line horizontal

    @classmethod
    def from_face(cls, face: Face, scale: float = 1.5) -> Roi:
        """The face mesh's input region for a detection (MediaPipe: box x1.5, eyes level)."""
        (x0, y0, x1, y1), eyes = face.box, face.keypoints[:2]
        angle = float(np.arctan2(eyes[1, 1] - eyes[0, 1], eyes[1, 0] - eyes[0, 0]))
        side = max(x1 - x0, y1 - y0) * scale
        return cls((x0 + x1) / 2, (y0 + y1) / 2, float(side), angle)

    @classmethod
    def from_landmarks(cls, points: np.ndarray, scale: float = 1.5) -> Roi:
        """The region for the next frame from this frame's mesh (MediaPipe's tracking rule)."""
        eyes = points[[EYE_RIGHT_OUTER, EYE_LEFT_OUTER], :2]
        angle = float(np.arctan2(eyes[1, 1] - eyes[0, 1], eyes[1, 0] - eyes[0, 0]))
        c, s = np.cos(angle), np.sin(angle)
        rotation = np.array([[c, s], [-s, c]], np.float32)  # image -> region axes
        local = points[:, :2] @ rotation.T
        low, high = local.min(0), local.max(0)
        centre = ((low + high) / 2) @ rotation
        return cls(float(centre[0]), float(centre[1]), float((high - low).max() * scale), angle)

    def affine(self, width: int, height: int, sx: float = 1.0, sy: float = 1.0) -> np.ndarray:
        """2x3 map from a ``width x height`` crop to the frame, covering ``sx*side x sy*side``."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        ax, ay = self.side * sx / width, self.side * sy / height
        matrix = np.array([[c * ax, -s * ay, 0.0], [s * ax, c * ay, 0.0]], np.float32)
        matrix[:, 2] = np.array([self.cx, self.cy]) - matrix[:, :2] @ [width / 2, height / 2]
        return matrix


def crop(rgb: np.ndarray, matrix: np.ndarray, width: int, height: int) -> np.ndarray:
    """The ``width x height`` crop that ``matrix`` (crop -> frame, see `Roi.affine`) maps."""
    return cv2.warpAffine(
        rgb,
        matrix,
        (width, height),
        flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


class FaceLandmarker:
    """MediaPipe's face mesh (468 points) on a face region.

    ``backend``: "litert" or "opencv" (`BACKENDS`), None for `default_backend`.
    """

    SIZE = 192

    def __init__(self, *, backend: str | None = None) -> None:
        # conv2d_21: 468 x (x, y, z) in input pixels; conv2d_31: face presence logit
        self._model = _TfliteModel("face_landmark.tflite", ("conv2d_31", "conv2d_21"), backend)

    def __call__(self, rgb: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        """``(points (468, 3) in frame pixels, face presence 0..1)`` for the face in ``roi``."""
        matrix = roi.affine(self.SIZE, self.SIZE)
        patch = crop(rgb, matrix, self.SIZE, self.SIZE)
        out = self._model(patch[None].astype(np.float32) * np.float32(1 / 255.0))
        presence, mesh = out["conv2d_31"], out["conv2d_21"]
        mesh = mesh.reshape(-1, 3)
        points = np.empty_like(mesh)
        points[:, :2] = mesh[:, :2] @ matrix[:, :2].T + matrix[:, 2]
        points[:, 2] = mesh[:, 2] * roi.side / self.SIZE
        flag = 1.0 / (1.0 + np.exp(-np.clip(float(presence.reshape(-1)[0]), -80, 80)))
        return points, flag


@dataclass(frozen=True)
class FaceConfig:
    """How often each part runs; defaults meet ~1-2 ms per 40 ms step on one core."""

    detect_every_s: float = 0.5  # detector period, s (also how soon a new face is found)
    landmarks_every: int = 2  # face mesh every N frames (1 = every frame)
    min_score: float = 0.5  # detector score to accept a face, 0..1
    min_presence: float = 0.5  # mesh "face present" score to keep following it, 0..1
    mouth_size: tuple[int, int] = (32, 16)  # (w, h) of the gray mouth crop, pixels
    face_size: tuple[int, int] = (32, 32)  # (w, h) of the gray face crop, pixels

    def __post_init__(self) -> None:
        if self.detect_every_s <= 0:
            raise ValueError(f"detect_every_s must be positive, got {self.detect_every_s}")
        if self.landmarks_every < 1:
            raise ValueError(f"landmarks_every must be >= 1, got {self.landmarks_every}")


def _gray(patch: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)


class _Frame:
    """One frame given to `FaceTracker.step`: its RGB picture, made on first use when it was
    given as a function (and checked either way)."""

    __slots__ = ("_rgb", "_source")

    def __init__(self, source: np.ndarray | Callable[[], np.ndarray]) -> None:
        self._source = source
        self._rgb: np.ndarray | None = None
        if not callable(source):
            self._rgb = self._checked(source)

    @staticmethod
    def _checked(rgb: np.ndarray) -> np.ndarray:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"frames must be RGB uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
        return rgb

    @property
    def rgb(self) -> np.ndarray:
        if self._rgb is None:
            self._rgb = self._checked(self._source())
        return self._rgb


class FaceTracker:
    """Follows the main face frame by frame and measures its mouth (see the module docstring).

    Feed frames in time order with `step`; models are loaded once. ``detector`` and
    ``landmarker`` can be given (tests, or sharing models between trackers); trackers that run
    in parallel threads should each load their own (the default), as a shared model serves one
    call at a time.
    """

    def __init__(
        self,
        config: FaceConfig | None = None,
        *,
        detector: FaceDetector | None = None,
        landmarker: FaceLandmarker | None = None,
    ) -> None:
        self.config = config or FaceConfig()
        self.detector = detector or FaceDetector(self.config.min_score)
        self.landmarker = landmarker or FaceLandmarker()
        self.reset()

    def reset(self) -> None:
        """Forget the followed face (e.g. at a cut, or before another file)."""
        self._roi: Roi | None = None  # face region for the next mesh
        self._mouth: Roi | None = None  # mouth region for the motion crops
        self._box: np.ndarray | None = None  # followed face's box, for matching detections
        self._iod = 0.0  # eye-corner distance at the last mesh, pixels
        self._last_detect = -np.inf
        self._since_mesh = 0
        self._previous: _Frame | None = None  # previous frame (its colour made only if used)

    def _detect(self, rgb: np.ndarray) -> None:
        faces = self.detector(rgb)
        if not faces:
            if self._mouth is None:  # a face followed by its mesh is kept until the mesh loses it
                self._roi = self._box = None
            return
        if self._box is not None:
            overlap = [_iou(self._box, f.box) for f in faces]
            if max(overlap) > 0.1:
                self._roi = Roi.from_face(faces[int(np.argmax(overlap))])
                return  # still the same face: keep its mesh-based region and box
        face = max(faces, key=lambda f: f.area)
        self._roi, self._box = Roi.from_face(face), face.box.copy()
        self._since_mesh = self.config.landmarks_every  # measure the new face at once

    def step(self, rgb: np.ndarray | Callable[[], np.ndarray], time_s: float) -> dict[str, float]:
        """Measure one RGB ``(H, W, 3)`` uint8 frame shown at ``time_s``; NaN = not measured.

        ``rgb`` may also be a function that returns the frame: it is called only if the frame
        is looked at (a detection, a mesh, the motion of a followed face, or the next frame's
        motion), so that a picture with no face in it costs no colour picture between
        detections. ``mouth_open``/``mouth_width`` are NaN on frames without a mesh
        (`mouth_features` interpolates them); every value is NaN (``face_present`` 0) without
        a face.
        """
        frame = _Frame(rgb)
        config = self.config
        out = dict.fromkeys(FEATURE_KEYS, np.nan)
        out["face_present"] = 0.0
        if time_s - self._last_detect >= config.detect_every_s - 1e-6:
            self._last_detect = time_s
            self._detect(frame.rgb)
        if self._roi is not None:
            self._since_mesh += 1
            if self._since_mesh >= config.landmarks_every:
                self._since_mesh = 0
                points, presence = self.landmarker(frame.rgb, self._roi)
                if presence < config.min_presence:
                    self._roi = self._box = self._mouth = None
                else:
                    self._measure(points, out)
        if self._roi is not None and self._mouth is not None:
            self._motion(frame, out)
        self._previous = frame
        return out

    def _measure(self, points: np.ndarray, out: dict[str, float]) -> None:
        iod = float(np.linalg.norm(points[EYE_LEFT_OUTER] - points[EYE_RIGHT_OUTER]))
        if iod <= 1e-3:
            return
        self._iod = iod
        out["mouth_open"] = float(np.linalg.norm(points[LIP_UPPER_INNER] - points[LIP_LOWER_INNER]))
        out["mouth_open"] /= iod
        out["mouth_width"] = float(np.linalg.norm(points[MOUTH_LEFT] - points[MOUTH_RIGHT])) / iod
        self._roi = Roi.from_landmarks(points)
        self._box = np.concatenate([points[:, :2].min(0), points[:, :2].max(0)])
        lips = points[[MOUTH_LEFT, MOUTH_RIGHT, LIP_UPPER_INNER, LIP_LOWER_INNER], :2]
        centre = lips.mean(0)
        # a mouth box 1.2 eye-distances wide and half as tall, with the face's rotation
        self._mouth = Roi(float(centre[0]), float(centre[1]), 1.2 * iod, self._roi.angle)

    def _motion(self, frame: _Frame, out: dict[str, float]) -> None:
        rgb = frame.rgb
        h, w = rgb.shape[:2]
        out["face_present"] = 1.0
        out["face_size"] = self._iod / min(h, w)
        out["face_x"], out["face_y"] = self._roi.cx / w, self._roi.cy / h
        if self._previous is None or self._previous.rgb.shape != rgb.shape:
            out["mouth_motion"] = out["face_motion"] = 0.0
            return
        for key, roi, (cw, ch), sy in (
            ("mouth_motion", self._mouth, self.config.mouth_size, 0.5),
            ("face_motion", self._roi, self.config.face_size, 1.0),
        ):
            matrix = roi.affine(cw, ch, 1.0, sy)
            now = _gray(crop(rgb, matrix, cw, ch))
            before = _gray(crop(self._previous.rgb, matrix, cw, ch))
            out[key] = float(np.abs(now - before).mean() / 255.0)


def _fill_between(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Linear interpolation of NaNs inside each run of ``present`` frames; 0 elsewhere."""
    out = np.zeros_like(values)
    edges = np.flatnonzero(np.diff(np.r_[0, present.astype(np.int8), 0]))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        run = values[start:stop]
        known = np.flatnonzero(~np.isnan(run))
        if known.size:
            out[start:stop] = np.interp(np.arange(run.size), known, run[known])
    return out


def mouth_features(
    frames_rgb,
    timestamps,
    config: FaceConfig | None = None,
    *,
    tracker: FaceTracker | None = None,
) -> dict[str, np.ndarray]:
    """Per-frame face and mouth evidence of a sequence of RGB frames, as float32 arrays.

    Parameters
    ----------
    frames_rgb : ``(N, H, W, 3)`` uint8 array or an iterable of such frames, in time order (for
        avalign's per-step features: the frames at the step boundaries).
    timestamps : ``N`` times in seconds (drive the detector's schedule).
    config : the schedule and crop sizes (`FaceConfig`), when no ``tracker`` is given.
    tracker : a `FaceTracker` to use (and continue: it is not reset).

    Returns
    -------
    ``{key: (N,) float32}`` for every key of `FEATURE_KEYS`. Frames without a face have
    ``face_present`` 0 and 0 everywhere else; ``mouth_open``/``mouth_width`` are interpolated
    between mesh frames of the same face run; motion values at index ``k`` compare frame ``k``
    with frame ``k - 1`` (``[1:]`` gives avalign's per-step convention: step ``k`` spans frames
    ``k`` and ``k + 1``).
    """
    tracker = tracker or FaceTracker(config)
    times = np.asarray(timestamps, dtype=np.float64)
    if hasattr(frames_rgb, "__len__") and len(frames_rgb) != times.size:
        raise ValueError(f"{len(frames_rgb)} frames but {times.size} timestamps")
    rows = [
        tracker.step(np.ascontiguousarray(frame), float(t))
        for frame, t in zip(frames_rgb, times, strict=True)
    ]
    return face_table(rows)


def face_table(rows: list[dict[str, float]]) -> dict[str, np.ndarray]:
    """`FaceTracker.step` results of consecutive frames as arrays (see `mouth_features`)."""
    table = {k: np.array([r[k] for r in rows], np.float64) for k in FEATURE_KEYS}
    present = table["face_present"] > 0
    for key in ("mouth_open", "mouth_width"):
        table[key] = _fill_between(table[key], present)
    for key in FEATURE_KEYS:
        table[key] = np.where(present | (key == "face_present"), np.nan_to_num(table[key]), 0.0)
    return {k: v.astype(np.float32) for k, v in table.items()}


def face_steps(
    frames_rgb: np.ndarray, times: np.ndarray, config: FaceConfig | None = None
) -> dict[str, np.ndarray]:
    """Per-step face evidence of a window from its ``T + 1`` boundary frames: step ``k`` (between
    frames ``k`` and ``k + 1``) takes frame ``k + 1``'s values, as whole clips do."""
    table = mouth_features(frames_rgb, times, config)
    return {key: values[1:] for key, values in table.items()}
