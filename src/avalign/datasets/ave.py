"""Prepare a copy of the AVE dataset (or anything in its layout, such as the synthetic corpus).

Layout: ``<root>/AVE/<VideoID>.mp4``, ``<root>/Annotations.txt`` and the official
``trainSet.txt``, ``valSet.txt``, ``testSet.txt``. A partial copy is fine: segments of missing
videos are counted and reported, the rest is prepared.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

from avalign.batch.failures import FailureLog
from avalign.datasets.annotations import (
    DEFAULT_MAX_TIME_S,
    Segment,
    read_annotation_file,
    read_split_ids,
)
from avalign.datasets.prepared import (
    PreparedDataset,
    PreparedSegment,
    media_extent,
    segment_facts,
)
from avalign.datasets.probing import probe_sources
from avalign.datasets.splits import SPLITS, random_video_splits, resolve_overlaps
from avalign.media.probe import MediaInfo

log = logging.getLogger(__name__)

ANNOTATION_FILE = "Annotations.txt"
SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}
VIDEO_FOLDER = "AVE"
#: A segment may reach this much past the time where its video has both picture and sound
#: (integer annotation times); it is then cut to that time. Further out, it is reported and
#: left out.
END_TOLERANCE_S = 0.5


class DatasetError(Exception):
    """A dataset that cannot be prepared at all (as opposed to one bad file inside it)."""


def read_official_splits(root: Path, failures: FailureLog) -> dict[str, set[str]]:
    """Video id -> the official split lists that name it (empty when no split file exists)."""
    memberships: dict[str, set[str]] = defaultdict(set)
    for split, name in SPLIT_FILES.items():
        path = root / name
        if not path.is_file():
            failures.warning(path, "split file not found")
            continue
        video_ids, problems = read_split_ids(path)
        for problem in problems:
            failures.error(path, problem.problem, item=f"line {problem.line}")
        for video_id in video_ids:
            memberships[video_id].add(split)
    return memberships


def assign_splits(
    segments: list[Segment],
    memberships: dict[str, set[str]],
    failures: FailureLog,
    *,
    seed: int,
    fractions: tuple[float, float, float],
) -> dict[str, str]:
    """Video id -> split, leak-free; falls back to a seeded split by video without split files."""
    if not memberships:
        log.warning("no official split files: splitting by video with seed %d", seed)
        return random_video_splits((s.video_id for s in segments), fractions, seed)
    assigned, overlaps = resolve_overlaps(memberships)
    for video_id, listed in overlaps.items():
        failures.warning(
            video_id, f"listed in {' and '.join(listed)} splits: kept in {listed[0]} only"
        )
    return assigned


def fit_segment(segment: Segment, info: MediaInfo) -> tuple[str, tuple[float, float]]:
    """The segment cut to the time where its video has both picture and real sound, or why not.

    Returns ``("", (start, end))``, or a problem and an empty pair when the segment reaches more
    than `END_TOLERANCE_S` past that time (the picture ending first says so, as it always did).
    """
    low, high = media_extent(info)
    where = f"segment {segment.start_s:g}-{segment.end_s:g} s"
    if segment.end_s > info.duration_s + END_TOLERANCE_S:
        return f"{where} ends after the video ({info.duration_s:.2f} s)", (0.0, 0.0)
    if segment.end_s > high + END_TOLERANCE_S:
        return f"{where} ends after the sound ({info.audio_end_s:.2f} s)", (0.0, 0.0)
    if segment.start_s < low - END_TOLERANCE_S:
        first = "sound" if info.audio_start_s > info.video_start_s else "picture"
        began = max(info.audio_start_s, info.video_start_s)
        return f"{where} starts before the {first} ({began:.2f} s)", (0.0, 0.0)
    start, end = max(float(segment.start_s), low), min(float(segment.end_s), high)
    if end <= start:
        return f"{where} has no time with both picture and sound", (0.0, 0.0)
    return "", (start, end)


def prepare_ave(
    root: str | Path,
    *,
    name: str = "ave",
    workers: int = 1,
    seed: int = 0,
    fallback_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    max_time_s: float = DEFAULT_MAX_TIME_S,
    progress: bool = True,
) -> tuple[PreparedDataset, FailureLog]:
    """Read annotations and splits, probe the videos present, and keep the usable segments.

    Returns the prepared dataset and the failures met (malformed lines, missing or unreadable
    videos, videos without sound, segments past the end of their video, split overlaps).
    """
    root = Path(root).expanduser().resolve()
    annotation_path = root / ANNOTATION_FILE
    if not annotation_path.is_file():
        raise DatasetError(f"{annotation_path}: annotation file not found (is {root} an AVE root?)")
    failures = FailureLog("prepare")
    segments, problems = read_annotation_file(annotation_path, max_time_s=max_time_s)
    for problem in problems:
        failures.error(annotation_path, problem.problem, item=f"line {problem.line}")
    splits = assign_splits(
        segments,
        read_official_splits(root, failures),
        failures,
        seed=seed,
        fractions=fallback_fractions,
    )

    video_paths = {s.video_id: root / VIDEO_FOLDER / f"{s.video_id}.mp4" for s in segments}
    missing = sorted(v for v, p in video_paths.items() if not p.is_file())
    for video_id in missing:
        failures.error(video_paths[video_id], "video file not found")
    unsplit = sorted({s.video_id for s in segments} - set(splits))
    for video_id in unsplit:
        failures.error(video_paths[video_id], "video is in no split list: left out")
    candidates = [p for v, p in video_paths.items() if v not in set(missing) | set(unsplit)]
    infos = probe_sources(candidates, failures, workers=workers, progress=progress)

    prepared: list[PreparedSegment] = []
    for segment in segments:
        path = video_paths[segment.video_id]
        info = infos.get(path)
        if info is None:
            continue  # the video was reported once already
        problem, (start, end) = fit_segment(segment, info)
        if problem:
            failures.error(path, problem, item=f"line {segment.line}")
            continue
        prepared.append(
            PreparedSegment(
                video_id=segment.video_id,
                category=segment.category,
                quality=segment.quality,
                start_s=start,
                end_s=end,
                split=splits[segment.video_id],
                video_path=str(path.relative_to(root)),
                source_line=segment.line,
                **segment_facts(info),
            )
        )
    summary = {
        "annotation_rows": len(segments) + len(problems),
        "malformed_rows": len(problems),
        "videos_annotated": len(video_paths),
        "videos_missing": len(missing),
        "videos_unusable": len(candidates) - len(infos),
        "videos_usable": len({s.video_id for s in prepared}),
        "segments_usable": len(prepared),
        "segments_per_split": {s: sum(p.split == s for p in prepared) for s in SPLITS},
    }
    log.info(
        "%s: %d of %d videos present (%d missing, %d unusable), %d usable segments",
        name,
        len(infos),
        len(video_paths),
        len(missing),
        summary["videos_unusable"],
        len(prepared),
    )
    return PreparedDataset(name, root, prepared, summary), failures
