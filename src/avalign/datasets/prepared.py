"""The tidy form of a dataset that every later stage reads: one row per usable annotated segment.

A prepared dataset is a folder with ``annotations.csv`` (the rows below), ``dataset.json`` (where
the videos live and what was found) and ``prepare_failures.csv`` (what was skipped and why).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from avalign.atomic import atomic_target
from avalign.media.probe import MediaInfo

ANNOTATIONS_CSV = "annotations.csv"
DATASET_JSON = "dataset.json"
FAILURES_CSV = "prepare_failures.csv"


@dataclass(frozen=True)
class PreparedSegment:
    """A usable segment of a readable video with sound, and the facts probed from that video."""

    video_id: str
    category: str
    quality: str
    start_s: float
    end_s: float
    split: str
    video_path: str  # relative to the dataset root
    source_line: int  # line in the annotation file (0 for generated windows)
    video_duration_s: float
    width: int
    height: int
    fps: float
    audio_rate: int

    @property
    def length_s(self) -> float:
        """Length of the segment in seconds."""
        return self.end_s - self.start_s


def segment_facts(info: MediaInfo) -> dict[str, float | int]:
    """The probed facts stored with every segment of a video."""
    return {
        "video_duration_s": round(info.duration_s, 4),
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 4),
        "audio_rate": info.audio_rate,
    }


@dataclass
class PreparedDataset:
    """A dataset's usable segments, the root their video paths are relative to, and a summary."""

    name: str
    root: Path
    segments: list[PreparedSegment]
    summary: dict

    def video_file(self, segment: PreparedSegment) -> Path:
        """Absolute path of the video a segment comes from."""
        return self.root / segment.video_path

    def split(self, name: str) -> list[PreparedSegment]:
        """The segments of one split."""
        return [s for s in self.segments if s.split == name]

    def write(self, folder: Path) -> None:
        """Write ``annotations.csv`` and ``dataset.json`` atomically into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        columns = [f.name for f in fields(PreparedSegment)]
        with (
            atomic_target(folder / ANNOTATIONS_CSV) as tmp,
            tmp.open("w", newline="", encoding="utf-8") as handle,
        ):
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for segment in self.segments:
                writer.writerow(asdict(segment))
        meta = {"name": self.name, "root": str(self.root), "summary": self.summary}
        with atomic_target(folder / DATASET_JSON) as tmp:
            tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> PreparedDataset:
        """Read a prepared dataset written by `write`."""
        meta = json.loads((folder / DATASET_JSON).read_text(encoding="utf-8"))
        types = {f.name: f.type for f in fields(PreparedSegment)}
        segments = []
        with (folder / ANNOTATIONS_CSV).open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                values = {
                    k: (float(v) if types[k] == "float" else int(v) if types[k] == "int" else v)
                    for k, v in row.items()
                }
                segments.append(PreparedSegment(**values))
        return cls(meta["name"], Path(meta["root"]), segments, meta.get("summary", {}))

    @staticmethod
    def exists(folder: Path) -> bool:
        """Whether a complete prepared dataset is in ``folder``."""
        return (folder / ANNOTATIONS_CSV).is_file() and (folder / DATASET_JSON).is_file()
