"""Move the sound by re-encoding it: sample-accurate, for drifts, edits and any constant offset.

Each audio stream is decoded from its own first packet onto the file's timeline
(`avalign.fixing.pcm`), moved block by block (`avalign.fixing.retime`), written to a scratch
file and encoded again in its own codec (`avalign.fixing.encoders`), starting at the time the
old track started (``asetpts``, with ``-copyts`` so that the picture keeps its own times).
Everything else of the input (the picture, subtitles, data streams, chapters, the container's
and each stream's metadata) is copied bit for bit. Memory is a few blocks of sound whatever the
file's length; the scratch files (8 bytes per sample and channel at most, two at a time) go to
the system's temporary folder.

What the encoder adds (AAC's 1024 priming samples, say, which an MPEG-TS file cannot hide) is
measured afterwards and removed by the caller (`avalign.fixing.verify`, `avalign.fixing.remux`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from avalign.fixing.encoders import encoder_args, encoder_for
from avalign.fixing.pcm import decode_to_pcm
from avalign.fixing.remux import metadata_args, stream_kinds
from avalign.fixing.retime import FADE_MS, Offsets, retime_track
from avalign.media.errors import MediaError
from avalign.media.ffmpeg import run_ffmpeg
from avalign.storage.atomic import atomic_target


def _layout_arg(layout: str, channels: int) -> str:
    """An ffmpeg ``-ch_layout`` value: the layout's name, or "<n>c" for an unnamed one."""
    return layout if layout and " " not in layout else f"{channels}c"


def reencode_file(
    source: Path,
    target: Path,
    offset_ms: Offsets,
    *,
    codec: str = "auto",
    bitrate: int | None = None,
    fade_ms: float = FADE_MS,
) -> list[str]:
    """Write ``target``: ``source`` with every audio stream moved and re-encoded.

    Written atomically. Returns the codec of each audio stream in OUT. Raises `MediaError` when
    the file cannot be read, has no audio, or its codec cannot be written into OUT's container.
    """
    source, target = Path(source), Path(target)
    kinds = stream_kinds(source)
    audio = [i for i, kind in enumerate(kinds) if kind == "audio"]
    if not audio:
        raise MediaError(source, "no audio stream to move")
    with tempfile.TemporaryDirectory(prefix="avalign-fix-") as scratch:
        inputs = ["-copyts", "-i", str(source)]
        encoders = ["-c", "copy"]
        codecs: list[str] = []
        for k, index in enumerate(audio):
            track = decode_to_pcm(source, index, Path(scratch) / f"decoded{k}.f32")
            moved = Path(scratch) / f"moved{k}.f32"
            retime_track(track, offset_ms, moved, fade_ms)
            track.path.unlink()
            inputs += ["-f", "f32le", "-ar", str(track.rate), "-ch_layout"]
            inputs += [_layout_arg(track.layout, track.channels), "-i", str(moved)]
            encoder = encoder_for(track.codec, codec)
            encoders += encoder_args(index, encoder, track.codec, track.bit_rate, bitrate)
            # the old track's start (``-itsoffset`` on a raw input does not reach the encoder)
            encoders += [f"-filter:{index}", f"asetpts=PTS+{track.start_s:.6f}/TB"]
            codecs.append(track.codec if codec == "auto" else encoder)
        by_index = {index: k for k, index in enumerate(audio)}
        maps: list[str] = []
        for index in range(len(kinds)):
            k = by_index.get(index)
            maps += ["-map", f"{k + 1}:a:0" if k is not None else f"0:{index}"]
        try:
            with atomic_target(target) as tmp:
                run_ffmpeg(
                    [*inputs, *maps, *metadata_args(audio), *encoders, str(tmp)], target=target
                )
        except MediaError as error:
            names = ", ".join(sorted(set(codecs)))
            raise MediaError(
                target,
                f"cannot write {names} sound into a {target.suffix or 'suffix-less'} file here "
                f"({error.problem}); audio_codec=ENCODER picks another codec (aac, libopus, "
                "flac, ...)",
            ) from error
    return codecs
