"""The benchmark's windows: the field's protocol (Synchformer's) as avalign samples.

Every window is ``window_s`` (4.8 s) of a clip's picture. Its sound is the clip's own sound from
the *shifted* time: for an offset ``o`` (positive = audio late) the window whose picture covers
``[t, t + W)`` hears the track's ``[t - o, t + W - o)``, so picture and sound share the whole
window and nothing is padded. Offsets lie on a grid of ``2 * max_offset_s / offset_step_s + 1``
classes (21: -2.0, -1.8, ..., +2.0 s). An offset whose sound the track does not hold is skipped
for that window, never invented. Each window start also gives one muted window and one window
with white noise added (SNR drawn as the sample generator draws it).

Window starts are chosen where every offset fits (``max_offset_s`` of sound on both sides) every
``hop_s``; a clip too short for that gets one window in its middle with the offsets that fit, and
a clip shorter than one window gets none (it is counted, not hidden). Starts lie on the offset
grid (multiples of 0.2 s, whole steps at 5 and 25 steps/s), so a window cut from a whole clip's
per-step features is the same window.

Windows are `SampleSpec` objects, so the feature extraction, the sound rendering and the
materialized files of the benchmark are exactly those of the training data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avalign.samples.plan import NONE, SampleSpec
from avalign.storage.fingerprint import stable_int

SYNCED, SHIFTED, MUTE, NOISE = NONE, "time_shift", "mute", "noise"


@dataclass(frozen=True)
class WindowProtocol:
    """How windows and offsets are drawn from a clip (times in seconds)."""

    window_s: float = 4.8  # Synchformer's input length
    max_offset_s: float = 2.0  # offsets span +- this
    offset_step_s: float = 0.2  # the grid's spacing: one offset class
    hop_s: float = 1.2  # distance between window starts in a long clip (a multiple of the grid)
    noise_snr_db: tuple[float, float] = (-10.0, 5.0)  # as the sample generator draws it
    mute: bool = True  # one muted window per window start
    noise: bool = True  # one noisy window per window start
    seed: int = 0

    def __post_init__(self) -> None:
        classes = 2 * self.max_offset_s / self.offset_step_s
        if abs(classes - round(classes)) > 1e-6 or self.offset_step_s <= 0:
            raise ValueError(
                f"max_offset_s ({self.max_offset_s}) must be a whole number of offset steps "
                f"({self.offset_step_s})"
            )
        if self.window_s <= 0 or self.hop_s <= 0:
            raise ValueError("window_s and hop_s must be positive")
        hops = self.hop_s / self.offset_step_s
        if abs(hops - round(hops)) > 1e-6:
            raise ValueError(f"hop_s ({self.hop_s}) must be a multiple of {self.offset_step_s}")

    @property
    def offsets_ms(self) -> np.ndarray:
        """The grid of offsets, ms, ascending (index = offset class)."""
        half = round(self.max_offset_s / self.offset_step_s)
        return np.round(np.arange(-half, half + 1) * self.offset_step_s * 1000.0, 3)

    @property
    def classes(self) -> int:
        return len(self.offsets_ms)

    def offset_class(self, offset_ms: np.ndarray | float) -> np.ndarray:
        """The nearest grid class of each offset (clipped to the grid)."""
        step = self.offset_step_s * 1000.0
        half = (self.classes - 1) // 2
        index = np.rint(np.asarray(offset_ms, dtype=np.float64) / step).astype(int) + half
        return np.clip(index, 0, self.classes - 1)


@dataclass(frozen=True)
class BenchmarkClip:
    """One clip of a benchmark and what its windows need to know."""

    clip_id: str  # file-name safe, unique
    path: str  # relative to the clip folder
    category: str
    source_video: str  # the recording it was cut from (folds keep a recording together)
    picture_s: float  # seconds of picture the file really holds
    sound_s: float  # seconds of sound the file really holds (0: no sound track)


#: tolerance for floating-point window bounds, s
_EPS = 1e-6


def window_starts(clip: BenchmarkClip, protocol: WindowProtocol) -> list[float]:
    """Start times of the clip's windows (see the module docstring)."""
    width, margin = protocol.window_s, protocol.max_offset_s
    usable = min(clip.picture_s, clip.sound_s)
    if usable + _EPS < width:
        return []
    low, high = margin, min(clip.picture_s - width, clip.sound_s - width - margin)
    grid = protocol.offset_step_s
    if high + _EPS >= low:
        count = math.floor((high - low) / protocol.hop_s + _EPS) + 1
        spare = (high - low) - (count - 1) * protocol.hop_s
        first = low + math.floor(spare / 2 / grid + _EPS) * grid  # on the grid, centred
        return [round(first + i * protocol.hop_s, 3) for i in range(count)]
    middle = max(0.0, (usable - width) / 2)
    return [round(math.floor(middle / grid + _EPS) * grid, 3)]


def offset_fits(clip: BenchmarkClip, start_s: float, offset_ms: float, width: float) -> bool:
    """Whether the track holds the sound of the window at ``start_s`` shifted by ``offset_ms``."""
    sound_start = start_s - offset_ms / 1000.0
    return (
        sound_start >= -_EPS
        and sound_start + width <= clip.sound_s + _EPS
        and start_s + width <= clip.picture_s + _EPS
    )


def plan_windows(clip: BenchmarkClip, protocol: WindowProtocol) -> list[SampleSpec]:
    """Every window of one clip: in sync, each shift that fits, muted and noisy."""
    width = protocol.window_s
    specs: list[SampleSpec] = []
    for start in window_starts(clip, protocol):
        rng = np.random.default_rng([protocol.seed, stable_int(clip.clip_id), round(start * 1000)])
        base = dict(
            video_id=clip.clip_id,
            category=clip.category,
            split="all",
            source_path=clip.path,
            start_s=start,
            end_s=round(start + width, 6),
            segment_start_s=0.0,
            segment_end_s=clip.picture_s,
            source_duration_s=clip.picture_s,
        )
        prefix = f"{clip.clip_id}_w{round(start * 1000)}"
        for offset in protocol.offsets_ms.tolist():
            if not offset_fits(clip, start, float(offset), width):
                continue
            if offset == 0:
                specs.append(
                    SampleSpec(sample_id=f"{prefix}_sync", label=1, misalignment=SYNCED, **base)
                )
            else:
                specs.append(
                    SampleSpec(
                        sample_id=f"{prefix}_shift{round(offset):+d}",
                        label=0,
                        misalignment=SHIFTED,
                        offset_ms=float(offset),
                        **base,
                    )
                )
        snr = round(float(rng.uniform(*protocol.noise_snr_db)), 2)
        noise_seed = int(rng.integers(2**31))
        if protocol.mute:
            specs.append(SampleSpec(sample_id=f"{prefix}_mute", label=0, misalignment=MUTE, **base))
        if protocol.noise:
            specs.append(
                SampleSpec(
                    sample_id=f"{prefix}_noise",
                    label=0,
                    misalignment=NOISE,
                    snr_db=snr,
                    noise_seed=noise_seed,
                    **base,
                )
            )
    return specs
