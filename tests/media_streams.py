"""Tiny media whose picture and sound disagree the way real files do, made with the bundled ffmpeg.

Real clips are seldom as tidy as `media.make_video`'s: a clip cut without re-encoding keeps the
pictures before the cut and hides them with an edit list; a sound track can end before the picture
or start after it; an MPEG transport stream's timeline starts at 1.4 s. These helpers copy the
streams of `media.make_video` clips into such containers (no re-encoding, so the content is known).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from avalign.media.ffmpeg import run_ffmpeg
from media import make_video


def clip_with_sound(
    path: Path,
    *,
    picture_s: float,
    sound_s: float,
    sound_delay_s: float = 0.0,
    fps: int = 25,
    sample_rate: int = 16000,
) -> Path:
    """An mp4 with ``picture_s`` of picture and ``sound_s`` of sound, the sound starting
    ``sound_delay_s`` after the picture (both streams copied from `make_video` clips)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as parts:
        picture = make_video(
            Path(parts) / "picture.mp4", seconds=picture_s, fps=fps, sample_rate=None
        )
        sound = make_video(
            Path(parts) / "sound.m4a", seconds=sound_s, video=False, sample_rate=sample_rate
        )
        delay = ["-itsoffset", f"{sound_delay_s:.3f}"] if sound_delay_s else []
        streams = ["-map", "0:v:0", "-map", "1:a:0", "-c", "copy"]
        run_ffmpeg(["-i", str(picture), *delay, "-i", str(sound), *streams, str(path)], target=path)
    return path


def cut_with_edit_list(source: Path, path: Path, start_s: float) -> Path:
    """``source`` from ``start_s`` on, cut without re-encoding: the pictures from the keyframe
    before the cut stay in the file, hidden by an edit list (their times are negative)."""
    run_ffmpeg(["-ss", f"{start_s:.3f}", "-i", str(source), "-c", "copy", str(path)], target=path)
    return path


def as_transport_stream(source: Path, path: Path) -> Path:
    """``source``'s streams in an MPEG transport stream, whose timeline starts at about 1.4 s."""
    run_ffmpeg(["-i", str(source), "-c", "copy", "-f", "mpegts", str(path)], target=path)
    return path
