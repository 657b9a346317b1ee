"""Encoding a clip into an H.264 + AAC mp4 file with PyAV, reproducibly and atomically.

The encoders run single-threaded so that the bytes depend only on the input; the file is
written under a temporary name in the target folder and renamed into place, so a file with
the final name is always complete (an interrupted run leaves only a temporary to clean up).
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import av.logging
import cv2
import numpy as np

#: Samples per AAC frame.
AUDIO_FRAME = 1024
#: Suffix of the temporary files written next to the final ones.
TEMP_SUFFIX = ".partial"
#: On top of the preset: one thread, no lookahead or slice threads (with the default slice
#: threading the bytes vary from run to run even at one thread); and the cheapest analysis
#: (diamond full-pixel motion search, 16x16 partitions only, one B-frame), which cuts the
#: encoding time by about a fifth for these flat synthetic scenes at no visible cost (the
#: files grow by about a third, still under 0.3 MB per 10 s clip).
X264_PARAMS = (
    "threads=1:lookahead-threads=1:sliced-threads=0:me=dia:subme=0:partitions=none:bframes=1"
)


#: The native AAC encoder's fast coder without its optional tools (noise substitution,
#: temporal noise shaping, intensity and mid/side stereo): several times faster than the
#: defaults at the same bitrate.
AAC_OPTIONS = {"aac_coder": "fast", "aac_pns": "0", "aac_tns": "0", "aac_is": "0", "aac_ms": "0"}


@functools.cache
def x264_params() -> str:
    """:data:`X264_PARAMS`, plus the CPU features x264 may use when AVX-512 is present.

    With its AVX-512 routines, libx264 (as bundled with PyAV) now and then encodes the
    same frames into different bytes (measured: 2 outcomes in 25 encodes of one clip;
    none in 80 without them), apparently reading memory it did not initialize. So the
    features x264 detects are read from its log, and all but AVX-512 are passed back to
    it; this is also slightly faster. Probed once per process.
    """
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)
    try:
        with av.logging.Capture() as logs, av.open(io.BytesIO(), "w", format="h264") as probe:
            stream = probe.add_stream("libx264", rate=1)
            stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
            frame = av.VideoFrame.from_ndarray(np.zeros((96, 64), np.uint8), format="yuv420p")
            probe.mux(stream.encode(frame))
            probe.mux(stream.encode(None))
    finally:
        av.logging.set_level(previous)
    for _level, name, message in logs:
        if name == "libx264" and "using cpu capabilities:" in message:
            features = message.split(":", 1)[1].split()
            kept = [f for f in features if not f.upper().startswith("AVX512")]
            if kept != features and kept:
                return f"{X264_PARAMS}:asm={','.join(kept)}"
    return X264_PARAMS


def _audio_frame(chunk: np.ndarray, layout: str, sr: int, offset: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=layout)
    frame.sample_rate = sr
    frame.pts = offset
    frame.time_base = Fraction(1, sr)
    return frame


def encode_mp4(
    path: Path,
    frames: Iterable[np.ndarray],
    audio: np.ndarray,
    *,
    width: int,
    height: int,
    fps: int,
    sample_rate: int,
    crf: int = 23,
    preset: str = "veryfast",
) -> None:
    """Write ``frames`` (RGB uint8, height x width x 3) and ``audio`` to an mp4 at ``path``.

    Parameters
    ----------
    path
        Final file name; written atomically (temporary file, then :func:`os.replace`).
    frames
        Video frames at ``fps``; frame ``k`` is shown at ``k / fps`` seconds.
    audio
        float32 samples of shape (channels, n), channels 1 (mono) or 2 (stereo), in [-1, 1].
    crf, preset
        libx264 quality and speed settings (plus :func:`x264_params`). The AAC encoder
        runs with :data:`AAC_OPTIONS`.
    """
    path = Path(path)
    channels = audio.shape[0]
    layout = {1: "mono", 2: "stereo"}[channels]
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        with av.open(tmp_name, "w", format="mp4") as container:
            video = container.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.options = {"preset": preset, "crf": str(crf), "x264-params": x264_params()}
            video.codec_context.thread_count = 1
            video.codec_context.thread_type = "NONE"
            sound = container.add_stream("aac", rate=sample_rate, layout=layout)
            sound.options = AAC_OPTIONS
            sound.codec_context.thread_count = 1

            offset = 0
            n = audio.shape[1]
            for k, img in enumerate(frames):
                yuv = cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420)
                frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                frame.pts = k
                frame.time_base = Fraction(1, fps)
                container.mux(video.encode(frame))
                # interleave: audio up to the end of this video frame
                until = min(n, round((k + 1) * sample_rate / fps))
                while offset < until:
                    chunk = audio[:, offset : offset + AUDIO_FRAME]
                    container.mux(sound.encode(_audio_frame(chunk, layout, sample_rate, offset)))
                    offset += chunk.shape[1]
            container.mux(video.encode(None))
            while offset < n:
                chunk = audio[:, offset : offset + AUDIO_FRAME]
                container.mux(sound.encode(_audio_frame(chunk, layout, sample_rate, offset)))
                offset += chunk.shape[1]
            container.mux(sound.encode(None))
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
