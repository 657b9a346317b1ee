"""Per-step features of a whole media file, streamed in blocks so that memory stays bounded.

The picture is decoded once, frame by frame at the step boundaries, and turned into motion
features block by block (each block re-uses the last frame of the previous one, so steps at block
edges are exact); the sound is decoded in chunks of whole steps. Only the per-step features are
kept: a few dozen floats per step, about 1 MB per hour of video at 5 steps per second.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from avalign.features.audio import audio_features
from avalign.features.config import FeatureConfig
from avalign.features.extract import step_boundaries, step_count
from avalign.features.visual import FlowEstimator, motion_features
from avalign.media.decode import TIME_EPS, decode_audio, iter_frames_at
from avalign.media.probe import MediaInfo, probe_media

BLOCK_STEPS = 256  # steps of picture per block (about 50 s at 5 Hz)
CHUNK_STEPS = 300  # steps of sound per chunk (60 s at 5 Hz)


def _visual(
    path: Path, info: MediaInfo, config: FeatureConfig, steps: int, tick: Callable[[int], None]
):
    bounds = step_boundaries(0.0, steps / config.fps, config.fps)
    estimator = FlowEstimator(config.flow)
    parts: list[dict[str, np.ndarray]] = []
    block: list[np.ndarray] = []
    first = True
    face = _FaceSteps(config) if config.face.enabled else None
    rgb_side = config.face.frame_side if face is not None else None
    for time_s, frame in iter_frames_at(path, bounds, config.frame_size, rgb_side=rgb_side):
        if face is not None:
            frame = face.add(frame, time_s)
        block.append(frame)
        if len(block) == BLOCK_STEPS + 2:
            features = motion_features(np.stack(block), estimator)
            parts.append({k: v if first else v[1:] for k, v in features.items()})
            tick(len(block) - 1 - (0 if first else 1))
            first = False
            block = block[-2:]
    if len(block) >= 2:
        features = motion_features(np.stack(block), estimator)
        parts.append({k: v if first else v[1:] for k, v in features.items()})
        tick(len(block) - 1 - (0 if first else 1))
    visual = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if face is not None:
        visual.update(face.per_step(len(visual["flow_energy"])))
    return visual


class _FaceSteps:
    """Face evidence of each frame as it is decoded, then per step (step k: frame k + 1)."""

    def __init__(self, config: FeatureConfig) -> None:
        from avalign.features.face import FaceTracker

        self.tracker = FaceTracker(config.face.tracker_config())
        self.rows: list[dict[str, float]] = []

    def add(self, frame: tuple[np.ndarray, np.ndarray], time_s: float) -> np.ndarray:
        """Measure the colour picture; give back the gray one for the motion features."""
        gray, rgb = frame
        self.rows.append(self.tracker.step(rgb, time_s))
        return gray

    def per_step(self, steps: int) -> dict[str, np.ndarray]:
        from avalign.features.face import face_table

        table = face_table(self.rows)
        return {key: values[1 : steps + 1] for key, values in table.items()}


def audio_steps(
    path: str | Path, config: FeatureConfig, steps: int, shift_s: float = 0.0
) -> dict[str, np.ndarray] | None:
    """The sound's per-step features, step ``k`` covering ``[k / fps, (k + 1) / fps)`` moved by
    ``shift_s`` (later when positive); None without a sound track.

    Moved by a fraction of a step, they give the same sound on a grid of another phase: a
    detector whose lag is quantised to whole steps then lands on another whole lag, which is
    how `avalign.detection.check` reads offsets finer than one step.
    """
    step_s = 1.0 / config.fps
    parts = []
    for start in range(0, steps, CHUNK_STEPS):
        count = min(CHUNK_STEPS, steps - start)
        audio = decode_audio(
            path,
            config.sample_rate,
            start_s=start * step_s + shift_s,
            end_s=(start + count) * step_s + shift_s,
        )
        if audio is None:
            return None
        parts.append(audio_features(audio, count, config))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _silence(steps: int, config: FeatureConfig) -> dict[str, np.ndarray]:
    """Features of a missing sound track: those of digital silence, computed once and repeated."""
    block = audio_features(None, min(steps, CHUNK_STEPS), config)
    return {k: np.resize(v, (steps, *v.shape[1:])) for k, v in block.items()}


def stream_features(
    path: str | Path, config: FeatureConfig, *, tick: Callable[[int], None] | None = None
) -> tuple[dict[str, np.ndarray], MediaInfo]:
    """Per-step features of the whole file (no frames), and what the file holds.

    Without an audio stream the sound features are those of silence and ``has_audio`` is False,
    exactly as for a muted sample. ``tick(n)`` is called as steps of picture are done.
    """
    path = Path(path)
    info = probe_media(path)
    steps = step_count(info.duration_s, config.fps)
    visual = _visual(path, info, config, steps, tick or (lambda n: None))
    steps = len(visual["flow_energy"])
    sound = audio_steps(path, config, steps) if info.has_audio else None
    features = dict(visual)
    features.update(sound if sound is not None else _silence(steps, config))
    features["timestamps"] = (np.arange(steps) + 0.5) / config.fps
    features["has_audio"] = np.array(sound is not None)
    features["picture_delay_ms"] = np.array(picture_delay_ms(info.picture_times, config.fps, steps))
    return features, info


def picture_delay_ms(picture_times: np.ndarray, fps: float, steps: int) -> float:
    """How much later than the middle of its step a change of picture is shown, on average, ms.

    Visual step ``k`` is the change between the pictures on screen at ``k / fps`` and at
    ``(k + 1) / fps``: it holds the pictures shown in ``(k / fps, (k + 1) / fps]``, and where in
    that interval they were shown is lost. Sound step ``k`` holds the sound of
    ``[k / fps, (k + 1) / fps)``, where an onset's place in the step is kept (by how much of the
    step it fills). A detector that lines them up therefore places every change of picture at
    the middle of its step. That holds on average when the pictures fall anywhere in the steps
    (24 or 30 fps against 25 steps/s, a variable frame rate), but not at 25 fps (and 50, 12.5),
    whose pictures are all shown at the very end of their steps, half a step (20 ms) after the
    middle: sound shown with its picture then reads 20 ms late. This returns that delay, the
    mean over the shown pictures (the first one changes nothing) of ``(phase - 1/2) / fps``,
    with ``phase`` in ``(0, 1]`` the place of the picture's time in its step; offsets read on
    the step grid, less this, are the offsets a viewer sees.
    """
    times = np.sort(np.asarray(picture_times, np.float64))[1:]
    times = times[(times > TIME_EPS) & (times <= steps / fps + TIME_EPS)]
    if times.size == 0:
        return 0.0
    position = (times - TIME_EPS) * fps  # a picture shown at a step's end belongs to that step
    phase = position - (np.ceil(position) - 1.0)
    return float((phase.mean() - 0.5) * 1000.0 / fps)
