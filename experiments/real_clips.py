"""The real development clips as the experiments read them, and exact intervals for their rates.

Shared by the experiments that measure on ``data/realdev/raw`` and ``data/realdev_extra/raw``
(rebuilt from ``../shared/realdev``, never committed): one fixed order of the clips, and the
Clopper-Pearson 95% interval every rate is reported with.
"""

from __future__ import annotations

import csv
from pathlib import Path

from scipy.stats import beta

from avalign.datasets.folder import VIDEO_EXTENSIONS, find_videos

REPO = Path(__file__).resolve().parents[1]
FOLDERS = (REPO / "data/realdev/raw", REPO / "data/realdev_extra/raw")


def real_clips() -> list[Path]:
    """Every real clip, ``data/realdev`` first, each folder in `find_videos` order."""
    return [clip for folder in FOLDERS for clip in find_videos(folder, VIDEO_EXTENSIONS)]


def upper_bound(hits: int, total: int) -> float:
    """Exact (Clopper-Pearson) 95% upper bound of the rate ``hits / total``."""
    return 1.0 if hits >= total else float(beta.ppf(0.975, hits + 1, total - hits))


def interval(hits: int, total: int) -> str:
    """``hits/total = rate [low, high]`` with the exact 95% interval."""
    low = float(beta.ppf(0.025, hits, total - hits + 1)) if hits else 0.0
    high = upper_bound(hits, total)
    return f"{hits}/{total} = {hits / max(total, 1):.3f} [{low:.3f}, {high:.3f}]"


def write_manifest(folder: Path, rows: list[dict]) -> None:
    """``folder/manifest.csv``: one row per file an experiment wrote, columns from the first row."""
    with open(folder / "manifest.csv", "w", newline="") as sink:
        writer = csv.DictWriter(sink, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
