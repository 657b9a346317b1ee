"""LightningDataModule over the NPZ feature cache: load once, split by video, pad and mask.

The split of every sample comes from the metadata CSV, which took it from the prepared dataset:
videos, never samples, were split, so no video is in two splits. Samples whose features are
missing or damaged are reported and left out; the class and type balance of each split is
reported so that skewed splits are visible before any number is read.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from avalign.features.cache import CacheError, FeatureCache
from avalign.features.config import FeatureConfig
from avalign.models.inputs import TYPES, InputStats, SampleInputs, collate, model_arrays
from avalign.samples.metadata import read_metadata
from avalign.training.augment import AugmentConfig, AugmentedSamples

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


class SyncDataModule(pl.LightningDataModule):
    """Serve the cached features of one samples folder, split into train/val/test."""

    def __init__(
        self,
        features_dir: str | Path,
        metadata_csv: str | Path,
        feature_config: FeatureConfig,
        *,
        batch_size: int = 64,
        seed: int = 0,
        num_workers: int = 0,
        augment: AugmentConfig | None = None,
    ) -> None:
        super().__init__()
        self.features_dir = Path(features_dir)
        self.metadata_csv = Path(metadata_csv)
        self.feature_config = feature_config
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers
        self.augment = augment or AugmentConfig()
        self.splits: dict[str, list[SampleInputs]] = {}
        self.stats: InputStats | None = None
        self.missing: list[str] = []

    @classmethod
    def from_inputs(
        cls,
        splits: dict[str, list[SampleInputs]],
        feature_config: FeatureConfig,
        *,
        batch_size: int = 64,
        seed: int = 0,
        augment: AugmentConfig | None = None,
    ) -> SyncDataModule:
        """A data module over samples already in memory (e.g. the benchmark's folds).

        ``splits`` maps ``train``/``val``/``test`` to samples; the statistics that normalise the
        inputs come from ``train``, as for a cache-backed module.
        """
        if not splits.get("train"):
            raise ValueError("from_inputs: the train split is empty")
        module = cls(
            Path(), Path(), feature_config, batch_size=batch_size, seed=seed, augment=augment
        )
        module.splits = {s: list(splits.get(s, [])) for s in SPLITS}
        module.stats = InputStats.of(module.splits["train"])
        return module

    def setup(self, stage: str | None = None) -> None:
        """Load every sample's features into memory (once) and compute training statistics."""
        if self.splits:
            return
        cache = FeatureCache(self.features_dir, self.feature_config)
        splits: dict[str, list[SampleInputs]] = {s: [] for s in SPLITS}
        for spec, _ in read_metadata(self.metadata_csv):
            try:
                features = cache.load(spec.sample_id)
            except CacheError:
                self.missing.append(spec.sample_id)
                continue
            if len(features["flow_energy"]) < 1:
                self.missing.append(spec.sample_id)
                continue
            item = SampleInputs.from_features(
                spec.sample_id,
                model_arrays(features),
                spec.label,
                spec.misalignment,
                spec.offset_ms,
            )
            splits.setdefault(spec.split, []).append(item)
        if self.missing:
            log.warning(
                "%d samples have no usable features in %s (failed extraction): left out",
                len(self.missing),
                self.features_dir,
            )
        if not splits["train"]:
            raise RuntimeError(f"{self.features_dir}: no training sample has features")
        self.splits = splits
        self.stats = InputStats.of(splits["train"])

    @property
    def input_dims(self) -> tuple[int, int]:
        """(visual token size, audio token size)."""
        first = self.splits["train"][0]
        return first.visual.shape[1], first.audio.shape[1]

    def balance(self) -> dict[str, dict[str, int]]:
        """Counts per split: samples, misaligned, synchronized, and each misalignment type."""
        report = {}
        for split, items in self.splits.items():
            counts = Counter(TYPES[i.type_index] for i in items)
            report[split] = {
                "samples": len(items),
                "misaligned": sum(i.target for i in items),
                "synchronized": sum(1 - i.target for i in items),
                **{t: counts.get(t, 0) for t in TYPES[1:]},
            }
        return report

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        items = self.splits[split]
        if split == "train" and (
            self.augment.shift_prob or self.augment.crop_prob or self.augment.max_steps
        ):
            items = AugmentedSamples(items, self.augment, 1000.0 / self.feature_config.fps)
        return DataLoader(
            items,
            batch_size=self.batch_size,
            shuffle=shuffle,
            collate_fn=collate,
            num_workers=self.num_workers,
            generator=generator if shuffle else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
