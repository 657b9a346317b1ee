"""Benchmark: extraction throughput and memory per worker, full-AVE projection, detect on a long
video, training throughput per model, and the costs of the source evidence (issue 12).

    python experiments/bench_scale.py [--clips 40] [--long-minutes 10] [--skip-detect]
    python experiments/bench_scale.py --only sources [--source CKPT]   # the three costs of issue 12
    python experiments/bench_scale.py --only sources-detect   # or sources-extract, sources-train,
                                                              # sources-profile: one part

All figures are measured in this run on this machine; the corpus is the synthetic default's
generator (real footage decodes slower than these flat synthetic scenes, so the projection for AVE
is a lower bound; see the README).

The source-evidence part (`sources_costs`) measures, with the features of
``conf/feature/sources.yaml`` (25 steps/s, log-mel bands, face and mouth evidence):

1. ``detect`` with a LagNet checkpoint on a 10-minute 720p video against the bare decode of the
   same file, on the synthetic drum video and on a talking head looped and scaled from a real clip
   of ``data/realdev/raw``, with the training-free default on the same files for comparison;
2. the projected extraction of all of AVE (4,143 ten-second clips, 2 workers) from
   ``extract_clips`` on synthetic clips, plus single 720p clips;
3. the training time of the default real recipe (``experiment=lagnet`` on the real development
   clips as a folder dataset), apart from its one-off clip feature extraction;
4. where the time of ``stream_features`` goes on a talking head, and what a cheaper colour
   conversion would save.

Every timing gives wall time and CPU time (user + sys of this process's children, and of this
process where the work runs in it). The machine is shared with other jobs: CPU time is the fair
measure, wall time is what one user waited here. A timing that starts while the 1-minute load
average is above 3 says so. Media made for it (never committed) are kept in ``--media-dir``
(``data/bench_scale``, git-ignored) and reused by later runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench_extraction import bare_decode  # the same baseline as the extraction benchmark

AVE_CLIPS = 4143
AVE_CLIP_S = 10.0
EXPERIMENTS = Path(__file__).resolve().parent
REPO = EXPERIMENTS.parent
#: detect's exit status is a sum of bits: 1 out of sync, 4 cannot tell are verdicts, 2 a failure
DETECT_VERDICTS = (0, 1, 4, 5)


def run(command: list[str], ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    status = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if status.returncode not in ok:
        raise RuntimeError(f"{' '.join(command)} failed (exit status {status.returncode})")
    return time.perf_counter() - started


def _compose(name: str, *overrides: str):
    """The composed ``conf/<name>.yaml`` with ``overrides``."""
    from hydra import compose, initialize_config_dir

    from avalign.storage.config import config_dir

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose(config_name=name, overrides=list(overrides))


def _config(name: str, clips: int, scratch: Path, *overrides: str):
    """The composed ``conf/<name>.yaml`` for a ``clips``-clip synthetic corpus under ``scratch``."""
    return _compose(
        name,
        f"paths.data_dir={scratch / 'data'}",
        f"dataset.num_clips={clips}",
        "progress=false",
        *overrides,
    )


def _samples(clips: int, scratch: Path):
    """The synthetic corpus of ``clips`` clips and its samples (made on first use)."""
    from avalign.features.pipeline import generate_samples, prepare_dataset

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


def long_drum_video(minutes: float, path: Path) -> Path:
    """A synthetic drum video of ``minutes`` at 1280x720, 25 fps, 48 kHz (no face), at ``path``."""
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
    started = time.perf_counter()
    write_clip(spec, path)  # atomic
    print(f"made a {minutes:g}-minute 720p video in {time.perf_counter() - started:.0f} s")
    return path


def detect_long_video(minutes: float, scratch: Path) -> None:
    """`detect` on a long 720p video against the bare decode of the same file."""
    path = long_drum_video(minutes, scratch / "long720.mp4")
    decode = bare_decode(path)
    detect = run(
        [sys.executable, "-m", "avalign.detect", str(path), "progress=false", "fps=5"],
        ok=DETECT_VERDICTS,
    )
    print(
        f"detect on {minutes:g} min of 720p: {detect:.1f} s; bare decode {decode:.1f} s; "
        f"ratio {detect / decode:.2f} (detect's start-up included)"
    )


def training_throughput(clips: int, scratch: Path) -> None:
    """Samples per second of one training epoch of each model on the cached features."""
    from avalign.training.run import build_model, prepare_data
    from avalign.training.task import SyncTask

    datamodule, _ = prepare_data(_config("train", clips, scratch, "logger=none"))
    import pytorch_lightning as pl

    for name in ("mlp", "transformer"):
        model_cfg = _config("train", clips, scratch, f"model={name}").model
        model = build_model(model_cfg, *datamodule.input_dims, step_ms=200.0)
        model.set_input_stats(datamodule.stats)
        SyncTask.attach(model)
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


# ---------------------------------------------------------------------------------------------
# The costs of the source evidence (issue 12): detect, extraction of AVE, training, profile.

LOAD_LIMIT = 3.0  # 1-minute load average above which a timing says the machine was busy
#: a real talking head of the development clips (60 s, 256x256 face crop, 25 fps, not reserved)
TALKING_HEAD = "tanshuai0219__EDTalk__pose_source2.mp4"
#: each part of `sources_costs`, as ``--only`` names it
SOURCE_PARTS = ("sources-detect", "sources-extract", "sources-train", "sources-profile")


@dataclass(frozen=True)
class Cost:
    """Wall time and CPU time (user + sys) of one piece of work, in seconds."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU"


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def load_note() -> str:
    """The 1-minute load average now, flagged when above `LOAD_LIMIT` (other jobs are running
    on the 2 cores, so wall times are longer than on a quiet machine)."""
    load = os.getloadavg()[0]
    return f"load {load:.1f}" + (f" (above {LOAD_LIMIT:g}: busy)" if load > LOAD_LIMIT else "")


