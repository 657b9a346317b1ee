"""Plain data describing one clip: what to render (:class:`ClipSpec`) and what was rendered
(:class:`ClipRecord`).

A spec is small and picklable so that worker processes receive it cheaply; everything a
clip needs beyond it is drawn from :func:`clip_rng`, whose streams depend only on the
spec's ``(seed, index)`` so that a clip renders the same in any process and any order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

#: Independent random streams of one clip. Each consumer owns one stream, so adding draws
#: to one (for example to the audio) never changes what another (the picture) sees.
STREAM_PLAN = 0
STREAM_SCENE = 1
STREAM_AUDIO = 2


def clip_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """Return the generator of one random stream of clip ``index`` under root ``seed``."""
    return np.random.default_rng([int(seed), int(index), int(stream)])


@dataclass(frozen=True)
class EventSpec:
    """One annotated event: the visible source of ``category`` is active in [start, end)."""

    category: str
    start: int
    end: int


@dataclass(frozen=True)
class DistractorSpec:
    """Strengths of everything in a clip that does not belong to the annotated source.

    Zero (or ``False``/``None``) means the distractor is absent.

    Attributes
    ----------
    camera_shake_px
        RMS amplitude of a smooth random translation of the whole frame, in pixels.
    background_drift_px_s
        Speed at which the background texture scrolls, in pixels per second.
    silent_object
        Whether a second object moves around without making any sound.
    offscreen_rate_hz
        Mean rate of impulsive off-screen sounds (knocks, clicks).
    ambient_snr_db
        Power of the event sound over that of the ambient noise; ``None``: no ambience.
    ambient_mix
        Weights of pink noise, brown noise and mains hum in the ambience.
    """

    camera_shake_px: float = 0.0
    background_drift_px_s: float = 0.0
    silent_object: bool = False
    offscreen_rate_hz: float = 0.0
    ambient_snr_db: float | None = None
    ambient_mix: tuple[float, float, float] = (1.0, 0.0, 0.0)


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to render one clip deterministically.

    The random details of the scene (colours, positions, rhythms) are not listed here: they
    are drawn from ``clip_rng(seed, index, ...)`` when the clip is built.
    """

    video_id: str
    index: int
    seed: int
    events: tuple[EventSpec, ...]
    width: int
    height: int
    fps: int
    sample_rate: int
    channels: int
    duration_s: float
    distractors: DistractorSpec = field(default_factory=DistractorSpec)

    @property
    def num_frames(self) -> int:
        """Frames in the video stream."""
        return round(self.duration_s * self.fps)

    @property
    def num_samples(self) -> int:
        """Samples per channel in the audio stream."""
        return round(self.duration_s * self.sample_rate)

    def to_dict(self) -> dict:
        """Return the spec as plain JSON types."""
        return asdict(self)


@dataclass(frozen=True)
class EventRecord:
    """An annotated event with the ground-truth sound onsets (seconds) of its source."""

    category: str
    start: int
    end: int
    onsets: tuple[float, ...]


@dataclass(frozen=True)
class ClipRecord:
    """What ``corpus.json`` says about one rendered clip.

    Every field follows from the spec alone (it is computed without rendering), so a clip
    kept from an interrupted run is described exactly as a freshly rendered one.
    """

    video_id: str
    file: str
    index: int
    events: tuple[EventRecord, ...]
    width: int
    height: int
    fps: int
    sample_rate: int
    channels: int
    duration_s: float
    ambient_snr_db: float | None
    distractors: dict

    @property
    def onsets(self) -> tuple[float, ...]:
        """All ground-truth onsets of the visible sources, sorted."""
        return tuple(sorted(t for event in self.events for t in event.onsets))

    def to_dict(self) -> dict:
        """Return the record as plain JSON types, with the flattened onsets added."""
        data = asdict(self)
        data["onsets"] = list(self.onsets)
        return data
