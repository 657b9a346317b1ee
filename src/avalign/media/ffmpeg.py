"""Run the ffmpeg binary that `imageio-ffmpeg` ships (no system package), never via a shell."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

from avalign.media.errors import MediaError


@cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg executable bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(
    args: list[str], *, input_bytes: bytes | None = None, target: str | Path = ""
) -> None:
    """Run ``ffmpeg <args>`` quietly; raise `MediaError` naming ``target`` with ffmpeg's last words.

    ``args`` is a list passed straight to the process (no shell), so file names with spaces or
    non-ASCII characters need no quoting.
    """
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    result = subprocess.run(command, input=input_bytes, capture_output=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MediaError(
            target or args[-1], f"ffmpeg failed: {lines[-1] if lines else result.returncode}"
        )
