"""Planning a corpus: video ids, per-clip choices (category, event times, format,
distractors) and the train/val/test split.

Clip ``i`` is planned from its own stream seeded by ``(seed, i)``, so a clip does not
depend on how many others there are; categories are dealt in shuffled rounds so that every
category appears equally often.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from .config import CATEGORIES, SyntheticConfig
from .spec import STREAM_PLAN, ClipSpec, DistractorSpec, EventSpec, clip_rng

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_ID_LENGTH = 11
SPLITS = ("train", "val", "test")


def make_video_id(seed: int, index: int, attempt: int = 0) -> str:
    """An 11-character [A-Za-z0-9] id derived from ``(seed, index)`` (like a YouTube id)."""
    digest = hashlib.sha256(f"avalign-synthetic:{seed}:{index}:{attempt}".encode()).digest()
    value = int.from_bytes(digest, "big")
    chars = []
    for _ in range(_ID_LENGTH):
        value, r = divmod(value, len(_ALPHABET))
        chars.append(_ALPHABET[r])
    return "".join(chars)


def _category(config: SyntheticConfig, index: int) -> str:
    """Deal categories in rounds: round ``r`` is a permutation seeded by (seed, r)."""
    k = len(config.categories)
    perm = np.random.default_rng([config.seed, index // k, 7919]).permutation(k)
    return config.categories[int(perm[index % k])]


def _events(rng: np.random.Generator, config: SyntheticConfig, first: str) -> tuple:
    """One event, or two non-overlapping events of different categories."""
    whole = math.floor(config.clip_seconds)
    lo, hi = config.min_event_s, min(config.max_event_s, whole)
    others = [c for c in config.categories if c != first]
    two = bool(others) and 2 * lo <= whole and rng.random() < config.multi_event_fraction
    if not two:
        if rng.random() < config.full_clip_fraction:
            return (EventSpec(first, 0, whole),) if hi >= whole else (EventSpec(first, 0, hi),)
        length = int(rng.integers(lo, hi + 1))
        start = int(rng.integers(0, whole - length + 1))
        return (EventSpec(first, start, start + length),)
    second = str(rng.choice(others))
    len1 = int(rng.integers(lo, min(hi, whole - lo) + 1))
    len2 = int(rng.integers(lo, min(hi, whole - len1) + 1))
    slack = whole - len1 - len2
    start1 = int(rng.integers(0, slack + 1))
    start2 = start1 + len1 + int(rng.integers(0, slack - start1 + 1))
    a, b = (first, second) if rng.random() < 0.5 else (second, first)
    return (EventSpec(a, start1, start1 + len1), EventSpec(b, start2, start2 + len2))


def _distractors(rng: np.random.Generator, config: SyntheticConfig, height: int) -> DistractorSpec:
    """Draw which distractors a clip has and how strong they are."""
    shaken = rng.random() < config.camera_shake_probability
    shake = rng.uniform(0.004, 0.02) * height if shaken else 0.0
    drift = rng.uniform(3.0, 40.0) if rng.random() < config.moving_background_probability else 0.0
    silent = bool(rng.random() < config.silent_object_probability)
    offscreen = (
        rng.uniform(*config.offscreen_rate_hz)
        if rng.random() < config.offscreen_sound_probability
        else 0.0
    )
    snr = rng.uniform(*config.ambient_snr_db)
    weights = rng.dirichlet((1.0, 1.0, 0.5))
    return DistractorSpec(
        camera_shake_px=round(float(shake), 3),
        background_drift_px_s=round(float(drift), 3),
        silent_object=silent,
        offscreen_rate_hz=round(float(offscreen), 4),
        ambient_snr_db=round(float(snr), 2),
        ambient_mix=tuple(round(float(w), 4) for w in weights),
    )


def plan_clip(config: SyntheticConfig, index: int, video_id: str) -> ClipSpec:
    """Plan clip ``index`` of the corpus from its own random stream."""
    rng = clip_rng(config.seed, index, STREAM_PLAN)
    events = _events(rng, config, _category(config, index))
    width, height = config.resolutions[int(rng.integers(len(config.resolutions)))]
    return ClipSpec(
        video_id=video_id,
        index=index,
        seed=config.seed,
        events=events,
        width=int(width),
        height=int(height),
        fps=int(config.frame_rates[int(rng.integers(len(config.frame_rates)))]),
        sample_rate=int(config.sample_rates[int(rng.integers(len(config.sample_rates)))]),
        channels=2 if rng.random() < config.stereo_probability else 1,
        duration_s=float(config.clip_seconds),
        distractors=_distractors(rng, config, int(height)),
    )


def plan_corpus(config: SyntheticConfig) -> list[ClipSpec]:
    """Plan every clip of the corpus; deterministic in the config.

    Video ids are unique: an id already taken (vanishingly unlikely) is re-derived.
    """
    specs, taken = [], set()
    for index in range(config.num_clips):
        attempt = 0
        video_id = make_video_id(config.seed, index)
        while video_id in taken:
            attempt += 1
            video_id = make_video_id(config.seed, index, attempt)
        taken.add(video_id)
        specs.append(plan_clip(config, index, video_id))
    return specs


def make_clip_spec(
    category: str,
    *,
    width: int,
    height: int,
    fps: int,
    sample_rate: int,
    seed: int,
    event: tuple[int, int] = (0, 10),
    video_id: str | None = None,
    distractors: bool = True,
    channels: int = 1,
    duration_s: float = 10.0,
) -> ClipSpec:
    """One clip of a chosen category and format, for tests and benchmarks.

    With ``distractors=True`` the distractors are drawn as for a corpus clip (with the
    default probabilities); with ``False`` the clip has no distractor at all: a static
    background, no shake, no second object, no ambience, no off-screen sound.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; known: {list(CATEGORIES)}")
    start, end = int(event[0]), int(event[1])
    if not 0 <= start < end <= duration_s:
        raise ValueError(f"event {event} must satisfy 0 <= start < end <= {duration_s}")
    if width % 2 or height % 2:
        raise ValueError("width and height must be even")
    if channels not in (1, 2):
        raise ValueError("channels must be 1 or 2")
    if distractors:
        rng = clip_rng(seed, 0, STREAM_PLAN)
        extras = _distractors(rng, SyntheticConfig(), height)
    else:
        extras = DistractorSpec()
    return ClipSpec(
        video_id=video_id or make_video_id(seed, 0),
        index=0,
        seed=seed,
        events=(EventSpec(category, start, end),),
        width=width,
        height=height,
        fps=fps,
        sample_rate=sample_rate,
        channels=channels,
        duration_s=float(duration_s),
        distractors=extras,
    )


def assign_splits(specs: list[ClipSpec], config: SyntheticConfig) -> dict[str, str]:
    """Map each video id to "train", "val" or "test", deterministically in the seed.

    Videos are ordered by first category, then by a seeded shuffle, and dealt so that each
    split's share stays closest to its target at every step: the split sizes match the
    fractions and every category is spread over the splits in about the same proportion.
    """
    rng = np.random.default_rng([config.seed, 104729])
    keys = rng.random(len(specs))
    order = sorted(range(len(specs)), key=lambda i: (specs[i].events[0].category, keys[i]))
    counts = [0, 0, 0]
    splits = {}
    for dealt, i in enumerate(order, start=1):
        deficit = [f * dealt - c for f, c in zip(config.split_fractions, counts, strict=True)]
        choice = int(np.argmax(deficit))
        counts[choice] += 1
        splits[specs[i].video_id] = SPLITS[choice]
    return splits
