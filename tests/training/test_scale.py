"""Beyond one machine: local launcher shards, DDP on two CPU processes, a live tracking server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from avalign.features.config import FeatureConfig
from avalign.samples.metadata import read_metadata
from avalign.storage import tracking

TINY = ["dataset.num_clips=8", "generate.draws_per_segment=1", "progress=false", "workers=1"]


def cli(module: str, args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_local_launcher_runs_two_shards_into_one_cache(tmp_path):
    data = tmp_path / "data"
    args = [
        "-m",
        "extract.shard_index=0,1",
        "extract.num_shards=2",
        "hydra/launcher=local",
        f"paths.data_dir={data}",
        f"paths.output_dir={tmp_path / 'out'}",
        *TINY,
    ]
    result = cli("avalign.extract", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (metadata,) = data.glob("datasets/*/samples-*/generated_samples_metadata.csv")
    (features,) = metadata.parent.glob("features-*")
    expected = {spec.sample_id for spec, _ in read_metadata(metadata)}
    assert {p.stem for p in features.glob("[!.]*.npz")} == expected  # every sample, once
    assert sorted(p.name for p in features.glob("extract_failures-*.csv")) == [
        "extract_failures-shard0of2.csv",
        "extract_failures-shard1of2.csv",
    ]
    jobs = sorted(p.name for p in (tmp_path / "out").glob("extract-multirun/*/[0-9]*"))
    assert jobs == ["0", "1"]  # two jobs, each in its own folder, as a cluster array would run them
    assert list((tmp_path / "out").glob("extract-multirun/*/.submitit/*"))  # submitit's job files
    assert features.name == f"features-{FeatureConfig().fingerprint()}"


def test_ddp_on_two_cpu_processes_logs_one_run(tmp_path):
    db = tmp_path / "ddp.db"
    args = [
        "model=mlp",
        "trainer=ddp",
        "model.epochs=2",
        f"paths.data_dir={tmp_path / 'data'}",
        f"paths.output_dir={tmp_path / 'out'}",
        f"logger.db_path={db}",
        *TINY,
    ]
    result = cli("avalign.train", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "distributed_backend=gloo" in result.stderr + result.stdout
    client = tracking.client(db)
    runs = client.search_runs([client.get_experiment_by_name("avalign").experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert (
        runs[0].data.params["trainer/strategy"] == "ddp"
        and runs[0].data.params["trainer/devices"] == "2"
    )
    assert {"test/f1", "val/f1", "train/loss"} <= set(runs[0].data.metrics)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="trainer=gpu needs a CUDA GPU; this machine has none"
)
@pytest.mark.parametrize(
    "model",
    [["model=mlp", "model.epochs=2"], ["model=transformer", "model.epochs=2"], ["model=xcorr"]],
    ids=["mlp", "transformer", "xcorr"],
)
def test_one_gpu_trains_and_tests(tmp_path, model):
    args = [
        *model,
        "trainer=gpu",
        "logger=none",
        f"paths.data_dir={tmp_path / 'data'}",
        f"paths.output_dir={tmp_path / 'out'}",
        *TINY,
    ]
    result = cli("avalign.train", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GPU available: True (cuda), used: True" in result.stderr + result.stdout
    assert re.search(r"^test\s+\d", result.stdout, re.MULTILINE)  # the results table's test row


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def tracking_server(tmp_path):
    """`mlflow server` with a SQL backend and an artifact root, on a free local port."""
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            (tmp_path / "server-artifacts").as_uri(),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(f"mlflow server did not start: {server.stderr.read().decode()[-2000:]}")
    yield url
    os.killpg(server.pid, 15)
    server.wait(timeout=30)


def test_training_logs_to_a_live_tracking_server(tmp_path, tracking_server):
    args = [
        "model=threshold",
        f"logger.tracking_uri={tracking_server}",
        f"paths.data_dir={tmp_path / 'data'}",
        f"paths.output_dir={tmp_path / 'out'}",
        *TINY,
    ]
    result = cli("avalign.train", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    client = tracking.client(tracking_server)
    runs = client.search_runs([client.get_experiment_by_name("avalign").experiment_id])
    assert len(runs) == 1 and "test/f1" in runs[0].data.metrics
    artifacts = {a.path for a in client.list_artifacts(runs[0].info.run_id)}
    assert {"config.yaml", "model", "plots"} <= artifacts  # stored through the server
