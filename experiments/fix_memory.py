"""Peak memory and time of ``avalign.fix`` on a long file (the README's "fix" figures).

    python experiments/fix_memory.py [--minutes 60] [--methods reencode,remux] [--check]

Makes (once, kept under ``data/bench_fix``, git-ignored) a file of ``--minutes`` of 48 kHz
stereo AAC sound (pink noise, so that where it lands can be measured) under a small H.264
picture, then runs ``python -m avalign.fix IN OUT offset_ms=320 method=M check=false`` for each
method as a user types it and reports its wall time, CPU time and the peak memory of every
process of the command: the kernel's peak resident memory (``VmHWM``) of the Python process,
read as it exits, and of its ffmpeg children and each process's private memory, sampled every
0.2 s (`measure.peak_memory_of_tree`). ``--check`` adds
a run with the detection check on OUT (the detector's own memory, not the move's).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from measure import REPO, peak_memory_of_tree

from avalign.media.ffmpeg import run_ffmpeg

MEDIA = REPO / "data" / "bench_fix"
#: Runs ``python -m avalign.fix ARGS`` in this process and prints, as it exits, its own peak
#: resident memory (the kernel's ``VmHWM``, MB). Not ``ru_maxrss``: Linux carries that across
#: fork and exec, so a child would report its parent's size.
WRAPPER = """
import runpy, sys
sys.argv = ["avalign.fix", *sys.argv[1:]]
try:
    runpy.run_module("avalign.fix", run_name="__main__")
except SystemExit as status:
    code = status.code
else:
    code = 0
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(f"PEAK {int(status) / 1024:.0f}")
sys.exit(code)
"""


def long_file(minutes: float) -> Path:
    """``minutes`` of 48 kHz stereo pink noise (AAC 128k) under a 160x120 5 fps picture."""
    path = MEDIA / f"long_{minutes:g}min.mp4"
    if path.exists():
        return path
    MEDIA.mkdir(parents=True, exist_ok=True)
    seconds = minutes * 60
    run_ffmpeg(
        [
            *("-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=5:duration={seconds}"),
            *("-f", "lavfi", "-i", f"anoisesrc=d={seconds}:c=pink:r=48000:a=0.2"),
            *("-ac", "2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50"),
            *("-c:a", "aac", "-b:a", "128k", str(path)),
        ],
        target=path,
    )
    return path


def measure(command: list[str]) -> dict:
    """Run ``command``; its wall and CPU time and the peak memory (MB) of each of its processes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done, peaks = threading.Event(), {}
    watcher = threading.Thread(target=peak_memory_of_tree, args=(process.pid, done, peaks))
    watcher.start()
    output, _ = process.communicate()
    done.set()
    watcher.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{output.decode(errors='replace')[-2000:]}")
    return {
        "wall_s": time.perf_counter() - started,
        "cpu_s": cpu,
        "processes": dict(peaks),
        "pid": process.pid,
        "output": output.decode(errors="replace").strip().splitlines(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--methods", default="reencode,remux")
    parser.add_argument("--check", action="store_true", help="also a run with check=true")
    args = parser.parse_args()
    source = long_file(args.minutes)
    print(f"{source.name}: {source.stat().st_size / 1e6:.0f} MB")
    runs = [(m, False) for m in args.methods.split(",")]
    if args.check:
        runs.append(("auto", True))
    for method, check in runs:
        out = MEDIA / f"fixed_{method}.mp4"
        out.unlink(missing_ok=True)
        command = [sys.executable, "-c", WRAPPER, str(source), str(out), "offset_ms=320"]
        command += [f"method={method}", f"check={str(check).lower()}", "progress=false"]
        result = measure(command)
        peak = next(line.split()[1] for line in result["output"] if line.startswith("PEAK"))
        children = [p for pid, p in result["processes"].items() if pid != result["pid"]]
        print(
            f"method={method} check={check}: wall {result['wall_s']:.0f} s, CPU "
            f"{result['cpu_s']:.0f} s; peak RSS of fix (Python, VmHWM) {peak} MB; of its "
            f"largest ffmpeg (VmHWM, sampled) {max((p.rss for p in children), default=0)} MB"
        )
        for pid, sampled in result["processes"].items():
            print(f"  pid {pid}: private memory at most {sampled.anon} MB (sampled)")
        print("  " + " ".join(line for line in result["output"] if not line.startswith("PEAK")))


if __name__ == "__main__":
    main()
