"""Errors raised for unusable media: one line that names the file and the problem."""

from __future__ import annotations

from pathlib import Path


class MediaError(Exception):
    """A media file that cannot be used, with a one-line, human-readable reason.

    The message always has the form ``<path>: <problem>`` so that a log line or a failures report
    tells the user which file to look at and what is wrong with it.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # keep it on one line
        super().__init__(f"{self.path}: {self.problem}")