class OverranError(TimeoutError):
    """A command ran past its time limit and was ended; ``cost`` is what it used until then."""

    def __init__(self, message: str, cost: Cost) -> None:
        super().__init__(message)
        self.cost = cost


def timed_command(
    command: list[str],
    *,
    ok: tuple[int, ...] = (0,),
    timeout_s: float | None = None,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> Cost:
    """Run ``command`` (its output to ``log``, else discarded); its wall and CPU time.

    CPU time is the user + sys time of the child and of everything it waited for (its worker
    processes), from ``getrusage(RUSAGE_CHILDREN)`` before and after. An exit status outside
    ``ok`` raises RuntimeError; past ``timeout_s`` the command's process group is ended and
    `OverranError` raised. ``env``: variables set for the command, beside this process's.
    """
    before = _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(log.open("wb")) if log else subprocess.DEVNULL
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=None if env is None else {**os.environ, **env},
        )
        try:
            status = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the command and the workers it started
            process.wait()
            cost = Cost(time.perf_counter() - started, _cpu(resource.RUSAGE_CHILDREN) - before)
            message = f"{' '.join(command)}: still running after {timeout_s:.0f} s"
            raise OverranError(message, cost) from None
    cost = Cost(time.perf_counter() - started, _cpu(resource.RUSAGE_CHILDREN) - before)
    if status not in ok:
        where = f"; its output: {log}" if log else ""
        raise RuntimeError(f"{' '.join(command)} failed (exit status {status}){where}")
    return cost


def timed_call(fn: Callable, *args, **kwargs) -> tuple[object, Cost]:
    """``fn(*args, **kwargs)`` in this process; its result, wall time and CPU time (this
    process's and that of the worker processes it started and ended)."""

    def cpu() -> float:
        return _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)

    before, started = cpu(), time.perf_counter()
    result = fn(*args, **kwargs)
    return result, Cost(time.perf_counter() - started, cpu() - before)


def bare_decode_command(path: Path) -> list[str]:
    """`bare_decode` of ``path`` as a command, so that it is timed like detect: the function's
    own source run by a fresh interpreter that imports nothing else (PyAV only)."""
    import inspect

    code = (
        "import sys, time\nfrom pathlib import Path\nimport av\n\n"
        + inspect.getsource(bare_decode)
        + "\nbare_decode(Path(sys.argv[1]))\n"
    )
    return [sys.executable, "-c", code, str(path)]


def talking_head_video(source: Path, path: Path, seconds: float, start_s: float = 0.0) -> Path:
    """``seconds`` of the real clip ``source`` from ``start_s`` (looped as often as needed),
    scaled into 1280x720 at 25 fps: the picture keeps its shape (a square face crop becomes
    720x720 between black bars), H.264 (veryfast, CRF 23) and AAC 48 kHz."""
    from avalign.media.ffmpeg import run_ffmpeg

    partial = path.with_name(path.stem + ".partial.mp4")
    started = time.perf_counter()
    run_ffmpeg(
        [
            "-stream_loop",
            "-1",
            "-ss",
            f"{start_s:g}",
            "-i",
            str(source),
            "-t",
            f"{seconds:g}",
            "-vf",
            "scale=1280:720:force_original_aspect_ratio=decrease:flags=bicubic,"
            "pad=1280:720:(ow-iw)/2:(oh-ih)/2,fps=25,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-ar",
            "48000",
            str(partial),
        ],
        target=source,
    )
    partial.replace(path)
    print(
        f"made {path.name} ({seconds:g} s of {source.name} at 720p) in "
        f"{time.perf_counter() - started:.0f} s"
    )
    return path


