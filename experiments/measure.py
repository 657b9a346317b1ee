"""Shared helpers of the benchmarks in experiments/ (not a benchmark itself).

Timings (`Cost`: wall time and CPU time) of a command (`timed_command`, `run`) or of a call in
this process (`timed_call`), the load note (`load_note`), the peak memory of a process tree
(`peak_memory_of_tree`, `Peaks`), the composed configs and the synthetic corpus (`_compose`,
`_config`, `_samples`), the features of the source evidence (`sources_feature_config`), the
media the benchmarks make (`talking_head_video`, kept by `_kept`) and the bare decode as a
command (`bare_decode_command`). The scripts are run as ``python experiments/X.py``, which puts
experiments/ on ``sys.path``: they import this as ``from measure import ...``.

Every timing gives wall time and CPU time (user + sys of this process's children, and of this
process where the work runs in it). The machine is shared with other jobs: CPU time is the fair
measure, wall time is what one user waited here. A timing that starts while the 1-minute load
average is above 3 says so. Media made for a benchmark (never committed) are kept in its
``--media-dir`` (`MEDIA_DIR`, git-ignored) and reused by later runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench_extraction import bare_decode  # the same baseline as the extraction benchmark

AVE_CLIPS = 4143
AVE_CLIP_S = 10.0
EXPERIMENTS = Path(__file__).resolve().parent
REPO = EXPERIMENTS.parent
#: where the benchmarks keep the media they make (the folder of the former bench_scale.py,
#: so that media made by earlier runs are reused)
MEDIA_DIR = REPO / "data" / "bench_scale"
LOAD_LIMIT = 3.0  # 1-minute load average above which a timing says the machine was busy
#: a real talking head of the development clips (60 s, 256x256 face crop, 25 fps, not reserved)
TALKING_HEAD = "tanshuai0219__EDTalk__pose_source2.mp4"


def add_media_arguments(parser) -> None:
    """``--talking-head`` and ``--media-dir``: the real clip the 720p videos are made from and
    where the videos made are kept (the benchmarks that make long videos share them)."""
    parser.add_argument(
        "--talking-head",
        default=str(REPO / "data" / "realdev" / "raw" / TALKING_HEAD),
        help="real talking-head clip made into the 720p videos",
    )
    parser.add_argument(
        "--media-dir",
        default=str(MEDIA_DIR),
        help="where the videos made here are kept and reused (never commit them)",
    )


#: environment that keeps OpenCV, torch (OpenMP) and BLAS on one thread, as `limit_threads` does
ONE_THREAD = {
    "OPENCV_FOR_THREADS_NUM": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


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
