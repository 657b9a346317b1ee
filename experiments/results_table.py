"""Reproduce the README's results table: every model on the default synthetic corpus, fixed seed.

    python experiments/results_table.py [extra Hydra overrides, e.g. logger=none]

Trains (or tunes) each model and ablation with the project's own recipe (`avalign.train.train`),
each logged to MLflow as usual, and prints a markdown table of test metrics (misaligned = positive
class): the headline metrics, recall per misalignment type and per shift size, the AUROC on
time-shift vs synchronized samples only (the modality ablation must be near 0.5 there), the
median offset error where the model estimates offsets, and the wall time of each run.
"""

from __future__ import annotations

import sys
import time

from hydra import compose, initialize_config_dir

from avalign.storage.config import config_dir
from avalign.training.run import train

RUNS = [
    ("threshold", ["model=threshold"]),
    ("mlp", ["model=mlp"]),
    ("mlp, rich inputs", ["experiment=mlp_rich"]),
    ("transformer", ["model=transformer"]),
    ("xcorr", ["model=xcorr"]),
    ("transformer, audio only", ["experiment=ablation_audio_only"]),
    ("transformer, video only", ["experiment=ablation_video_only"]),
    ("transformer, 25 steps/s", ["experiment=transformer_fps25"]),
    ("xcorr, 25 steps/s", ["model=xcorr", "feature=fps25"]),
    (
        "transformer, 25 steps/s, audio only",
        [
            "experiment=ablation_audio_only",
            "feature=fps25",
            "model.augment.max_steps=150",
            "logger.run_name=transformer audio-only at 25 steps per s - ablation",
        ],
    ),
    (
        "transformer, 25 steps/s, video only",
        [
            "experiment=ablation_video_only",
            "feature=fps25",
            "model.augment.max_steps=150",
            "logger.run_name=transformer video-only at 25 steps per s - ablation",
        ],
    ),
]
COLUMNS = [
    ("acc", "acc"),
    ("precision", "prec"),
    ("recall", "rec"),
    ("f1", "F1"),
    ("auroc", "AUROC"),
    ("recall/synced", "synced"),
    ("recall/time_shift", "shift"),
    ("recall/noise", "noise"),
    ("recall/mute", "mute"),
    ("recall/distort", "distort"),
    ("recall/shift_lt250ms", "<250ms"),
    ("recall/shift_250to1000ms", "250ms-1s"),
    ("recall/shift_ge1000ms", ">=1s"),
    ("auroc/time_shift", "AUROC shift"),
    ("offset_median_abs_err_ms", "offset err ms"),
]


def run_all(extra: list[str]) -> list[tuple[str, dict[str, float], float]]:
    """Train every run of `RUNS` with the extra overrides; return (label, metrics, seconds)."""
    results = []
    for label, overrides in RUNS:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose(config_name="train", overrides=[*overrides, "progress=false", *extra])
        started = time.time()
        metrics = train(cfg)
        results.append((label, metrics, time.time() - started))
    return results


def markdown(results: list[tuple[str, dict[str, float], float]]) -> str:
    """The results as a markdown table (test split)."""
    lines = [
        "| model | " + " | ".join(name for _, name in COLUMNS) + " | run time (s) |",
        "|---" * (len(COLUMNS) + 2) + "|",
    ]
    for label, metrics, seconds in results:
        cells = []
        for key, _ in COLUMNS:
            value = metrics.get(f"test/{key}")
            cells.append(
                "-"
                if value is None
                else f"{value:.0f}"
                if key.startswith("offset")
                else f"{value:.3f}"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {seconds:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run_all(sys.argv[1:])))
