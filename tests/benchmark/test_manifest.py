"""The real clips' manifest, the blob hash, verification, and building clips from git.

No real clip is needed: the build tests commit a few small files to git repositories they make.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from avalign.benchmark.clips import main
from avalign.benchmark.manifest import (
    COLUMNS,
    RESERVED_REPOS,
    ClipEntry,
    ManifestError,
    git_blob_hash,
    is_reserved,
    packaged_manifest,
    read_manifest,
    source_video_of,
    verify_clips,
)

# git for the test's own repositories, isolated from the user's and the system's settings.
GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
IDENTITY = ["-c", "user.name=avalign", "-c", "user.email=avalign@example.com"]


def run_git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *IDENTITY, *args], cwd=cwd, env=GIT_ENV, capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def commit_files(repo: Path, files: dict[str, bytes]) -> str:
    """Write ``files`` into the work tree ``repo`` (made if needed), commit, return the commit."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        run_git(repo, "init", "--quiet")
        run_git(repo, "config", "uploadpack.allowFilter", "true")  # serve partial clones
    for name, data in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    run_git(repo, "add", *files)
    run_git(repo, "commit", "--quiet", "-m", "clips")
    return run_git(repo, "rev-parse", "HEAD")


def entry_for(repo: Path, name: str, commit: str, *, source_repo: str, file: str) -> dict:
    """A manifest row for ``name`` at ``commit`` of the test repository ``repo``."""
    blob = run_git(repo, "rev-parse", f"{commit}:{name}")
    size = run_git(repo, "cat-file", "-s", blob)
    return {
        "file": file,
        "source_repo": source_repo,
        "source_path": name,
        "commit": commit,
        "blob": blob,
        "size_bytes": size,
        "duration_s": "1.0",
        "category": "sound-event",
        "license": "MIT",
        "source_video": f"clip:{file}",
        "content": "test bytes",
    }


def write_manifest(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def random_bytes(n: int, seed: int) -> bytes:
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


# -- the packaged manifest ---------------------------------------------------------------------


def test_packaged_manifest_reads_with_every_fact():
    entries = read_manifest()
    assert len(entries) == 123
    assert Counter(e.category for e in entries) == {
        "sound-event": 60,
        "talking-head": 29,
        "music": 20,
        "speech": 10,
        "other": 4,
    }
    assert sum(e.duration_s for e in entries) == pytest.approx(1105.4, abs=0.5)
    assert len({e.file for e in entries}) == 123
    assert len({e.source_repo for e in entries}) == 30
    for e in entries:
        assert re.fullmatch(r"[0-9a-f]{40}", e.blob), e.file
        assert re.fullmatch(r"[0-9a-f]{40}", e.commit), e.file
        assert e.size_bytes > 0 and e.duration_s > 0
        assert not is_reserved(e.source_repo), e.file
        assert e.source_video == source_video_of(e.file, e.source_repo, e.source_path), e.file
    # one recording (or one speaker), several clips: they share a source video
    groups = Counter(e.source_video for e in entries)
    assert len(groups) == 114
    assert groups["youtube:003whBJovZ8"] == 2
    assert groups["voxceleb2:id01175"] == 2
    assert groups["lrs2:6046013437125640989"] == 2
    assert groups["group:greatest-hits"] == 4


def test_extra_manifest_is_packaged_and_built_by_its_own_set(tmp_path, capsys):
    extra = read_manifest(packaged="realdev_extra.csv")
    assert len(extra) == 43
    assert Counter(e.category for e in extra)["talking-head"] == 29
    assert not {e.file for e in extra} & {e.file for e in read_manifest()}
    assert all(not is_reserved(e.source_repo) for e in extra)
    assert main(["verify", str(tmp_path), "--set", "realdev_extra", "--no-progress"]) == 1
    assert "43 missing" in capsys.readouterr().out


def test_source_video_rules():
    assert source_video_of("a.mp4", "o/r", "v/--0PQM4-hqg_000030.mp4") == "youtube:--0PQM4-hqg"
    assert source_video_of("a.mp4", "o/r", "x/-1hDIl9Udkw_30.000_40.000.mp4") == (
        "youtube:-1hDIl9Udkw"
    )
    assert source_video_of("a.mp4", "o/r", "mp4/id01175/ju_JcqLGBn4/00031.mp4") == (
        "voxceleb2:id01175"
    )
    assert source_video_of("a.mp4", "o/r", "lrs3/pretrain/C8zY0oAdQrs/00018.mp4") == (
        "youtube:C8zY0oAdQrs"
    )
    # names that merely have the length of a YouTube id stay clips of their own
    assert source_video_of("x__baby_crying.mp4", "o/r", "g/baby_crying.mp4") == (
        "clip:x__baby_crying"
    )
    assert source_video_of("x__p.mp4", "o/r", "misc/Pose_Source/00067.mp4") == "clip:x__p"


def test_reserved_repository_is_refused(tmp_path):
    lines = packaged_manifest().splitlines()
    assert "Zulko/moviepy" in RESERVED_REPOS
    first = next(csv.DictReader(lines))
    lines[1] = lines[1].replace(first["source_repo"], "zulko/MoviePy", 1)  # GitHub ignores case
    path = tmp_path / "manifest.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"manifest\.csv line 2: zulko/MoviePy is a reserved"):
        read_manifest(path)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("blob", "abc123", "not 40 lowercase hex"),
        ("file", "../escape.mp4", "plain, visible file name"),
        ("size_bytes", "many", "not a number"),
        ("source_video", "", "empty field"),
    ],
)
def test_malformed_manifest_row_is_named(tmp_path, column, value, problem):
    row = next(csv.DictReader(packaged_manifest().splitlines()))
    row[column] = value
    path = write_manifest(tmp_path / "bad.csv", [row])
    with pytest.raises(ManifestError, match=rf"bad\.csv line 2: .*{problem}"):
        read_manifest(path)


