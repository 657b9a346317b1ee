"""The experiment framework: configs compose, every model trains and tests, MLflow records runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from avalign.models.checkpoints import load_model, resolve_checkpoint
from avalign.storage import tracking
from avalign.storage.config import config_dir
from avalign.training.evaluation import evaluate
from avalign.training.run import train

MODELS = ("threshold", "mlp", "transformer", "xcorr")
TINY = ["dataset.num_clips=20", "generate.draws_per_segment=2", "progress=false", "workers=1"]


def compose_config(name: str, overrides: list[str]):
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose(config_name=name, overrides=overrides)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """A data folder with a 20-clip synthetic corpus and its features (made once)."""
    base = tmp_path_factory.mktemp("training")
    overrides = [f"paths.data_dir={base / 'data'}", f"paths.output_dir={base / 'outputs'}", *TINY]
    cfg = compose_config("train", [*overrides, "model=threshold", "logger=none"])
    train(cfg)  # builds corpus, samples and features
    return base, overrides


def config_files(group: str) -> list[str]:
    return sorted(p.stem for p in (Path(config_dir()) / group).glob("*.yaml"))


@pytest.mark.parametrize("model", config_files("model"))
@pytest.mark.parametrize("experiment", [None, *config_files("experiment")])
def test_every_model_and_experiment_composes(model, experiment):
    overrides = [f"model={model}"] + ([f"experiment={experiment}"] if experiment else [])
    cfg = compose_config("train", overrides)
    assert cfg.model._target_.startswith("avalign.models.")
    assert cfg.trainer.max_epochs >= 1 and cfg.logger.db_path.endswith("mlflow.db")


@pytest.mark.parametrize("experiment", config_files("experiment"))
def test_logger_none_logs_nowhere_even_under_an_experiment_overlay(experiment):
    """Overlays set ``logger.run_name``; with ``logger=none`` that must not revive MLflow."""
    cfg = compose_config("train", [f"experiment={experiment}", "logger=none"])
    assert not tracking.logs_anywhere(cfg.get("logger"))
    assert tracking.logs_anywhere(compose_config("train", [f"experiment={experiment}"]).logger)


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("prepare", []),
        ("generate", []),
        ("extract", ["feature=fps25"]),
        ("extract", ["feature=farneback"]),
        ("train", ["logger=none", "trainer=default"]),
        ("evaluate", ["source=x"]),
        ("prepare", ["dataset=ave", "dataset.root=/x"]),
        ("prepare", ["dataset=folder", "dataset.root=/x"]),
    ],
)
def test_stage_configs_compose(name, overrides):
    cfg = compose_config(name, overrides)
    assert cfg.paths.data_dir and cfg.dataset.kind in ("synthetic", "ave", "folder")


@pytest.mark.parametrize("model", MODELS)
def test_each_model_trains_and_tests(tiny, model):
    _, overrides = tiny
    metrics = train(
        compose_config("train", [*overrides, f"model={model}", "++model.epochs=2", "logger=none"])
    )
    for stage in ("val", "test"):
        for name in ("acc", "precision", "recall", "f1", "recall/synced"):
            assert 0.0 <= metrics[f"{stage}/{name}"] <= 1.0, (stage, name)
        per_type = [
            k for k in metrics if k.startswith(f"{stage}/recall/") and k != f"{stage}/recall/synced"
        ]
        assert per_type and all(0.0 <= metrics[k] <= 1.0 for k in per_type)
    if model in ("transformer", "xcorr"):
        assert "test/offset_median_abs_err_ms" in metrics


def test_same_seed_same_metrics(tiny):
    _, overrides = tiny
    cfg = compose_config(
        "train", [*overrides, "model=transformer", "model.epochs=2", "logger=none"]
    )
    first, second = train(cfg), train(cfg)
    assert first == second
    other = train(
        compose_config(
            "train", [*overrides, "model=transformer", "model.epochs=2", "logger=none", "seed=1"]
        )
    )
    assert other != first


def test_mlflow_run_has_config_metrics_plots_and_checkpoint(tiny):
    _base, overrides = tiny
    cfg = compose_config("train", [*overrides, "model=threshold"])
    train(cfg)
    from avalign.storage import tracking

    client = tracking.client(cfg.logger.db_path)
    experiment = client.get_experiment_by_name(cfg.logger.experiment_name)
    run = client.search_runs(
        [experiment.experiment_id], order_by=["start_time DESC"], max_results=1
    )[0]
    assert run.data.params["model/name"] == "threshold"
    assert run.data.params["feature/fps"] == "5.0"
    assert {"test/acc", "test/precision", "test/recall", "test/f1", "val/theta"} <= set(
        run.data.metrics
    )
    assert run.data.tags["avalign.features"].startswith("features-")
    # what the MLflow UI reads: the experiment's kind, the run's source and its data
    assert experiment.tags[tracking.EXPERIMENT_KIND_TAG] == tracking.TRAINING_KIND
    assert run.data.tags["mlflow.source.name"] == "avalign.train"
    assert run.data.tags["mlflow.source.type"] == "LOCAL"
    commit = run.data.tags["avalign.git_commit"]
    if commit != "unknown":  # a source checkout
        assert run.data.tags["mlflow.source.git.commit"] == commit.removesuffix("-dirty")
    inputs = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"training", "validation", "testing"}
    train_data = inputs["training"]
    assert train_data.name == "synthetic/train" and len(train_data.digest) == 10
    assert json.loads(train_data.profile)["samples"] == run.data.metrics["data/train/samples"]
    assert json.loads(train_data.source)["uri"].endswith(run.data.tags["avalign.features"])
    assert "visual" in json.loads(train_data.schema)["mlflow_tensorspec"]["features"]
    assert len({d.digest for d in inputs.values()}) == 3
    history = client.get_metric_history(run.info.run_id, "val/theta_curve/f1")
    assert len(history) > 10  # the whole θ curve, one point per threshold
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "model", "plots"} <= artifacts
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/theta_curve.png", "plots/confusion_test.png"} <= plots
    checkpoint = resolve_checkpoint(run.info.run_id, cfg.logger.db_path)
    model, features = load_model(checkpoint)
    assert features.fps == 5.0 and float(model.theta) == pytest.approx(
        run.data.metrics["val/theta"]
    )


def test_evaluate_on_another_dataset(tiny, tmp_path):
    base, overrides = tiny
    cfg = compose_config("train", [*overrides, "model=mlp", "model.epochs=2"])
    train(cfg)
    from avalign.storage import tracking

    client = tracking.client(cfg.logger.db_path)
    experiment = client.get_experiment_by_name(cfg.logger.experiment_name)
    trained = client.search_runs(
        [experiment.experiment_id],
        "tags.`avalign.model` = 'mlp'",
        order_by=["start_time DESC"],
        max_results=1,
    )[0]
    # a second dataset: a different synthetic corpus (other seed), all of its samples
    evaluation = compose_config(
        "evaluate",
        [
            f"paths.data_dir={base / 'data'}",
            "dataset.num_clips=6",
            "dataset.seed=5",
            "progress=false",
            "workers=1",
            f"source={trained.info.run_id}",
            "generate.draws_per_segment=1",
        ],
    )
    metrics = evaluate(evaluation)
    assert 0 <= metrics["test/f1"] <= 1
    runs = client.search_runs([experiment.experiment_id], "tags.`avalign.role` = 'evaluation'")
    assert runs and runs[0].data.tags["avalign.source"] == trained.info.run_id
    assert runs[0].data.tags["mlflow.source.name"] == "avalign.evaluate"
    (tested,) = runs[0].inputs.dataset_inputs
    assert tested.dataset.name == "synthetic/all" and tested.tags[0].value == "testing"


def _cli(args: list[str], base: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "avalign.train", *args],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.parametrize(
    ("sweep", "launcher"),
    [
        (["model=threshold", "model.theta=0.2,0.4,0.6,0.8"], []),
        (
            ["model=mlp", "model.hidden_sizes=[32,16],[64,32],[128,64]", "model.epochs=1"],
            ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        ),
    ],
)
def test_multirun_makes_one_child_run_per_job_under_one_parent(tiny, tmp_path, sweep, launcher):
    base, overrides = tiny
    db = tmp_path / "sweep.db"
    result = _cli(
        [
            "-m",
            *sweep,
            *launcher,
            *overrides,
            f"logger.db_path={db}",
            f"logger.artifact_dir={tmp_path / 'artifacts'}",
            f"paths.output_dir={tmp_path / 'out'}",
        ],
        base,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    from avalign.storage import tracking

    client = tracking.client(db)
    experiment = client.get_experiment_by_name("avalign")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("avalign.role") == "sweep-parent"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    jobs = 4 if "model=threshold" in sweep else 3
    assert len(parents) == 1 and len(children) == jobs
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert len({r.data.tags["avalign.sweep_job"] for r in children}) == jobs
    for run in children:
        assert {"test/acc", "test/precision", "test/recall", "test/f1"} <= set(run.data.metrics)
        assert run.info.status == "FINISHED"
    assert parents[0].info.status == "FINISHED"
    if "model=threshold" in sweep:
        assert sorted(float(r.data.params["model/theta"]) for r in children) == [0.2, 0.4, 0.6, 0.8]
    # every job wrote into its own output folder
    job_dirs = list((tmp_path / "out").glob("train-multirun/*/*/.hydra"))
    assert len(job_dirs) == jobs


def test_detect_with_a_trained_transformer_uses_its_lag_head(tiny, tmp_path):
    """`detect model=transformer` finds the latest run, scores windows, and takes the file's
    offset from the lag head (not from the training-free correlation)."""
    import json

    from avalign.detection.command import run

    base, overrides = tiny
    train(compose_config("train", [*overrides, "model=transformer", "model.epochs=1"]))
    video = sorted((base / "data" / "corpora").rglob("*.mp4"))[0]
    report = tmp_path / "report.json"
    data = f"paths.data_dir={base / 'data'}"
    code = run([str(video), "--json", str(report), "model=transformer", "progress=false", data])
    entry = json.loads(report.read_text())["files"][0]
    assert code in (0, 1) and entry["status"] == "ok"
    assert entry["offset_method"] == "lag_head" and 0 < entry["offset_strength"] <= 1
    assert abs(entry["offset_ms"]) <= 2000 and entry["confidence"] in ("high", "medium", "low")
    assert all(0 <= w["p_out_of_sync"] <= 1 for w in entry["windows"])
