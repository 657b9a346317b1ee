"""Extract the features of every sample, decoding each source video only once.

For one source video: decode the gray frames at every step boundary any of its samples needs
and its sound at the feature rate; then, per sample, slice the frames, compute motion (frame
pairs shared by samples are computed once), render the sample's sound with the same function that
`materialize` uses, and compute the audio features. Work is split into shards by video and spread
over worker processes; finished samples are skipped on a rerun.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from avalign.batch.failures import FailureLog
from avalign.batch.parallel import parallel_map
from avalign.batch.shards import shard_of
from avalign.features.audio import audio_features
from avalign.features.cache import FeatureCache
from avalign.features.config import FeatureConfig
from avalign.features.visual import FlowEstimator, motion_features
from avalign.media.decode import decode_audio, decode_frames_at
from avalign.media.errors import MediaError
from avalign.samples.perturb import NotEnoughAudioError, render_sample_audio
from avalign.samples.plan import SampleSpec, group_by_video

log = logging.getLogger(__name__)

#: Boundary times are rounded to this many decimals so shared instants are decoded once.
TIME_DECIMALS = 6


def step_count(duration_s: float, fps: float) -> int:
    """Number of whole feature steps in a window."""
    return int(np.floor(duration_s * fps + 1e-6))


def step_boundaries(start_s: float, duration_s: float, fps: float) -> np.ndarray:
    """The ``T + 1`` instants that bound the ``T`` steps of a window."""
    return np.round(start_s + np.arange(step_count(duration_s, fps) + 1) / fps, TIME_DECIMALS)


def sample_features(
    frames: np.ndarray,
    audio: np.ndarray | None,
    start_s: float,
    config: FeatureConfig,
    estimator: FlowEstimator,
    *,
    flow_cache: dict | None = None,
    frame_keys=None,
    colour: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """All features of one window from its boundary frames ``(T + 1, H, W)`` and its sound.

    This is the single place where a window becomes features, used both for samples cut from a
    source (extraction) and for windows of a file under test (detection). With face evidence on,
    ``colour`` holds the same boundary frames in colour (`decode_frames_at` with ``rgb_side``).
    """
    steps = frames.shape[0] - 1
    features = motion_features(frames, estimator, flow_cache, frame_keys)
    if config.face.enabled:
        if colour is None:
            raise ValueError("face evidence needs the colour frames of the window")
        from avalign.features.face import face_steps

        times = start_s + np.arange(steps + 1) / config.fps
        features.update(face_steps(colour, times, config.face.tracker_config()))
    features.update(audio_features(audio, steps, config))
    features["timestamps"] = (start_s + (np.arange(steps) + 0.5) / config.fps).astype(np.float64)
    features["has_audio"] = np.array(audio is not None)
    features["fps"] = np.array(float(config.fps))
    features["sample_rate"] = np.array(int(config.sample_rate))
    if config.save_frames:
        features["frames"] = frames
    return features


@dataclass(frozen=True)
class ExtractJob:
    """The samples of one source video and where their features go."""

    source: Path
    samples: tuple[SampleSpec, ...]
    cache_dir: Path
    config: FeatureConfig
    threads: int = 1  # decoder threads


@dataclass(frozen=True)
class SampleResult:
    sample_id: str
    status: str  # "done", "cached" or "failed"
    problem: str = ""


def extract_video(job: ExtractJob) -> list[SampleResult]:
    """Extract every not-yet-cached sample of one source video (decoding it once).

    OpenCV runs on one thread meanwhile, so that features are bit-identical whatever the number
    of worker processes (its multi-threaded kernels round differently).
    """
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return _extract_video(job)
    finally:
        cv2.setNumThreads(threads)


def _extract_video(job: ExtractJob) -> list[SampleResult]:
    cache = FeatureCache(job.cache_dir, job.config)
    finished = {s.sample_id for s in job.samples if cache.is_done(s.sample_id)}
    results = [SampleResult(sample_id, "cached") for sample_id in sorted(finished)]
    todo = [s for s in job.samples if s.sample_id not in finished]
    if not todo:
        return results
    config = job.config
    bounds = {s.sample_id: step_boundaries(s.start_s, s.duration_s, config.fps) for s in todo}
    times = np.unique(np.concatenate(list(bounds.values())))
    colour = None
    try:
        if config.face.enabled:
            frames, colour = decode_frames_at(
                job.source,
                times,
                config.frame_size,
                threads=job.threads,
                rgb_side=config.face.frame_side,
            )
        else:
            frames = decode_frames_at(job.source, times, config.frame_size, threads=job.threads)
        source_audio = decode_audio(job.source, config.sample_rate)
    except MediaError as error:
        return results + [SampleResult(s.sample_id, "failed", error.problem) for s in todo]
    if source_audio is None:
        return results + [
            SampleResult(s.sample_id, "failed", "no audio stream in the source") for s in todo
        ]
    estimator = FlowEstimator(config.flow)
    flow_cache: dict = {}
    for spec in todo:
        index = np.searchsorted(times, bounds[spec.sample_id])
        if len(index) < 2:
            results.append(SampleResult(spec.sample_id, "failed", "shorter than one feature step"))
            continue
        try:
            audio = render_sample_audio(source_audio, config.sample_rate, spec)
        except NotEnoughAudioError as error:
            results.append(SampleResult(spec.sample_id, "failed", str(error)))
            continue
        features = sample_features(
            frames[index],
            audio,
            spec.start_s,
            config,
            estimator,
            flow_cache=flow_cache,
            frame_keys=index.tolist(),
            colour=None if colour is None else colour[index],
        )
        features.update(
            sample_id=np.array(spec.sample_id),
            label=np.array(spec.label),
            misalignment=np.array(spec.misalignment),
            offset_ms=np.array(spec.offset_ms),
        )
        cache.write(spec.sample_id, features)
        results.append(SampleResult(spec.sample_id, "done"))
    return results


@dataclass
class ExtractReport:
    """Counts of one extraction run, and where its failures report is."""

    done: int = 0
    cached: int = 0
    failed: int = 0
    failures_csv: Path | None = None
    failed_ids: list[str] = field(default_factory=list)

    @property
    def usable(self) -> int:
        return self.done + self.cached


def extract_samples(
    samples: list[SampleSpec],
    dataset_root: Path,
    cache_dir: Path,
    config: FeatureConfig,
    *,
    workers: int = 1,
    shard_index: int = 0,
    num_shards: int = 1,
    threads: int = 1,
    progress: bool = True,
) -> ExtractReport:
    """Extract features for ``samples`` (this shard's share) into ``cache_dir``."""
    cache = FeatureCache(cache_dir, config)
    cache.prepare()
    mine = shard_of([s.video_id for s in samples], shard_index, num_shards)
    jobs = [
        ExtractJob(dataset_root / group[0].source_path, group, cache_dir, config, threads)
        for group in group_by_video([s for s in samples if s.video_id in mine])
    ]
    failures = FailureLog("extract")
    report = ExtractReport()
    for outcome in parallel_map(
        extract_video, jobs, workers=workers, desc="extract", unit="video", progress=progress
    ):
        job = outcome.item
        if outcome.error is not None:
            for spec in job.samples:
                failures.error(
                    job.source, f"unexpected {outcome.error_type}: {outcome.error}", spec.sample_id
                )
            report.failed += len(job.samples)
            report.failed_ids += [s.sample_id for s in job.samples]
            continue
        for result in outcome.result:
            if result.status == "failed":
                failures.error(job.source, result.problem, result.sample_id)
                report.failed += 1
                report.failed_ids.append(result.sample_id)
            elif result.status == "done":
                report.done += 1
            else:
                report.cached += 1
    suffix = f"-shard{shard_index}of{num_shards}" if num_shards > 1 else ""
    report.failures_csv = failures.write_csv(cache_dir / f"extract_failures{suffix}.csv")
    log.info(
        "extract: %d computed, %d already cached, %d failed (%s)",
        report.done,
        report.cached,
        report.failed,
        report.failures_csv,
    )
    return report


def file_features(path: Path, config: FeatureConfig, *, threads: int = 1) -> dict[str, np.ndarray]:
    """Features of a whole media file, as if the file were one sample (e.g. a materialized sample).

    The file's picture and sound go through the same decoding and `sample_features` as samples
    cut from a source; a file without an audio stream is a muted sample. The file's length is
    that of its sound when it has one (exact to the sample), else that of its frames.
    """
    from avalign.media.probe import probe_media

    info = probe_media(path)
    audio = decode_audio(path, config.sample_rate)
    duration = audio.size / config.sample_rate if audio is not None else info.duration_s
    bounds = step_boundaries(0.0, duration, config.fps)
    if config.face.enabled:
        frames, colour = decode_frames_at(
            path, bounds, config.frame_size, threads=threads, rgb_side=config.face.frame_side
        )
    else:
        frames, colour = decode_frames_at(path, bounds, config.frame_size, threads=threads), None
    return sample_features(frames, audio, 0.0, config, FlowEstimator(config.flow), colour=colour)
