"""Configuration of the synthetic audio-visual event corpus.

One frozen dataclass holds every knob that changes the generated files, so that its
fingerprint identifies a corpus: two roots built from configs with the same fingerprint
(and the same :data:`GENERATOR_VERSION`) hold byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass

#: Bumped whenever a change to the code alters the rendered bytes for an unchanged config,
#: so that a corpus left by an older generator is not silently mixed with new clips.
GENERATOR_VERSION = 1

#: Every category the generator can render. Each one is a visible object whose visible
#: action is timed with its sound (see :mod:`avalign.datasets.synthetic.sources`).
CATEGORIES: tuple[str, ...] = (
    "ball_bounce",
    "drum_strike",
    "flash_beep",
    "speech_mouth",
    "machinery",
    "footsteps",
    "hand_clap",
)

#: YouTube-like small frame sizes, (width, height), all even for yuv420p.
DEFAULT_RESOLUTIONS: tuple[tuple[int, int], ...] = (
    (320, 240),
    (426, 240),
    (480, 270),
    (480, 360),
    (640, 360),
)


@dataclass(frozen=True)
class SyntheticConfig:
    """Everything that decides the content of a synthetic AVE-layout corpus.

    Parameters
    ----------
    num_clips
        Number of videos. The default, 60 rounds of the 7 categories, is sized to build in
        under two minutes on two cores with ``workers=2``: rendering takes about 0.4-0.5 CPU
        seconds per clip (``experiments/bench_synthetic_corpus.py`` measures it).
    seed
        Root seed; every clip draws from its own generator seeded by ``(seed, index)``.
    clip_seconds
        Length of every video. Annotated events use integer seconds inside it.
    categories
        Categories to draw from, a subset of :data:`CATEGORIES`.
    resolutions, frame_rates, sample_rates
        Per clip, one of each is drawn uniformly.
    stereo_probability
        Chance that a clip's audio is stereo (the source is then panned to its position).
    min_event_s, max_event_s
        Range of an annotated event's length in whole seconds, as in AVE (2 to 10).
    full_clip_fraction
        Share of single-event clips whose event covers the whole clip, which AVE has often.
    multi_event_fraction
        Share of clips with two non-overlapping events of different categories.
    split_fractions
        Train/val/test shares of the videos; a video's events all go to one split.
    ambient_snr_db
        Range of the ratio of event sound power (over the annotated events) to ambient
        noise power.
    camera_shake_probability, moving_background_probability, silent_object_probability
        Chances of each visual distractor: motion that makes no sound.
    offscreen_sound_probability
        Chance of impulsive off-screen sounds (knocks, clicks) that match nothing visible.
    offscreen_rate_hz
        Range of the mean rate of those off-screen sounds.
    """

    num_clips: int = 420
    seed: int = 0
    clip_seconds: float = 10.0
    categories: tuple[str, ...] = CATEGORIES
    resolutions: tuple[tuple[int, int], ...] = DEFAULT_RESOLUTIONS
    frame_rates: tuple[int, ...] = (24, 25, 30)
    sample_rates: tuple[int, ...] = (16000, 44100, 48000)
    stereo_probability: float = 0.5
    min_event_s: int = 2
    max_event_s: int = 10
    full_clip_fraction: float = 0.2
    multi_event_fraction: float = 0.05
    split_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    ambient_snr_db: tuple[float, float] = (0.0, 30.0)
    camera_shake_probability: float = 0.4
    moving_background_probability: float = 0.5
    silent_object_probability: float = 0.5
    offscreen_sound_probability: float = 0.4
    offscreen_rate_hz: tuple[float, float] = (0.1, 0.5)

    def __post_init__(self) -> None:
        self._normalize_types()
        if self.num_clips < 0:
            raise ValueError(f"num_clips must be >= 0, got {self.num_clips}")
        if not self.categories:
            raise ValueError("categories must not be empty")
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {list(CATEGORIES)}")
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("categories must not repeat")
        for width, height in self.resolutions:
            if width % 2 or height % 2 or width < 64 or height < 64:
                raise ValueError(f"resolution {width}x{height} must be even and >= 64x64")
        if not self.resolutions or not self.frame_rates or not self.sample_rates:
            raise ValueError("resolutions, frame_rates and sample_rates must not be empty")
        if any(sr < 8000 for sr in self.sample_rates):
            raise ValueError("sample rates below 8000 Hz are not supported")
        whole = math.floor(self.clip_seconds)
        if not 2 <= self.min_event_s <= self.max_event_s:
            raise ValueError("need 2 <= min_event_s <= max_event_s")
        if self.min_event_s > whole:
            raise ValueError(f"min_event_s={self.min_event_s} exceeds the clip length")
        if len(self.split_fractions) != 3 or any(f < 0 for f in self.split_fractions):
            raise ValueError("split_fractions must be three non-negative shares")
        if not math.isclose(sum(self.split_fractions), 1.0, abs_tol=1e-6):
            raise ValueError(f"split_fractions must sum to 1, got {self.split_fractions}")
        lo, hi = self.ambient_snr_db
        if lo > hi:
            raise ValueError("ambient_snr_db must be (low, high)")
        lo, hi = self.offscreen_rate_hz
        if not 0 <= lo <= hi:
            raise ValueError("offscreen_rate_hz must be (low, high) with 0 <= low")
        for name in (
            "stereo_probability",
            "full_clip_fraction",
            "multi_event_fraction",
            "camera_shake_probability",
            "moving_background_probability",
            "silent_object_probability",
            "offscreen_sound_probability",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")

    def _normalize_types(self) -> None:
        """Coerce fields to their declared types (lists from YAML become tuples, ints in
        float fields become floats), so equal settings always give the same fingerprint."""
        floats = ("clip_seconds", "stereo_probability", "full_clip_fraction",
                  "multi_event_fraction", "camera_shake_probability",
                  "moving_background_probability", "silent_object_probability",
                  "offscreen_sound_probability")  # fmt: skip
        for name in ("num_clips", "seed", "min_event_s", "max_event_s"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in floats:
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("split_fractions", "ambient_snr_db", "offscreen_rate_hz"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
        for name in ("frame_rates", "sample_rates"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        object.__setattr__(self, "categories", tuple(str(c) for c in self.categories))
        resolutions = tuple((int(w), int(h)) for w, h in self.resolutions)
        object.__setattr__(self, "resolutions", resolutions)

    def to_dict(self) -> dict:
        """Return the fields as plain JSON types (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    def fingerprint(self) -> str:
        """Return a stable short hash of every field.

        The first 10 hex digits of the SHA-256 of the fields as JSON with sorted keys; it
        does not depend on Python's hash seed or on field order.
        """
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]

    @classmethod
    def from_dict(cls, data: dict) -> SyntheticConfig:
        """Rebuild a config from :meth:`to_dict` output (as stored in ``corpus.json``)."""
        return cls(**data)
