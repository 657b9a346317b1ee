"""Per-step features of a whole media file, streamed in blocks so that memory stays bounded.

The picture is decoded once, frame by frame at the step boundaries, and turned into motion
features block by block (each block re-uses the last frame of the previous one, so steps at block
edges are exact); the sound is decoded in chunks of whole steps. Only the per-step features are
kept: a few dozen floats per step, about 1 MB per hour of video at 5 steps per second.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
#: the shortest time segment of picture given a thread of its own, s
SEGMENT_MIN_S = 20.0
#: steps computed past the end of a segment and dropped (the mesh runs on every 2nd step: the
#: mouth values after a segment's last mesh are interpolated towards the next one)
SEGMENT_TAIL_STEPS = 8


def _visual_range(
    path: Path, config: FeatureConfig, first: int, stop: int, tick: Callable[[int], None]
) -> dict[str, np.ndarray]:
    """Picture features of steps ``first .. stop - 1`` (index 0 = step ``first``), from the
    pictures on screen at their bounds; a range that does not start at 0 is reached by seeking."""
    bounds = step_boundaries(0.0, stop / config.fps, config.fps)[first:]
    estimator = FlowEstimator(config.flow)
    parts: list[dict[str, np.ndarray]] = []
    block: list[np.ndarray] = []
    head = True
    face = _FaceSteps(config) if config.face.enabled else None
    rgb_side = config.face.frame_side if face is not None else None
    frames = iter_frames_at(
        path, bounds, config.frame_size, rgb_side=rgb_side, seek=first > 0, lazy_rgb=True
    )
    for time_s, frame in frames:
        if face is not None:
            frame = face.add(frame, time_s)
        block.append(frame)
        if len(block) == BLOCK_STEPS + 2:
            features = motion_features(np.stack(block), estimator)
            parts.append({k: v if head else v[1:] for k, v in features.items()})
            tick(len(block) - 1 - (0 if head else 1))
            head = False
            block = block[-2:]
    if len(block) >= 2:
        features = motion_features(np.stack(block), estimator)
        parts.append({k: v if head else v[1:] for k, v in features.items()})
        tick(len(block) - 1 - (0 if head else 1))
    visual = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if face is not None:
        visual.update(face.per_step(len(visual["flow_energy"])))
    return visual


def segments(steps: int, fps: float, threads: int) -> list[tuple[int, int]]:
    """The time segments ``(first step, stop)`` of a file's picture, each for one thread.

    One segment (the whole file) for one thread or a file shorter than two `SEGMENT_MIN_S`;
    otherwise up to two per thread (a whole number of rounds), so that the thread that also
    reads the sound does not hold the others up, and none shorter than `SEGMENT_MIN_S`.
    """
    count = min(2 * threads, int(steps / (SEGMENT_MIN_S * fps))) if threads > 1 else 1
    if count > threads:  # whole rounds: no thread left alone with the last segment
        count -= count % threads
    edges = np.linspace(0, steps, max(count, 1) + 1).round().astype(int)
    return list(itertools.pairwise(int(edge) for edge in edges))


def tracker_period(config: FeatureConfig) -> int:
    """Steps after which the face tracker's schedule repeats: the face detector runs every
    ``n`` pictures (the first ``n`` with ``n / fps >= detect_every_s``) and the mesh on every
    ``landmarks_every``-th, both counted from the file's first picture when the face is there
    from the start. A segment that starts on a multiple of this period finds the face there
    and meshes it on the same pictures as one pass over the file would."""
    if not config.face.enabled:
        return 1
    detect = max(1, math.ceil(config.face.detect_every_s * config.fps - 1e-6 * config.fps))
    return math.lcm(detect, config.face.landmarks_every)


def _visual_segment(
    path: Path, config: FeatureConfig, steps: int, span: tuple[int, int], tick: Callable
) -> dict[str, np.ndarray]:
    """`_visual_range` of one segment, started a little earlier and ended a little later, then
    cut back to the segment.

    The start is at least 2 steps earlier (the flow change of the segment's first step needs
    the step before it) and on a multiple of `tracker_period`, so the face tracker, starting
    afresh there, runs its detector and mesh on the pictures that one pass would: where one
    face is followed throughout, the features equal those of one pass bit for bit. The end is
    `SEGMENT_TAIL_STEPS` later, so the mouth values between the last meshes are interpolated
    as in one pass.
    """
    first, stop = span
    period = tracker_period(config)
    begin = max(0, (first - 2) // period * period) if first > 0 else 0
    end = min(steps, stop + SEGMENT_TAIL_STEPS)
    done = [0]

    def counted(n: int) -> None:  # only the segment's own steps count towards the progress
        n = min(n, stop - first - done[0])
        done[0] += n
        if n > 0:
            tick(n)

    visual = _visual_range(path, config, begin, end, counted)
    return {k: v[first - begin : stop - begin] for k, v in visual.items()}


class _FaceSteps:
    """Face evidence of each frame as it is decoded, then per step (step k: frame k + 1)."""

    def __init__(self, config: FeatureConfig) -> None:
        from avalign.features.face import FaceTracker

        self.tracker = FaceTracker(config.face.tracker_config())
        self.rows: list[dict[str, float]] = []

    def add(self, frame: tuple[np.ndarray, Callable[[], np.ndarray]], time_s: float) -> np.ndarray:
        """Measure the colour picture (made only if the tracker looks at it); give back the
        gray one for the motion features."""
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
    moved = audio_steps_at(path, config, steps, (shift_s,))
    return None if moved is None else moved[shift_s]


def audio_steps_at(
    path: str | Path, config: FeatureConfig, steps: int, shifts_s: tuple[float, ...]
) -> dict[float, dict[str, np.ndarray]] | None:
    """`audio_steps` for each of ``shifts_s``, decoding the sound once for all of them (chunk by
    chunk, over the span that every shift needs); None without a sound track.

    Each shift is cut from the shared samples at a whole sample: its sound is placed within
    half a sample (31 us at 16 kHz) of where a decode of its own would place it.
    """
    rate = config.sample_rate
    per_step = config.samples_per_step
    ahead = int(np.ceil(-min(0.0, *shifts_s) * rate))  # samples decoded before each chunk
    behind = int(np.ceil(max(0.0, *shifts_s) * rate))
    step_s = 1.0 / config.fps
    parts: dict[float, list[dict[str, np.ndarray]]] = {shift: [] for shift in shifts_s}
    for start in range(0, steps, CHUNK_STEPS):
        count = min(CHUNK_STEPS, steps - start)
        audio = decode_audio(
            path,
            rate,
            start_s=start * step_s - ahead / rate,
            end_s=(start + count) * step_s + behind / rate,
        )
        if audio is None:
            return None
        for shift in shifts_s:
            at = ahead + round(shift * rate)
            parts[shift].append(audio_features(audio[at : at + count * per_step], count, config))
    if steps == 0:
        return {shift: _silence(0, config) for shift in shifts_s}
    return {
        shift: {k: np.concatenate([p[k] for p in chunks]) for k in chunks[0]}
        for shift, chunks in parts.items()
    }


def _silence(steps: int, config: FeatureConfig) -> dict[str, np.ndarray]:
    """Features of a missing sound track: those of digital silence, computed once and repeated."""
    block = audio_features(None, min(steps, CHUNK_STEPS), config)
    return {k: np.resize(v, (steps, *v.shape[1:])) for k, v in block.items()}


def stream_features(
    path: str | Path,
    config: FeatureConfig,
    *,
    tick: Callable[[int], None] | None = None,
    threads: int = 1,
) -> tuple[dict[str, np.ndarray], MediaInfo]:
    """Per-step features of the whole file (no frames), and what the file holds.

    Without an audio stream the sound features are those of silence and ``has_audio`` is False,
    exactly as for a muted sample. ``tick(n)`` is called as steps of picture are done.
    ``threads``: see `stream_evidence`.
    """
    features, info, _ = stream_evidence(path, config, tick=tick, threads=threads)
    return features, info


def stream_evidence(
    path: str | Path,
    config: FeatureConfig,
    *,
    tick: Callable[[int], None] | None = None,
    threads: int = 1,
    audio_shifts_s: tuple[float, ...] = (),
) -> tuple[dict[str, np.ndarray], MediaInfo, dict[float, dict[str, np.ndarray]]]:
    """`stream_features`, plus the sound's features moved by each of ``audio_shifts_s``
    (`audio_steps_at`; empty without a sound track).

    With ``threads`` above 1 the work is shared by that many threads: the picture of a long
    file is cut into time segments (`segments`), each decoded from its own seek with a little
    overlap, and the sound is one more task. The decoder, OpenCV and the face models release
    Python's lock, so two threads use two cores (1.9x the work in the wall time of one,
    measured on 720p). The features equal those of one pass except where the face tracker,
    which starts afresh in each segment, measured a face on other frames of its schedule.
    """
    path = Path(path)
    info = probe_media(path)
    steps = step_count(info.duration_s, config.fps)
    tick = _serialised(tick or (lambda n: None))
    spans = segments(steps, config.fps, threads) if steps > 0 else [(0, 0)]
    shifts = tuple(dict.fromkeys((0.0, *audio_shifts_s)))
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        sound = pool.submit(audio_steps_at, path, config, steps, shifts) if info.has_audio else None
        pictures = [pool.submit(_visual_segment, path, config, steps, span, tick) for span in spans]
        try:
            parts = [job.result() for job in pictures]
            moved = sound.result() if sound is not None else None
        except BaseException:  # a bad file: the segments not started yet are not started
            for job in [*pictures, sound]:
                if job is not None:
                    job.cancel()
            raise
    visual = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    steps = len(visual["flow_energy"])
    features = dict(visual)
    features.update(_silence(steps, config) if moved is None else _cut(moved[0.0], steps))
    features["timestamps"] = (np.arange(steps) + 0.5) / config.fps
    features["has_audio"] = np.array(moved is not None)
    features["picture_delay_ms"] = np.array(picture_delay_ms(info.picture_times, config.fps, steps))
    others = {} if moved is None else {s: _cut(moved[s], steps) for s in audio_shifts_s}
    return features, info, others


def _serialised(tick: Callable[[int], None]) -> Callable[[int], None]:
    """``tick`` made safe to call from several threads (a progress bar's count is not)."""
    lock = threading.Lock()

    def locked(n: int) -> None:
        with lock:
            tick(n)

    return locked


def _cut(sound: dict[str, np.ndarray], steps: int) -> dict[str, np.ndarray]:
    return {k: v[:steps] for k, v in sound.items()}


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
