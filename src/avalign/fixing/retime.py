"""Move a file's sound in time against its picture; write it without touching the picture.

`retime_file` decodes every audio stream of a file to float PCM at its own rate and channel
layout (PyAV), moves it (`retime_samples`), re-encodes it and muxes it with everything else of the
input copied bit for bit (ffmpeg ``-c copy``: the video stream, subtitles, data streams, chapters,
the container's and each stream's metadata). What "moved" means, on the file's own timeline:

- **constant offset** (audio late by ``o`` ms): the new sound at time ``t`` is the old sound at
  ``t + o``, shifted by a whole number of samples at the track's own rate (sample-accurate: the
  error is at most half a sample, 0.01 ms at 48 kHz). The track keeps its length and start:
  audio that was late loses its first ``o`` ms and ends with ``o`` ms of digital silence; audio
  that was early starts with silence and loses its last ``|o|`` ms.
- **drift** (``o(t) = o0 + b t``): the sound is resampled to the picture's clock, new ``t`` = old
  ``t + o0 + b t``, by windowed-sinc interpolation (Kaiser window, `SINC_HALF_WIDTH` taps each
  side, low-passed when the sound is sped up). Pitch moves with speed, as it did when the
  recorder's clock was wrong.
- **edit** (``o1`` before time ``tau``, ``o2`` after): each part moved by its own offset.

Every place where moved sound meets silence or a cut (the start of a trimmed track, the end of
a track that runs into silence, an edit) gets a raised-cosine fade of `FADE_MS`, so no click.
Memory: each audio stream is held as float32 while it is moved (about 1.4 GB per hour of 48 kHz
stereo).

The codec: the input stream's own codec at its bit rate where ffmpeg can encode it into the
output container, else AAC (``fallback_codec``); the output's stream order, languages and
titles are those of the input.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from avalign.media.errors import MediaError
from avalign.media.ffmpeg import run_ffmpeg
from avalign.storage.atomic import atomic_target

#: Length of the fades where moved sound meets silence or a cut, ms.
FADE_MS = 10.0
#: Taps on each side of the windowed-sinc interpolator (drift correction).
SINC_HALF_WIDTH = 16
#: Kaiser window shape of the interpolator (stop-band about -80 dB).
KAISER_BETA = 8.6
#: Fractional positions the interpolator distinguishes per sample (1/1024: -60 dB error).
PHASES = 1024
#: Outputs interpolated per block (bounds the interpolator's scratch memory).
BLOCK = 1 << 16
#: Bit rate for lossy codecs when the input does not declare one, bit/s.
DEFAULT_BITRATE = 192_000
#: Codecs stored without loss (no bit rate is passed to their encoders).
LOSSLESS = {"flac", "alac", "wavpack", "tta", "mlp", "truehd"}


@dataclass(frozen=True)
class AudioTrack:
    """One decoded audio stream: samples on the file's timeline and how it was coded."""

    index: int  # stream index in the container
    samples: np.ndarray  # (channels, n) float32
    rate: int
    layout: str
    codec: str
    bit_rate: int | None
    start_s: float  # time of sample 0 on the file's timeline


def read_audio_tracks(path: Path) -> list[AudioTrack]:
    """Every audio stream of ``path`` decoded to planar float32 at its own rate and layout."""
    try:
        container = av.open(str(path))
    except (FileNotFoundError, av.error.FFmpegError) as error:
        raise MediaError(path, f"cannot open: {getattr(error, 'strerror', error)}") from error
    tracks = []
    try:
        for stream in container.streams.audio:
            rate = int(stream.codec_context.sample_rate or stream.rate or 0)
            layout = stream.codec_context.layout.name
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            chunks, start = [], None
            container.seek(0)
            for frame in container.decode(stream):
                if start is None and frame.pts is not None:
                    start = float(frame.pts * stream.time_base)
                for piece in resampler.resample(frame):
                    chunks.append(piece.to_ndarray())
            for piece in resampler.resample(None):
                chunks.append(piece.to_ndarray())
            channels = stream.codec_context.channels
            samples = (
                np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
                if chunks
                else np.zeros((channels, 0), np.float32)
            )
            tracks.append(
                AudioTrack(
                    stream.index,
                    samples,
                    rate,
                    layout,
                    stream.codec_context.codec.canonical_name,  # "mp3", not "mp3float"
                    stream.bit_rate or stream.codec_context.bit_rate or None,
                    start or 0.0,
                )
            )
    except av.error.FFmpegError as error:
        raise MediaError(path, f"audio decoding failed: {error.strerror}") from error
    finally:
        container.close()
    return tracks


