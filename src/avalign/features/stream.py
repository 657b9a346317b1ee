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
from avalign.media.decode import decode_audio, iter_frames_at
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


def _audio(path: Path, config: FeatureConfig, steps: int) -> dict[str, np.ndarray] | None:
    step_s = 1.0 / config.fps
    parts = []
    for start in range(0, steps, CHUNK_STEPS):
        count = min(CHUNK_STEPS, steps - start)
        audio = decode_audio(
            path, config.sample_rate, start_s=start * step_s, end_s=(start + count) * step_s
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
    sound = _audio(path, config, steps) if info.has_audio else None
    features = dict(visual)
    features.update(sound if sound is not None else _silence(steps, config))
    features["timestamps"] = (np.arange(steps) + 0.5) / config.fps
    features["has_audio"] = np.array(sound is not None)
    return features, info
