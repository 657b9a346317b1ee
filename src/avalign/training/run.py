"""End-to-end training of one detector (what ``python -m avalign.train`` runs).

Makes whatever the composed config needs and is missing (dataset, samples, feature cache), trains
the model (or tunes θ on validation for the training-free ones), tests the best checkpoint on the
test split, logs everything to MLflow and prints a results table with the command that shows the
run in the MLflow UI. `train` is plain Python (it takes a config, returns the metrics); `main` is
the thin Hydra wrapper, which returns the metric a sweep optimises.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from avalign.features.pipeline import data_stages
from avalign.models.base import SyncModel
from avalign.models.checkpoints import load_model
from avalign.storage import tracking
from avalign.training.augment import AugmentConfig
from avalign.training.datamodule import SyncDataModule
from avalign.training.reporting import RunRecorder, results_table
from avalign.training.task import SyncTask

log = logging.getLogger(__name__)


def build_model(
    model_cfg: DictConfig | dict, visual_dim: int, audio_dim: int, step_ms: float
) -> SyncModel:
    """Instantiate the model class named by ``_target_`` with the config's keys."""
    from hydra.utils import get_class

    settings = (
        OmegaConf.to_container(model_cfg, resolve=True)
        if isinstance(model_cfg, DictConfig)
        else dict(model_cfg)
    )
    settings.pop("augment", None)  # a data-module setting, kept beside the model it suits
    cls = get_class(settings.pop("_target_"))
    return cls(visual_dim=visual_dim, audio_dim=audio_dim, step_ms=step_ms, **settings)


def prepare_shift_data(cfg: DictConfig) -> tuple[pl.LightningDataModule, dict[str, str]]:
    """Self-supervised data (``data.kind=shifts``): the dataset's whole videos, split by video,
    as shifted windows (`avalign.training.selfsup`); the data module and fingerprints."""
    from avalign.features.config import FeatureConfig
    from avalign.features.pipeline import prepare_dataset
    from avalign.storage.config import data_dir
    from avalign.training.selfsup import ShiftDataModule, clips_by_split, shift_config

    stage = prepare_dataset(
        cfg.dataset, data_dir(cfg), workers=int(cfg.workers), progress=bool(cfg.progress)
    )
    config = FeatureConfig.from_dict(OmegaConf.to_container(cfg.feature, resolve=True))
    videos = {s.video_id: (stage.dataset.video_file(s), s.split) for s in stage.dataset.segments}
    folder = stage.folder / f"clips-{config.fingerprint()}"
    clips = clips_by_split(
        videos, folder, config, workers=int(cfg.workers), progress=bool(cfg.progress)
    )
    module = ShiftDataModule(
        clips,
        config,
        shift_config(OmegaConf.to_container(cfg.data.shifts, resolve=True)),
        batch_size=int(cfg.data.batch_size),
        seed=int(cfg.seed),
    )
    fingerprints = {
        "avalign.dataset": stage.folder.name,
        "avalign.features": folder.name,
        "avalign.features_dir": str(folder),
    }
    return module, fingerprints


def prepare_data(cfg: DictConfig) -> tuple[pl.LightningDataModule, dict[str, str]]:
    """Make or reuse dataset, samples and features; return the data module and fingerprints."""
    if cfg.data.get("kind", "samples") == "shifts":
        return prepare_shift_data(cfg)
    features = data_stages(cfg)
    samples, dataset = features.samples, features.samples.dataset
    augment_settings = cfg.model.get("augment")
    augment = AugmentConfig(
        **(OmegaConf.to_container(augment_settings, resolve=True) if augment_settings else {})
    )
    module = SyncDataModule(
        features.folder,
        samples.metadata_csv,
        features.config,
        batch_size=int(cfg.data.batch_size),
        seed=int(cfg.seed),
        num_workers=int(cfg.data.num_workers),
        augment=augment,
    )
    module.setup()
    fingerprints = {
        "avalign.dataset": dataset.folder.name,
        "avalign.samples": samples.folder.name,
        "avalign.features": features.folder.name,
        "avalign.features_dir": str(features.folder),
    }
    return module, fingerprints


