"""Evaluate a trained detector on another dataset (what ``python -m avalign.evaluate`` runs).

Evaluates a trained detector on another dataset (e.g. trained on ``synthetic``, evaluated on
``dataset=folder`` of real videos). The features are extracted with the settings the model was
trained on (read from its checkpoint), the decision threshold θ is the one it was trained with,
and the evaluation is logged as its own MLflow run, tagged with the run or file it came from.
"""

from __future__ import annotations

import dataclasses
import logging

import pytorch_lightning as pl
from omegaconf import DictConfig

from avalign.features.pipeline import data_stages
from avalign.models.checkpoints import load_model, resolve_checkpoint
from avalign.storage import tracking
from avalign.training.datamodule import SyncDataModule
from avalign.training.reporting import RunRecorder, results_table
from avalign.training.task import SyncTask

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Evaluate ``cfg.source`` on the configured dataset's ``cfg.split`` samples."""
    pl.seed_everything(int(cfg.seed), workers=True)
    store = tracking.store_of(cfg.logger) if tracking.logs_anywhere(cfg.get("logger")) else None
    checkpoint = resolve_checkpoint(str(cfg.source), store)
    model, feature_config = load_model(checkpoint)
    progress = bool(cfg.progress)
    features = data_stages(cfg, dataclasses.asdict(feature_config))
    samples, dataset = features.samples, features.samples.dataset
    module = SyncDataModule(
        features.folder, samples.metadata_csv, features.config, seed=int(cfg.seed)
    )
    module.setup()
    splits = ("train", "val", "test") if cfg.split == "all" else (str(cfg.split),)
    module.splits["test"] = [item for split in splits for item in module.splits.get(split, [])]
    if not module.splits["test"]:
        raise SystemExit(f"no sample with features in split(s) {splits} of {dataset.folder}")
    task = SyncTask(model, tune_theta=False)  # θ comes from training, never from this data
    tags = {
        "avalign.role": "evaluation",
        "avalign.source": str(cfg.source),
        "avalign.checkpoint": str(checkpoint),
        "avalign.dataset": dataset.folder.name,
        "avalign.features": features.folder.name,
    }
    recorder = RunRecorder.start(
        cfg,
        tags=tags,
        run_name=f"evaluate {model.__class__.__name__} on {cfg.dataset.name}",
        command="avalign.evaluate",
    )
    if recorder is not None:
        first = module.splits["test"][0]
        recorder.log_data(
            {
                "avalign.dataset": dataset.folder.name,
                "avalign.samples": samples.folder.name,
                "avalign.features": features.folder.name,
                "avalign.features_dir": str(features.folder),
            },
            {"test": module.balance()["test"]},
            (first.visual.shape[1], first.audio.shape[1]),
            {"test": (f"{cfg.dataset.name}/{cfg.split}", "testing")},
        )
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        logger=recorder.lightning_logger() if recorder else False,
        enable_progress_bar=progress,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.test(task, datamodule=module, verbose=False)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")}
    if recorder is not None:
        recorder.client.log_dict(recorder.run_id, module.balance(), "data_balance.json")
        recorder.finish()
    print(
        results_table(
            f"{model.__class__.__name__} from {cfg.source} on {cfg.dataset.name} ({cfg.split})",
            metrics,
        )
    )
    if recorder is not None:
        print(f"MLflow run {recorder.run_id}; to browse: {recorder.ui_command}")
    return metrics
