"""Benchmark the synthetic AVE-layout corpus: build time, throughput, size on disk.

Builds the corpus of ``SyntheticConfig(num_clips=N)`` (default: the config's default size)
once per requested worker count, each time into a fresh folder, and prints wall time,
clips per second and megabytes on disk. ``--profile K`` first times the phases of one clip
(scene, audio synthesis, frame drawing, encoding) over the first K planned clips, in this
process, to show where the time goes.

    python experiments/bench_synthetic_corpus.py                 # default corpus, workers 1 and 2
    python experiments/bench_synthetic_corpus.py --workers 2 --num-clips 100 --profile 20

The default corpus is meant to build in at most two minutes on two cores with
``--workers 2``; other processes running at the same time slow it down, so the script
prints the load average before each run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from avalign.datasets.synthetic import SyntheticConfig, generate_corpus, plan_corpus
from avalign.datasets.synthetic.encode import encode_mp4
from avalign.datasets.synthetic.scene import build_scene, render_audio, render_frames


def profile_phases(config: SyntheticConfig, count: int, folder: Path) -> None:
    """Time each phase of rendering for the first ``count`` clips of ``config``."""
    phases: dict[str, list[float]] = {"scene": [], "audio": [], "frames": [], "encode": []}
    for spec in plan_corpus(config)[:count]:
        t0 = time.perf_counter()
        scene = build_scene(spec)
        t1 = time.perf_counter()
        audio = render_audio(scene)
        t2 = time.perf_counter()
        frames = list(render_frames(scene))
        t3 = time.perf_counter()
        encode_mp4(
            folder / "profile.mp4",
            frames,
            audio,
            width=spec.width,
            height=spec.height,
            fps=spec.fps,
            sample_rate=spec.sample_rate,
        )
        t4 = time.perf_counter()
        for name, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            phases[name].append(seconds)
    total = sum(statistics.mean(v) for v in phases.values())
    print(f"per-clip phases over {count} clips (one process), mean seconds:")
    for name, values in phases.items():
        mean = statistics.mean(values)
        print(f"  {name:7s} {mean:6.3f}  ({100 * mean / total:4.1f} %)")
    print(f"  total   {total:6.3f}  -> {1 / total:.2f} clips/s per core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-clips", type=int, default=SyntheticConfig().num_clips)
    parser.add_argument("--workers", type=int, nargs="*", default=[2, 1])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", type=int, default=0, metavar="K")
    parser.add_argument("--root", type=Path, default=None, help="where to build (a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the last corpus built")
    args = parser.parse_args()

    config = SyntheticConfig(num_clips=args.num_clips, seed=args.seed)
    base = args.root or Path(tempfile.mkdtemp(prefix="avalign_bench_"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"config {config.fingerprint()}: {config.num_clips} clips, cores: {os.cpu_count()}")
    if args.profile:
        profile_phases(config, args.profile, base)

    for i, workers in enumerate(args.workers):
        root = base / f"corpus_w{workers}"
        shutil.rmtree(root, ignore_errors=True)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        summary = generate_corpus(root, config, workers=workers, progress=True)
        mb = summary.bytes_on_disk / 1e6
        cpu = summary.render_cpu_seconds
        print(
            f"workers={workers}: {summary.num_clips} clips ({summary.num_events} events) in "
            f"{summary.seconds:.1f} s = {summary.clips_per_second:.2f} clips/s; "
            f"{mb:.1f} MB on disk ({mb / summary.num_clips:.2f} MB/clip); "
            f"splits {summary.splits}; load average before: {load:.2f}\n"
            f"  render CPU {cpu:.1f} s ({cpu / summary.num_clips:.3f} s/clip): on {workers} idle "
            f"core(s) that is about {cpu / workers:.1f} s"
        )
        if not (args.keep and i == len(args.workers) - 1):
            shutil.rmtree(root, ignore_errors=True)
    if not args.keep and args.root is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
