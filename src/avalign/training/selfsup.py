"""Self-supervised sync training on any folder of in-sync videos: many shifts per window.

A video whose sound is in sync teaches sync for free, as SyncNet and Synchformer learn: take a
window of its picture, pair it with its own sound at the true time (lag 0) or with the same track
shifted by a known lag (the sound of ``lag`` steps earlier: audio late), and train a model to name
the lag. Every draw picks a new window start and a new lag, so a few hundred clips give an
unlimited stream of examples; both streams always come from the real track (`shifted_window`
refuses anything outside it), never padded. Validation and test windows are drawn once, from a
fixed seed, on the offset grid of the benchmark, so their figures compare across runs.

The clips' per-step features are computed once and cached (`features.clips`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from avalign.features.clips import extract_clips, load_clips, shifted_window
from avalign.features.config import FeatureConfig
from avalign.models.inputs import InputStats, SampleInputs, collate, model_arrays

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ShiftConfig:
    """How shifted windows are drawn (times in seconds)."""

    window_s: float = 4.8  # window length (Synchformer's)
    max_offset_s: float = 2.0  # lags span +- this
    draws_per_clip: int = 48  # training windows per clip per epoch (each a new start and lag)
    eval_offset_step_s: float = 0.2  # validation/test lags: this grid (the benchmark's)
    eval_starts_per_clip: int = 2  # validation/test window starts per clip (every grid lag each)
    # extra share of training draws at lag 0; 0 keeps every lag equally likely, so that a
    # model's output over lags is proportional to the likelihood that `detect` sums
    sync_share: float = 0.0

    def steps(self, fps: float) -> tuple[int, int]:
        """(window length, largest lag) in steps."""
        return round(self.window_s * fps), round(self.max_offset_s * fps)


def feasible_lags(total: int, window: int, max_lag: int) -> np.ndarray:
    """Lags (steps) for which some window start keeps both streams inside ``total`` steps."""
    spare = total - window
    if spare < 0:
        return np.zeros(0, dtype=int)
    reach = min(max_lag, spare)
    return np.arange(-reach, reach + 1)


def draw_window(
    features: dict[str, np.ndarray],
    window: int,
    lag: int,
    rng: np.random.Generator,
) -> tuple[int, dict[str, np.ndarray]]:
    """A random start for a window of ``window`` steps at ``lag``; (start, window arrays)."""
    total = len(features["flow_energy"])
    low, high = max(0, lag), min(total - window, total - window + lag)
    start = int(rng.integers(low, high + 1))
    return start, shifted_window(features, start, window, lag)


def to_inputs(name: str, arrays: dict[str, np.ndarray], lag: int, step_ms: float) -> SampleInputs:
    """A shifted window as model inputs: synchronized at lag 0, else a time shift."""
    return SampleInputs.from_features(
        name,
        model_arrays(arrays),
        1 if lag == 0 else 0,
        "None" if lag == 0 else "time_shift",
        lag * step_ms,
    )


class ShiftedWindows(Dataset):
    """Training examples drawn afresh at every read: a clip, a start and a lag.

    Item ``i`` belongs to clip ``i // draws_per_clip``. Draws come from a generator seeded once,
    so a run (same seed, same order of reads) repeats exactly.
    """

    def __init__(
        self,
        clips: dict[str, dict[str, np.ndarray]],
        config: ShiftConfig,
        fps: float,
        seed: int = 0,
    ) -> None:
        window, max_lag = config.steps(fps)
        self.window, self.config, self.step_ms = window, config, 1000.0 / fps
        self.clips = []
        for clip_id, features in sorted(clips.items()):
            lags = feasible_lags(len(features["flow_energy"]), window, max_lag)
            if lags.size:
                self.clips.append((clip_id, features, lags))
        if not self.clips:
            raise ValueError(f"no clip is long enough for a {config.window_s} s window")
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.clips) * self.config.draws_per_clip

    def __getitem__(self, index: int) -> SampleInputs:
        clip_id, features, lags = self.clips[index // self.config.draws_per_clip]
        lag = 0 if self.rng.random() < self.config.sync_share else int(self.rng.choice(lags))
        start, arrays = draw_window(features, self.window, lag, self.rng)
        return to_inputs(f"{clip_id}@{start}{lag:+d}", arrays, lag, self.step_ms)


def fixed_windows(
    clips: dict[str, dict[str, np.ndarray]], config: ShiftConfig, fps: float, seed: int
) -> list[SampleInputs]:
    """Validation/test windows: a few starts per clip, each at every lag of the grid that fits.

    Starts are spread over the range where the most lags fit; deterministic for the seed.
    """
    window, max_lag = config.steps(fps)
    grid = max(1, round(config.eval_offset_step_s * fps))
    out = []
    for clip_id, features in sorted(clips.items()):
        total = len(features["flow_energy"])
        lags = [lag for lag in feasible_lags(total, window, max_lag) if lag % grid == 0]
        if not lags:
            continue
        rng = np.random.default_rng([seed, len(out), total])
        for _ in range(config.eval_starts_per_clip):
            for lag in lags:
                _, arrays = draw_window(features, window, lag, rng)
                out.append(to_inputs(f"{clip_id}{lag:+d}", arrays, lag, 1000.0 / fps))
    return out


class ShiftDataModule(pl.LightningDataModule):
    """Shifted windows of clips split by video: drawn afresh for training, fixed for evaluation.

    ``clips`` maps each split to ``clip_id -> per-step arrays`` of whole clips.
    """

    def __init__(
        self,
        clips: dict[str, dict[str, dict[str, np.ndarray]]],
        feature_config: FeatureConfig,
        config: ShiftConfig,
        *,
        batch_size: int = 64,
        seed: int = 0,
    ) -> None:
        super().__init__()
        fps = feature_config.fps
        self.feature_config, self.batch_size, self.seed = feature_config, batch_size, seed
        self.train_set = ShiftedWindows(clips["train"], config, fps, seed)
        self.splits: dict[str, list[SampleInputs]] = {
            split: fixed_windows(clips.get(split, {}), config, fps, seed + 1 + i)
            for i, split in enumerate(("val", "test"))
        }
        # normalisation statistics from a fixed draw of training windows
        probe = ShiftedWindows(clips["train"], config, fps, seed + 99)
        count = min(len(probe), 512)
        drawn = [probe[i] for i in range(count)]
        self.stats = InputStats.of(drawn)
        self._dims = (drawn[0].visual.shape[1], drawn[0].audio.shape[1])

    @property
    def input_dims(self) -> tuple[int, int]:
        """(visual token size, audio token size)."""
        return self._dims

    def balance(self) -> dict[str, dict[str, int]]:
        report = {
            "train": {
                "clips": len(self.train_set.clips),
                "draws_per_epoch": len(self.train_set),
            }
        }
        for split in ("val", "test"):
            items = self.splits[split]
            report[split] = {
                "samples": len(items),
                "synchronized": sum(1 - i.target for i in items),
                "time_shift": sum(i.target for i in items),
            }
        return report

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            shuffle=True,
            collate_fn=collate,
            generator=generator,
        )

    def _fixed(self, split: str) -> DataLoader:
        return DataLoader(self.splits[split], batch_size=self.batch_size, collate_fn=collate)

    def val_dataloader(self) -> DataLoader:
        return self._fixed("val")

    def test_dataloader(self) -> DataLoader:
        return self._fixed("test")


def shift_config(settings) -> ShiftConfig:
    """A `ShiftConfig` from a mapping (e.g. the ``data.shifts`` config node)."""
    names = {f.name for f in dataclasses.fields(ShiftConfig)}
    return ShiftConfig(**{k: v for k, v in dict(settings or {}).items() if k in names})


def clips_by_split(
    videos: dict[str, tuple[Path, str]],
    cache_dir: Path,
    config: FeatureConfig,
    *,
    workers: int = 1,
    progress: bool = True,
) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Extract (or reuse) the whole-clip features of ``video_id -> (file, split)``; group them by
    split. Videos whose features cannot be made are reported and left out."""
    extract_clips(
        {vid: path for vid, (path, _) in videos.items()},
        cache_dir,
        config,
        workers=workers,
        progress=progress,
    )
    loaded = load_clips(list(videos), cache_dir, config)
    grouped: dict[str, dict[str, dict[str, np.ndarray]]] = {s: {} for s in SPLITS}
    for vid, features in loaded.items():
        if bool(features["has_audio"]):
            grouped.setdefault(videos[vid][1], {})[vid] = features
    return grouped
