"""Accuracy of ``avalign.detect`` on materialized samples of the synthetic test split.

    python experiments/detect_accuracy.py [--fps 25] [--source RUN_OR_CKPT] [--limit N] [overrides]

Writes the test split's samples as real mp4 files (``generate.materialize=true``: every label
through the same encoder), runs the detector on each file exactly as ``python -m avalign.detect``
does, and prints: the share of files whose verdict (in sync / out of sync) agrees with the label,
the agreement per misalignment type, the share whose reported kind is right, and the median
|offset error| on time-shift files.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path

from hydra import compose, initialize_config_dir

from avalign.batch.failures import FailureLog
from avalign.detection.check import check_file, load_detector
from avalign.features.pipeline import generate_samples, materialize_samples, prepare_dataset
from avalign.media.errors import MediaError
from avalign.storage.config import config_dir, data_dir

KINDS = {
    "mute": {"mute", "silent"},
    "noise": {"noise"},
    "time_shift": {"time_shift"},
    "distort": {"distort"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--fps", type=float, default=25.0, help="feature rate of the training-free default"
    )
    parser.add_argument(
        "--source",
        default=None,
        help="model (MLflow run id, .ckpt, packaged, or null: training-free); default: detect's",
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="check at most this many files (0: all)"
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for the dataset and samples")
    args = parser.parse_args()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(
            config_name="generate",
            overrides=["generate.materialize=true", "progress=false", *args.overrides],
        )
        detect_cfg = compose(
            config_name="detect",
            overrides=[f"fps={args.fps}", "progress=false"]
            + ([f"source={args.source}"] if args.source else []),
        )
    dataset = prepare_dataset(cfg.dataset, data_dir(cfg), workers=int(cfg.workers), progress=False)
    settings = {**cfg.generate, "materialize": False}
    samples = generate_samples(dataset, settings, workers=int(cfg.workers), progress=False)
    test = [s for s in samples.samples if s.split == "test"][: args.limit or None]
    written = materialize_samples(
        dataset,
        test,
        samples.folder,
        dict(cfg.generate),
        FailureLog("generate"),
        int(cfg.workers),
        True,
    )
    model, features, description = load_detector(detect_cfg)
    files = [(s, samples.folder / written[s.sample_id]) for s in test if s.sample_id in written]
    agree: dict[str, list[bool]] = defaultdict(list)
    kind_right: list[bool] = []
    offset_errors: list[float] = []
    failed = 0
    for spec, path in files:
        try:
            record = check_file(Path(path), model, features, detect_cfg, progress=False)
        except MediaError as error:
            print(f"unreadable: {error}")
            failed += 1
            continue
        agree[spec.misalignment].append(record["out_of_sync"] == (spec.label == 0))
        if spec.label == 0:
            kind_right.append(record["kind"] in KINDS[spec.misalignment])
        if spec.misalignment == "time_shift" and record["offset_ms"] is not None:
            offset_errors.append(abs(record["offset_ms"] - spec.offset_ms))
    total = [a for values in agree.values() for a in values]
    print(
        f"detector: {description}; feature fps {features.fps:g}; "
        f"{len(total)} files ({failed} unreadable)"
    )
    print(f"verdict agrees with the label: {sum(total) / len(total):.3f}")
    for kind, values in sorted(agree.items()):
        print(f"  {kind:10} {sum(values) / len(values):.3f}  ({len(values)} files)")
    if kind_right:
        print(f"misaligned files whose kind is right: {sum(kind_right) / len(kind_right):.3f}")
    if offset_errors:
        close = sum(e <= 40.0 for e in offset_errors)
        print(
            f"time-shift offset |error|: median {statistics.median(offset_errors):.0f} ms "
            f"over {len(offset_errors)} files; within 40 ms: {close}"
        )


if __name__ == "__main__":
    main()
