"""Per-step features of whole clips, cached: the source that shifted windows are sliced from.

A window of a clip with its sound moved by ``k`` steps is the clip's picture features at steps
``[a, a + W)`` beside its sound features at steps ``[a - k, a - k + W)``: no new decoding, no
padding, and any number of shifts per window. Self-supervised training draws such windows by the
thousand (`avalign.training.selfsup`); the benchmark can score its windows the same way. The
features of a whole clip are those that ``detect`` computes for a whole file
(`avalign.features.stream`), so a
model trained on them sees what it will see in use.

One NPZ per clip in a folder named by the feature settings (the sample cache's format: atomic
writes, checked on load, resumable); clips are spread over worker processes.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avalign.batch.failures import FailureLog
from avalign.batch.parallel import parallel_map
from avalign.features.cache import CacheError, FeatureCache
from avalign.features.config import FeatureConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipJob:
    """One clip to extract: its id, its file and where its features go."""

    clip_id: str
    path: Path
    cache_dir: Path
    config: FeatureConfig


def extract_clip(job: ClipJob) -> str:
    """Compute and store one clip's per-step features; "cached" when already stored."""
    import cv2

    from avalign.features.stream import stream_features

    cache = FeatureCache(job.cache_dir, job.config)
    if cache.is_done(job.clip_id):
        return "cached"
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # bit-identical whatever the number of workers (see features.extract)
    try:
        features, info = stream_features(job.path, job.config)
    finally:
        cv2.setNumThreads(threads)
    features["fps"] = np.array(float(job.config.fps))
    features["duration_s"] = np.array(float(info.duration_s))
    cache.write(job.clip_id, features)
    return "done"


def extract_clips(
    clips: dict[str, Path],
    cache_dir: Path,
    config: FeatureConfig,
    *,
    workers: int = 1,
    progress: bool = True,
) -> FailureLog:
    """Extract every clip (``clip_id -> file``) not yet in ``cache_dir``; the failures met."""
    config = dataclasses.replace(config, save_frames=False)
    FeatureCache(cache_dir, config).prepare()
    jobs = [ClipJob(cid, Path(path), cache_dir, config) for cid, path in sorted(clips.items())]
    failures = FailureLog("extract clips")
    counts = {"done": 0, "cached": 0}
    for outcome in parallel_map(
        extract_clip, jobs, workers=workers, desc="clip features", unit="clip", progress=progress
    ):
        if outcome.error is not None:
            failures.error(outcome.item.path, outcome.error, outcome.item.clip_id)
        else:
            counts[outcome.result] += 1
    log.info(
        "clip features: %d computed, %d cached, %d failed -> %s",
        counts["done"],
        counts["cached"],
        len(failures.errors),
        cache_dir,
    )
    return failures


def load_clips(
    clip_ids: list[str], cache_dir: Path, config: FeatureConfig
) -> dict[str, dict[str, np.ndarray]]:
    """The stored features of the clips that have them (``clip_id -> arrays``)."""
    cache = FeatureCache(cache_dir, dataclasses.replace(config, save_frames=False))
    out = {}
    for clip_id in clip_ids:
        try:
            out[clip_id] = cache.load(clip_id)
        except CacheError:
            continue
    return out


def per_step(features: dict[str, np.ndarray]) -> list[str]:
    """The names of the arrays that have one row per step (those a window slices)."""
    steps = len(features["flow_energy"])
    return [k for k, v in features.items() if np.ndim(v) >= 1 and len(v) == steps]


#: the per-step arrays of the sound (`features.audio`); every other per-step array is the picture's
SOUND_KEYS = frozenset(
    {"audio_energy", "audio_onset", "audio_flatness", "mfcc", "log_mel", "voice_energy"}
)


def shifted_window(
    features: dict[str, np.ndarray], start: int, steps: int, lag: int
) -> dict[str, np.ndarray]:
    """The picture of steps ``[start, start + steps)`` with the sound of ``lag`` steps earlier
    (positive lag = audio late: the sound of step ``t - lag`` plays at step ``t``).

    Raises ValueError when either stream's slice falls outside the clip.
    """
    total = len(features["flow_energy"])
    sound_start = start - lag
    if start < 0 or start + steps > total or sound_start < 0 or sound_start + steps > total:
        raise ValueError(
            f"window at step {start} of {steps} steps, lag {lag}: outside the clip's {total} steps"
        )
    window = {}
    for key in per_step(features):
        first = sound_start if key in SOUND_KEYS else start
        window[key] = features[key][first : first + steps]
    return window