def _kept(path: Path, make: Callable[[Path], Path]) -> Path:
    """``path`` if an earlier run made it, else ``make(path)``."""
    if path.is_file():
        print(f"reusing {path}")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    return make(path)


def sources_feature_config():
    """The features of ``conf/feature/sources.yaml`` (what LagNet is trained on)."""
    from omegaconf import OmegaConf

    from avalign.features.config import FeatureConfig

    feature = _compose("train", "feature=sources").feature
    config = FeatureConfig.from_dict(OmegaConf.to_container(feature, resolve=True))
    return dataclasses.replace(config, save_frames=False)


def tiny_lagnet(scratch: Path, keep: Path) -> Path:
    """A LagNet checkpoint on the source evidence, trained here on 24 synthetic clips for one
    epoch: what ``detect`` needs to compute those features (its accuracy does not matter here).
    The same as ``python -m avalign.train experiment=lagnet dataset.num_clips=24
    model.epochs=1 logger=none paths.data_dir=SCRATCH``, keeping the best checkpoint."""
    from avalign.training.run import train

    cfg = _config("train", 24, scratch, "experiment=lagnet", "model.epochs=1", "logger=none")
    keep.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        _, cost = timed_call(train, cfg, keep_checkpoint=keep)
    print(
        f"trained a tiny LagNet (24 synthetic clips, 1 epoch) in {cost} -> {keep} "
        f"(pass --source {keep} to skip this next time)"
    )
    return keep


def _verdict(report: Path) -> str:
    record = json.loads(report.read_text(encoding="utf-8"))["files"][0]
    if record["status"] != "ok":
        return f"error: {record.get('error')}"
    return f"{record['verdict']} (p_out_of_sync {record['p_out_of_sync']})"


def detect_costs(label: str, path: Path, source: Path, scratch: Path) -> dict[str, Cost]:
    """``detect`` on ``path`` with the LagNet checkpoint ``source`` (its features: the source
    evidence) and with the training-free default (25 steps/s, no face, no bands), against the
    bare decode of the same file (PyAV, every frame and the sound, one thread). Each is one
    command, timed from start to end (interpreter start-up and imports included)."""
    from avalign.media.probe import probe_media

    info = probe_media(path)
    detect = [
        sys.executable,
        "-m",
        "avalign.detect",
        str(path),
        "progress=false",
        "logger=none",
        f"paths.data_dir={scratch / 'data'}",
    ]
    runs = {
        "bare decode (PyAV, 1 thread)": (bare_decode_command(path), None),
        "detect, source evidence (LagNet)": ([*detect, f"source={source}"], "sources"),
        "detect, training-free default": ([*detect, "source=null"], "default"),
    }
    costs, lines = {}, []
    for name, (command, report_name) in runs.items():
        note = load_note()
        if report_name is None:
            costs[name] = timed_command(command)
            lines.append((name, costs[name], note, ""))
            continue
        report = scratch / f"{path.stem}-{report_name}.json"
        costs[name] = timed_command([*command, "--json", str(report)], ok=DETECT_VERDICTS)
        lines.append((name, costs[name], note, _verdict(report)))
    decode = costs["bare decode (PyAV, 1 thread)"]
    print(
        f"\n{label}: {path.name}, {info.duration_s / 60:.1f} min, {info.width}x{info.height}, "
        f"{info.fps:g} fps"
    )
    print("| run | wall s | CPU s | wall / decode | CPU / decode | load | verdict |")
    print("|---|---|---|---|---|---|---|")
    for name, cost, note, verdict in lines:
        print(
            f"| {name} | {cost.wall:.1f} | {cost.cpu:.1f} | {cost.wall / decode.wall:.2f} | "
            f"{cost.cpu / decode.cpu:.2f} | {note} | {verdict} |"
        )
    return costs


def detect_with_sources(
    minutes: float, scratch: Path, media: Path, source: Path | None, talking_head: Path
) -> dict[str, dict[str, Cost]]:
    """Part 1: `detect_costs` on a long 720p synthetic drum video (no face) and on a long 720p
    talking head made from a real clip (skipped, with the reason, when the clip is absent)."""
    print(f"\n## detect with the source evidence on {minutes:g} min of 720p")
    if source is None:
        source = tiny_lagnet(scratch, media / "lagnet_tiny.ckpt")
    results = {}
    drum = _kept(media / f"drum_720p_{minutes:g}min.mp4", lambda p: long_drum_video(minutes, p))
    results["drum"] = detect_costs("(a) synthetic drum video (no face)", drum, source, scratch)
    if not talking_head.is_file():
        print(
            f"\n(b) talking head skipped: {talking_head} is absent (the real development clips "
            "are not on this machine)"
        )
        return results
    head = _kept(
        media / f"talking_head_720p_{minutes:g}min.mp4",
        lambda p: talking_head_video(talking_head, p, minutes * 60),
    )
    results["talking head"] = detect_costs(
        f"(b) talking head, {talking_head.name} looped and scaled to 720p", head, source, scratch
    )
    print(
        "wall time is what one waited on this shared machine; CPU time (user + sys of the "
        "command and its workers) is the fair measure of cost: the ratios to compare with "
        "issue 12's '<= 3x the bare decode' are the CPU ones"
    )
    return results