def _sinc_table(cutoff: float) -> np.ndarray:
    """Kaiser-windowed sinc weights, ``(PHASES + 1, 2 * SINC_HALF_WIDTH)``, per fractional phase.

    Row ``p`` holds the weights of taps ``-SINC_HALF_WIDTH + 1 .. SINC_HALF_WIDTH`` around
    ``floor(position)`` for a position whose fractional part is ``p / PHASES``.
    """
    taps = np.arange(-SINC_HALF_WIDTH + 1, SINC_HALF_WIDTH + 1)
    distance = taps[None, :] - (np.arange(PHASES + 1) / PHASES)[:, None]
    window = np.i0(KAISER_BETA * np.sqrt(np.clip(1 - (distance / SINC_HALF_WIDTH) ** 2, 0, 1)))
    weights = cutoff * np.sinc(cutoff * distance) * window / np.i0(KAISER_BETA)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def _sinc_interpolate(samples: np.ndarray, positions: np.ndarray, cutoff: float) -> np.ndarray:
    """``samples`` (C, n) read at fractional ``positions`` (m,) with a Kaiser-windowed sinc.

    ``cutoff`` (<= 1) is the low-pass edge as a share of the input's Nyquist frequency. The
    fractional part of each position is rounded to 1 / `PHASES` of a sample.
    """
    channels = samples.shape[0]
    table = _sinc_table(cutoff)
    taps = np.arange(-SINC_HALF_WIDTH + 1, SINC_HALF_WIDTH + 1)
    padded = np.pad(samples, ((0, 0), (SINC_HALF_WIDTH, SINC_HALF_WIDTH + 1)))
    out = np.zeros((channels, positions.size), np.float32)
    for start in range(0, positions.size, BLOCK):
        where = positions[start : start + BLOCK]
        base = np.floor(where).astype(np.int64)
        weights = table[np.round((where - base) * PHASES).astype(np.int64)]
        index = np.clip(base[:, None] + taps[None, :] + SINC_HALF_WIDTH, 0, padded.shape[1] - 1)
        for c in range(channels):
            out[c, start : start + where.size] = np.einsum("ij,ij->i", padded[c][index], weights)
    return out


def _fade(gain: np.ndarray, edge: int, length: int, rising: bool) -> None:
    """Multiply ``gain`` by a raised-cosine ramp of ``length`` that ends (or starts) at ``edge``."""
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)
    if rising:
        part = slice(edge, min(gain.size, edge + length))
        gain[part] *= ramp[: part.stop - part.start]
    else:
        part = slice(max(0, edge - length), edge)
        gain[part] *= ramp[::-1][length - (part.stop - part.start) :]


