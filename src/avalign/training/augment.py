"""Training-time augmentation: more time-shift examples made from synchronized training samples.

A time shift is the one misalignment that only the *relation* between picture and sound reveals,
so it needs many examples; the generator makes relatively few (their audio must come from real
sound around the sample). A synchronized sample of T steps already holds what a shifted one needs:
pair its visual steps ``k .. T-1`` with its audio steps ``0 .. T-1-k`` and the sound now plays
``k`` steps late (real sound of the same clip, no padding). Crops of the same length are applied to
samples left as they are, so the length of a sample says nothing about its label. Only the
training split is augmented; validation and test samples are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch.utils.data import Dataset

from avalign.models.inputs import TYPES, SampleInputs

TIME_SHIFT = TYPES.index("time_shift")


@dataclass(frozen=True)
class AugmentConfig:
    """How training samples are altered each time they are drawn."""

    shift_prob: float = 0.0  # share of synchronized samples turned into time-shifted ones
    crop_prob: float = 0.0  # share of the other samples cropped to a random shorter window
    min_steps: int = 4  # never shorter than this
    max_shift_fraction: float = 0.8  # largest shift as a share of the original length
    max_steps: int = (
        0  # longer samples are cropped to a random window of this many steps (0: never)
    )


def crop(item: SampleInputs, start: int, length: int) -> SampleInputs:
    """The steps ``start .. start + length - 1`` of a sample, label unchanged."""
    window = slice(start, start + length)
    return replace(
        item,
        visual=item.visual[window],
        audio=item.audio[window],
        v_curve=item.v_curve[window],
        a_curve=item.a_curve[window],
    )


def shift(item: SampleInputs, steps: int, step_ms: float) -> SampleInputs:
    """A synchronized sample made ``steps`` late (negative: early) from its own sound."""
    length = item.v_curve.shape[0] - abs(steps)
    video_start, audio_start = (steps, 0) if steps > 0 else (0, -steps)
    video = slice(video_start, video_start + length)
    audio = slice(audio_start, audio_start + length)
    return replace(
        item,
        visual=item.visual[video],
        v_curve=item.v_curve[video],
        audio=item.audio[audio],
        a_curve=item.a_curve[audio],
        target=1,
        type_index=TIME_SHIFT,
        offset_ms=steps * step_ms,
    )


class AugmentedSamples(Dataset):
    """A training split whose samples are randomly shifted or cropped each time they are read.

    Randomness comes from torch's global generator, which `pytorch_lightning.seed_everything`
    seeds, so a run is repeatable.
    """

    def __init__(self, items: list[SampleInputs], config: AugmentConfig, step_ms: float) -> None:
        self.items = items
        self.config = config
        self.step_ms = step_ms

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> SampleInputs:
        item = self.items[index]
        config = self.config
        if config.max_steps and item.v_curve.shape[0] > config.max_steps:
            start = int(torch.randint(0, item.v_curve.shape[0] - config.max_steps + 1, ()).item())
            item = crop(item, start, config.max_steps)
        steps = item.v_curve.shape[0]
        roll = torch.rand(2)
        if item.target == 0 and roll[0] < config.shift_prob:
            largest = min(int(config.max_shift_fraction * steps), steps - config.min_steps)
            if largest >= 1:
                size = int(torch.randint(1, largest + 1, ()).item())
                sign = 1 if torch.rand(()) < 0.5 else -1
                return shift(item, sign * size, self.step_ms)
        if roll[1] < config.crop_prob and steps > config.min_steps:
            length = int(torch.randint(config.min_steps, steps + 1, ()).item())
            start = int(torch.randint(0, steps - length + 1, ()).item())
            return crop(item, start, length)
        return item
