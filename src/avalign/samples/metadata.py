"""``generated_samples_metadata.csv``: one row per sample, the seed's columns plus parameters.

The first seven columns are the seed's (VideoID, StartTime, EndTime, Label
``Positive``/``Negative``, MisalignmentType, Category, FilePath); the rest record everything
needed to remake the sample: its id and split, the signed offset (ms, positive = audio late),
SNR (dB), tempo and drive (dB), the noise seed, the source video and segment, and the seed.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from avalign.samples.plan import SampleSpec
from avalign.storage.atomic import atomic_target

METADATA_CSV = "generated_samples_metadata.csv"

#: column name -> SampleSpec field
COLUMNS = {
    "VideoID": "video_id",
    "StartTime": "start_s",
    "EndTime": "end_s",
    "Label": "label",
    "MisalignmentType": "misalignment",
    "Category": "category",
    "FilePath": None,
    "SampleID": "sample_id",
    "Split": "split",
    "OffsetMs": "offset_ms",
    "SnrDb": "snr_db",
    "Tempo": "tempo",
    "DriveDb": "drive_db",
    "NoiseSeed": "noise_seed",
    "SourcePath": "source_path",
    "SegmentStart": "segment_start_s",
    "SegmentEnd": "segment_end_s",
    "SourceDuration": "source_duration_s",
    "Seed": None,
}
_FLOATS = {
    "start_s",
    "end_s",
    "offset_ms",
    "snr_db",
    "tempo",
    "drive_db",
    "segment_start_s",
    "segment_end_s",
    "source_duration_s",
}
_INTS = {"noise_seed"}


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:g}"
    return str(value)


def write_metadata(
    path: Path, samples: list[SampleSpec], *, seed: int, file_paths: dict[str, str] | None = None
) -> Path:
    """Write the metadata CSV atomically; ``file_paths`` maps sample id -> materialized mp4 path."""
    file_paths = file_paths or {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for spec in samples:
            row = []
            for column, name in COLUMNS.items():
                if column == "Label":
                    row.append("Positive" if spec.label == 1 else "Negative")
                elif column == "FilePath":
                    row.append(file_paths.get(spec.sample_id, ""))
                elif column == "Seed":
                    row.append(str(seed))
                else:
                    row.append(_cell(getattr(spec, name)))
            writer.writerow(row)
    return path


def read_metadata(path: Path) -> list[tuple[SampleSpec, str]]:
    """Read the CSV back: each sample and its FilePath ("" when not materialized)."""
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            values: dict = {}
            for column, name in COLUMNS.items():
                if name is None:
                    continue
                text = record[column]
                if name == "label":
                    values[name] = 1 if text == "Positive" else 0
                elif name in _FLOATS:
                    values[name] = float(text) if text else math.nan
                elif name in _INTS:
                    values[name] = int(text) if text else 0
                else:
                    values[name] = text
            rows.append((SampleSpec(**values), record["FilePath"]))
    return rows