def retime_samples(
    samples: np.ndarray,
    rate: int,
    start_s: float,
    offset_ms: Callable[[np.ndarray], np.ndarray] | float,
    fade_ms: float = FADE_MS,
) -> np.ndarray:
    """The sound moved so that picture and sound agree; same shape as ``samples`` (C, n).

    ``offset_ms`` is the offset to undo (positive = audio late): a number (constant, moved by
    whole samples) or a function of the time on the file's timeline (s) giving the offset there.
    """
    n = samples.shape[1]
    times = start_s + np.arange(n) / rate
    if callable(offset_ms):
        positions = np.arange(n) + np.asarray(offset_ms(times), np.float64) * rate / 1000.0
        steps = np.diff(positions)
        speed = float(np.median(steps)) if steps.size else 1.0
        inside = (positions >= 0) & (positions <= n - 1)
        out = np.zeros_like(samples)
        # at the input's own speed (an edit) the interpolator is exact at whole samples
        cutoff = 1.0 if abs(speed - 1.0) < 1e-9 else min(1.0, 1.0 / max(speed, 1e-6)) * 0.97
        if inside.any():
            out[:, inside] = _sinc_interpolate(samples, positions[inside], cutoff)
        cuts = np.flatnonzero(np.abs(steps - speed) > 0.5) + 1  # edits: the offset jumps
    else:
        shift = round(float(offset_ms) * rate / 1000.0)
        positions = np.arange(n, dtype=np.float64) + shift
        inside = (positions >= 0) & (positions <= n - 1)
        out = np.zeros_like(samples)
        out[:, inside] = samples[:, positions[inside].astype(np.int64)]
        cuts = np.zeros(0, int)
    gain = np.where(inside, 1.0, 0.0)
    length = max(1, round(fade_ms * rate / 1000.0))
    changes = np.flatnonzero(np.diff(inside.astype(np.int8))) + 1
    for edge in np.concatenate([changes, cuts]):
        _fade(gain, int(edge), length, rising=True)
        _fade(gain, int(edge), length, rising=False)
    if n and inside[0] and positions[0] >= 1:  # the track now starts in the middle of a sound
        _fade(gain, 0, length, rising=True)
    if n and inside[-1] and positions[-1] <= n - 2:  # ... or stops in the middle of one
        _fade(gain, n, length, rising=False)
    return (out * gain[None, :]).astype(np.float32)


def _encoder_args(track: AudioTrack, out_index: int, codec: str, bitrate: int | None) -> list[str]:
    args = [f"-c:{out_index}", codec]
    if codec not in LOSSLESS and not codec.startswith("pcm_"):
        args += [f"-b:{out_index}", str(bitrate or track.bit_rate or DEFAULT_BITRATE)]
    return args


def retime_file(
    source: Path,
    target: Path,
    offset_ms: Callable[[np.ndarray], np.ndarray] | float,
    *,
    codec: str = "auto",
    fallback_codec: str = "aac",
    bitrate: int | None = None,
    fade_ms: float = FADE_MS,
) -> list[str]:
    """Write ``target``: ``source`` with every audio stream moved (see the module's docstring).

    Written atomically. Returns the audio codec used for each audio stream. Raises `MediaError`
    when the file cannot be read, has no audio, or cannot be written.
    """
    source, target = Path(source), Path(target)
    tracks = read_audio_tracks(source)
    if not tracks:
        raise MediaError(source, "no audio stream to move")
    with av.open(str(source)) as container:
        kinds = [stream.type for stream in container.streams]
    with tempfile.TemporaryDirectory(prefix="avalign-fix-") as scratch:
        inputs: list[str] = ["-i", str(source)]
        for k, track in enumerate(tracks):
            moved = retime_samples(track.samples, track.rate, track.start_s, offset_ms, fade_ms)
            raw = Path(scratch) / f"audio{k}.f32"
            np.ascontiguousarray(moved.T).astype("<f4").tofile(raw)
            if track.start_s > 0:
                inputs += ["-itsoffset", f"{track.start_s:.6f}"]
            inputs += ["-f", "f32le", "-ar", str(track.rate)]
            inputs += ["-ch_layout", track.layout, "-i", str(raw)]
        by_index = {track.index: k for k, track in enumerate(tracks)}
        maps: list[str] = []
        for index in range(len(kinds)):
            k = by_index.get(index)
            maps += ["-map", f"{k + 1}:a:0" if k is not None else f"0:{index}"]
        metadata = ["-map_metadata", "0", "-map_chapters", "0"]
        for index in by_index:
            metadata += [f"-map_metadata:s:{index}", f"0:s:{index}"]
        used = []
        for attempt in (codec, fallback_codec):
            chosen = [
                track.codec if attempt == "auto" else attempt for track in tracks
            ]  # one codec per audio stream
            encoders: list[str] = ["-c", "copy"]
            for (index, k), name in zip(by_index.items(), chosen, strict=True):
                encoders += _encoder_args(tracks[k], index, name, bitrate)
            try:
                with atomic_target(target) as tmp:
                    run_ffmpeg([*inputs, *maps, *metadata, *encoders, str(tmp)], target=target)
                used = chosen
                break
            except MediaError:
                if attempt == fallback_codec or codec == fallback_codec:
                    raise
    return used
