"""Turn a sample's cached features into model inputs, and batch samples of different lengths.

Per step ``t`` a sample gives:

- ``v_curve``: V(t), the mean optical-flow magnitude (pixels per step);
- ``a_curve``: A(t), the audio energy in log units, ``log10(RMS + 1e-4)`` (a muted step is -4);
- ``visual``: the visual token ``[V(t), frame_diff(t), flow_accel(t), flow_grid(t), accel_grid(t)]``
  (the grids flattened, grid x grid each);
- ``audio``: the audio token ``[A(t), onset(t), flatness(t), mfcc(t) (n_mfcc)]``.

Targets follow the detector's point of view: ``target = 1`` means *misaligned* (the metadata's
``Negative``), the positive class of every metric; ``type_index`` numbers the misalignment types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from avalign.features.face import FEATURE_KEYS
from avalign.samples.plan import MISALIGNMENT_TYPES, NONE

TYPES = (NONE, *MISALIGNMENT_TYPES)  # type_index 0 is "None" (synchronized)
ENERGY_FLOOR = 1e-4


def audio_curve(audio_energy: np.ndarray) -> np.ndarray:
    """A(t) in log units from the RMS energy (bounded below, so silence is finite)."""
    return np.log10(np.asarray(audio_energy, np.float64) + ENERGY_FLOOR).astype(np.float32)


#: Per-step face evidence (`avalign.features.face`) appended, in this order, to the visual token
#: when the features hold it.
FACE_KEYS = FEATURE_KEYS


#: The arrays a model reads (the optional ones only when the features hold them); frames and
#: bookkeeping stay on disk.
MODEL_KEYS = (
    "flow_energy",
    "flow_grid",
    "frame_diff",
    "flow_accel",
    "accel_grid",
    "audio_energy",
    "audio_onset",
    "audio_flatness",
    "mfcc",
)
OPTIONAL_MODEL_KEYS = (*FACE_KEYS, "log_mel", "voice_energy")


def model_arrays(features) -> dict[str, np.ndarray]:
    """The arrays of `MODEL_KEYS` (and of the optional keys present) from a feature mapping."""
    present = [k for k in OPTIONAL_MODEL_KEYS if k in features]
    return {k: features[k] for k in (*MODEL_KEYS, *present)}


def visual_tokens(features: dict[str, np.ndarray]) -> np.ndarray:
    """``(T, 3 + 2 * grid * grid [+ 8])`` visual token per step (face evidence last, if any)."""
    steps = len(features["flow_energy"])
    parts = [
        features["flow_energy"][:, None],
        features["frame_diff"][:, None],
        features["flow_accel"][:, None],
        features["flow_grid"].reshape(steps, -1),
        features["accel_grid"].reshape(steps, -1),
    ]
    if "mouth_open" in features:
        parts += [features[key][:, None] for key in FACE_KEYS]
    return np.concatenate(parts, axis=1).astype(np.float32)


def audio_tokens(features: dict[str, np.ndarray]) -> np.ndarray:
    """``(T, 3 + n_mfcc [+ 1 + n_mels])`` audio token per step (voice band and log-mel last,
    when the features hold them)."""
    parts = [
        audio_curve(features["audio_energy"])[:, None],
        features["audio_onset"][:, None],
        features["audio_flatness"][:, None],
        features["mfcc"],
    ]
    if "log_mel" in features:
        parts += [features["voice_energy"][:, None], features["log_mel"]]
    return np.concatenate(parts, axis=1).astype(np.float32)


@dataclass(frozen=True)
class SampleInputs:
    """One sample ready for batching."""

    sample_id: str
    visual: torch.Tensor  # (T, Dv)
    audio: torch.Tensor  # (T, Da)
    v_curve: torch.Tensor  # (T,)
    a_curve: torch.Tensor  # (T,)
    target: int  # 1 misaligned, 0 synchronized
    type_index: int
    offset_ms: float  # signed, positive = audio late; 0 unless time_shift

    @classmethod
    def from_features(
        cls,
        sample_id: str,
        features: dict[str, np.ndarray],
        label: int,
        kind: str,
        offset_ms: float,
    ) -> SampleInputs:
        return cls(
            sample_id=sample_id,
            visual=torch.from_numpy(visual_tokens(features)),
            audio=torch.from_numpy(audio_tokens(features)),
            v_curve=torch.from_numpy(features["flow_energy"].astype(np.float32)),
            a_curve=torch.from_numpy(audio_curve(features["audio_energy"])),
            target=1 - int(label),
            type_index=TYPES.index(kind),
            offset_ms=0.0 if math.isnan(offset_ms) else float(offset_ms),
        )


def collate(samples: list[SampleInputs]) -> dict[str, torch.Tensor | list[str]]:
    """Pad to the longest sample; ``mask`` is True on real steps."""
    longest = max(s.v_curve.shape[0] for s in samples)
    size = len(samples)

    def pad(name: str) -> torch.Tensor:
        first = getattr(samples[0], name)
        out = torch.zeros((size, longest, *first.shape[1:]), dtype=first.dtype)
        for i, s in enumerate(samples):
            value = getattr(s, name)
            out[i, : value.shape[0]] = value
        return out

    mask = torch.zeros((size, longest), dtype=torch.bool)
    for i, s in enumerate(samples):
        mask[i, : s.v_curve.shape[0]] = True
    return {
        "sample_id": [s.sample_id for s in samples],
        "visual": pad("visual"),
        "audio": pad("audio"),
        "v_curve": pad("v_curve"),
        "a_curve": pad("a_curve"),
        "mask": mask,
        "target": torch.tensor([s.target for s in samples], dtype=torch.long),
        "type_index": torch.tensor([s.type_index for s in samples], dtype=torch.long),
        "offset_ms": torch.tensor([s.offset_ms for s in samples], dtype=torch.float32),
    }


@dataclass(frozen=True)
class InputStats:
    """Mean and standard deviation of every input dimension over the training steps."""

    visual_mean: torch.Tensor
    visual_std: torch.Tensor
    audio_mean: torch.Tensor
    audio_std: torch.Tensor

    @classmethod
    def of(cls, samples: list[SampleInputs]) -> InputStats:
        visual = torch.cat([s.visual for s in samples])
        audio = torch.cat([s.audio for s in samples])
        return cls(
            visual.mean(0),
            visual.std(0).clamp_min(1e-6),
            audio.mean(0),
            audio.std(0).clamp_min(1e-6),
        )