def _with_one_thread(fn: Callable, *args, **kwargs):
    """``fn`` with OpenCV and torch on one thread, as in an extraction worker."""
    import cv2
    import torch

    saved = cv2.getNumThreads(), torch.get_num_threads()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    try:
        return fn(*args, **kwargs)
    finally:
        cv2.setNumThreads(saved[0])
        torch.set_num_threads(saved[1])


def _projection(clips: int, half: int, full: list[Cost], halves: list[Cost]) -> None:
    """Steady state and AVE projection from runs over ``clips`` and ``half`` of them."""
    wall_full, wall_half = (statistics.median(c.wall for c in runs) for runs in (full, halves))
    cpu_full, cpu_half = (statistics.median(c.cpu for c in runs) for runs in (full, halves))
    steady = (clips - half) / (wall_full - wall_half)  # clips/s once running, 2 workers
    cpu_per_clip = (cpu_full - cpu_half) / (clips - half)
    start_wall = wall_full - clips / steady
    start_cpu = cpu_full - clips * cpu_per_clip
    print(
        f"{clips} clips: {wall_full:.1f} s wall, {cpu_full:.1f} s CPU; {half} clips: "
        f"{wall_half:.1f} s wall, {cpu_half:.1f} s CPU (medians of {len(full)}); steady state "
        f"{steady:.2f} clips/s ({1 / steady:.2f} s wall per clip), {cpu_per_clip:.2f} s CPU per "
        f"clip; start-up {start_wall:.1f} s wall, {start_cpu:.1f} s CPU"
    )
    wall = start_wall + AVE_CLIPS / steady
    ideal = start_wall + AVE_CLIPS * cpu_per_clip / 2
    print(
        f"projected full AVE ({AVE_CLIPS} clips, 2 workers): {wall / 60:.1f} min at the "
        f"throughput measured here (shared machine); {ideal / 60:.1f} min from the CPU time on 2 "
        f"cores of its own ({AVE_CLIPS} x {cpu_per_clip:.2f} s CPU / 2 + start-up)"
    )


def _written(write: Callable, spec, path: Path) -> Path:
    write(spec, path)
    return path


def single_clip_costs(label: str, paths: list[Path], scratch: Path, config) -> Cost:
    """Median cost of one clip's `extract_clip` in this process on one core (an extraction
    worker's work for it), after a first untimed clip loads the libraries and models."""
    from avalign.features.cache import FeatureCache
    from avalign.features.clips import ClipJob, extract_clip

    cache = scratch / f"single-{label.replace(' ', '_')}"
    FeatureCache(cache, config).prepare()
    _with_one_thread(extract_clip, ClipJob("warm-up", paths[0], cache, config))
    costs = []
    for index, path in enumerate(paths):
        job = ClipJob(f"clip{index}", path, cache, config)
        note = load_note()
        costs.append(timed_call(_with_one_thread, extract_clip, job)[1])
    cost = Cost(statistics.median(c.wall for c in costs), statistics.median(c.cpu for c in costs))
    ideal = AVE_CLIPS * cost.cpu / 2
    print(
        f"{label}, one clip on one core: {cost} (median of {len(paths)}; {note}); all of AVE "
        f"at this cost per clip, 2 workers on 2 cores of their own: {ideal / 60:.1f} min"
    )
    return cost


