"""Turn any folder of the user's own videos into a dataset of fixed-length windows.

Every video with a picture and a sound track under the folder (recursively) is cut into windows
of ``window_s`` seconds every ``hop_s`` seconds, over the time where both the picture and the
real sound are (`avalign.datasets.prepared.usable_extent`); each window is a segment. Videos, not
windows, are split into train/val/test (deterministic by seed), so no video appears in two
splits. The category of a video is the name of its sub-folder (``video`` for files directly in
the root).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import unicodedata
from pathlib import Path

import numpy as np

from avalign.batch.failures import FailureLog
from avalign.datasets.ave import DatasetError
from avalign.datasets.prepared import (
    PreparedDataset,
    PreparedSegment,
    media_extent,
    segment_facts,
)
from avalign.datasets.probing import probe_sources
from avalign.datasets.splits import SPLITS, random_video_splits

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts")


def video_id_for(relative: Path) -> str:
    """A file-name-safe, unique id for a video: an ASCII slug of its name plus a short hash.

    The hash of the full relative path keeps two ``clip.mp4`` in different folders apart; the slug
    keeps the id readable. Non-ASCII names are transliterated where possible.
    """
    text = unicodedata.normalize("NFKD", relative.with_suffix("").as_posix())
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text.encode("ascii", "ignore").decode()).strip("-")
    digest = hashlib.sha1(relative.as_posix().encode("utf-8")).hexdigest()[:8]
    return f"{slug[-40:] or 'video'}-{digest}"


def window_starts(duration_s: float, window_s: float, hop_s: float) -> np.ndarray:
    """Start times of the full windows that fit in a clip (at least one when the clip is >= 1 s)."""
    if duration_s < window_s:
        return np.zeros(1) if duration_s >= 1.0 else np.zeros(0)
    count = int(np.floor((duration_s - window_s) / hop_s + 1e-9)) + 1
    return np.round(np.arange(count) * hop_s, 3)


def windows_in(
    extent: tuple[float, float], window_s: float, hop_s: float
) -> list[tuple[float, float]]:
    """The windows (start, end) of `window_starts` laid over ``extent`` of a file's timeline,
    on whole milliseconds that stay inside it."""
    start = math.ceil(round(extent[0] * 1000, 6)) / 1000
    end = math.floor(round(extent[1] * 1000, 6)) / 1000
    return [
        (round(start + float(offset), 3), round(min(start + float(offset) + window_s, end), 3))
        for offset in window_starts(end - start, window_s, hop_s)
    ]


def find_videos(root: Path, extensions: tuple[str, ...] = VIDEO_EXTENSIONS) -> list[Path]:
    """Every file under ``root`` whose extension looks like a video, sorted."""
    wanted = {e.lower() for e in extensions}
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in wanted)


def prepare_folder(
    root: str | Path,
    *,
    name: str = "folder",
    window_s: float = 4.0,
    hop_s: float = 4.0,
    split_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    extensions: tuple[str, ...] = VIDEO_EXTENSIONS,
    workers: int = 1,
    progress: bool = True,
) -> tuple[PreparedDataset, FailureLog]:
    """Prepare a folder of videos as windows; return the dataset and the failures met."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(f"{root}: folder not found")
    if window_s < 1.0 or hop_s <= 0:
        raise DatasetError(f"window_s must be >= 1 s and hop_s > 0 (got {window_s}, {hop_s})")
    failures = FailureLog("prepare")
    paths = find_videos(root, extensions)
    if not paths:
        raise DatasetError(f"{root}: no video files ({', '.join(extensions)}) found")
    infos = probe_sources(paths, failures, workers=workers, progress=progress)
    ids = {path: video_id_for(path.relative_to(root)) for path in infos}
    splits = random_video_splits(ids.values(), split_fractions, seed)
    segments: list[PreparedSegment] = []
    for path, info in sorted(infos.items()):
        relative = path.relative_to(root)
        category = relative.parent.as_posix() if relative.parent != Path(".") else "video"
        windows = windows_in(media_extent(info), window_s, hop_s)
        if not windows:
            start, end = media_extent(info)
            failures.error(path, f"no window: picture and sound overlap for {end - start:.2f} s")
        for start, end in windows:
            segments.append(
                PreparedSegment(
                    video_id=ids[path],
                    category=category,
                    quality="unknown",
                    start_s=start,
                    end_s=end,
                    split=splits[ids[path]],
                    video_path=relative.as_posix(),
                    source_line=0,
                    **segment_facts(info),
                )
            )
    summary = {
        "videos_found": len(paths),
        "videos_unusable": len(paths) - len(infos),
        "videos_usable": len(infos),
        "segments_usable": len(segments),
        "segments_per_split": {s: sum(x.split == s for x in segments) for s in SPLITS},
        "window_s": window_s,
        "hop_s": hop_s,
    }
    log.info("%s: %d of %d videos usable, %d windows", name, len(infos), len(paths), len(segments))
    return PreparedDataset(name, root, segments, summary), failures
