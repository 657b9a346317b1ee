"""Benchmark: feature extraction per clip against the bare decode of the same clip.

    python experiments/bench_extraction.py [--repeats 3] [--seconds 10]

For a 360p and a 720p clip (30 fps H.264 + AAC, made by the synthetic generator), prints the
median time of
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
from pathlib import Path

import av

from avalign.datasets.prepared import PreparedSegment
from avalign.datasets.synthetic import make_clip_spec, write_clip
from avalign.features.config import FeatureConfig, FlowConfig
from avalign.features.extract import ExtractJob, extract_video
from avalign.media.ffmpeg import ffmpeg_exe
from avalign.parallel import limit_threads
from avalign.samples.plan import SampleConfig, plan_samples


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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    limit_threads()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        print(
            "| clip | bare decode (PyAV) | ffmpeg -f null | flow | extraction | samples | ratio |"
        )
        print("|---|---|---|---|---|---|---|")
        for width, height in ((640, 360), (1280, 720)):
            spec = make_clip_spec(
                "ball_bounce",
                width=width,
                height=height,
                fps=30,
                sample_rate=48000,
                seed=1,
                event=(0, int(args.seconds)),
                duration_s=args.seconds,
            )
            path = scratch / f"clip_{height}p.mp4"
            write_clip(spec, path)
            decode = statistics.median(bare_decode(path) for _ in range(args.repeats))
            null = statistics.median(ffmpeg_null(path) for _ in range(args.repeats))
            for flow in ("dis", "farneback"):
                runs = [extraction(path, args.seconds, flow, scratch) for _ in range(args.repeats)]
                seconds = statistics.median(r[0] for r in runs)
                print(
                    f"| {height}p | {decode * 1000:.0f} ms | {null * 1000:.0f} ms | {flow} | "
                    f"{seconds * 1000:.0f} ms | {runs[0][1]} | {seconds / decode:.2f} |"
                )


if __name__ == "__main__":
    main()
