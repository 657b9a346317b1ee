"""Benchmark: extraction throughput and memory per worker, full-AVE projection, detect on a long
video, and training throughput per model.

    python experiments/bench_scale.py [--clips 40] [--long-minutes 10] [--skip-detect]

All figures are measured in this run on this machine; the corpus is the synthetic default's
generator (real footage decodes slower than these flat synthetic scenes, so the projection for AVE
is a lower bound; see the README).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

AVE_CLIPS = 4143


def run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def extraction_throughput(clips: int, scratch: Path) -> None:
    """Extract the same corpus with 1 and 2 workers; print clips/s, speed-up and peak RSS."""
    common = [
        f"paths.data_dir={scratch / 'data'}",
        f"paths.output_dir={scratch / 'out'}",
        f"dataset.num_clips={clips}",
        "progress=false",
    ]
    subprocess.run(
        [sys.executable, "-m", "avalign.generate", *common, "workers=2"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (samples,) = [p for p in (scratch / "data").glob("datasets/*/samples-*") if p.is_dir()]
    rates = {}
    for workers in (1, 2):
        for old in samples.glob("features-*"):
            shutil.rmtree(old)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        seconds = run(
            [sys.executable, "-m", "avalign.extract", *common, f"extract.workers={workers}"]
        )
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rates[workers] = clips / seconds
        print(
            f"extract {clips} clips, workers={workers}: {seconds:.1f} s, "
            f"{rates[workers]:.2f} clips/s, peak RSS of a process {max(peak, before) / 1024:.0f} MB"
        )
    print(f"2 workers vs 1: {rates[2] / rates[1]:.2f}x")
    print(f"projected full AVE ({AVE_CLIPS} clips, 2 workers): {AVE_CLIPS / rates[2] / 60:.1f} min")


def bare_decode(path: Path) -> float:
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
        f"ratio {detect / decode:.2f} (detect includes ~5 s of Python start-up)"
    )


def training_throughput(scratch: Path) -> None:
    """Samples per second of one training epoch of each model on the cached features."""
    from hydra import compose, initialize_config_dir

    from avalign.config import config_dir
    from avalign.train import build_model, prepare_data

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[f"paths.data_dir={scratch / 'data'}", "progress=false", "logger=none"],
        )
    datamodule, _ = prepare_data(cfg)
    import pytorch_lightning as pl

    for name in ("mlp", "transformer"):
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            model_cfg = compose(config_name="train", overrides=[f"model={name}"]).model
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        extraction_throughput(args.clips, scratch)
        training_throughput(scratch)
        if not args.skip_detect:
            detect_long_video(args.long_minutes, scratch)


if __name__ == "__main__":
    main()
