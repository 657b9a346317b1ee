"""MLflow bookkeeping: where the store is, one run per training job, parent runs for sweeps.

The store is SQLite at an absolute path (MLflow 3.13+ refuses the old ``./mlruns`` file store)
with artifacts in a folder beside it. Each job's run records the composed config once (flattened
params and a YAML artifact), tags (git commit, dataset/samples/feature fingerprints, sweep id) and
its metrics and plots. In a Hydra multirun, `SweepCallback` opens one parent run before the jobs
start; every job's run is tagged as its child, so the MLflow UI shows a sweep as one group.

What the MLflow UI reads is set as MLflow's own tags too: every experiment is of the model-training
kind (``mlflow.experimentKind``; MLflow 3 would otherwise open it on the GenAI traces view), every
run names its command, source type and commit (the Source column), and the data a run was trained,
validated and tested on is logged as dataset inputs (the Dataset column), see `log_datasets`.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

log = logging.getLogger(__name__)

PARENT_FILE = "mlflow_parent_run.json"
MAX_PARAM_CHARS = 6000
#: MLflow 3's experiment-kind tag and its value for trained models (the UI's model-training view)
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
TRAINING_KIND = "custom_model_development"
#: MLflow's dataset-input contexts of the splits
CONTEXTS = {"train": "training", "val": "validation", "test": "testing"}


URI_SCHEMES = ("http://", "https://", "sqlite:", "postgresql", "mysql", "databricks")


def tracking_uri(store: str | Path) -> str:
    """The tracking URI of a store: a URI as given, or ``sqlite:////abs/path`` for a file path."""
    text = str(store)
    if text.startswith(URI_SCHEMES):
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def logs_anywhere(logger) -> bool:
    """Whether a logger config names a store: ``logger=none`` is empty, but an experiment overlay
    may still add keys such as ``run_name`` to it, so its mere presence is not enough."""
    return bool(logger) and bool(logger.get("tracking_uri") or logger.get("db_path"))


def store_of(logger) -> str:
    """The store a logger config points at: its ``tracking_uri`` (a server) or its ``db_path``."""
    return str(logger.get("tracking_uri") or logger.db_path)


def ui_command(store: str | Path) -> str:
    """The command that shows this store in the MLflow UI (or the server's address)."""
    uri = tracking_uri(store)
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser"
    return f"mlflow ui --backend-store-uri {uri}"


def page_url(store: str | Path, experiment_id: str, run_id: str | None = None) -> str:
    """The experiment's (or run's) page in the MLflow UI, in its model-training view: MLflow
    3.17's UI opens what its GenAI / Model training switch says (GenAI at first), whatever the
    experiment's kind; ``workflowType=machine_learning`` in the address sets the switch."""
    uri = tracking_uri(store)
    host = uri.rstrip("/") if uri.startswith(("http://", "https://")) else "http://127.0.0.1:5000"
    page = f"{host}/#/experiments/{experiment_id}" + (f"/runs/{run_id}" if run_id else "")
    return f"{page}?workflowType=machine_learning"


def client(store: str | Path):
    """An MlflowClient on a store: a SQLite file (its folder is created) or a tracking URI."""
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(store)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri)


def experiment_id(mlflow_client, name: str, artifact_dir: str | Path | None) -> str:
    """Id of the named experiment, created with an absolute artifact location if missing.

    With a tracking server (``artifact_dir`` None) the server's artifact root is used.
    Either way the experiment is marked as MLflow 3's model-training kind (`TRAINING_KIND`), so
    the UI opens it on its runs; experiments made before avalign set the tag get it here.
    """
    existing = mlflow_client.get_experiment_by_name(name)
    if existing is None:
        location = Path(artifact_dir).expanduser().resolve().as_uri() if artifact_dir else None
        try:
            return mlflow_client.create_experiment(
                name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: TRAINING_KIND}
            )
        except Exception:  # created by a parallel job in the meantime
            existing = mlflow_client.get_experiment_by_name(name)
            if existing is None:
                raise
    if existing.tags.get(EXPERIMENT_KIND_TAG) != TRAINING_KIND:
        mlflow_client.set_experiment_tag(existing.experiment_id, EXPERIMENT_KIND_TAG, TRAINING_KIND)
    return existing.experiment_id


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"model/hidden_sizes": "[32, 16]", ...}``: nested keys joined with '/', values as text."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}/"))
        else:
            flat[name] = str(value)[:MAX_PARAM_CHARS]
    return flat


