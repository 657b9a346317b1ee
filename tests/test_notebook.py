"""The comparison notebook runs top to bottom against a small MLflow store made here."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from hydra import compose, initialize_config_dir
from nbclient import NotebookClient

from avalign.storage.config import config_dir
from avalign.training.run import train

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "compare_runs.ipynb"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_compare_runs_notebook_executes(tmp_path, monkeypatch):
    db = tmp_path / "mlflow" / "mlflow.db"
    base = [
        f"paths.data_dir={tmp_path / 'data'}",
        f"logger.db_path={db}",
        "dataset.num_clips=20",
        "generate.draws_per_segment=2",
        "progress=false",
        "workers=1",
    ]
    runs = [
        ["model=threshold"],
        ["model=threshold", "model.theta=0.4"],
        ["model=threshold", "model.theta=0.8"],
        ["model=mlp", "model.epochs=1"],
        ["model=mlp", "model.epochs=1", "model.hidden_sizes=[64,32]"],
        ["model=xcorr"],
    ]
    for overrides in runs:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            train(compose(config_name="train", overrides=[*base, *overrides]))
    monkeypatch.setenv("AVALIGN_MLFLOW_DB", str(db))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [
        o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
    ]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert "training runs in" in text and "test/f1" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # θ sweep, θ curve, hidden sizes, recall bars
    assert os.environ["AVALIGN_MLFLOW_DB"] == str(db)
