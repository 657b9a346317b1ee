"""Every problem with OUT is one line naming OUT, found before detection; nothing overwritten."""

from __future__ import annotations

import json

import pytest

import avalign.fixing.resync as resync
from avalign.fixing.outputs import container_for, output_problem
from avalign.fixing.resync import EXIT_FAILED, run
from support.media import make_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("outputs") / "clip.mp4", seconds=3.0)


@pytest.fixture
def no_detection(monkeypatch):
    """Fail the test if a detector is loaded: OUT problems must be found before."""

    def refuse(cfg):
        raise AssertionError("a detector was loaded although every OUT is unusable")

    monkeypatch.setattr(resync, "load_detector", refuse)


def fix(tmp_path, *args) -> tuple[int, dict]:
    report = tmp_path / "fix.json"
    code = run([*map(str, args), f"json={report}", "progress=false", "check=false"])
    return code, json.loads(report.read_text())


def existing(folder, clip):
    (folder / "taken.mp4").write_bytes(b"x")
    return folder / "taken.mp4"


def under_a_file(folder, clip):
    (folder / "file").write_text("")
    return folder / "file" / "out.mp4"


@pytest.mark.parametrize(
    ("make_out", "problem"),
    [
        (lambda folder, clip: clip, "OUT is IN"),
        (existing, "OUT exists"),
        (under_a_file, "is a file"),
        (lambda folder, clip: folder / "out.notacontainer", "no container"),
        (lambda folder, clip: folder / "out", "no container"),
    ],
)
def test_an_unusable_out_is_one_line_naming_it(
    clip, tmp_path, capsys, no_detection, make_out, problem
):
    out = make_out(tmp_path, clip)
    before = out.read_bytes() if out.is_file() else None
    code, report = fix(tmp_path, clip, out, "offset_ms=100")
    result = report["files"][0]
    assert code == EXIT_FAILED and result["status"] == "error" and problem in result["reason"]
    error = capsys.readouterr().err.strip().splitlines()
    assert error[0].startswith(f"{out}: ") and problem in error[0]  # names OUT, not IN
    assert (out.read_bytes() if out.is_file() else None) == before  # nothing overwritten


def test_overwrite_true_replaces_an_existing_out(clip, tmp_path):
    out = tmp_path / "taken.mp4"
    out.write_bytes(b"old")
    code, report = fix(tmp_path, clip, out, "offset_ms=100", "overwrite=true")
    assert code == 0 and report["files"][0]["status"] == "fixed"
    assert out.stat().st_size > 1000


def test_a_batch_reports_the_bad_out_and_fixes_the_rest(clip, tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    for name in ("a.mp4", "b.mp4"):
        (folder / name).write_bytes(clip.read_bytes())
    (out / "a.mp4").write_bytes(b"keep me")
    code, report = fix(tmp_path, folder, out, "offset_ms=100")
    status = {r["in"].rsplit("/", 1)[-1]: r for r in report["files"]}
    assert code == EXIT_FAILED
    assert status["a.mp4"]["status"] == "error" and "OUT exists" in status["a.mp4"]["reason"]
    assert status["b.mp4"]["status"] == "fixed" and (out / "b.mp4").stat().st_size > 1000
    assert (out / "a.mp4").read_bytes() == b"keep me"


def test_containers_are_known_by_their_extension(tmp_path):
    assert container_for(".mkv") == "matroska" and container_for(".webm") == "webm"
    assert container_for(".ts") == "mpegts" and container_for(".xyz") is None
    assert output_problem(tmp_path / "a.mp4", tmp_path / "b.mov", overwrite=False) is None