def git_commit(folder: Path | None = None) -> str:
    """The source checkout's commit (with ``-dirty`` if it has changes), or ``unknown``."""
    folder = folder or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return f"{commit}-dirty" if dirty else commit
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def command_name(default: str) -> str:
    """The avalign command this process runs (``avalign.benchmark`` when the benchmark trains),
    or ``default`` when it is not one (a test, a notebook, a Hydra launcher's worker)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    name = spec.name.removesuffix(".__main__") if spec is not None else ""
    return name if name.startswith("avalign.") else default


def source_tags(command: str) -> dict[str, str]:
    """Tags naming where a run came from: avalign's ``avalign.git_commit`` (``-dirty`` when the
    checkout has changes) and MLflow's own tags, which the UI shows: the command
    (``mlflow.source.name``, see `command_name`), ``LOCAL``, the commit and the user."""
    commit = git_commit()
    tags = {
        "avalign.git_commit": commit,
        "mlflow.source.name": command_name(command),
        "mlflow.source.type": "LOCAL",
    }
    with contextlib.suppress(KeyError, OSError):  # no user name in this environment
        tags["mlflow.user"] = getpass.getuser()  # the UI's "Created by"
    if commit != "unknown":
        tags["mlflow.source.git.commit"] = commit.removesuffix("-dirty")
    return tags


@dataclass(frozen=True)
class DataInput:
    """One dataset a run read, as MLflow records it (`log_datasets`).

    ``digest`` is avalign's fingerprint of the data; ``source`` the folder it was read from;
    ``context`` ``training``, ``validation`` or ``testing``; ``profile`` its counts (``samples``
    first); ``schema`` MLflow's JSON schema of one item, if known.
    """

    name: str
    digest: str
    source: str
    context: str
    profile: dict = field(default_factory=dict)
    schema: dict | None = None


def log_datasets(mlflow_client, run_id: str, inputs: Sequence[DataInput]) -> None:
    """Log ``inputs`` as the run's dataset inputs (the UI's Dataset column and drawer)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    datasets = [
        DatasetInput(
            Dataset(
                name=item.name,
                digest=item.digest,
                source_type="local",
                source=json.dumps({"uri": item.source}),
                schema=json.dumps(item.schema) if item.schema else None,
                profile=json.dumps(item.profile),
            ),
            tags=[InputTag(MLFLOW_DATASET_CONTEXT, item.context)],
        )
        for item in inputs
    ]
    if datasets:
        mlflow_client.log_inputs(run_id, datasets=datasets)


def parent_run_id(sweep_dir: str | Path) -> str | None:
    """The parent run of the sweep whose folder is ``sweep_dir`` (None outside a sweep)."""
    record = Path(sweep_dir) / PARENT_FILE
    if not record.is_file():
        return None
    return json.loads(record.read_text())["run_id"]


class SweepCallback(Callback):
    """Hydra callback: one MLflow parent run per multirun, opened before the jobs, closed after.

    Configured under ``hydra.callbacks`` in ``conf/train.yaml``; it does nothing when the logger
    is ``none``.
    """

    def on_multirun_start(self, config, **kwargs: Any) -> None:
        logger = config.get("logger")
        if not logs_anywhere(logger):
            return
        sweep_dir = Path(config.hydra.sweep.dir)  # HydraConfig is not set yet at this point
        sweep_dir.mkdir(parents=True, exist_ok=True)
        mlflow_client = client(store_of(logger))
        artifacts = None if logger.get("tracking_uri") else logger.artifact_dir
        experiment = experiment_id(mlflow_client, logger.experiment_name, artifacts)
        run = mlflow_client.create_run(
            experiment,
            run_name=f"sweep {sweep_dir.name}",
            tags={
                "avalign.sweep_id": sweep_dir.name,
                "avalign.sweep_dir": str(sweep_dir),
                "avalign.role": "sweep-parent",
                **source_tags("avalign.train"),
            },
        )
        overrides = " ".join(config.hydra.overrides.task)
        mlflow_client.log_param(run.info.run_id, "sweep_overrides", overrides[:MAX_PARAM_CHARS])
        (sweep_dir / PARENT_FILE).write_text(json.dumps({"run_id": run.info.run_id}))
        log.info("sweep parent run %s (%s)", run.info.run_id, ui_command(store_of(logger)))

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        logger = config.get("logger")
        if not logs_anywhere(logger):
            return
        run_id = parent_run_id(config.hydra.sweep.dir)
        if run_id is not None:
            client(store_of(logger)).set_terminated(run_id)


def environment_overrides() -> dict[str, str]:
    """Environment that keeps MLflow quiet and local (no telemetry, no network)."""
    return {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def quiet_mlflow() -> None:
    """Apply `environment_overrides` to this process."""
    for key, value in environment_overrides().items():
        os.environ.setdefault(key, value)
