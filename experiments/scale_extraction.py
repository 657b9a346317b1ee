"""Benchmark: extraction throughput with 1 and 2 workers, memory per worker, full-AVE projection.

    python experiments/scale_extraction.py [--clips 40] [--repeats 3]

Extracts the samples of a ``--clips``-clip synthetic corpus with the command a user types,
``python -m avalign.extract extract.workers=N`` for N = 1 and 2, over all the clips and over half
of them, ``--repeats`` times each (`extraction_throughput`); prints the median times, clips/s,
the steady-state throughput and the start-up, the speed-up of 2 workers, the peak RSS, PSS and
private memory of each worker (`Peaks`), and the projected extraction of all of AVE (4,143
ten-second clips, 2 workers).

All figures are measured in this run on this machine; the corpus is the synthetic default's
generator (real footage decodes slower than these flat synthetic scenes, so the projection for AVE
is a lower bound; see the README).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from measure import AVE_CLIPS, Peaks, _samples, peak_memory_of_tree


def _timed_extract(clips: int, scratch: Path, workers: int, *overrides: str) -> tuple[float, dict]:
    """Seconds of ``python -m avalign.extract`` from an empty cache, and peak memory by pid."""
    command = [
        sys.executable,
        "-m",
        "avalign.extract",
        f"paths.data_dir={scratch / 'data'}",
        f"paths.output_dir={scratch / 'outputs'}",
        f"dataset.num_clips={clips}",
        f"extract.workers={workers}",
        "progress=false",
        *overrides,
    ]
    for cache in (scratch / "data" / "datasets").glob("*/samples-*/features-*"):
        shutil.rmtree(cache)  # every run computes every one of its samples
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done, peaks = threading.Event(), {}
    watcher = threading.Thread(target=peak_memory_of_tree, args=(process.pid, done, peaks))
    watcher.start()
    if process.wait() != 0:
        raise RuntimeError(f"{' '.join(command)} failed")
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    main = peaks.pop(process.pid, Peaks())
    return seconds, {"main": main, "workers": {pid: p for pid, p in peaks.items() if p.worker}}


def _span(values) -> str:
    values = list(values)
    return f"{min(values)}-{max(values)}"


def extraction_throughput(clips: int, scratch: Path, repeats: int = 3) -> None:
    """Extract the same samples with 1 and 2 workers; print times, clips/s, speed-up, peak RSS.

    Each run is the command a user types, ``python -m avalign.extract extract.workers=N``, timed
    from start to end (interpreter and Hydra start-up, the worker processes' start, all
    included). Each command also runs on half of the clips (``extract.num_shards=2
    extract.shard_index=0``): the difference between the two runs is the time of the other
    half's clips alone, which gives the steady-state throughput (clips/s once running) and,
    by subtraction, the fixed start-up. Peak RSS per worker: the command's own process for 1
    worker (it extracts in-process), each worker process for 2 (the main process only hands out
    work), read from /proc while it runs (see `Peaks`).
    """
    _, stage = _samples(clips, scratch)  # make the corpus and samples first, untimed
    from avalign.features.extract import shard_of

    videos = [s.video_id for s in stage.samples]
    if len(set(videos)) != clips:
        raise RuntimeError(f"{clips - len(set(videos))} clips have no samples")
    half = len(shard_of(videos, 0, 2))
    steady, whole = {}, {}
    for workers in (1, 2):
        halves, fulls, per_worker, main_peak = [], [], [], []
        for _ in range(repeats):  # medians: each run's time varies by about a second here
            halves.append(
                _timed_extract(
                    clips, scratch, workers, "extract.num_shards=2", "extract.shard_index=0"
                )[0]
            )
            seconds, peaks = _timed_extract(clips, scratch, workers)
            fulls.append(seconds)
            main_peak.append(peaks["main"])
            per_worker += [peaks["main"]] if workers == 1 else list(peaks["workers"].values())
        seconds, seconds_half = statistics.median(fulls), statistics.median(halves)
        whole[workers] = clips / seconds
        steady[workers] = (clips - half) / (seconds - seconds_half)
        start_up = seconds - clips / steady[workers]
        print(
            f"extract {clips} clips, workers={workers}: {seconds:.1f} s in all "
            f"({whole[workers]:.2f} clips/s); {half} clips: {seconds_half:.1f} s; "
            f"steady {steady[workers]:.2f} clips/s, start-up {start_up:.1f} s; "
            f"per worker: peak RSS {_span(p.rss for p in per_worker)} MB, "
            f"PSS {_span(p.pss for p in per_worker)} MB, "
            f"private {_span(p.anon for p in per_worker)} MB "
            f"(main process: RSS {max(p.rss for p in main_peak)} MB; {repeats} runs, median times)"
        )
    print(
        f"2 workers vs 1: {steady[2] / steady[1]:.2f}x steady-state, "
        f"{whole[2] / whole[1]:.2f}x for the {clips}-clip command with its start-up"
    )
    start_up_2 = clips / whole[2] - clips / steady[2]
    projection = start_up_2 + AVE_CLIPS / steady[2]
    print(f"projected full AVE ({AVE_CLIPS} clips, 2 workers): {projection / 60:.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3, help="runs per extraction figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        extraction_throughput(args.clips, Path(folder), args.repeats)


if __name__ == "__main__":
    main()