def extraction_with_sources(
    clips: int, scratch: Path, media: Path, repeats: int, talking_head: Path
) -> None:
    """Part 2: projected extraction of all of AVE with the source evidence, 2 workers.

    `avalign.features.clips.extract_clips` (what self-supervised training and the benchmark
    use) over ``clips`` clips of the synthetic corpus and over every other one of them, fresh
    caches, ``repeats`` times each: the difference is the steady state, the rest the start-up
    (as in `extraction_throughput`; every other clip rather than the first half, so that both
    sets hold the same mix of frame sizes and scenes). Then single ten-second 720p clips on one
    core: synthetic scenes and pieces of the real talking head (the face models at work).
    """
    from avalign.datasets.synthetic import make_clip_spec, write_clip
    from avalign.features.clips import extract_clips
    from avalign.features.pipeline import prepare_dataset
    from avalign.media.probe import probe_media

    print(f"\n## extraction of all of AVE with the source evidence ({AVE_CLIPS} clips, 2 workers)")
    config = sources_feature_config()
    stage = prepare_dataset(
        _config("train", clips, scratch).dataset, scratch / "data", workers=2, progress=False
    )
    files = {s.video_id: stage.dataset.video_file(s) for s in stage.dataset.segments}
    sizes = Counter(
        f"{info.width}x{info.height}" for info in (probe_media(p) for p in files.values())
    )
    print(
        f"synthetic corpus, {len(files)} ten-second clips: "
        + ", ".join(f"{n} x {size}" for size, n in sorted(sizes.items()))
    )
    names = sorted(files)
    half = len(names[::2])  # every other clip: both sets hold the same mix of scenes and sizes
    full, halves = [], []
    note = load_note()
    for repeat in range(repeats):
        for subset, runs in ((names[::2], halves), (names, full)):
            cache = scratch / f"clips-{repeat}-{len(subset)}"
            failures, cost = timed_call(
                extract_clips,
                {n: files[n] for n in subset},
                cache,
                config,
                workers=2,
                progress=False,
            )
            if failures.errors:
                raise RuntimeError(f"clip extraction failed: {failures.errors[0]}")
            runs.append(cost)
            shutil.rmtree(cache)
    print(f"extract_clips with workers=2 ({note})")
    _projection(len(names), half, full, halves)

    synthetic = []
    for index, category in enumerate(("drum_strike", "speech_mouth", "hand_clap", "ball_bounce")):
        spec = make_clip_spec(
            category, width=1280, height=720, fps=30, sample_rate=48000, seed=10 + index
        )
        path = media / f"synthetic_720p_{category}.mp4"
        synthetic.append(_kept(path, lambda p, spec=spec: _written(write_clip, spec, p)))
    single_clip_costs("synthetic 720p 30 fps", synthetic, scratch, config)
    if talking_head.is_file():
        pieces = [
            _kept(
                media / f"talking_head_720p_10s_{start}.mp4",
                lambda p, start=start: talking_head_video(talking_head, p, 10.0, start),
            )
            for start in (0, 15, 30, 45)
        ]
        single_clip_costs("real talking head at 720p 25 fps", pieces, scratch, config)
    else:
        print(f"talking-head clips skipped: {talking_head} is absent")


