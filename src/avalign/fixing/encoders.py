"""Which ffmpeg encoder writes a stream back in its own codec, and with which settings.

A fix that re-encodes the sound keeps its codec: Opus stays Opus, MP3 stays MP3. Decoder names
(what PyAV reports) are not always encoder names, and ffmpeg's own encoders for some codecs
are experimental or worse than the library ones (its native ``opus`` and ``vorbis`` refuse to
run without ``-strict -2``): `ENCODERS` names the one to use. When the container cannot hold
the codec, or this ffmpeg cannot encode it, the fix fails with one line naming the codec and the
``audio_codec=`` option; it never changes the codec on its own.
"""

from __future__ import annotations

#: Encoder to use for each decoder's canonical codec name (others: the same name).
ENCODERS = {
    "opus": "libopus",
    "vorbis": "libvorbis",
    "mp3": "libmp3lame",
    "aac": "aac",
    "ac3": "ac3",
    "eac3": "eac3",
    "flac": "flac",
    "alac": "alac",
    "mp2": "mp2",
}
#: Codecs stored without loss (no bit rate is passed to their encoders).
LOSSLESS = {"flac", "alac", "wavpack", "tta", "mlp", "truehd"}
#: Bit rate for lossy codecs when the input does not declare one, bit/s.
DEFAULT_BITRATE = 192_000
#: Sample rates that libopus encodes (Opus decodes to 48 kHz, so a decoded track always fits).
OPUS_RATES = (48000, 24000, 16000, 12000, 8000)


def encoder_for(codec: str, requested: str = "auto") -> str:
    """The encoder for a stream of ``codec``: its own, or the one the user ``requested``."""
    if requested != "auto":
        return requested
    return ENCODERS.get(codec, codec)


def encoder_args(
    out_index: int, encoder: str, codec: str, bit_rate: int | None, requested_bitrate: int | None
) -> list[str]:
    """ffmpeg options that encode output stream ``out_index`` with ``encoder``."""
    args = [f"-c:{out_index}", encoder]
    if codec not in LOSSLESS and encoder not in LOSSLESS and not encoder.startswith("pcm_"):
        args += [f"-b:{out_index}", str(requested_bitrate or bit_rate or DEFAULT_BITRATE)]
    return args
