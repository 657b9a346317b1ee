"""Probe a dataset's videos in parallel and keep those that can serve as sources of samples."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from avalign.batch.failures import FailureLog
from avalign.batch.parallel import parallel_map
from avalign.datasets.prepared import END_SLACK_S, media_extent
from avalign.media.errors import MediaError
from avalign.media.probe import DURATION_SLACK_S, MIN_DURATION_S, MediaInfo, probe_media


def stream_notes(info: MediaInfo) -> tuple[str, ...]:
    """A warning when picture and sound start or end apart by more than `END_SLACK_S`: samples
    then use only the time where both are (empty when they agree)."""
    gaps = []
    start_gap = info.audio_start_s - info.video_start_s
    if abs(start_gap) > END_SLACK_S:
        later, other = ("sound", "picture") if start_gap > 0 else ("picture", "sound")
        gaps.append(f"{later} starts {abs(start_gap):.3f} s after the {other}")
    end_gap = info.audio_end_s - info.duration_s
    if abs(end_gap) > END_SLACK_S:
        earlier, other = ("sound", "picture") if end_gap < 0 else ("picture", "sound")
        gaps.append(f"{earlier} ends {abs(end_gap):.3f} s before the {other}")
    if not gaps:
        return ()
    return (
        f"{'; '.join(gaps)} (picture {info.video_start_s:.3f}-{info.duration_s:.3f} s, sound "
        f"{info.audio_start_s:.3f}-{info.audio_end_s:.3f} s): samples use only the time where "
        "both are",
    )


def probe_source(path: Path) -> MediaInfo:
    """Probe a video that must have a picture *and* a sound track (a source of samples) that
    overlap for at least a sample's shortest length."""
    info = probe_media(path)
    if not info.has_audio:
        raise MediaError(path, "no audio stream (a source video needs sound to misalign)")
    start, end = media_extent(info)
    if end - start < MIN_DURATION_S - DURATION_SLACK_S:
        raise MediaError(
            path,
            f"picture and sound overlap for {max(0.0, end - start):.2f} s only (at least "
            f"{MIN_DURATION_S:.0f} s needed; picture {info.video_start_s:.2f}-"
            f"{info.duration_s:.2f} s, sound {info.audio_start_s:.2f}-{info.audio_end_s:.2f} s)",
        )
    return dataclasses.replace(info, notes=info.notes + stream_notes(info))


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