def _train_log_results(log: Path) -> None:
    """Print the results table and the "finished in" line of a training command's output."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    table = [i for i, text in enumerate(lines) if text.startswith("results: ")]
    for text in lines[table[-1] :] if table else []:
        if text.startswith(("results", " ", "val", "test", "offset", "finished")):
            print("  " + text)


def real_recipe_training(
    root: Path, scratch: Path, timeout_s: float, full: bool, one_thread: bool = False
) -> None:
    """Part 3: training time of the default real recipe, ``python -m avalign.train
    experiment=lagnet dataset=folder dataset.root=ROOT``, apart from its one-off clip feature
    extraction (timed first, in this process, as ``train`` does it); on the synthetic corpus
    when ``root`` holds no videos.

    With ``full``, the command runs with the config's epochs. Otherwise (bounded time) it runs
    with 1 and with 2 epochs: every epoch draws the same number of windows, so the difference
    is the cost of one epoch and the rest the fixed cost (start-up, validation of the best
    epoch, test, MLflow), and the config's epochs are projected from them. Each run logs to an
    MLflow store of its own, so each pays the same store creation.

    ``one_thread``: torch (and OpenCV) on one thread (`ONE_THREAD`). By default torch runs two
    intra-op threads on 2 cores; when another job holds a core, they wait for each other and
    the CPU time grows with the waiting. On one thread the CPU time is the work itself, and it
    bounds from above the wall time on 2 cores of its own.
    """
    from avalign.datasets.folder import find_videos
    from avalign.media.probe import probe_media
    from avalign.training.run import prepare_shift_data

    print("\n## training of the default real recipe (experiment=lagnet)")
    videos = find_videos(root) if root.is_dir() else []
    data = scratch / "recipe"
    if videos:
        dataset = ["dataset=folder", f"dataset.root={root}"]
        seconds = sum(probe_media(p).duration_s for p in videos)
        print(f"dataset: {len(videos)} real development clips in {root}, {seconds:.0f} s in all")
    else:
        dataset, seconds = [], 0.0
        print(f"{root} holds no videos: the synthetic corpus (its default size) instead")
    common = ["experiment=lagnet", *dataset, f"paths.data_dir={data}", "progress=false"]
    cfg = _compose("train", *common)
    epochs = int(cfg.model.epochs)
    note = load_note()
    module, extraction = timed_call(prepare_shift_data, cfg)
    windows = len(module[0].train_set)
    print(
        f"epochs: {epochs}; {windows} training windows per epoch "
        f"({cfg.data.shifts.draws_per_clip} per training clip), batch {cfg.data.batch_size}"
    )
    line = f"one-off: dataset and clip features (source evidence): {extraction} ({note})"
    if seconds:
        per_s = extraction.cpu / seconds
        ave = AVE_CLIPS * AVE_CLIP_S * per_s / 2 / 60
        line += (
            f"; {per_s * 10:.2f} s CPU per 10 s of this real footage (start-up included), so "
            f"all of AVE at that cost, 2 workers on 2 cores of their own: {ave:.1f} min"
        )
    print(line)
    command = [sys.executable, "-m", "avalign.train", *common]
    env = ONE_THREAD if one_thread else None
    threads = " with " + " ".join(f"{k}={v}" for k, v in ONE_THREAD.items()) if one_thread else ""
    print("training command:", " ".join(command[1:]), f"(features cached now){threads}")
    costs = {}
    for count in (epochs,) if full else (1, 2):
        note, log = load_note(), scratch / f"train-{count}.log"
        run_command = [
            *command,
            f"model.epochs={count}",
            f"paths.output_dir={scratch / 'outputs'}",
            f"paths.mlflow_dir={scratch / f'mlflow-{count}'}",
        ]
        try:
            costs[count] = timed_command(run_command, timeout_s=timeout_s, log=log, env=env)
        except OverranError as error:
            print(f"{count} epochs: stopped after {error.cost} ({note}): longer than that")
            return
        print(f"{count} epochs: {costs[count]} ({note})")
        _train_log_results(log)
    if full:
        print(f"training, {epochs} epochs (MLflow logging included): {costs[epochs]}")
        return
    epoch = Cost(costs[2].wall - costs[1].wall, costs[2].cpu - costs[1].cpu)
    fixed = Cost(costs[1].wall - epoch.wall, costs[1].cpu - epoch.cpu)
    total = Cost(fixed.wall + epochs * epoch.wall, fixed.cpu + epochs * epoch.cpu)
    print(
        f"one epoch: {epoch} ({1000 * epoch.cpu / windows:.0f} ms CPU per window); fixed: "
        f"{fixed}; projected training with the config's {epochs} epochs: {total} "
        f"({total.wall / 60:.1f} min wall, {total.cpu / 60:.1f} min CPU)"
    )


@contextlib.contextmanager
def stage_timers() -> Iterator[Counter]:
    """While active: CPU seconds of this process in each stage of `stream_features`, by name.

    Wraps the functions that do each stage (restored on exit): the decoder's frames
    (``decode._decode_shown``), the gray thumbnail, the colour picture, the face detector, the
    face mesh (with its crop), the mouth and face motion crops, the rest of the face tracker,
    the motion features (flow) and the sound features.
    """
    import avalign.features.face as face
    import avalign.features.stream as stream
    import avalign.media.decode as decode

    totals: Counter = Counter()

    def timed(fn, key):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[key] += time.process_time() - started

        return wrapper

    def timed_frames(fn, key):
        def wrapper(*args, **kwargs):
            frames = fn(*args, **kwargs)
            while True:
                started = time.process_time()
                frame = next(frames, None)
                totals[key] += time.process_time() - started
                if frame is None:
                    return
                yield frame

        return wrapper

    targets = [
        (decode, "_decode_shown", "decode", timed_frames),
        (decode, "gray_thumbnail", "gray picture", timed),
        (decode, "rgb_picture", "colour picture", timed),
        (face.FaceDetector, "__call__", "face detector", timed),
        (face.FaceLandmarker, "__call__", "face mesh", timed),
        (face.FaceTracker, "_motion", "mouth and face crops", timed),
        (face.FaceTracker, "step", "face tracker in all", timed),
        (stream, "motion_features", "flow (motion features)", timed),
        (stream, "_audio", "sound (MFCC, log-mel, voice band)", timed),
    ]
    saved = [(owner, name, vars(owner)[name]) for owner, name, _, _ in targets]
    for owner, name, key, wrap in targets:
        setattr(owner, name, wrap(getattr(owner, name), key))
    try:
        yield totals
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)


def _shrink_halving(image, width: int, height: int):
    """Proposed `shrink` for the colour picture: Gaussian pyramid halvings while the picture is
    at least twice the target both ways, then bilinear (the rest is less than 2x, where
    bilinear does not alias); OpenCV's area filter at non-integer ratios is the slow part."""
    import cv2

    while image.shape[0] >= 2 * height and image.shape[1] >= 2 * width:
        image = cv2.pyrDown(image)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


@contextlib.contextmanager
def proposed_shrink(gray: bool) -> Iterator[None]:
    """While active, `rgb_picture` (and `gray_thumbnail` when ``gray``) shrink with
    `_shrink_halving`: the change proposed in the report, measured without editing the module."""
    import avalign.media.decode as decode

    original = decode.shrink
    rgb, thumbnail = decode.rgb_picture, decode.gray_thumbnail

    def rgb_picture(frame, short_side):
        decode.shrink = _shrink_halving
        try:
            return rgb(frame, short_side)
        finally:
            decode.shrink = original

    def gray_thumbnail(frame, width, height):
        decode.shrink = _shrink_halving
        try:
            return thumbnail(frame, width, height)
        finally:
            decode.shrink = original

    decode.rgb_picture = rgb_picture
    if gray:
        decode.gray_thumbnail = gray_thumbnail
    try:
        yield
    finally:
        decode.rgb_picture, decode.gray_thumbnail = rgb, thumbnail


