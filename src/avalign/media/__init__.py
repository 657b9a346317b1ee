"""Reading media: probing files, decoding pictures and sound, running ffmpeg."""

from avalign.media.decode import decode_audio, decode_frames_at, iter_frames_at
from avalign.media.errors import MediaError
from avalign.media.probe import MediaInfo, probe_media

__all__ = [
    "MediaError",
    "MediaInfo",
    "decode_audio",
    "decode_frames_at",
    "iter_frames_at",
    "probe_media",
]
