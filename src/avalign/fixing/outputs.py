"""Every problem with where `fix` is to write, found before any file is read.

A batch of a thousand files must not spend an hour detecting and then fail on the first write,
nor replace a file the user did not mean to lose. So each OUT is checked first: it must not be
IN, must not exist (unless ``overwrite=true``), its folder must be a folder (or creatable) and
writable, and its extension must name a container that ffmpeg writes. A problem is one line
naming OUT; that file is skipped, the others go on.
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path

import av


@cache
def container_for(suffix: str) -> str | None:
    """The ffmpeg muxer that writes files ending in ``suffix`` (".mkv"), or None."""
    if not suffix:
        return None
    with tempfile.TemporaryDirectory(prefix="avalign-out-") as scratch:
        try:
            with av.open(str(Path(scratch) / f"probe{suffix}"), "w") as container:
                return container.format.name
        except (ValueError, av.error.FFmpegError):
            return None


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def output_problem(source: Path, target: Path, overwrite: bool) -> str | None:
    """Why ``target`` cannot be written as the fixed copy of ``source``, or None."""
    if target.exists() and source.resolve() == target.resolve():
        return "OUT is IN: fix never overwrites its input"
    if target.is_dir():
        return "OUT is a folder"
    if target.exists() and not overwrite:
        return "OUT exists (overwrite=true replaces it)"
    parent = _nearest_existing(target.parent)
    if not parent.is_dir():
        return f"cannot create OUT's folder: {parent} is a file"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"OUT's folder {parent} is not writable"
    if container_for(target.suffix.lower()) is None:
        return f"no container is written for the extension {target.suffix or '(none)'!r}"
    return None
