"""Benchmark: wall time of the training commands a user types, once the features are cached.

    python experiments/bench_train_cli.py [extra Hydra overrides for every command]

First makes sure the corpus, samples and feature caches exist (untimed: ``python -m
avalign.extract`` at 5 and 25 steps/s), then runs each command below as its own process, exactly
as typed on a terminal (Python start-up, imports, loading the cache, training, testing, MLflow
logging and plots included), and prints a table of wall times. Targets: ``model=mlp`` within 60 s
and ``model=transformer`` within 5 minutes on 2 cores.
"""

from __future__ import annotations

import subprocess
import sys
import time

PREPARE = [
    ["avalign.extract", "progress=false"],
    ["avalign.extract", "feature=fps25", "progress=false"],
]
COMMANDS = [
    ["avalign.train", "model=mlp"],
    ["avalign.train", "model=transformer"],
    ["avalign.train", "experiment=transformer_fps25"],
]


def run(args: list[str]) -> float:
    """Seconds that ``python -m <args>`` takes; raises if it fails."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", *args], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    extra = sys.argv[1:]
    for args in PREPARE:
        run([*args, *extra])
    print("| command (features cached) | wall time |")
    print("|---|---|")
    for args in COMMANDS:
        seconds = run([*args, "progress=false", *extra])
        print(f"| `python -m {' '.join(args)}` | {seconds:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
