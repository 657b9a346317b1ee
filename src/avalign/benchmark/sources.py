"""Where a benchmark's clips come from: the real development clips, the synthetic corpus, a folder.

Each source gives `BenchmarkClip` facts: a file-name-safe id, the path under the clip folder, the
category, the recording it was cut from (for folds), and how many seconds of picture and of sound
the file really holds (probed and decoded, not read from the header: real tracks end early).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from avalign.batch.failures import FailureLog
from avalign.batch.parallel import parallel_map
from avalign.benchmark.windows import BenchmarkClip
from avalign.datasets.folder import VIDEO_EXTENSIONS, find_videos, video_id_for
from avalign.media.decode import decode_audio
from avalign.media.probe import probe_media

log = logging.getLogger(__name__)

#: Sound is decoded at this rate to measure its length (the feature rate: what features see).
MEASURE_RATE = 16000


@dataclass(frozen=True)
class ClipCandidate:
    """A file that may become a benchmark clip, before it is probed."""

    path: Path  # absolute
    relative: str  # to the clip folder
    category: str
    source_video: str


def measure(candidate: ClipCandidate) -> BenchmarkClip:
    """Probe the picture and decode the sound of one clip (raises MediaError)."""
    info = probe_media(candidate.path)
    sound = decode_audio(candidate.path, MEASURE_RATE) if info.has_audio else None
    return BenchmarkClip(
        clip_id=video_id_for(Path(candidate.relative)),
        path=candidate.relative,
        category=candidate.category,
        source_video=candidate.source_video,
        picture_s=round(info.duration_s, 4),
        sound_s=0.0 if sound is None else round(sound.size / MEASURE_RATE, 4),
    )


def measure_all(
    candidates: list[ClipCandidate],
    failures: FailureLog,
    *,
    workers: int = 1,
    progress: bool = True,
) -> list[BenchmarkClip]:
    """`measure` every candidate in parallel; unreadable files are reported and left out."""
    clips = []
    for outcome in parallel_map(
        measure, candidates, workers=workers, desc="probe clips", unit="clip", progress=progress
    ):
        if outcome.error is not None:
            failures.error(outcome.item.path, str(outcome.error))
            continue
        clips.append(outcome.result)
    return sorted(clips, key=lambda c: c.clip_id)


def realdev_candidates(
    folder: Path, manifest: Path | None = None, packaged: str = "realdev.csv"
) -> list[ClipCandidate]:
    """The development clips of a packaged manifest found in ``folder`` (built by ``clips``).

    Raises FileNotFoundError, with the command that builds them, when none is there.
    """
    from avalign.benchmark.manifest import read_manifest

    entries = read_manifest(manifest, packaged)
    raw = folder / "raw" if (folder / "raw").is_dir() else folder
    found = [e for e in entries if (raw / e.file).is_file()]
    if not found:
        raise FileNotFoundError(
            f"{raw}: none of the {len(entries)} development clips is there; build them with "
            f"`python -m avalign.benchmark.clips build {folder} --repos REPOS.tsv"
            f"{'' if packaged == 'realdev.csv' else ' --set ' + packaged.removesuffix('.csv')}` "
            "(see the README)"
        )
    if len(found) < len(entries):
        log.warning(
            "%s: %d of %d development clips present (run `python -m avalign.benchmark.clips "
            "verify %s` to see which are missing)",
            raw,
            len(found),
            len(entries),
            folder,
        )
    return [
        ClipCandidate(raw / e.file, e.file, e.category, e.source_video)
        for e in sorted(found, key=lambda e: e.file)
    ]


def rooted(candidates: list[ClipCandidate]) -> tuple[Path, list[ClipCandidate]]:
    """The folder that holds every candidate, and the candidates named relative to it (one
    clip set: its ``raw/`` folder and the plain file names; two: their common parent)."""
    root = Path(os.path.commonpath([c.path.parent for c in candidates]))
    return root, [
        dataclasses.replace(c, relative=c.path.relative_to(root).as_posix()) for c in candidates
    ]


def folder_candidates(folder: Path) -> list[ClipCandidate]:
    """Every video under ``folder``; category = sub-folder, each file its own recording."""
    paths = find_videos(folder, VIDEO_EXTENSIONS)
    if not paths:
        raise FileNotFoundError(f"{folder}: no video files found")
    out = []
    for path in paths:
        relative = path.relative_to(folder)
        category = relative.parent.as_posix() if relative.parent != Path(".") else "video"
        out.append(ClipCandidate(path, relative.as_posix(), category, relative.as_posix()))
    return out


def synthetic_candidates(
    prepare: Callable[[], tuple[Path, list[tuple[str, str, str, str]]]], splits: tuple[str, ...]
) -> tuple[Path, list[ClipCandidate]]:
    """Clips of the synthetic corpus in ``splits``: ``prepare()`` gives the dataset root and
    ``(video path, video id, category, split)`` per segment (several segments share a video)."""
    root, segments = prepare()
    seen: dict[str, ClipCandidate] = {}
    for video_path, video_id, category, split in segments:
        if split in splits and video_path not in seen:
            seen[video_path] = ClipCandidate(root / video_path, video_path, category, video_id)
    return root, sorted(seen.values(), key=lambda c: c.relative)
