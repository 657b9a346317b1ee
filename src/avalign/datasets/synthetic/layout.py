"""The AVE dataset's on-disk layout: file names and the text formats of its annotations.

``Annotations.txt`` starts with the header ``Category&VideoID&Quality&StartTime&EndTime``
and has one line per event, e.g. ``ball_bounce&aB3dE5fG7hJ&good&2&7``; the split files
(``trainSet.txt``, ``valSet.txt``, ``testSet.txt``) use the same lines without a header.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .spec import ClipRecord

VIDEO_DIR = "AVE"
ANNOTATIONS = "Annotations.txt"
HEADER = "Category&VideoID&Quality&StartTime&EndTime"
SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}
MANIFEST = "corpus.json"
QUALITY = "good"


def video_path(root: Path, video_id: str) -> Path:
    """Where the mp4 of ``video_id`` lives under ``root``."""
    return Path(root) / VIDEO_DIR / f"{video_id}.mp4"


def annotation_lines(records: Iterable[ClipRecord]) -> list[str]:
    """One ``Category&VideoID&Quality&Start&End`` line per event, in record order."""
    return [
        f"{event.category}&{record.video_id}&{QUALITY}&{event.start}&{event.end}"
        for record in records
        for event in sorted(record.events, key=lambda e: e.start)
    ]


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    Leaves the file untouched when it already holds exactly ``text``.
    """
    path = Path(path)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_annotation_files(
    root: Path, records: list[ClipRecord], splits: dict[str, str]
) -> dict[str, int]:
    """Write ``Annotations.txt`` and the three split files; return videos per split."""
    root = Path(root)
    write_text_atomic(root / ANNOTATIONS, "\n".join([HEADER, *annotation_lines(records)]) + "\n")
    counts = {}
    for split, name in SPLIT_FILES.items():
        members = [r for r in records if splits[r.video_id] == split]
        lines = annotation_lines(members)
        write_text_atomic(root / name, "".join(line + "\n" for line in lines))
        counts[split] = len(members)
    return counts
