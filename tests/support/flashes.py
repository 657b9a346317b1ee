"""A clip whose sync is beyond doubt: a square flashes on gray, a 900 Hz beep starts with it.

The picture and the sound are rendered in numpy and handed to the bundled ffmpeg as raw frames
(``rawvideo``) and raw samples (``f32le``): nothing but the encoders stands between the two, so
the offset a detector reports on such a clip is its own error. The flashes fall at irregular
times (no shift lines them up again), each on a frame's own time, and each beep starts at the
sample of that time. ``vfr`` gives frames irregular intervals (1, 2 or 3 ticks of 1/60 s);
``shift_s`` moves the sound later (positive) or earlier against the picture.
"""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avalign.media.ffmpeg import run_ffmpeg

#: Gray background, the square's gray, and its side as a share of the frame height.
BACKGROUND, SQUARE, SIDE = 110, 235, 0.4
#: Shortest time the square stays on (until the first frame after it), s; the beep's pitch, Hz.
FLASH_S, BEEP_HZ = 0.1, 900.0
#: Channel layouts by count, as ffmpeg names them.
LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}


def frame_times(seconds: float, fps: float, vfr: bool, seed: int = 0) -> np.ndarray:
    """Presentation times (s) of the frames: every 1/fps, or 1-3 ticks of 1/60 s apart."""
    if not vfr:
        return np.arange(round(seconds * fps)) / fps
    ticks = np.cumsum(np.random.default_rng(seed).choice([1, 2, 3], size=int(seconds * 60)))
    ticks = np.concatenate([[0], ticks])
    return ticks[ticks < seconds * 60] / 60.0


def flashes(frames: np.ndarray, seconds: float, seed: int = 0) -> np.ndarray:
    """``(n, 2)`` irregular flashes (0.45-1.3 s apart): on and off times, both frames' times."""
    rng = np.random.default_rng(seed + 7)
    wanted = 0.4 + np.cumsum(rng.uniform(0.45, 1.3, size=int(seconds) + 2))
    wanted = wanted[wanted < seconds - 0.4]
    on = np.unique(frames[np.searchsorted(frames, wanted)])
    off = frames[np.searchsorted(frames, on + FLASH_S - 1e-9)]
    return np.stack([on, off], axis=1)


def picture(t: float, flashes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Gray frame at ``t``: the square shows from each flash's on time until its off time."""
    image = np.full((height, width), BACKGROUND, np.uint8)
    last = np.searchsorted(flashes[:, 0], t + 1e-9) - 1
    if last >= 0 and t < flashes[last, 1] - 1e-9:
        side = int(SIDE * height)
        y, x = (height - side) // 2, (width - side) // 2
        image[y : y + side, x : x + side] = SQUARE
    return image


def sound(seconds: float, rate: int, flashes: np.ndarray, shift_s: float = 0.0) -> np.ndarray:
    """Mono float32: quiet noise and a 900 Hz beep over each flash (moved by ``shift_s``)."""
    n = round(seconds * rate)
    audio = 0.003 * np.random.default_rng(3).standard_normal(n)
    for on, off in flashes + shift_s:
        i, j = min(max(round(on * rate), 0), n), min(max(round(off * rate), 0), n)
        t = np.arange(j - i) / rate
        ramp = np.minimum(1.0, np.minimum(t, (off - on) - t) / 0.002)  # 2 ms fades
        audio[i:j] += 0.5 * np.sin(2 * np.pi * BEEP_HZ * t) * ramp
    return audio.astype(np.float32)


def flash_clip(
    path: Path,
    *,
    seconds: float = 12.0,
    fps: float = 25,
    rate: int = 48000,
    channels: int = 1,
    codec: str = "aac",
    vfr: bool = False,
    shift_s: float = 0.0,
    size: tuple[int, int] = (160, 120),
    still: bool = False,
) -> Path:
    """Write the clip (H.264 + ``codec``: ``aac`` or ``libopus``) to ``path``; return it.

    ``still``: the beeps over a picture that never changes (nothing to judge their timing by).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    times = frame_times(seconds, fps, vfr)
    shown = flashes(times, seconds)
    width, height = size
    seen = shown[:0] if still else shown
    with tempfile.TemporaryDirectory() as scratch:
        video = Path(scratch) / "picture.mp4"
        raw = Path(scratch) / "sound.f32"
        if vfr:  # raw frames carry no times: encode with PyAV, each frame at its own time
            _vfr_picture(video, times, seen, size)
        else:
            frames = np.stack([picture(t, seen, width, height) for t in times])
            run_ffmpeg(
                [
                    *("-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}"),
                    *("-r", f"{fps}", "-i", "pipe:0"),
                    *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
                    str(video),
                ],
                input_bytes=frames.tobytes(),
                target=video,
            )
        mono = sound(seconds, rate, shown, shift_s)
        np.repeat(mono[:, None], channels, axis=1).astype("<f4").tofile(raw)
        audio = ["-c:a", codec] + (["-b:a", "96k"] if codec == "libopus" else [])
        run_ffmpeg(
            [
                *("-i", str(video)),
                *("-f", "f32le", "-ar", str(rate), "-ch_layout", LAYOUTS[channels]),
                *("-i", str(raw), "-map", "0:v", "-map", "1:a", "-c:v", "copy", *audio),
                str(path),
            ],
            target=path,
        )
    return path


def _vfr_picture(path: Path, times: np.ndarray, shown: np.ndarray, size: tuple[int, int]) -> None:
    container = av.open(str(path), "w", format="mp4")
    stream = container.add_stream("libx264", rate=60)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = Fraction(1, 60)
    stream.options = {"preset": "ultrafast"}
    for t in times:
        gray = picture(float(t), shown, *size)
        frame = av.VideoFrame.from_ndarray(np.repeat(gray[..., None], 3, axis=2), format="rgb24")
        frame.pts, frame.time_base = round(t * 60), Fraction(1, 60)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
