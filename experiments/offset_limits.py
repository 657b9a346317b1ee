"""How far the offset of a time-shifted sample can be read from the sample itself, and why.

    python experiments/offset_limits.py [--source RUN_OR_CKPT] [Hydra overrides, e.g. feature=fps25]

The offset targets (median |error| of one feature step) are measured on the time-shift samples
of the default corpus. Those samples keep only their own window: the video of [start, end] and the
audio of [start - offset, end - offset]. The two streams share ``duration - |offset|`` seconds of
content, and the shift is drawn up to 80% of the window, so many share well under a second. This
script prints, per split:

1. the shared content of the time-shift samples (quantiles, share under 1 s, share whose offset
   is beyond the 2 s that the models search);
2. how often the activity-curve cross-correlation (the `xcorr` model as configured) puts
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

from avalign.features.cache import FeatureCache
from avalign.features.pipeline import data_stages
from avalign.models.checkpoints import load_model, resolve_checkpoint
from avalign.models.inputs import SampleInputs, collate
from avalign.storage import tracking
from avalign.storage.config import config_dir
from avalign.training.run import build_model


def model_offset(model) -> Callable[[dict[str, np.ndarray]], float]:
    """A model's offset estimate (ms) for one sample's features."""

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
        # model=xcorr: the curve cross-correlation exactly as configured (model.* overrides apply)
        cfg = compose(
            config_name="train", overrides=["progress=false", *args.overrides, "model=xcorr"]
        )
    trained, feature = None, None
    if args.source:
        trained, feature_config = load_model(
            resolve_checkpoint(args.source, tracking.store_of(cfg.logger))
        )
        if not getattr(trained, "estimates_offset", False):
            raise SystemExit(f"{args.source}: this model does not estimate offsets")
        feature = dataclasses.asdict(feature_config)
    stage = data_stages(cfg, feature)
    cache = FeatureCache(stage.folder, stage.config)
    step_ms = 1000.0 / stage.config.fps
    max_lag_s = float(cfg.model.max_lag_s)
    print(f"features: {stage.folder} ({stage.config.fps:g} steps/s, one step = {step_ms:.0f} ms)")
    by_split = defaultdict(list)
    for spec in stage.samples.samples:
        if spec.misalignment in ("None", "time_shift") and cache.path(spec.sample_id).is_file():
            by_split[spec.split].append(spec)
    first = next(s for specs in by_split.values() for s in specs)
    dims = SampleInputs.from_features("", cache.load(first.sample_id), 1, "None", 0.0)
    xcorr = build_model(cfg.model, dims.visual.shape[1], dims.audio.shape[1], step_ms)
    estimators = {"xcorr": model_offset(xcorr)}
    if trained is not None:
        estimators[f"model {args.source}"] = model_offset(trained)
    for split in ("train", "val", "test"):
        shifts = [s for s in by_split[split] if s.misalignment == "time_shift"]
        synced = [s for s in by_split[split] if s.misalignment == "None"]
        shared = [s.end_s - s.start_s - abs(s.offset_ms) / 1000.0 for s in shifts]
        print(f"\n== {split}: {len(shifts)} time-shift samples, {len(synced)} synchronized")
        if shifts:
            q = np.percentile(shared, [10, 25, 50, 75, 90])
            print("shared content, s (10/25/50/75/90%): " + " / ".join(f"{x:.2f}" for x in q))
            print(f"shared content under 1 s: {share([x < 1.0 for x in shared])}")
            beyond = [abs(s.offset_ms) > max_lag_s * 1000 for s in shifts]
            print(f"offset beyond the {max_lag_s:g} s searched: {share(beyond)}")
            usable = [x >= 1.0 and not far for x, far in zip(shared, beyond, strict=True)]
            print(f"shared content >= 1 s and offset within the search: {share(usable)}")
        # each sample is read once; every estimator sees the same features
        synced_found = [_estimates(estimators, cache.load(s.sample_id)) for s in synced]
        shift_found = [_estimates(estimators, cache.load(s.sample_id)) for s in shifts]
        for name in estimators:
            report(
                name,
                synced,
                [f[name] for f in synced_found],
                shifts,
                [f[name] for f in shift_found],
                shared,
                step_ms,
            )


def _estimates(estimators, features: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: estimate(features) for name, estimate in estimators.items()}


def report(name, synced, synced_ms, shifts, shift_ms, shared, step_ms) -> None:
    """Print how often an estimator's offsets land within one step of the truth."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for spec, found in zip(synced, synced_ms, strict=True):
        hits[spec.category].append(abs(found) <= step_ms)
    every = [flag for flags in hits.values() for flag in flags]
    print(f"{name}: within one step of lag 0, synchronized samples: {share(every)}")
    for category in sorted(hits):
        print(f"    {category:14s} {share(hits[category])}")
    long_hits, short_hits, errors = [], [], []
    for spec, found, content in zip(shifts, shift_ms, shared, strict=True):
        error = abs(found - spec.offset_ms)
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
