"""Move the sound by rewriting its timestamps: nothing decoded, nothing re-encoded, nothing lost.

For a constant offset a player needs no new samples, only new times: ffmpeg reads the file twice,
the second time with ``-itsoffset`` (every timestamp of that input moved by the shift), takes the
picture and every other stream from the first reading and the audio streams from the second,
and copies all packets bit for bit (``-c copy``). ``-copyts`` keeps the file's own timestamps
(an MPEG-TS timeline that starts at 1.4 s stays there), so the sound moves by exactly the shift
against the picture.

How each container carries the new times (and which players honour them):

- Sound that now starts before the picture would need negative times: every stream is shifted
  by the same amount instead (``-avoid_negative_ts make_non_negative``), so the picture starts a
  little after 00:00 and all the sound is still presented.
- MP4 / MOV carry a stream that starts after 00:00 as an empty edit in its edit list (``elst``);
  every mainstream player honours edit lists (ffmpeg/ffplay, VLC, mpv, QuickTime, browsers).
- Matroska / WebM store each block's time, MPEG-TS each packet's on its 90 kHz clock: the audio
  packets simply carry new times.

The caller checks what the written file presents (`avalign.fixing.verify`) and re-encodes
instead when a container did not carry the move.
"""

from __future__ import annotations

from pathlib import Path

import av

from avalign.media.errors import MediaError
from avalign.media.ffmpeg import run_ffmpeg
from avalign.storage.atomic import atomic_target


def stream_kinds(path: Path) -> list[str]:
    """The type of every stream of ``path`` in container order ("video", "audio", ...)."""
    try:
        with av.open(str(path)) as container:
            return [stream.type for stream in container.streams]
    except (FileNotFoundError, av.error.FFmpegError) as error:
        raise MediaError(path, f"cannot open: {getattr(error, 'strerror', error)}") from error


def metadata_args(audio: list[int]) -> list[str]:
    """Keep the container's and each stream's metadata and the chapters of input 0."""
    args = ["-map_metadata", "0", "-map_chapters", "0"]
    for index in audio:
        args += [f"-map_metadata:s:{index}", f"0:s:{index}"]
    return args


def remux_file(source: Path, target: Path, shift_s: float) -> None:
    """Write ``target``: ``source`` with every audio stream ``shift_s`` later (earlier if < 0).

    Written atomically; raises `MediaError` when ffmpeg cannot write the file.
    """
    source, target = Path(source), Path(target)
    kinds = stream_kinds(source)
    audio = [i for i, kind in enumerate(kinds) if kind == "audio"]
    if not audio:
        raise MediaError(source, "no audio stream to move")
    inputs = ["-copyts", "-i", str(source), "-itsoffset", f"{shift_s:.6f}", "-i", str(source)]
    maps: list[str] = []
    for index in range(len(kinds)):
        maps += ["-map", f"{1 if index in audio else 0}:{index}"]
    with atomic_target(target) as tmp:
        keep = ["-c", "copy", "-avoid_negative_ts", "make_non_negative"]
        run_ffmpeg([*inputs, *maps, *metadata_args(audio), *keep, str(tmp)], target=target)
