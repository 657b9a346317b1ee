"""A folder through `avalign.detect` in batches: workers, shards, merge and resume give one run's
report; a broken file is reported and skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avalign.detection import runner
from avalign.detection.check import EXIT_FAILED
from avalign.detection.command import run
from support.media import make_video, truncate, window_sample, write_windows

FAST = ["progress=false", "window_s=4", "hop_s=2", "source=null"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Three clips (in sync, audio late, in sync) and one broken file."""
    folder = tmp_path_factory.mktemp("batch")
    late = window_sample("time_shift", offset_ms=480.0)
    specs = {"a_synced": window_sample("None"), "b_late": late}
    write_windows(tmp_path_factory.mktemp("source"), specs, into=folder)
    make_video(folder / "c_plain.mp4", seconds=5.0)
    truncate(make_video(folder / "d_broken.mp4", seconds=3.0), 0.5)
    return folder


@pytest.fixture(scope="module")
def one_run(folder, tmp_path_factory) -> tuple[int, dict]:
    """The whole folder in one process: what every other way must agree with."""
    report = tmp_path_factory.mktemp("one") / "one.json"
    code = run([str(folder), "--json", str(report), *FAST])
    return code, json.loads(report.read_text())


def files_of(report: dict) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "plot"} for r in report["files"]]


def test_one_run_reports_every_file_in_order(one_run):
    code, report = one_run
    names = [Path(r["path"]).name for r in report["files"]]
    assert names == ["a_synced.mp4", "b_late.mp4", "c_plain.mp4", "d_broken.mp4"]
    assert report["files"][-1]["status"] == "error" and report["summary"]["failed"] == 1
    assert report["files"][1]["out_of_sync"] is True and code & EXIT_FAILED
    assert report["run"]["complete"] and report["run"]["files"] == 4


def test_two_workers_give_the_verdicts_of_one(folder, one_run, tmp_path):
    report = tmp_path / "workers.json"
    code = run([str(folder), "--json", str(report), "workers=2", *FAST])
    assert code == one_run[0]
    assert files_of(json.loads(report.read_text())) == files_of(one_run[1])


def test_shards_merge_into_the_report_of_one_run(folder, one_run, tmp_path):
    out = tmp_path / "out.json"
    for index in (0, 1):
        run([str(folder), "--json", str(out), "num_shards=2", f"shard_index={index}", *FAST])
    shards = sorted(tmp_path.glob("out.shard*.json"))
    assert [p.name for p in shards] == ["out.shard0-of-2.json", "out.shard1-of-2.json"]
    parts = [{r["path"] for r in json.loads(p.read_text())["files"]} for p in shards]
    assert not parts[0] & parts[1] and len(parts[0]) == len(parts[1]) == 2

    merged, page = tmp_path / "all.json", tmp_path / "all.html"
    code = run(["--merge", *map(str, shards), "--json", str(merged), "--report", str(page)])
    report = json.loads(merged.read_text())
    assert code == one_run[0]
    assert files_of(report) == files_of(one_run[1])
    assert report["summary"] == one_run[1]["summary"]
    assert report["run"]["complete"] and report["schema_version"] == one_run[1]["schema_version"]
    html = page.read_text()
    assert all(name in html for name in ("a_synced.mp4", "b_late.mp4", "d_broken.mp4"))


def test_a_merge_says_when_a_shard_is_missing(folder, tmp_path):
    out = tmp_path / "out.json"
    run([str(folder), "--json", str(out), "num_shards=2", "shard_index=1", *FAST])
    merged = tmp_path / "all.json"
    code = run(["--merge", str(tmp_path / "out.shard1-of-2.json"), "--json", str(merged)])
    assert code & EXIT_FAILED and not json.loads(merged.read_text())["run"]["complete"]


def test_an_interrupted_run_resumes_where_it_stopped(folder, one_run, tmp_path, monkeypatch):
    report = tmp_path / "out.json"
    checked: list[str] = []
    real = runner.check_file

    def stops_at_the_second(path, *args, **kwargs):
        if len(checked) == 1:
            raise KeyboardInterrupt
        checked.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(runner, "check_file", stops_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        run([str(folder), "--json", str(report), *FAST])
    partial = json.loads(report.read_text())  # written as each file finished
    assert [Path(r["path"]).name for r in partial["files"]] == ["a_synced.mp4"]
    assert partial["run"]["complete"] is False

    def counts(path, *args, **kwargs):
        checked.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(runner, "check_file", counts)
    checked.clear()
    code = run([str(folder), "--json", str(report), "resume=true", *FAST])
    assert checked == ["b_late.mp4", "c_plain.mp4", "d_broken.mp4"]  # errors are tried again
    assert code == one_run[0] and files_of(json.loads(report.read_text())) == files_of(one_run[1])

    checked.clear()
    run([str(folder), "--json", str(report), "resume=true", *FAST])
    assert checked == ["d_broken.mp4"]


def test_resume_never_mixes_in_results_of_other_settings(folder, tmp_path, capsys):
    report = tmp_path / "out.json"
    run([str(folder / "c_plain.mp4"), "--json", str(report), *FAST])
    before = report.read_text()
    code = run([str(folder / "c_plain.mp4"), "--json", str(report), "resume=true", *FAST[:-1]])
    assert code == EXIT_FAILED and "source None there, 'packaged' now" in capsys.readouterr().err
    assert report.read_text() == before
