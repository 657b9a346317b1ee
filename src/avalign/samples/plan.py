"""Decide, per annotated segment, which samples to make and how to misalign them.

The procedure follows the seed project: each segment is drawn positive or negative; a segment of
``split_min_s`` or more is cut into 1-3 sub-segments of at least ``min_subsegment_s``; positives
stay as they are (label 1, type ``None``); each negative sub-segment gets one misalignment type with
its parameters. Every draw comes from a generator seeded by (seed, video, line, start), so a
segment gets the same samples whatever else is in the dataset, and any run can be repeated.

A sample is planned only where both streams can give it: every window it takes, of the picture
and of the sound (the shifted one of a time shift, the stretched one of a distortion), lies in
the segment's ``usable_extent`` (inside the picture, and within
`avalign.datasets.prepared.END_SLACK_S` of the real sound). One that cannot is skipped with
its reason in the report, never planned to fail later.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from avalign.datasets.prepared import PreparedSegment
from avalign.storage.fingerprint import fingerprint, stable_int

MISALIGNMENT_TYPES = ("time_shift", "noise", "mute", "distort")
NONE = "None"
#: Window bounds may pass the usable extent by this much (rounding of stored times), s.
EXTENT_EPS_S = 1e-6


@dataclass(frozen=True)
class SampleConfig:
    """How samples are drawn; every field is recorded in the samples' fingerprint.

    Times are in seconds unless the name says otherwise.
    """

    seed: int = 0
    draws_per_segment: int = (
        1  # independent draws (label, cuts, types) per segment; 1: the seed's procedure
    )
    negative_fraction: float = 0.5  # probability that a segment yields negatives
    type_weights: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(MISALIGNMENT_TYPES, 1.0)
    )
    split_min_s: float = 2.0  # segments at least this long are cut into sub-segments
    min_subsegment_s: float = 1.0
    max_subsegments: int = 3
    time_grid_s: float = (
        0.2  # sub-segment bounds are multiples of this (a whole number of 5 and 25 fps steps)
    )
    shift_min_ms: float = 100.0
    shift_max_fraction: float = 0.8  # largest |offset| as a fraction of the sample's duration
    audio_early_fraction: float = 0.5  # share of time shifts where the audio comes first
    # "event": shifted audio comes from inside the annotated event; "video": anywhere in the clip
    shift_source: str = "event"
    # which stream keeps the sub-segment's window in a time shift (the other one is moved):
    # "video", "audio", or "either" (each half of the time; see `_plan_draw`)
    shift_anchor: str = "either"
    noise_snr_db: tuple[float, float] = (-10.0, 5.0)
    distort_tempo: tuple[float, float] = (0.8, 1.25)  # speed factor range of the drifting audio
    distort_min_tempo_change: float = 0.05  # |tempo - 1| at least this
    distort_drive_db: tuple[float, float] = (6.0, 24.0)  # soft-clipping drive

    def __post_init__(self) -> None:
        unknown = set(self.type_weights) - set(MISALIGNMENT_TYPES)
        if unknown:
            raise ValueError(
                f"unknown misalignment types {sorted(unknown)}; use {MISALIGNMENT_TYPES}"
            )
        if not any(w > 0 for w in self.type_weights.values()) and self.negative_fraction > 0:
            raise ValueError("type_weights: at least one misalignment type needs a positive weight")
        if self.shift_source not in ("event", "video"):
            raise ValueError(f"shift_source must be 'event' or 'video', not {self.shift_source!r}")
        if self.shift_anchor not in ("video", "audio", "either"):
            raise ValueError(
                f"shift_anchor must be 'video', 'audio' or 'either', not {self.shift_anchor!r}"
            )

    def fingerprint(self) -> str:
        return fingerprint(self)


@dataclass(frozen=True)
class SampleSpec:
    """One sample: a time window of a source video, its label, and how its audio is altered.

    ``offset_ms`` is signed: positive when the audio is late (the sound of time t plays at
    t + offset), negative when it is early. Parameters that do not apply are NaN (0 for ints).
    """

    sample_id: str
    video_id: str
    category: str
    split: str
    source_path: str  # relative to the dataset root
    start_s: float
    end_s: float
    label: int  # 1 synchronized, 0 misaligned
    misalignment: str  # "None" or one of MISALIGNMENT_TYPES
    offset_ms: float = 0.0
    snr_db: float = math.nan
    tempo: float = math.nan
    drive_db: float = math.nan
    noise_seed: int = 0
    segment_start_s: float = 0.0
    segment_end_s: float = 0.0
    source_duration_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class PlanReport:
    """What planning produced and what it had to leave out."""

    planned: int = 0
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (sample id, video, reason)


def cut_subsegments(
    start: float, end: float, config: SampleConfig, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """Cut [start, end) into 1..max_subsegments pieces on the time grid, each >= min length."""
    grid = config.time_grid_s
    units = round((end - start) / grid)
    min_units = math.ceil(config.min_subsegment_s / grid - 1e-9)
    if end - start < config.split_min_s or units < 2 * min_units:
        return [(start, end)]
    count = int(rng.integers(1, min(config.max_subsegments, units // min_units) + 1))
    spare = units - count * min_units
    cuts = np.sort(rng.integers(0, spare + 1, size=count - 1))
    lengths = min_units + np.diff(np.concatenate([[0], cuts, [spare]]))
    bounds = start + grid * np.concatenate([[0], np.cumsum(lengths)])
    bounds[-1] = end
    return [(round(float(a), 6), round(float(b), 6)) for a, b in itertools.pairwise(bounds)]


def _draw_offset_ms(
    start: float,
    end: float,
    room: tuple[float, float],
    config: SampleConfig,
    rng: np.random.Generator,
) -> float | None:
    """A signed offset whose source window [start - o, end - o] fits in ``room`` (None if none)."""
    longest = config.shift_max_fraction * (end - start)
    late_max = min(longest, start - room[0])  # audio late: the sound comes from earlier
    early_max = min(longest, room[1] - end)  # audio early: the sound comes from later
    smallest = config.shift_min_ms / 1000.0
    early_first = rng.random() < config.audio_early_fraction
    magnitude = rng.random()  # drawn before feasibility is known, so draws stay aligned
    for sign, largest in (
        ((-1, early_max), (1, late_max)) if early_first else ((1, late_max), (-1, early_max))
    ):
        if largest >= smallest:
            return sign * round(1000.0 * (smallest + magnitude * (largest - smallest)), 1)
    return None


def _sound_keeps_window(config: SampleConfig, rng: np.random.Generator) -> bool:
    """Whether a time shift keeps the sound at the sub-segment and moves the picture.

    Sub-segments start where annotated events start, so a synchronized sample often opens on
    the event's first sound and first motion. If the picture always kept the sub-segment's
    window, a shifted sound would never open that way, and the sound alone would tell shifted
    from synchronized samples (measured: an audio-only transformer at 25 steps/s reached AUROC
    0.65 on time shifts). With ``either``, each stream keeps the window half of the time, so
    neither stream's window alone gives the shift away.
    """
    if config.shift_anchor == "either":
        return bool(rng.random() < 0.5)
    return config.shift_anchor == "audio"


def _draw_tempo(
    start: float, end: float, sound_end_s: float, config: SampleConfig, rng: np.random.Generator
) -> float:
    """A tempo whose stretched sound, from ``start``, ends by ``sound_end_s``."""
    low, high = config.distort_tempo
    while True:
        tempo = float(rng.uniform(low, high))
        if abs(tempo - 1.0) >= config.distort_min_tempo_change:
            break
    if start + tempo * (end - start) > sound_end_s and tempo > 1.0:
        tempo = 1.0 / tempo  # a fast-forward would need sound past the end: slow down instead
    return round(tempo, 4)


def plan_segment(
    segment: PreparedSegment, config: SampleConfig, report: PlanReport
) -> list[SampleSpec]:
    """The samples of one segment (deterministic for the config's seed)."""
    samples = []
    for draw in range(config.draws_per_segment):
        samples += _plan_draw(segment, draw, config, report)
    report.planned += len(samples)
    return samples


def _plan_draw(
    segment: PreparedSegment, draw: int, config: SampleConfig, report: PlanReport
) -> list[SampleSpec]:
    """One independent draw of label, sub-segments and misalignments for a segment."""
    key = stable_int(segment.video_id, segment.source_line, round(segment.start_s * 1000))
    rng = np.random.default_rng([config.seed, key, draw])
    negative = bool(rng.random() < config.negative_fraction)
    types = [t for t in MISALIGNMENT_TYPES if config.type_weights.get(t, 0) > 0]
    weights = np.array([config.type_weights[t] for t in types], dtype=float)
    samples = []
    prefix = f"{segment.video_id}_{segment.source_line}_{round(segment.start_s * 1000)}_d{draw}"
    low, high = segment.usable_extent
    pieces = cut_subsegments(segment.start_s, segment.end_s, config, rng)
    for index, (start, end) in enumerate(pieces):
        sample_id = f"{prefix}_{index}"
        kind = str(rng.choice(types, p=weights / weights.sum())) if negative else NONE
        # checked after this piece's draws, so that a skip leaves the other pieces' draws alone
        piece = (start, end)
        outside = start < low - EXTENT_EPS_S or end > high + EXTENT_EPS_S
        params: dict = {}
        if kind == "time_shift":
            room = (
                (max(segment.start_s, low), min(segment.end_s, high))
                if config.shift_source == "event"
                else (low, high)
            )
            offset = _draw_offset_ms(start, end, room, config, rng)
            if offset is None:
                where = "the annotated event" if config.shift_source == "event" else "the video"
                reason = (
                    f"time_shift: not enough real audio around the sample (no shift of "
                    f"{config.shift_min_ms:g} ms or more keeps the moved window inside {where}'s "
                    f"{room[0]:.2f}-{room[1]:.2f} s with picture and sound)"
                )
                report.skipped.append((sample_id, segment.video_path, reason))
                continue
            if _sound_keeps_window(config, rng):
                # the picture moves instead: the sound of [start, end) plays under the picture
                # of [start - offset, end - offset), which the offset's draw kept inside ``room``
                start, end = round(start - offset / 1000, 6), round(end - offset / 1000, 6)
                offset = -offset
            params["offset_ms"] = offset
        elif kind == "noise":
            params["snr_db"] = round(float(rng.uniform(*config.noise_snr_db)), 2)
            params["noise_seed"] = int(rng.integers(2**31))
        elif kind == "distort":
            params["tempo"] = _draw_tempo(start, end, high, config, rng)
            params["drive_db"] = round(float(rng.uniform(*config.distort_drive_db)), 2)
        if outside:
            reason = (
                f"{kind}: {piece[0]:.3f}-{piece[1]:.3f} s is not all inside the time where the "
                f"video has both picture and real sound ({low:.3f}-{high:.3f} s)"
            )
            report.skipped.append((sample_id, segment.video_path, reason))
            continue
        samples.append(
            SampleSpec(
                sample_id=sample_id,
                video_id=segment.video_id,
                category=segment.category,
                split=segment.split,
                source_path=segment.video_path,
                start_s=start,
                end_s=end,
                label=0 if negative else 1,
                misalignment=kind,
                segment_start_s=segment.start_s,
                segment_end_s=segment.end_s,
                source_duration_s=segment.video_duration_s,
                **params,
            )
        )
    return samples


def plan_samples(
    segments: list[PreparedSegment], config: SampleConfig
) -> tuple[list[SampleSpec], PlanReport]:
    """Plan the samples of every segment, in a stable order (by video, then time)."""
    report = PlanReport()
    ordered = sorted(segments, key=lambda s: (s.video_id, s.start_s, s.source_line))
    samples = [spec for segment in ordered for spec in plan_segment(segment, config, report)]
    return samples, report


def group_by_video(samples: list[SampleSpec]) -> list[tuple[SampleSpec, ...]]:
    """The samples of each source video together (videos sorted by id, sample order kept):
    the unit of work of every stage that decodes a source once for all its samples."""
    groups: dict[str, list[SampleSpec]] = {}
    for spec in samples:
        groups.setdefault(spec.video_id, []).append(spec)
    return [tuple(group) for _, group in sorted(groups.items())]
