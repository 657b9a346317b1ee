"""Record a training or evaluation run in MLflow, and print its results as a table.

`RunRecorder` owns one MLflow run: it creates it with its tags (and its sweep parent, in a
multirun), logs the composed config once (flattened params plus ``config.yaml``) and the data of
each split as MLflow dataset inputs, hands Lightning a logger bound to the same run, and at the end
logs the figures (θ curve, confusion matrix, ROC), the split balance and the checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from avalign.storage import tracking
from avalign.storage.fingerprint import fingerprint
from avalign.training import plots
from avalign.training.metrics import theta_curve

if TYPE_CHECKING:
    from avalign.training.task import SyncTask

log = logging.getLogger(__name__)

TABLE_COLUMNS = ("acc", "precision", "recall", "f1", "auroc")
TYPE_COLUMNS = (
    "recall/synced",
    "recall/time_shift",
    "recall/noise",
    "recall/mute",
    "recall/distort",
)


def _sweep_context() -> tuple[str | None, str | None]:
    """(sweep id, parent run id) when running inside a Hydra multirun."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hydra_cfg = HydraConfig.get()
    except (ImportError, ValueError):
        return None, None
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return None, None
    sweep_dir = Path(hydra_cfg.sweep.dir)
    return sweep_dir.name, tracking.parent_run_id(sweep_dir)


def data_inputs(
    fingerprints: dict[str, str],
    balance: dict[str, dict[str, int]],
    dims: tuple[int, int] | None,
    splits: dict[str, tuple[str, str]],
) -> list[tracking.DataInput]:
    """The dataset inputs of a run: for each ``split -> (name, context)`` of ``splits`` that
    ``balance`` counts, its name, a digest of the dataset, samples and features fingerprints with
    the split and its counts, the features folder, its counts as the profile (``samples``: the
    samples, or the windows drawn per epoch of self-supervised training) and the tensor schema
    of one sample (visual and audio tokens of ``dims`` = (Dv, Da); target and offset)."""
    from mlflow.types import Schema, TensorSpec

    keys = {k: v for k, v in fingerprints.items() if k != "avalign.features_dir"}
    schema = None
    if dims is not None:
        float32, int64 = np.dtype("float32"), np.dtype("int64")
        features = Schema(
            [
                TensorSpec(float32, (-1, -1, dims[0]), "visual"),
                TensorSpec(float32, (-1, -1, dims[1]), "audio"),
            ]
        )
        targets = Schema(
            [TensorSpec(int64, (-1,), "misaligned"), TensorSpec(float32, (-1,), "offset_ms")]
        )
        schema = {
            "mlflow_tensorspec": {"features": features.to_json(), "targets": targets.to_json()}
        }
    inputs = []
    for split, (name, context) in splits.items():
        counts = balance.get(split)
        if counts is None:
            continue
        samples = counts.get("samples", counts.get("draws_per_epoch", 0))
        inputs.append(
            tracking.DataInput(
                name=name,
                digest=fingerprint([keys, split, counts]),
                source=fingerprints.get("avalign.features_dir", ""),
                context=context,
                profile={"samples": samples, **counts},
                schema=schema,
            )
        )
    return inputs


def _is_first_process() -> bool:
    ranks = ("LOCAL_RANK", "NODE_RANK", "RANK")
    return all(int(os.environ.get(name, "0") or 0) == 0 for name in ranks)


def _job_number() -> str | None:
    try:
        from hydra.core.hydra_config import HydraConfig

        return str(HydraConfig.get().job.num)
    except (ImportError, ValueError):
        return None


