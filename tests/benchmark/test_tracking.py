"""The benchmark's MLflow run names its set as its dataset input."""

from __future__ import annotations

from pathlib import Path

from avalign.benchmark.tracking import data_input


def test_the_benchmark_set_is_the_run_s_dataset_input(tmp_path):
    report = {"clips": 12, "windows": 340, "clips_without_window": [{"clip": "a", "why": "short"}]}
    item = data_input(report, tmp_path / "realdev-0a1b2c3d4e", "realdev", Path("/clips"))
    assert (item.name, item.digest, item.source) == ("benchmark/realdev", "0a1b2c3d4e", "/clips")
    assert item.context == "testing"
    assert item.profile == {"samples": 340, "clips": 12, "clips_without_window": 1}
