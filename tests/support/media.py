"""Tiny media files made on the fly for tests (nothing is downloaded or committed).

The picture is a bright square that jumps at known "event" times on a dark background; the sound
is a click at the same instants over quiet noise, so tests can check that the picture and the
sound keep their time relation through every stage.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def event_times(seconds: float, every_s: float = 0.7) -> np.ndarray:
    """Instants (s) of the test events: irregular enough that a shift never lines up again."""
    times = np.cumsum(every_s + 0.25 * np.sin(np.arange(1, 40) * 1.7))
    return times[times < seconds - 0.1]


def render_frame(t: float, width: int, height: int, events: np.ndarray) -> np.ndarray:
    """RGB frame at time t: the square's position depends on how many events happened by t."""
    image = np.full((height, width, 3), 20, np.uint8)
    count = int(np.searchsorted(events, t, side="right"))
    side = max(4, min(width, height) // 4)
    x = (count * side * 3 // 2) % max(1, width - side)
    y = (height - side) // 2
    image[y : y + side, x : x + side] = 230
    return image


def render_audio(seconds: float, sample_rate: int, events: np.ndarray, seed: int = 0) -> np.ndarray:
    """Mono float32 sound: a decaying 800 Hz click at every event over quiet noise."""
    n = round(seconds * sample_rate)
    audio = 0.01 * np.random.default_rng(seed).standard_normal(n)
    burst = np.arange(int(0.06 * sample_rate)) / sample_rate
    click = 0.6 * np.sin(2 * np.pi * 800 * burst) * np.exp(-burst / 0.012)
    for t in events:
        i = round(t * sample_rate)
        audio[i : i + click.size] += click[: max(0, n - i)]
    return audio.astype(np.float32)


def make_video(
    path: Path,
    *,
    seconds: float = 4.0,
    fps: int = 25,
    size: tuple[int, int] = (160, 120),
    sample_rate: int | None = 16000,
    video: bool = True,
    variable_rate: bool = False,
    pix_fmt: str = "yuv420p",
    faststart: bool = False,
    preset: str = "ultrafast",
) -> Path:
    """Write an H.264/AAC mp4 (or audio-only m4a with ``video=False``).

    ``preset`` is x264's: ``ultrafast`` makes no B-frames, ``veryfast`` (like most real
    encodes) makes B-frames, some of which nothing else refers to.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    events = event_times(seconds)
    options = {"movflags": "+faststart"} if faststart else {}
    container = av.open(str(path), "w", format="mp4", options=options)
    vstream = astream = None
    if video:
        vstream = container.add_stream("libx264", rate=fps)
        vstream.width, vstream.height = size
        vstream.pix_fmt = pix_fmt
        vstream.codec_context.time_base = Fraction(1, 1000 if variable_rate else fps)
        vstream.codec_context.thread_count = 1
        vstream.options = {"preset": preset}
    if sample_rate:
        astream = container.add_stream("aac", rate=sample_rate)
        astream.layout = "mono"
    if vstream is not None:
        rng = np.random.default_rng(1)
        t = 0.0
        index = 0
        while t < seconds - 1e-9:
            frame = av.VideoFrame.from_ndarray(render_frame(t, *size, events), format="rgb24")
            frame.pts = round(t * 1000) if variable_rate else index
            frame.time_base = vstream.codec_context.time_base
            for packet in vstream.encode(frame):
                container.mux(packet)
            step = (1 / fps) * (rng.choice([0.5, 1.0, 2.0]) if variable_rate else 1.0)
            t += step
            index += 1
        for packet in vstream.encode():
            container.mux(packet)
    if astream is not None:
        audio = render_audio(seconds, sample_rate, events)
        for start in range(0, audio.size, 1024):
            chunk = audio[None, start : start + 1024]
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(chunk), format="flt", layout="mono"
            )
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in astream.encode(frame):
                container.mux(packet)
        for packet in astream.encode():
            container.mux(packet)
    container.close()
    return path


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut a file to a fraction of its bytes (a download that stopped half-way)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_ave_root(
    root: Path,
    rows: list[str],
    splits: dict[str, list[str]],
    header: bool = True,
    bom: bool = False,
) -> Path:
    """Write Annotations.txt and the three split files of an AVE-layout folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "AVE").mkdir(exist_ok=True)
    lines = (["Category&VideoID&Quality&StartTime&EndTime"] if header else []) + rows
    text = "\n".join(lines) + "\n"
    (root / "Annotations.txt").write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    names = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}
    for split, name in names.items():
        (root / name).write_text("".join(r + "\n" for r in splits.get(split, [])), encoding="utf-8")
    return root


def window_sample(kind: str, **params):
    """An 8 s window (1-9 s) of a source ``v.mp4``, in sync or misaligned by ``kind``."""
    from avalign.samples.plan import SampleSpec

    label = 1 if kind == "None" else 0
    return SampleSpec(f"s_{kind}", "v", "Bark", "test", "v.mp4", 1.0, 9.0, label, kind, **params)


def write_windows(
    folder: Path, specs: dict, sample_rate: int = 16000, into: Path | None = None
) -> tuple[dict, Path]:
    """A 10 s clip of jumps and clicks in ``folder``, and each ``name -> SampleSpec`` written from
    it (into ``into``, default ``folder``) exactly as `materialize` writes samples:
    ``({name: path}, source)``."""
    from avalign.media.decode import decode_audio
    from avalign.samples.materialize import encode_sample
    from avalign.samples.perturb import render_sample_audio

    source = make_video(
        folder / "source.mp4", seconds=10.0, fps=25, size=(160, 120), sample_rate=sample_rate
    )
    audio = decode_audio(source, sample_rate)
    made = {}
    for name, spec in specs.items():
        made[name] = (into or folder) / f"{name}.mp4"
        made[name].parent.mkdir(parents=True, exist_ok=True)
        encode_sample(
            source, spec, render_sample_audio(audio, sample_rate, spec), sample_rate, made[name]
        )
    return made, source
