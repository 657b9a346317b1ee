"""Log a benchmark to MLflow: one run with every figure as a metric and the tables as files.

Metric names are ``<detector>.<training>/<figure>`` (``lagnet.folds/sync_auroc``) and, per
category, ``<detector>.<training>/<category>/<figure>``; the run also holds ``results.md``,
``results.json`` and the plots, so benchmarks compare side by side in the MLflow UI. The set's
clips are the run's dataset input (context ``testing``, digest the set's fingerprint).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from avalign.storage import tracking

EXPERIMENT = "avalign-benchmark"


def _name(text: str) -> str:
    """MLflow accepts letters, digits and ``_-. /`` in metric names."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", text)


def metrics_of(report: dict) -> dict[str, float]:
    """Every figure of ``results.json`` as a flat ``name -> value`` dict."""
    out: dict[str, float] = {}
    for row in report["detectors"]:
        prefix = f"{row['detector']}.{row['training']}"
        for name, figure in row["overall"]["figures"].items():
            if figure and figure.get("value") is not None:
                out[_name(f"{prefix}/{name}")] = float(figure["value"])
        for category, block in row["per_category"].items():
            for name, figure in block["figures"].items():
                if figure and figure.get("value") is not None:
                    out[_name(f"{prefix}/{category}/{name}")] = float(figure["value"])
    for row in (report.get("files") or {}).get("detectors", []):
        prefix = "files." + row["label"].replace(" (", ".").replace(")", "")
        for name, figure in row["all"]["figures"].items():
            if figure and figure.get("value") is not None:
                out[_name(f"{prefix}/{name}")] = float(figure["value"])
        ece = row["all"].get("calibration", {}).get("ece")
        if ece is not None:
            out[_name(f"{prefix}/ece")] = float(ece)
    return out


def data_input(report: dict, out_dir: Path, name: str, root: Path | None) -> tracking.DataInput:
    """The benchmark set as a dataset input: ``benchmark/<set>``, digest its fingerprint (the tail
    of its folder's name), its clips and windows as the profile, read from ``root``."""
    return tracking.DataInput(
        name=f"benchmark/{name}",
        digest=out_dir.name.removeprefix(f"{name}-"),
        source=str(root or out_dir),
        context="testing",
        profile={
            "samples": int(report.get("windows", 0)),
            "clips": int(report.get("clips", 0)),
            "clips_without_window": len(report.get("clips_without_window", [])),
        },
    )


def log_benchmark(cfg: DictConfig, out_dir: Path, name: str, root: Path | None = None) -> str:
    """Create the run, log params, metrics, the set and files; return its id."""
    tracking.quiet_mlflow()
    store = tracking.store_of(cfg.logger)
    client = tracking.client(store)
    artifacts = None if cfg.logger.get("tracking_uri") else cfg.logger.artifact_dir
    experiment = tracking.experiment_id(client, EXPERIMENT, artifacts)
    run = client.create_run(
        experiment,
        run_name=f"benchmark {name}",
        tags={"avalign.role": "benchmark", **tracking.source_tags("avalign.benchmark")},
    )
    run_id = run.info.run_id
    settings = OmegaConf.to_container(cfg, resolve=True)
    for key, value in tracking.flatten(
        {k: v for k, v in settings.items() if k not in ("paths", "logger")}
    ).items():
        client.log_param(run_id, key, value)
    report = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    tracking.log_datasets(client, run_id, [data_input(report, out_dir, name, root)])
    for key, value in metrics_of(report).items():
        client.log_metric(run_id, key, value)
    for file in ("results.md", "results.json"):
        client.log_artifact(run_id, str(out_dir / file))
    if (out_dir / "plots").is_dir():
        client.log_artifacts(run_id, str(out_dir / "plots"), "plots")
    client.set_terminated(run_id)
    return run_id