def _agreement(base: dict, other: dict) -> str:
    import numpy as np

    present = float(np.mean(base["face_present"] == other["face_present"]))
    parts = [f"face_present equal on {present:.1%} of steps"]
    for key in ("mouth_open", "mouth_motion", "flow_energy"):
        a, b = base[key].astype(float), other[key].astype(float)
        if np.array_equal(a, b):
            parts.append(f"{key} identical")
        elif a.std() > 0 and b.std() > 0:
            parts.append(f"{key} r={np.corrcoef(a, b)[0, 1]:.3f}")
    return ", ".join(parts)


def profile_sources(path: Path, scratch: Path) -> float:
    """Part 4: where the CPU time of `stream_features` with the source evidence goes on ``path``
    (one core, as in an extraction worker); then the same with the proposed cheaper colour
    conversion (and gray thumbnail) and with the face mesh every 4th step instead of every 2nd.
    Returns the CPU seconds per step of the unchanged code."""
    from avalign.features.stream import stream_features

    config = sources_feature_config()
    print(f"\n## where the time goes: stream_features with the source evidence on {path.name}")
    note = load_note()
    decode = timed_command(bare_decode_command(path))
    _with_one_thread(stream_features, path, config)  # warm-up: imports, models, caches
    with stage_timers() as stages:
        (features, info), cost = timed_call(_with_one_thread, stream_features, path, config)
    steps = len(features["flow_energy"])
    stages["face tracker, rest"] = stages.pop("face tracker in all") - sum(
        stages[k] for k in ("face detector", "face mesh", "mouth and face crops")
    )
    stages["other"] = cost.cpu - sum(stages.values())
    print(
        f"{steps} steps ({info.duration_s:.0f} s at 25 steps/s), {info.width}x{info.height}, "
        f"face found on {features['face_present'].mean():.0%} of steps; {cost} in all ({note}); "
        f"bare decode of the file {decode}"
    )
    print("| stage | CPU s | ms per step | share |")
    print("|---|---|---|---|")
    for key, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(
            f"| {key} | {seconds:.2f} | {1000 * seconds / steps:.2f} | {seconds / cost.cpu:.0%} |"
        )
    variants = {
        "colour picture by halvings + bilinear (proposed)": (proposed_shrink(False), config),
        "and the gray thumbnail the same way": (proposed_shrink(True), config),
        "face mesh every 4th step (face.landmarks_every=4)": (
            contextlib.nullcontext(),
            dataclasses.replace(config, face=dataclasses.replace(config.face, landmarks_every=4)),
        ),
    }
    for name, (context, settings) in variants.items():
        with context:
            (other, _), changed = timed_call(_with_one_thread, stream_features, path, settings)
        print(
            f"{name}: {changed.cpu:.2f} s CPU ({1000 * changed.cpu / steps:.2f} ms per step, "
            f"{changed.cpu / cost.cpu - 1:+.0%}); {_agreement(features, other)}"
        )
    return cost.cpu / steps


