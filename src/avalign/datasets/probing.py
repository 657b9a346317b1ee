"""Probe a dataset's videos in parallel and keep those that can serve as sources of samples."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from avalign.failures import FailureLog
from avalign.media.errors import MediaError
from avalign.media.probe import MediaInfo, probe_media
from avalign.parallel import parallel_map


def probe_source(path: Path) -> MediaInfo:
    """Probe a video that must have a picture *and* a sound track (a source of samples)."""
    info = probe_media(path)
    if not info.has_audio:
        raise MediaError(path, "no audio stream (a source video needs sound to misalign)")
    return info


def probe_sources(
    paths: Iterable[Path], failures: FailureLog, *, workers: int = 1, progress: bool = True
) -> dict[Path, MediaInfo]:
    """Probe every path; return the usable ones; record the others and oddities in ``failures``."""
    usable: dict[Path, MediaInfo] = {}
    outcomes = parallel_map(
        probe_source,
        sorted(set(paths)),
        workers=workers,
        desc="probe videos",
        unit="video",
        progress=progress,
    )
    for outcome in outcomes:
        if outcome.error is not None:
            # a MediaError message starts with the path; keep just the problem
            problem = outcome.error.removeprefix(f"{outcome.item}: ")
            if outcome.error_type != "MediaError":
                problem = f"unexpected {outcome.error_type}: {problem}"
            failures.error(outcome.item, problem)
            continue
        info = outcome.result
        for note in info.notes:
            failures.warning(outcome.item, note)
        usable[outcome.item] = info
    return usable
