"""Benchmark: detect on long files and folders against the bare decode, in one run (issue 21).

    python experiments/detect_scale.py [--long] [--folder] [--hour] [--minutes 10]

Parts (none given: all three):

``--long``: ``python -m avalign.detect VIDEO`` with its defaults (the packaged LagNet, face
evidence, ``file_threads=auto``: both cores) on a ``--minutes`` 720p talking head (a real clip of
``data/realdev/raw`` looped and scaled, `measure.talking_head_video`) and on a synthetic 720p drum
video with no face (`detect_speed.long_drum_video`); and the same with ``file_threads=1`` (one
pass on one core), against the bare decode of the same file (PyAV, every frame and the sound,
one thread). It prints CPU time and wall time as ratios to the decode's, the speed against real
time, and whether both runs give the same verdict.

``--folder``: ``python -m avalign.detect FOLDER workers=2`` on 100 ten-second real clips (the
real development clips of 10 s or more, cut to their first 10 s without re-encoding, as a cutter
does; the list is repeated to 100 files), against decoding every file once in one process on
one core (`decode_all`), and with ``workers=1``.

``--hour``: the peak memory of ``python -m avalign.detect`` (defaults) on a 1-hour 720p file (the
10-minute talking head repeated six times without re-encoding): the kernel's peak resident set
(VmHWM) of each process, and the sum over processes of the peak proportional share (PSS).

Every timing gives wall and CPU time (user + sys of the command and its workers). Media made for
it (never committed) are kept in ``--media-dir`` (``data/bench_scale``) and reused.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from detect_speed import DETECT_VERDICTS, long_drum_video
from measure import (
    REPO,
    Peaks,
    _kept,
    add_media_arguments,
    bare_decode_command,
    load_note,
    peak_memory_of_tree,
    talking_head_video,
    timed_command,
)

from avalign.media.ffmpeg import run_ffmpeg
from avalign.media.probe import probe_media

FOLDER_FILES = 100
CLIP_S = 10.0


def _detect(path: Path, report: Path, scratch: Path, *settings: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "avalign.detect",
        str(path),
        "--json",
        str(report),
        "progress=false",
        "logger=none",
        f"paths.data_dir={scratch / 'data'}",
        *settings,
    ]


def _verdicts(report: Path) -> list[str]:
    files = json.loads(report.read_text(encoding="utf-8"))["files"]
    return [f"{r['verdict']}" if r["status"] == "ok" else f"error: {r.get('error')}" for r in files]


def long_file(label: str, path: Path, scratch: Path) -> None:
    """detect with both cores and with one pass against the bare decode of ``path``."""
    info = probe_media(path)
    print(f"\n{label}: {path.name}, {info.duration_s / 60:.1f} min, {info.width}x{info.height}")
    decode = timed_command(bare_decode_command(path))
    rows = [("bare decode (PyAV, 1 thread)", decode, load_note(), "")]
    verdicts = {}
    for name, setting in (("both cores", "file_threads=auto"), ("one pass", "file_threads=1")):
        report = scratch / f"{path.stem}-{setting.split('=')[1]}.json"
        note = load_note()
        cost = timed_command(_detect(path, report, scratch, setting), ok=DETECT_VERDICTS)
        verdicts[name] = _verdicts(report)[0]
        rows.append((f"detect, {name} ({setting})", cost, note, verdicts[name]))
    print("| run | wall s | CPU s | CPU / decode CPU | x real time | load | verdict |")
    print("|---|---|---|---|---|---|---|")
    for name, cost, note, verdict in rows:
        print(
            f"| {name} | {cost.wall:.1f} | {cost.cpu:.1f} | {cost.cpu / decode.cpu:.2f} | "
            f"{info.duration_s / cost.wall:.1f} | {note} | {verdict} |"
        )
    same = verdicts["both cores"] == verdicts["one pass"]
    print(f"same verdict with both cores and one pass: {same}")


def ten_second_clips(media: Path) -> Path:
    """`FOLDER_FILES` ten-second real clips in ``media/folder100`` (made once)."""
    folder = media / "folder100"
    if folder.is_dir() and len(list(folder.iterdir())) == FOLDER_FILES:
        print(f"reusing {folder}")
        return folder
    sources = []
    for name in ("realdev", "realdev_extra"):
        for path in sorted((REPO / "data" / name / "raw").glob("*")):
            if probe_media(path).duration_s >= CLIP_S - 0.05:
                sources.append(path)
    if not sources:
        raise SystemExit("no real clips of 10 s or more under data/realdev*/raw (README: clips)")
    partial = media / "folder100.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for index in range(FOLDER_FILES):
        source = sources[index % len(sources)]
        target = partial / f"{index:03d}-{source.stem[-40:]}{source.suffix}"
        cut = ["-i", str(source), "-t", f"{CLIP_S:g}", "-c", "copy", str(target)]
        run_ffmpeg(cut, target=source)
    shutil.rmtree(folder, ignore_errors=True)
    partial.replace(folder)
    print(f"made {folder}: {FOLDER_FILES} files from {len(sources)} real clips of 10 s or more")
    return folder


def decode_all_command(folder: Path) -> list[str]:
    """Decode every file of ``folder`` once (every frame and the sound), one process, 1 thread."""
    program = (
        "import sys, av\nfrom pathlib import Path\n"
        "for path in sorted(Path(sys.argv[1]).iterdir()):\n"
        "    with av.open(str(path)) as container:\n"
        "        for stream in container.streams.video[:1]:\n"
        "            stream.thread_type = 'SLICE'\n"
        "            stream.codec_context.thread_count = 1\n"
        "        for _ in container.decode(*container.streams.video[:1], "
        "*container.streams.audio[:1]):\n"
        "            pass\n"
    )
    return [sys.executable, "-c", program, str(folder)]


def folder_of_clips(media: Path, scratch: Path) -> None:
    folder = ten_second_clips(media)
    decode = timed_command(decode_all_command(folder))
    print(f"\nfolder of {FOLDER_FILES} ten-second real clips; decoding each once: {decode}")
    print("| run | wall s | CPU s | wall / decode wall | CPU / decode CPU | load | verdicts |")
    print("|---|---|---|---|---|---|---|")
    for workers in (2, 1):
        report = scratch / f"folder-w{workers}.json"
        note = load_note()
        cost = timed_command(
            _detect(folder, report, scratch, f"workers={workers}"), ok=DETECT_VERDICTS
        )
        verdicts = _verdicts(report)
        counts = {v: verdicts.count(v) for v in ("in sync",)}
        print(
            f"| detect workers={workers} | {cost.wall:.1f} | {cost.cpu:.1f} | "
            f"{cost.wall / decode.wall:.2f} | {cost.cpu / decode.cpu:.2f} | {note} | "
            f"{len(verdicts)} files, {counts['in sync']} in sync |"
        )


def hour_file(head_10min: Path, media: Path) -> Path:
    """The 10-minute talking head six times over, streams copied: one hour of 720p."""

    def make(path: Path) -> Path:
        listing = media / "hour.txt"
        listing.write_text(f"file '{head_10min.resolve()}'\n" * 6, encoding="utf-8")
        run_ffmpeg(
            ["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(path)],
            target=head_10min,
        )
        return path

    return _kept(media / "talking_head_720p_60min.mp4", make)


def peak_memory(path: Path, scratch: Path) -> None:
    """Run detect on ``path`` and print the peak memory of its processes."""
    report = scratch / "hour.json"
    command = _detect(path, report, scratch)
    done, peaks = threading.Event(), {}
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    watcher = threading.Thread(target=peak_memory_of_tree, args=(process.pid, done, peaks))
    watcher.start()
    status = process.wait()
    done.set()
    watcher.join()
    wall = time.perf_counter() - started
    if status not in DETECT_VERDICTS:
        raise RuntimeError(f"{' '.join(command)} failed (exit status {status})")
    main: Peaks = peaks.get(process.pid, Peaks())
    print(f"\ndetect on 1 hour of 720p ({path.name}): {wall:.0f} s wall; {_verdicts(report)[0]}")
    print(
        f"peak resident set (VmHWM) of detect's process: {main.rss} MB; its own memory "
        f"(RssAnon) {main.anon} MB; sum over its {len(peaks)} process(es) of peak PSS: "
        f"{sum(p.pss for p in peaks.values())} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--long", action="store_true", help="10-minute 720p files")
    parser.add_argument("--folder", action="store_true", help="100 ten-second real clips")
    parser.add_argument("--hour", action="store_true", help="peak memory on one hour of 720p")
    parser.add_argument("--minutes", type=float, default=10.0)
    add_media_arguments(parser)
    args = parser.parse_args()
    every = not (args.long or args.folder or args.hour)
    media = Path(args.media_dir)
    media.mkdir(parents=True, exist_ok=True)
    head = _kept(
        media / f"talking_head_720p_{args.minutes:g}min.mp4",
        lambda p: talking_head_video(Path(args.talking_head), p, args.minutes * 60),
    )
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        if every or args.long:
            long_file("talking head (real clip looped, 720p)", head, scratch)
            drum = _kept(
                media / f"drum_720p_{args.minutes:g}min.mp4",
                lambda p: long_drum_video(args.minutes, p),
            )
            long_file("synthetic drum video, no face (720p)", drum, scratch)
        if every or args.folder:
            folder_of_clips(media, scratch)
        if every or args.hour:
            peak_memory(hour_file(head, media), scratch)


if __name__ == "__main__":
    main()
