"""How far the offset of a time-shifted sample can be read from the sample itself, and why.

    python experiments/offset_limits.py [--source RUN_OR_CKPT] [Hydra overrides, e.g. feature=fps25]

The offset targets (median |error| of one feature step) are measured on the time-shift samples
of the default corpus. Those samples keep only their own window: the video of [start, end] and the
audio of [start - offset, end - offset]. The two streams share ``duration - |offset|`` seconds of
content, and the shift is drawn up to 80% of the window, so many share well under a second. This
script prints, per split:

1. the shared content of the time-shift samples (quantiles, share under 1 s, share whose offset
   is beyond the 2 s that the models search);
2. how often the activity-curve cross-correlation (the `xcorr` model, its default settings) puts
   its peak within one step of the truth: on synchronized samples (where the truth is lag 0 and the
   whole window is shared) per category, and on time-shift samples with at least and under 1 s of
   shared content.

3. with ``--source`` (a trained model's MLflow run id or checkpoint; its features are used), the
   same two shares for that model's own offset estimate (the transformer's lag head).

Nothing is trained. The figures bound what any estimator that reads the sample can do, and show
where the curves themselves disagree with the sound (motion energy is not sound energy).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import torch
from hydra import compose, initialize_config_dir

from avalign import tracking
from avalign.checkpoints import load_model, resolve_checkpoint
from avalign.config import config_dir
from avalign.features.cache import FeatureCache
from avalign.inputs import SampleInputs, audio_curve, collate
from avalign.models.correlation import correlate_curves
from avalign.pipeline import data_stages

MAX_LAG_S = 2.0  # what the models search (model.max_lag_s, model.max_offset_s)


def curve_offset_ms(features: dict[str, np.ndarray], step_ms: float) -> float:
    """The `xcorr` model's offset estimate for one sample (default settings: ncc, 2 s, 50%)."""
    v = torch.from_numpy(features["flow_energy"].astype(np.float32))[None]
    a = torch.from_numpy(audio_curve(features["audio_energy"]))[None]
    mask = torch.ones_like(v, dtype=torch.bool)
    found = correlate_curves(v, a, mask, max_lag_s=MAX_LAG_S, step_ms=step_ms)
    return float(found["offset_ms"][0])


def model_offset(model) -> Callable[[dict[str, np.ndarray]], float]:
    """A trained model's offset estimate (ms) for one sample's features."""

    def estimate(features: dict[str, np.ndarray]) -> float:
        item = SampleInputs.from_features("sample", features, 1, "None", 0.0)
        with torch.no_grad():
            return float(model(collate([item]))["offset_ms"][0])

    return estimate


def share(flags: list[bool]) -> str:
    return f"{sum(flags) / len(flags):.2f} ({sum(flags)}/{len(flags)})" if flags else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=None, help="also a trained model (run id or .ckpt)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides (dataset, samples, feature)")
    args = parser.parse_args()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["progress=false", *args.overrides])
    estimators: dict[str, Callable[[dict[str, np.ndarray]], float]] = {}
    feature = None
    if args.source:
        model, feature_config = load_model(
            resolve_checkpoint(args.source, tracking.store_of(cfg.logger))
        )
        if not getattr(model, "estimates_offset", False):
            raise SystemExit(f"{args.source}: this model does not estimate offsets")
        feature = dataclasses.asdict(feature_config)
    stage = data_stages(cfg, feature)
    cache = FeatureCache(stage.folder, stage.config)
    step_ms = 1000.0 / stage.config.fps
    estimators["curve cross-correlation"] = lambda f: curve_offset_ms(f, step_ms)
    if args.source:
        estimators[f"model {args.source}"] = model_offset(model)
    print(f"features: {stage.folder} ({stage.config.fps:g} steps/s, one step = {step_ms:.0f} ms)")
    by_split = defaultdict(list)
    for spec in stage.samples.samples:
        if spec.misalignment in ("None", "time_shift") and cache.path(spec.sample_id).is_file():
            by_split[spec.split].append(spec)
    for split in ("train", "val", "test"):
        shifts = [s for s in by_split[split] if s.misalignment == "time_shift"]
        synced = [s for s in by_split[split] if s.misalignment == "None"]
        shared = [s.end_s - s.start_s - abs(s.offset_ms) / 1000.0 for s in shifts]
        print(f"\n== {split}: {len(shifts)} time-shift samples, {len(synced)} synchronized")
        if shifts:
            q = np.percentile(shared, [10, 25, 50, 75, 90])
            print("shared content, s (10/25/50/75/90%): " + " / ".join(f"{x:.2f}" for x in q))
            print(f"shared content under 1 s: {share([x < 1.0 for x in shared])}")
            beyond = [abs(s.offset_ms) > MAX_LAG_S * 1000 for s in shifts]
            print(f"offset beyond the {MAX_LAG_S:g} s searched: {share(beyond)}")
            usable = [x >= 1.0 and not far for x, far in zip(shared, beyond, strict=True)]
            print(f"shared content >= 1 s and offset within the search: {share(usable)}")
        for name, estimate in estimators.items():
            report(name, estimate, cache, synced, shifts, shared, step_ms)


def report(name, estimate, cache, synced, shifts, shared, step_ms) -> None:
    """Print how often ``estimate`` lands within one step of the truth."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for spec in synced:
        hits[spec.category].append(abs(estimate(cache.load(spec.sample_id))) <= step_ms)
    every = [flag for flags in hits.values() for flag in flags]
    print(f"{name}: within one step of lag 0, synchronized samples: {share(every)}")
    for category in sorted(hits):
        print(f"    {category:14s} {share(hits[category])}")
    long_hits, short_hits, errors = [], [], []
    for spec, content in zip(shifts, shared, strict=True):
        error = abs(estimate(cache.load(spec.sample_id)) - spec.offset_ms)
        errors.append(error)
        (long_hits if content >= 1.0 else short_hits).append(error <= step_ms)
    if shifts:
        print(
            f"{name}: within one step of the offset, time-shift samples: "
            f"shared >= 1 s {share(long_hits)}, shared < 1 s {share(short_hits)}; "
            f"median |error| {statistics.median_low(errors):.0f} ms"
        )


if __name__ == "__main__":
    main()