class RunRecorder:
    """One MLflow run of avalign."""

    def __init__(self, cfg: DictConfig, run_id: str, experiment_id: str | None = None) -> None:
        self.cfg = cfg
        self.run_id = run_id
        self.store = tracking.store_of(cfg.logger)
        self.client = tracking.client(self.store)
        self.ui_command = tracking.ui_command(self.store)
        if experiment_id is not None:
            page = tracking.page_url(self.store, experiment_id, run_id)
            self.ui_command += f", then open {page}"

    @classmethod
    def start(
        cls,
        cfg: DictConfig,
        tags: dict[str, str],
        run_name: str | None = None,
        command: str = "avalign.train",
    ) -> RunRecorder | None:
        """Create the run (None when the logger is ``none``) and log the config once.

        ``command`` names the run's source in MLflow (`tracking.source_tags`).

        Only the first process of a distributed run records anything: DDP children (their
        ``LOCAL_RANK`` or ``NODE_RANK`` is not 0) get None, so one job is one MLflow run.
        """
        if not tracking.logs_anywhere(cfg.get("logger")) or not _is_first_process():
            return None
        tracking.quiet_mlflow()
        client = tracking.client(tracking.store_of(cfg.logger))
        artifacts = None if cfg.logger.get("tracking_uri") else cfg.logger.artifact_dir
        experiment = tracking.experiment_id(client, cfg.logger.experiment_name, artifacts)
        sweep_id, parent = _sweep_context()
        all_tags = {
            **tags,
            **tracking.source_tags(command),
            "avalign.model": str(cfg.model.name),
        }
        if sweep_id:
            all_tags["avalign.sweep_id"] = sweep_id
            all_tags["avalign.sweep_job"] = _job_number() or ""
        if parent:
            all_tags["mlflow.parentRunId"] = parent
        name = run_name or cfg.logger.get("run_name") or f"{cfg.model.name} on {cfg.dataset.name}"
        run = client.create_run(experiment, run_name=name, tags=all_tags)
        recorder = cls(cfg, run.info.run_id, experiment)
        recorder.log_config(cfg)
        return recorder

    def log_config(self, cfg: DictConfig) -> None:
        """The composed config: every leaf as a param (``model/hidden_sizes``) and as YAML."""
        from mlflow.entities import Param

        container = OmegaConf.to_container(cfg, resolve=True)
        params = [Param(k, v) for k, v in tracking.flatten(container).items()]
        for start in range(0, len(params), 100):
            self.client.log_batch(self.run_id, params=params[start : start + 100])
        self.client.log_text(self.run_id, OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")

    def log_data(
        self,
        fingerprints: dict[str, str],
        balance: dict[str, dict[str, int]],
        dims: tuple[int, int] | None,
        splits: dict[str, tuple[str, str]],
    ) -> None:
        """The data each split was read from, as MLflow dataset inputs (`data_inputs`)."""
        tracking.log_datasets(
            self.client, self.run_id, data_inputs(fingerprints, balance, dims, splits)
        )

    def lightning_logger(self):
        """A Lightning logger writing into this run."""
        from pytorch_lightning.loggers import MLFlowLogger

        return MLFlowLogger(
            experiment_name=self.cfg.logger.experiment_name,
            tracking_uri=tracking.tracking_uri(self.store),
            run_id=self.run_id,
        )

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        from mlflow.entities import Metric

        batch = [Metric(k, float(v), 0, step) for k, v in metrics.items()]
        for start in range(0, len(batch), 500):
            self.client.log_batch(self.run_id, metrics=batch[start : start + 500])

    def log_figure(self, figure, name: str) -> None:
        import matplotlib.pyplot as plt

        self.client.log_figure(self.run_id, figure, name)
        plt.close(figure)

    def log_theta_curve(
        self, scores: torch.Tensor, targets: torch.Tensor, chosen: float, title: str
    ) -> None:
        """θ sweep on validation as stepwise metrics and as a plot."""
        if targets.min() == targets.max():
            return
        curve = theta_curve(scores, targets)
        from mlflow.entities import Metric

        batch = []
        for step, values in enumerate(
            zip(*(curve[k] for k in ("theta", "precision", "recall", "f1")), strict=True)
        ):
            for key, value in zip(("theta", "precision", "recall", "f1"), values, strict=True):
                batch.append(Metric(f"val/theta_curve/{key}", float(value), 0, step))
        for start in range(0, len(batch), 500):
            self.client.log_batch(self.run_id, metrics=batch[start : start + 500])
        self.log_figure(plots.theta_curve_figure(curve, chosen, title), "plots/theta_curve.png")

    def log_results(
        self,
        task: SyncTask,
        metrics: dict[str, float],
        balance: dict,
        checkpoint: Path,
        cfg: DictConfig,
    ) -> None:
        """Figures, balance and checkpoint after testing."""
        name = str(cfg.model.name)
        val = task.collected.get("val")
        if val:
            self.log_theta_curve(
                val["score"], val["target"], float(task.model.theta), f"{name}: θ sweep (val)"
            )
        test = task.collected.get("test")
        if test and "test/tp" in metrics:
            self.log_figure(
                plots.confusion_figure(
                    *(metrics[f"test/{k}"] for k in ("tn", "fp", "fn", "tp")), f"{name} (test)"
                ),
                "plots/confusion_test.png",
            )
            if test["target"].min() != test["target"].max():
                self.log_figure(
                    plots.roc_figure(
                        test["score"], test["target"], metrics.get("test/auroc"), f"{name} (test)"
                    ),
                    "plots/roc_test.png",
                )
        self.client.log_dict(self.run_id, balance, "data_balance.json")
        self.log_metrics(
            {f"data/{s}/{k}": v for s, counts in balance.items() for k, v in counts.items()}
        )
        if checkpoint.is_file():
            self.client.log_artifact(self.run_id, str(checkpoint), "model")
        self.client.set_tag(self.run_id, "avalign.results", json.dumps(_headline(metrics)))

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status)


def _headline(metrics: dict[str, float]) -> dict[str, float]:
    return {
        k: round(v, 4)
        for k, v in metrics.items()
        if k.split("/", 1)[-1] in (*TABLE_COLUMNS, "theta")
    }


def results_table(name: str, metrics: dict[str, Any]) -> str:
    """A plain-text table of the headline metrics per split."""
    columns = (*TABLE_COLUMNS, *TYPE_COLUMNS)
    header = f"{'':6}" + "".join(f"{c.replace('recall/', 'rec_'):>15}" for c in columns)
    lines = [f"results: {name} (misaligned = positive class)", header]
    for stage in ("val", "test"):
        cells = []
        for column in columns:
            value = metrics.get(f"{stage}/{column}")
            cells.append(f"{float(value):>15.3f}" if value is not None else f"{'-':>15}")
        lines.append(f"{stage:6}" + "".join(cells))
    extra = [f"{k}={float(v):.1f}" for k, v in metrics.items() if "offset_median" in k]
    if extra:
        lines.append("offset error: " + ", ".join(extra))
    return "\n".join(lines)
