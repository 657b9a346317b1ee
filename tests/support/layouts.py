"""A `flashes` clip misaligned the ways real files are, in each container, made with ffmpeg.

- ``audio_later`` / ``video_later``: one stream starts `SHIFT_S` after the other (``-itsoffset``
  on one reading of the file, every packet copied), as when a recorder starts its tracks apart;
  the sound's content is shifted too where needed, so that either sign can be asked for;
- ``edit_list``: a clip whose sound is shifted in its content, cut without re-encoding
  (``-ss`` with ``-c copy``): MP4 and MOV hide the pictures before the cut with an edit list;
- ``reencoded``: the sound shifted in its content and encoded so.

The sign says which way: +1 makes the sound late, -1 early. MP4, MOV, MKV and MPEG-TS hold
H.264 and AAC; WebM holds VP9 and Opus.
"""

from __future__ import annotations

from pathlib import Path

from avalign.media.ffmpeg import run_ffmpeg
from support.flashes import flash_clip

CONTAINERS = ("mp4", "mov", "mkv", "ts", "webm")
LAYOUTS = ("audio_later", "video_later", "edit_list", "reencoded")
#: The shift every layout makes, s.
SHIFT_S = 0.32


def base_clip(
    folder: Path, container: str, shift_s: float = 0.0, seconds: float = 4.0, gop: int = 0
) -> Path:
    """The clip in ``container``'s own codecs, sound ``shift_s`` late in its content; with a
    keyframe every ``gop`` pictures if given (a cut without re-encoding starts at one)."""
    name = f"base_{container}_{round(shift_s * 1000):+d}_{gop}"
    made = folder / (f"{name}.mp4" if not gop else f"{name}_made.mp4")
    mp4 = flash_clip(made, seconds=seconds, channels=2, shift_s=shift_s)
    if container == "mp4" and not gop:
        return mp4
    path = folder / f"{name}.{container}"
    keyframes = ["-g", str(gop)] if gop else []
    if container == "webm":
        codecs = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", *keyframes]
        codecs += ["-b:v", "200k", "-c:a", "libopus", "-b:a", "96k"]
    elif gop:
        codecs = ["-c:v", "libx264", "-preset", "ultrafast", *keyframes, "-c:a", "copy"]
    else:
        codecs = ["-c", "copy"]
    run_ffmpeg(["-i", str(mp4), *codecs, str(path)], target=path)
    return path


def misaligned(folder: Path, container: str, layout: str, sign: int) -> Path:
    """The clip in ``container`` misaligned by ``layout`` (`SHIFT_S`, sound late if sign > 0)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{layout}_{'late' if sign > 0 else 'early'}.{container}"
    if layout == "reencoded":
        base_clip(folder, container, sign * SHIFT_S).replace(path)
        return path
    if layout == "edit_list":
        shifted = base_clip(folder, container, sign * SHIFT_S, seconds=5.5, gop=10)
        run_ffmpeg(["-ss", "1.3", "-i", str(shifted), "-c", "copy", str(path)], target=path)
        return path
    delayed = "a" if layout == "audio_later" else "v"
    kept = "v" if delayed == "a" else "a"
    start_gap = SHIFT_S if delayed == "a" else -SHIFT_S  # what the late start does alone
    base = base_clip(folder, container, sign * SHIFT_S - start_gap)
    inputs = ["-itsoffset", f"{SHIFT_S}", "-i", str(base), "-i", str(base)]
    maps = ["-map", f"0:{delayed}", "-map", f"1:{kept}"]
    if delayed == "a":
        maps = maps[2:] + maps[:2]  # the picture first, as in the source
    run_ffmpeg([*inputs, *maps, "-c", "copy", str(path)], target=path)
    return path