def trainer_kwargs(cfg: DictConfig) -> dict[str, Any]:
    settings = OmegaConf.to_container(cfg.trainer, resolve=True)
    settings.pop("_target_", None)
    return settings


def fit_best(
    model: SyncModel,
    datamodule: pl.LightningDataModule,
    settings: dict[str, Any],
    scratch: Path,
    *,
    logger: Any = False,
    monitor: str = "val/f1",
) -> tuple[SyncTask, pl.Trainer, Path]:
    """Fit ``model`` (if it learns), reload its best epoch by ``monitor``, validate it.

    Validation tunes θ for the models that choose it there. Returns the task that trained it
    (``task.model`` is the best model), the trainer (its ``callback_metrics`` hold the validation
    metrics) and the path of the best checkpoint, which lives under ``scratch``.
    """
    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=scratch, filename="best", monitor=monitor, mode="max", save_top_k=1
    )
    trainer = pl.Trainer(
        **settings, logger=logger, callbacks=[checkpoint], default_root_dir=str(scratch)
    )
    best_path = scratch / "best.ckpt"
    task = SyncTask(model)
    if model.trainable:
        trainer.fit(task, datamodule=datamodule)
        task.model, _ = load_model(Path(checkpoint.best_model_path))
    trainer.validate(task, datamodule=datamodule, verbose=False)
    if not model.trainable:
        trainer.save_checkpoint(best_path, weights_only=True)  # nothing was trained
    return task, trainer, Path(checkpoint.best_model_path or best_path)


def use_torch_threads(cfg: DictConfig) -> None:
    """Train on ``cfg.torch_threads`` torch threads when it is set (small models train faster on
    one thread here); otherwise torch's default."""
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))


def train(cfg: DictConfig, keep_checkpoint: Path | None = None) -> dict[str, float]:
    """Train, validate and test one model; return every logged metric (``stage/metric``).

    ``keep_checkpoint``: also copy the best checkpoint there (the benchmark reuses it).
    """
    started = time.time()
    pl.seed_everything(int(cfg.seed), workers=True)
    use_torch_threads(cfg)
    datamodule, fingerprints = prepare_data(cfg)
    step_ms = 1000.0 / float(cfg.feature.fps)
    model = build_model(cfg.model, *datamodule.input_dims, step_ms=step_ms)
    model.set_input_stats(datamodule.stats)
    model.feature_settings = dataclasses.asdict(datamodule.feature_config)
    balance = datamodule.balance()
    for split, counts in balance.items():
        log.info("%s: %s", split, counts)

    recorder = RunRecorder.start(cfg, tags=fingerprints)
    if recorder is not None:
        name = str(cfg.dataset.name)
        splits = {s: (f"{name}/{s}", context) for s, context in tracking.CONTEXTS.items()}
        recorder.log_data(fingerprints, balance, datamodule.input_dims, splits)
    with tempfile.TemporaryDirectory(prefix="avalign-ckpt-") as scratch:
        task, trainer, best_path = fit_best(
            model,
            datamodule,
            trainer_kwargs(cfg),
            Path(scratch),
            logger=recorder.lightning_logger() if recorder else False,
            monitor=str(cfg.get("monitor", "val/f1")),
        )
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        trainer.test(task, datamodule=datamodule, verbose=False)
        metrics.update(
            {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")}
        )
        if keep_checkpoint is not None and trainer.is_global_zero:
            keep_checkpoint.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(best_path, keep_checkpoint)
        if trainer.is_global_zero and recorder is not None:
            recorder.log_results(task, metrics, balance, best_path, cfg)
            recorder.finish()
    elapsed = time.time() - started
    if trainer.is_global_zero:
        print(results_table(str(cfg.model.name), metrics))
        print(f"finished in {elapsed:.1f} s")
        if recorder is not None:
            print(f"MLflow run {recorder.run_id}; to browse: {recorder.ui_command}")
    return metrics
