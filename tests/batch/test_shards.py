"""Shards split a batch the same way in every process; a report is resumed only as it was made."""

from __future__ import annotations

import json

import pytest

from avalign.batch.resume import ResumeError, finished_records, write_json
from avalign.batch.shards import shard_of, shard_path


def test_shards_are_disjoint_cover_everything_and_ignore_the_order_given():
    items = [f"clip{k:02d}.mp4" for k in range(10)]
    parts = [shard_of(items, k, 3) for k in range(3)]
    assert set().union(*parts) == set(items) and sum(map(len, parts)) == 10
    assert shard_of(list(reversed(items)), 1, 3) == parts[1]
    with pytest.raises(ValueError, match="shard_index"):
        shard_of(items, 3, 3)


def test_each_shard_writes_its_own_file(tmp_path):
    assert shard_path(tmp_path / "out.json", 0, 1) == tmp_path / "out.json"
    assert shard_path(tmp_path / "out.json", 2, 4) == tmp_path / "out.shard2-of-4.json"
    assert shard_path("report.html", 0, 2).name == "report.shard0-of-2.html"


def test_finished_records_only_from_a_report_of_the_same_settings(tmp_path):
    path = tmp_path / "out.json"
    assert finished_records(path, {"a": 1}, key="path", done=lambda r: True) == {}
    files = [{"path": "x", "status": "ok"}, {"path": "y", "status": "error"}]
    write_json(path, {"files": files, "run": {"settings": {"a": 1}}})
    kept = finished_records(path, {"a": 1}, key="path", done=lambda r: r["status"] == "ok")
    assert list(kept) == ["x"]
    with pytest.raises(ResumeError, match="a 1 there, 2 now"):
        finished_records(path, {"a": 2}, key="path", done=lambda r: True)
    path.write_text(json.dumps({"files": files}))  # no "run": made by something else
    with pytest.raises(ResumeError, match="resume=false"):
        finished_records(path, {"a": 1}, key="path", done=lambda r: True)


def test_every_decision_setting_of_detect_is_compared_before_resuming():
    """A report made under another bar or threshold is never resumed (its verdicts differ)."""
    from hydra import compose, initialize_config_dir

    from avalign.detection.runner import settings_of
    from avalign.storage.config import config_dir

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(config_name="detect")
    settings = settings_of(cfg)
    for name in ("decide_at", "sync_prior", "out_of_sync_at", "substeps", "source"):
        assert name in settings and settings[name] == cfg[name]
