"""Benchmark: feature extraction per clip against the bare decode of the same clip.

    python experiments/bench_extraction.py [--repeats 5] [--seconds 10]

For a 360p and a 720p clip (30 fps H.264 + AAC), each both a synthetic-corpus scene (flat colours,
unusually cheap to decode) and a textured scene (decodes at the cost of camera footage), prints
the median time of
- the bare decode: every video frame and the whole sound decoded with PyAV, nothing converted
  (one thread, like the extraction workers), and the bundled ``ffmpeg -i clip -f null -`` for
  reference (also one thread);
- the extraction of all samples of the clip (a 10 s segment, three draws: what `avalign.extract`
  does per video), for each optical-flow method,
and the ratio extraction / bare decode. One process, one core.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import av

from avalign.batch.parallel import limit_threads
from avalign.datasets.prepared import PreparedSegment
from avalign.datasets.synthetic import make_clip_spec, write_clip
from avalign.features.config import FeatureConfig, FlowConfig
from avalign.features.extract import ExtractJob, extract_video
from avalign.media.ffmpeg import ffmpeg_exe
from avalign.samples.plan import SampleConfig, plan_samples


def textured_clip(path: Path, width: int, height: int, seconds: float) -> Path:
    """A clip with camera-like detail (a drifting, blurred noise texture and a moving disc) and
    sound, encoded like the synthetic corpus: it decodes at the cost of real footage, where the
    synthetic scenes (flat colours) decode several times faster."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(
        rng.integers(0, 255, (height * 2, width * 2, 3), dtype=np.uint8), (0, 0), 1.2
    )
    fps, rate = 30, 48000
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast", "crf": "23"}
        audio = container.add_stream("aac", rate=rate)
        audio.layout = "mono"
        for index in range(int(seconds * fps)):
            dx, dy = (3 * index) % width, (2 * index) % height
            frame = np.ascontiguousarray(texture[dy : dy + height, dx : dx + width])
            cv2.circle(
                frame,
                (width // 2 + int(width / 4 * np.sin(index / 9)), height // 2),
                height // 8,
                (255, 255, 255),
                -1,
            )
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        sound = (0.1 * rng.standard_normal(int(seconds * rate))).astype(np.float32)
        for start in range(0, sound.size, 1024):
            chunk = av.AudioFrame.from_ndarray(
                sound[None, start : start + 1024], format="flt", layout="mono"
            )
            chunk.sample_rate, chunk.pts = rate, start
            for packet in audio.encode(chunk):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return path


def benchmark_clips(
    scratch: Path, sizes: Iterable[tuple[int, int]], seconds: float
) -> Iterator[tuple[int, int, str, Path]]:
    """For each ``(width, height)``: a synthetic-corpus scene and a textured clip, both 30 fps
    with 48 kHz sound, written under ``scratch``; yields ``(width, height, label, path)``."""
    for width, height in sizes:
        spec = make_clip_spec(
            "ball_bounce",
            width=width,
            height=height,
            fps=30,
            sample_rate=48000,
            seed=1,
            event=(0, int(seconds)),
            duration_s=seconds,
        )
        synthetic = scratch / f"synthetic_{width}x{height}.mp4"
        write_clip(spec, synthetic)
        yield width, height, "synthetic", synthetic
        yield (
            width,
            height,
            "textured",
            textured_clip(scratch / f"textured_{width}x{height}.mp4", width, height, seconds),
        )


def bare_decode(path: Path) -> float:
    """Seconds to decode every video frame and all audio with PyAV, one thread."""
    started = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        stream.codec_context.thread_count = 1
        for _ in container.decode(stream):
            pass
    with av.open(str(path)) as container:
        for _ in container.decode(audio=0):
            pass
    return time.perf_counter() - started


def ffmpeg_null(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-threads", "1", "-i", str(path), "-f", "null", "-"],
        check=True,
    )
    return time.perf_counter() - started


def extraction(path: Path, duration: float, flow: str, scratch: Path) -> tuple[float, int]:
    """Seconds to extract all samples of one clip (fresh cache), and how many samples."""
    segment = PreparedSegment(
        "bench", "bench", "good", 0.0, duration, "train", path.name, 1, duration, 0, 0, 30.0, 48000
    )
    samples, _ = plan_samples([segment], SampleConfig(draws_per_segment=3, shift_source="video"))
    config = FeatureConfig(flow=FlowConfig(method=flow))
    cache = Path(tempfile.mkdtemp(dir=scratch))
    started = time.perf_counter()
    results = extract_video(ExtractJob(path, tuple(samples), cache, config))
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise RuntimeError(f"extraction failed: {failed[0].problem}")
    return elapsed, len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    limit_threads()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        print(
            "| clip | bare decode (PyAV) | ffmpeg -f null | flow | extraction | samples | ratio |"
        )
        print("|---|---|---|---|---|---|---|")
        for _, height, label, path in benchmark_clips(
            scratch, ((640, 360), (1280, 720)), args.seconds
        ):
            null = statistics.median(ffmpeg_null(path) for _ in range(args.repeats))
            extraction(path, args.seconds, "dis", scratch)  # warm-up: first-call set-up
            for flow in ("dis", "farneback"):
                # decode and extraction alternate, so that a drift of the machine's speed
                # during the run affects both alike
                decodes, runs = [], []
                for _ in range(args.repeats):
                    decodes.append(bare_decode(path))
                    runs.append(extraction(path, args.seconds, flow, scratch))
                decode = statistics.median(decodes)
                seconds = statistics.median(r[0] for r in runs)
                print(
                    f"| {height}p {label} | {decode * 1000:.0f} ms | {null * 1000:.0f} ms | "
                    f"{flow} | {seconds * 1000:.0f} ms | {runs[0][1]} | "
                    f"{seconds / decode:.2f} |"
                )


if __name__ == "__main__":
    main()