#: environment that keeps OpenCV, torch (OpenMP) and BLAS on one thread, as `limit_threads` does
ONE_THREAD = {
    "OPENCV_FOR_THREADS_NUM": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def detect_proposed_program() -> str:
    """A ``python -c`` program: `avalign.detect` (its arguments after the program) with the
    proposed colour conversion (`proposed_shrink`), carried as source, importing nothing else."""
    import inspect

    return (
        "import contextlib, sys\nfrom collections.abc import Iterator\n\n"
        + inspect.getsource(_shrink_halving)
        + "\n"
        + inspect.getsource(proposed_shrink)
        + "\nfrom avalign.detection.check import run\n\nwith proposed_shrink(False):\n"
        + "    code = run(sys.argv[1:])\nsys.exit(code)\n"
    )


def detect_variants(path: Path, source: Path, scratch: Path) -> None:
    """``detect`` with the source evidence on ``path``, back to back: as it runs (OpenCV and
    torch on every core), with one thread for each (`ONE_THREAD`: a second thread helps little,
    the decoder runs on one, and its waiting costs CPU time), and with one thread and the
    proposed colour conversion (`proposed_shrink`), against the bare decode of the file."""
    arguments = [
        str(path),
        "progress=false",
        "logger=none",
        f"paths.data_dir={scratch / 'data'}",
        f"source={source}",
    ]
    detect = [sys.executable, "-m", "avalign.detect", *arguments]
    proposed = [sys.executable, "-c", detect_proposed_program(), *arguments]
    note = load_note()
    decode = timed_command(bare_decode_command(path))
    print(f"\ndetect with the source evidence on {path.name}; bare decode {decode} ({note})")
    runs = (
        ("as it runs (every core)", detect, None),
        ("one thread (OpenCV, torch)", detect, ONE_THREAD),
        ("one thread + proposed colour conversion", proposed, ONE_THREAD),
    )
    for name, command, env in runs:
        note = load_note()
        cost = timed_command(command, ok=DETECT_VERDICTS, env=env)
        print(
            f"  {name}: {cost}; {cost.cpu / decode.cpu:.2f}x the decode's CPU time, "
            f"{cost.wall / decode.wall:.2f}x its wall time ({note})"
        )


def sources_costs(args: argparse.Namespace, scratch: Path) -> None:
    """The three costs of issue 12 and the profile (``--only sources`` or one part of it)."""
    media = Path(args.media_dir)
    parts = SOURCE_PARTS if args.only in (None, "sources") else (args.only,)
    head = Path(args.talking_head)
    detected = {}
    if "sources-detect" in parts:
        detected = detect_with_sources(
            args.long_minutes, scratch, media, Path(args.source) if args.source else None, head
        )
    if "sources-extract" in parts:
        extraction_with_sources(args.clips, scratch, media, args.repeats, head)
    if "sources-train" in parts:
        real_recipe_training(
            Path(args.real_root),
            scratch,
            args.train_timeout,
            args.train_full,
            args.train_one_thread,
        )
    if "sources-profile" in parts:
        if not head.is_file():
            print(f"\nprofile skipped: {head} is absent")
            return
        piece = _kept(
            media / f"talking_head_720p_{args.profile_seconds:g}s.mp4",
            lambda p: talking_head_video(head, p, args.profile_seconds),
        )
        per_step = profile_sources(piece, scratch)
        minutes = args.profile_seconds / 60
        drum = _kept(
            media / f"drum_720p_{args.profile_seconds:g}s.mp4",
            lambda p: long_drum_video(minutes, p),
        )
        profile_sources(drum, scratch)  # no face: what the colour pictures cost alone
        checkpoint = Path(args.source) if args.source else media / "lagnet_tiny.ckpt"
        for name in ("talking_head", "drum"):
            long_video = media / f"{name}_720p_{args.long_minutes:g}min.mp4"
            if long_video.is_file() and checkpoint.is_file():
                detect_variants(long_video, checkpoint, scratch)
            else:
                print(f"\ndetect variants skipped: {long_video} or {checkpoint} absent (part 1)")
        if "talking head" in detected:
            cost = detected["talking head"]["detect, source evidence (LagNet)"]
            features = per_step * args.long_minutes * 60 * 25
            print(
                f"detect's {cost.cpu:.0f} s CPU on the {args.long_minutes:g}-minute talking head: "
                f"about {features:.0f} s for the features at this profile's rate, the rest "
                f"({cost.cpu - features:.0f} s) start-up, LagNet on the windows and the verdict"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--skip-detect", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="runs per extraction figure")
    parser.add_argument(
        "--only",
        choices=("extraction", "training", "detect", "sources", *SOURCE_PARTS),
        default=None,
        help="one part; 'sources': the costs of the source evidence (issue 12), all four parts",
    )
    parser.add_argument(
        "--source", help="LagNet checkpoint for detect (default: train a tiny one here)"
    )
    parser.add_argument(
        "--talking-head",
        default=str(REPO / "data" / "realdev" / "raw" / TALKING_HEAD),
        help="real talking-head clip made into the 720p videos",
    )
    parser.add_argument(
        "--real-root",
        default=str(REPO / "data" / "realdev" / "raw"),
        help="folder of real in-sync videos for the training recipe",
    )
    parser.add_argument(
        "--media-dir",
        default=str(REPO / "data" / "bench_scale"),
        help="where the videos made here are kept and reused (never commit them)",
    )
    parser.add_argument(
        "--train-full",
        action="store_true",
        help="time the recipe's training with its own epochs (default: project from 1 and 2)",
    )
    parser.add_argument(
        "--train-one-thread",
        action="store_true",
        help="train with torch on one thread (CPU time free of thread waiting)",
    )
    parser.add_argument(
        "--train-timeout", type=float, default=2400.0, help="seconds per training command"
    )
    parser.add_argument("--profile-seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        if args.only in (None, "extraction"):
            extraction_throughput(args.clips, scratch, args.repeats)
        if args.only in (None, "training"):
            training_throughput(args.clips, scratch)
        if args.only in (None, "detect") and not args.skip_detect:
            detect_long_video(args.long_minutes, scratch)
        if args.only is None or args.only.startswith("sources"):
            sources_costs(args, scratch)


if __name__ == "__main__":
    main()