# -- hashing and verification ------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 5, 100_003])
def test_git_blob_hash_equals_git_hash_object(tmp_path, size):
    path = tmp_path / "file.bin"
    path.write_bytes(random_bytes(size, seed=size))
    expected = run_git(tmp_path, "hash-object", str(path))
    assert git_blob_hash(path) == expected
    assert git_blob_hash(path, chunk_size=4096) == expected  # streamed in many chunks


def test_verify_catches_one_changed_byte_and_a_missing_file(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    entries = []
    for i, name in enumerate(["a.mp4", "b.mp4"]):
        (folder / name).write_bytes(random_bytes(2000, seed=i))
        h = git_blob_hash(folder / name)
        entries.append(ClipEntry(name, "o/r", name, "0" * 40, h, 2000, 1.0, "music", "MIT", name))
    assert verify_clips(folder, entries, progress=False).all_ok

    data = bytearray((folder / "a.mp4").read_bytes())
    data[1234] ^= 0x01  # one changed bit, same size
    (folder / "a.mp4").write_bytes(bytes(data))
    (folder / "b.mp4").unlink()
    report = verify_clips(folder, entries, progress=False)
    assert not report.all_ok
    assert [c.file for c in report.wrong_hash] == ["a.mp4"]
    assert [c.file for c in report.missing] == ["b.mp4"]
    problems = report.problems()
    assert problems[0].startswith("a.mp4: wrong hash (blob ") and entries[0].blob in problems[0]
    assert problems[1].startswith("b.mp4: missing")


# -- building from git -------------------------------------------------------------------------


def test_build_from_local_repository_resumes_and_reports_what_is_missing(tmp_path, capsys):
    repo = tmp_path / "local" / "clipsrepo"
    clip_bytes = {"media/one.mp4": random_bytes(3000, 1), "media/two.mp4": random_bytes(500, 2)}
    commit = commit_files(repo, clip_bytes)
    rows = [
        entry_for(repo, "media/one.mp4", commit, source_repo="owner/clips", file="one.mp4"),
        entry_for(repo, "media/two.mp4", commit, source_repo="owner/clips", file="two.mp4"),
    ]
    absent = {**rows[0], "file": "three.mp4", "source_repo": "nobody/absent"}
    manifest = write_manifest(tmp_path / "manifest.csv", [*rows, absent])
    repos = tmp_path / "REPOS.tsv"
    repos.write_text(f"# local copies\nOwner/Clips\t{repo}\n", encoding="utf-8")  # a work tree
    out = tmp_path / "out"
    args = ["--manifest", str(manifest), "--repos", str(repos), "--no-progress"]
    no_network = ["--url-template", f"file://{tmp_path}/nowhere/{{repo}}"]

    assert main(["build", str(out), *args, *no_network]) == 1
    text = capsys.readouterr().out
    for name, data in zip(["one.mp4", "two.mp4"], clip_bytes.values(), strict=True):
        assert (out / "raw" / name).read_bytes() == data
    assert not (out / "raw" / "three.mp4").exists()
    assert re.search(r"^three\.mp4: missing \(fetching .* failed", text, re.M)
    assert "2 written, 0 already present, 1 missing, 0 wrong hash" in text
    assert "OWNER/NAME<TAB>path to its git directory or clone" in text
    assert f"nobody/absent\t{commit}\t1" in text
    status = json.loads((out / "clips.json").read_text())
    assert {c["file"]: c["status"] for c in status["clips"]} == {
        "one.mp4": "written",
        "two.mp4": "written",
        "three.mp4": "missing",
    }
    assert status["complete"] is False

    # resume: present files are kept as they are; a damaged one is written again
    before = (out / "raw" / "one.mp4").stat().st_mtime_ns
    data = bytearray((out / "raw" / "two.mp4").read_bytes())
    data[10] ^= 0xFF
    (out / "raw" / "two.mp4").write_bytes(bytes(data))
    assert main(["build", str(out), *args, "--no-fetch"]) == 1
    text = capsys.readouterr().out
    assert "1 written, 1 already present, 1 missing" in text
    assert "three.mp4: missing (no local copy of nobody/absent given (--repos))" in text
    assert (out / "raw" / "one.mp4").stat().st_mtime_ns == before
    assert (out / "raw" / "two.mp4").read_bytes() == clip_bytes["media/two.mp4"]
    assert not [p for p in (out / "raw").iterdir() if p.name.startswith(".")]  # no temp files

    # verify: the complete manifest misses a clip (1); the two clips alone are complete (0)
    assert main(["verify", str(out), "--manifest", str(manifest), "--no-progress"]) == 1
    assert "three.mp4: missing" in capsys.readouterr().out
    complete = write_manifest(tmp_path / "two.csv", rows)
    assert main(["verify", str(out), "--manifest", str(complete), "--no-progress"]) == 0
    assert "2 present and verified, 0 missing, 0 with a wrong hash" in capsys.readouterr().out
    assert json.loads((out / "clips.json").read_text())["complete"] is True


def test_bad_repos_table_is_a_clear_error(tmp_path, capsys):
    repos = tmp_path / "REPOS.tsv"
    repos.write_text("owner/name /no/tab/here\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "out"), "--repos", str(repos), "--no-progress"]) == 2
    assert "REPOS.tsv line 1: expected OWNER/NAME<TAB>git directory" in capsys.readouterr().err


def test_clone_path_fetches_the_commit_and_only_the_clips_blobs(tmp_path, capsys):
    remote = tmp_path / "remotes" / "someone" / "media"
    big = random_bytes(300_000, 3)
    commit = commit_files(remote, {"clip.mp4": random_bytes(4000, 4), "big/other.bin": big})
    tip = commit_files(remote, {"clip.mp4": random_bytes(4000, 5)})  # another version
    row = entry_for(remote, "clip.mp4", commit, source_repo="someone/media", file="clip.mp4")
    newer = entry_for(remote, "clip.mp4", tip, source_repo="someone/media", file="newer.mp4")
    manifest = write_manifest(tmp_path / "manifest.csv", [row, newer])
    out, cache = tmp_path / "out", tmp_path / "cache"
    url = f"file://{tmp_path}/remotes/{{repo}}"
    argv = ["build", str(out), "--manifest", str(manifest), "--url-template", url]
    assert main([*argv, "--clone-dir", str(cache), "--no-progress"]) == 0
    assert "2 written, 0 already present, 0 missing" in capsys.readouterr().out
    assert git_blob_hash(out / "raw" / "clip.mp4") == row["blob"]
    assert git_blob_hash(out / "raw" / "newer.mp4") == newer["blob"] != row["blob"]

    # only the commit, its trees and the clip's blob came over; not the other large file
    git_dir = f"--git-dir={cache / 'someone+media'}"
    local = run_git(
        tmp_path, git_dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)"
    ).split()
    assert row["blob"] in local and commit in local
    big_blob = run_git(remote, "rev-parse", f"{commit}:big/other.bin")
    assert big_blob not in local
