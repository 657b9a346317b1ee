"""Read AVE-format annotation and split files: ``Category&VideoID&Quality&StartTime&EndTime``.

Lines are split on ``&`` only, because category names contain commas and spaces
(``Male speech, man speaking``). A UTF-8 byte-order mark and a header line are accepted (the copy
inside the AVE zip has both; the authors' repository copy has neither). Every malformed line is
reported with its line number and skipped; the others are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HEADER_PREFIX = "category&videoid"
FIELD_COUNT = 5
#: AVE clips are 10 s long; annotation times are integer seconds in [0, 10].
DEFAULT_MAX_TIME_S = 10


@dataclass(frozen=True)
class Segment:
    """One annotated event: `category` is heard and seen in `video_id` over [start_s, end_s)."""

    video_id: str
    category: str
    quality: str
    start_s: float
    end_s: float
    line: int  # 1-based line number in the annotation file

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class LineProblem:
    """A line that could not be used, with a one-line reason."""

    line: int
    text: str
    problem: str


_UNSAFE_ID = re.compile(r"[/\\\x00]|\.\.")


def check_video_id(video_id: str) -> str | None:
    """Return why ``video_id`` cannot name a file inside the dataset root, or None when it can.

    A VideoID becomes the path ``AVE/<VideoID>.mp4``; separators, ``..`` and empty names are
    rejected so that no annotation can make avalign read or write outside the dataset root.
    """
    if not video_id:
        return "empty VideoID"
    if _UNSAFE_ID.search(video_id):
        return (
            f"VideoID {video_id!r} contains '/', '\\\\' or '..' (must not leave the dataset root)"
        )
    if video_id.startswith(".") or video_id != video_id.strip():
        # a leading '-' is legal on YouTube (AVE has such IDs); a leading dot would hide the file
        return f"VideoID {video_id!r} starts with '.' or has surrounding spaces"
    return None


def _parse_time(text: str, name: str, max_time_s: float) -> tuple[int | None, str | None]:
    try:
        value = int(text.strip())
    except ValueError:
        return None, f"{name} {text!r} is not an integer number of seconds"
    if not 0 <= value <= max_time_s:
        return None, f"{name} {value} is outside [0, {max_time_s:g}] s"
    return value, None


def parse_line(
    text: str, line: int, *, max_time_s: float = DEFAULT_MAX_TIME_S
) -> Segment | LineProblem:
    """Parse one annotation line into a `Segment`, or say what is wrong with it."""
    fields = text.split("&")
    if len(fields) != FIELD_COUNT:
        return LineProblem(
            line, text, f"expected {FIELD_COUNT} '&'-separated fields, found {len(fields)}"
        )
    category, video_id, quality, start_text, end_text = (f.strip() for f in fields)
    if not category:
        return LineProblem(line, text, "empty category")
    id_problem = check_video_id(fields[1])
    if id_problem:
        return LineProblem(line, text, id_problem)
    start, problem = _parse_time(start_text, "start time", max_time_s)
    if problem:
        return LineProblem(line, text, problem)
    end, problem = _parse_time(end_text, "end time", max_time_s)
    if problem:
        return LineProblem(line, text, problem)
    if end < start:
        return LineProblem(line, text, f"end time {end} is before start time {start}")
    if end == start:
        return LineProblem(line, text, f"empty segment: start and end are both {start} s")
    return Segment(video_id, category, quality, float(start), float(end), line)


def _lines(path: Path):
    """(line number, text) of every non-blank line, without the optional header and BOM."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.rstrip("\r\n")
            if not text.strip():
                continue
            if number == 1 and text.strip().lower().replace(" ", "").startswith(HEADER_PREFIX):
                continue
            yield number, text


def read_annotation_file(
    path: str | Path, *, max_time_s: float = DEFAULT_MAX_TIME_S
) -> tuple[list[Segment], list[LineProblem]]:
    """Read an AVE annotation or split file: the good segments and the problems, in file order."""
    segments: list[Segment] = []
    problems: list[LineProblem] = []
    for number, text in _lines(Path(path)):
        parsed = parse_line(text, number, max_time_s=max_time_s)
        (segments if isinstance(parsed, Segment) else problems).append(parsed)
    return segments, problems


def read_split_ids(path: str | Path) -> tuple[list[str], list[LineProblem]]:
    """The VideoIDs an official split file lists (in order, repeats kept) and its unusable lines.

    Membership only needs the VideoID: a line whose times are bad (the real AVE lists carry the
    zero-length row ``0&0``) still says which split its video belongs to.
    """
    ids: list[str] = []
    problems: list[LineProblem] = []
    for number, text in _lines(Path(path)):
        fields = text.split("&")
        problem = (
            f"expected {FIELD_COUNT} '&'-separated fields, found {len(fields)}"
            if len(fields) != FIELD_COUNT
            else check_video_id(fields[1])
        )
        if problem:
            problems.append(LineProblem(number, text, problem))
        else:
            ids.append(fields[1])
    return ids, problems


def format_line(segment: Segment) -> str:
    """Write a segment back as an AVE annotation line (integer seconds)."""
    return "&".join(
        [
            segment.category,
            segment.video_id,
            segment.quality,
            str(int(segment.start_s)),
            str(int(segment.end_s)),
        ]
    )
