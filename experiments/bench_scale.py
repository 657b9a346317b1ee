"""Benchmark: extraction throughput and memory per worker, full-AVE projection, detect on a long
video, and training throughput per model.

    python experiments/bench_scale.py [--clips 40] [--long-minutes 10] [--skip-detect]

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
from dataclasses import dataclass
from pathlib import Path

from bench_extraction import bare_decode  # the same baseline as the extraction benchmark

AVE_CLIPS = 4143


def run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _config(name: str, clips: int, scratch: Path, *overrides: str):
    """The composed ``conf/<name>.yaml`` for a ``clips``-clip synthetic corpus under ``scratch``."""
    from hydra import compose, initialize_config_dir

    from avalign.config import config_dir

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose(
            config_name=name,
            overrides=[
                f"paths.data_dir={scratch / 'data'}",
                f"dataset.num_clips={clips}",
                "progress=false",
                *overrides,
            ],
        )


def _samples(clips: int, scratch: Path):
    """The synthetic corpus of ``clips`` clips and its samples (made on first use)."""
    from avalign.pipeline import generate_samples, prepare_dataset

    cfg = _config("generate", clips, scratch)
    dataset = prepare_dataset(cfg.dataset, scratch / "data", workers=2, progress=False)
    return dataset, generate_samples(dataset, cfg.generate, progress=False)


@dataclass
class Peaks:
    """The highest memory figures (MB) seen for one process.

    ``rss`` is the kernel's own peak (``VmHWM``). It counts every page of a shared library that
    the process has mapped, and on this kernel a touched library page brings its whole page-cache
    folio with it, so the same work shows 590-710 MB depending on what else has read those
    libraries. ``anon`` (private, anonymous memory: the process's own) and ``pss`` (its fair
    share of the shared pages) are sampled every 0.2 s: what one more worker really costs.
    """

    rss: int = 0
    pss: int = 0
    anon: int = 0
    worker: bool = False  # a multiprocessing worker (not the resource tracker, not the main)

    def update(self, rss: int, pss: int, anon: int) -> None:
        self.rss, self.pss, self.anon = max(self.rss, rss), max(self.pss, pss), max(self.anon, anon)


def _kb_field(text: str, name: str) -> int:
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def peak_memory_of_tree(root: int, done: threading.Event, peaks: dict[int, Peaks]) -> None:
    """Until ``done``: record the peak memory (`Peaks`) of ``root`` and every descendant."""
    while not done.is_set():
        parents: dict[int, int] = {}
        status: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status[int(entry.name)] = (entry / "status").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = _kb_field(status[int(entry.name)], "PPid")
        for pid, text in status.items():
            ancestor = pid
            while ancestor not in (0, 1, root):
                ancestor = parents.get(ancestor, 0)
            if ancestor != root or "VmHWM" not in text:
                continue
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            if pid not in peaks:
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                peaks[pid] = Peaks(worker=b"spawn_main" in command)
            peaks[pid].update(
                _kb_field(text, "VmHWM") // 1024,
                _kb_field(rollup, "Pss") // 1024,
                _kb_field(text, "RssAnon") // 1024,
            )
        time.sleep(0.2)


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


def detect_long_video(minutes: float, scratch: Path) -> None:
    """`detect` on a long 720p video against the bare decode of the same file."""
    from avalign.datasets.synthetic import make_clip_spec, write_clip

    seconds = int(minutes * 60)
    spec = make_clip_spec(
        "drum_strike",
        width=1280,
        height=720,
        fps=25,
        sample_rate=48000,
        seed=3,
        event=(0, seconds),
        duration_s=float(seconds),
    )
    path = scratch / "long720.mp4"
    started = time.perf_counter()
    write_clip(spec, path)
    print(f"made a {minutes:g}-minute 720p video in {time.perf_counter() - started:.0f} s")
    decode = bare_decode(path)
    detect = run([sys.executable, "-m", "avalign.detect", str(path), "progress=false", "fps=5"])
    print(
        f"detect on {minutes:g} min of 720p: {detect:.1f} s; bare decode {decode:.1f} s; "
        f"ratio {detect / decode:.2f} (detect's start-up included)"
    )


def training_throughput(clips: int, scratch: Path) -> None:
    """Samples per second of one training epoch of each model on the cached features."""
    from avalign.train import build_model, prepare_data

    datamodule, _ = prepare_data(_config("train", clips, scratch, "logger=none"))
    import pytorch_lightning as pl

    for name in ("mlp", "transformer"):
        model_cfg = _config("train", clips, scratch, f"model={name}").model
        model = build_model(model_cfg, *datamodule.input_dims, step_ms=200.0)
        model.set_input_stats(datamodule.stats)
        trainer = pl.Trainer(
            max_epochs=2,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
        )
        started = time.perf_counter()
        trainer.fit(model, datamodule=datamodule)
        rate = 2 * len(datamodule.splits["train"]) / (time.perf_counter() - started)
        print(f"training {name}: {rate:.0f} samples/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--skip-detect", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="runs per extraction figure")
    parser.add_argument("--only", choices=("extraction", "training", "detect"), default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        if args.only in (None, "extraction"):
            extraction_throughput(args.clips, scratch, args.repeats)
        if args.only in (None, "training"):
            training_throughput(args.clips, scratch)
        if args.only in (None, "detect") and not args.skip_detect:
            detect_long_video(args.long_minutes, scratch)


if __name__ == "__main__":
    main()
