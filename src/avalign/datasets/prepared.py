"""The tidy form of a dataset that every later stage reads: one row per usable annotated segment.

A prepared dataset is a folder with ``annotations.csv`` (the rows below), ``dataset.json`` (where
the videos live and what was found) and ``prepare_failures.csv`` (what was skipped and why).

Every row carries where its video's picture and sound really are on the file's timeline (probed,
see `avalign.media.probe.MediaInfo`), so that later stages plan only windows that both streams can
give: `usable_extent` is the one rule for that.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from avalign.media.probe import MediaInfo
from avalign.storage.atomic import atomic_target

ANNOTATIONS_CSV = "annotations.csv"
DATASET_JSON = "dataset.json"
FAILURES_CSV = "prepare_failures.csv"

#: Bump when the meaning of ``annotations.csv`` changes: it is part of the prepared dataset's
#: fingerprint (`avalign.features.pipeline.dataset_settings`), so an older dataset is rebuilt,
#: never read.
#: 2: picture durations leave out what edit lists hide; rows carry the real sound's extent.
PREPARE_VERSION = 2

#: Sound a window may need beyond either edge of the real sound (codec frames and container
#: timestamps round differently: AAC streams often end a few ms before the picture). Decoding
#: covers it (with the codec's end padding or, before the first sample, silence), and
#: `avalign.samples.perturb` fills at most this much; no window is planned that needs more.
END_SLACK_S = 0.05


def usable_extent(
    picture: tuple[float, float], sound: tuple[float, float], slack_s: float = END_SLACK_S
) -> tuple[float, float]:
    """The part of a file's timeline where a sample's windows may lie: inside the picture, and
    within ``slack_s`` of the real sound (``(start, end)`` pairs, seconds; empty when end <= start).
    """
    return max(picture[0], sound[0] - slack_s, 0.0), min(picture[1], sound[1] + slack_s)


@dataclass(frozen=True)
class PreparedSegment:
    """A usable segment of a readable video with sound, and the facts probed from that video.

    Times are seconds on the video file's timeline. ``video_duration_s`` is where the picture
    ends, ``video_start_s`` where it starts; ``audio_start_s``/``audio_end_s`` bound the real
    sound (NaN end: not probed, e.g. a segment made by hand; the sound is then taken to cover
    the picture).
    """

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
    video_start_s: float = 0.0
    audio_start_s: float = 0.0
    audio_end_s: float = math.nan

    @property
    def length_s(self) -> float:
        """Length of the segment in seconds."""
        return self.end_s - self.start_s

    @property
    def picture_extent(self) -> tuple[float, float]:
        """Where the picture is: (first shown picture, end of the last one)."""
        return self.video_start_s, self.video_duration_s

    @property
    def sound_extent(self) -> tuple[float, float]:
        """Where the real sound is (the picture's extent when it was not probed)."""
        if math.isnan(self.audio_end_s):
            return self.picture_extent
        return self.audio_start_s, self.audio_end_s

    @property
    def usable_extent(self) -> tuple[float, float]:
        """Where any window of a sample of this video may lie (see `usable_extent`)."""
        return usable_extent(self.picture_extent, self.sound_extent)


def segment_facts(info: MediaInfo) -> dict[str, float | int]:
    """The probed facts stored with every segment of a video."""
    return {
        "video_duration_s": round(info.duration_s, 4),
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 4),
        "audio_rate": info.audio_rate,
        "video_start_s": round(info.video_start_s, 4),
        "audio_start_s": round(info.audio_start_s, 4),
        "audio_end_s": round(info.audio_end_s, 4),
    }


def media_extent(info: MediaInfo) -> tuple[float, float]:
    """Where a sample's windows may lie in a probed video (see `usable_extent`), from the facts
    as stored, so that it agrees with the `PreparedSegment.usable_extent` of its segments."""
    facts = segment_facts(info)
    return usable_extent(
        (facts["video_start_s"], facts["video_duration_s"]),
        (facts["audio_start_s"], facts["audio_end_s"]),
    )


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
