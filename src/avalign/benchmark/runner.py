"""Run the benchmark: clips -> folds -> windows -> features -> every detector -> figures.

Each detector is named by the overrides that make it in the training config (``model=mlp``,
``experiment=transformer_fps25``), so the benchmark measures exactly what ``avalign.train``
builds. A detector is measured two ways:

- ``synthetic``: trained on the synthetic corpus (``avalign.train``, logged to MLflow as usual),
  then scored on every window of the benchmark. On the synthetic source only the clips of the
  corpus's test split are benchmark clips, so no window was seen in training.
- ``folds``: k-fold by recording. For each fold, the model is trained on the other folds' windows
  (one of them validates: best epoch and θ) and scores the held-out fold; figures pool the folds.
  Training-free models only tune θ this way.

Everything is kept under ``<data_dir>/benchmark/<source>-<fingerprint>/``: the windows, the
feature caches, the checkpoints and every detector's predictions, so an interrupted run resumes
and a rerun only computes what changed.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from avalign.benchmark.folds import FoldMember, assign_folds, fold_splits
from avalign.benchmark.metrics import WindowTable, bootstrap_figures, by_category
from avalign.benchmark.scoring import WindowPredictions, predict
from avalign.benchmark.windows import BenchmarkClip, WindowProtocol, plan_windows
from avalign.features.cache import CacheError, FeatureCache
from avalign.features.config import FeatureConfig
from avalign.features.extract import extract_samples
from avalign.models.inputs import SampleInputs, model_arrays
from avalign.samples.plan import SampleSpec
from avalign.storage.fingerprint import fingerprint

log = logging.getLogger(__name__)

#: synthetic: trained on the synthetic corpus | folds: on the other folds | packaged: the model that
#: ships with avalign, scored on every window as it is (it saw the real development clips)
TRAININGS = ("synthetic", "folds", "packaged")


@dataclass(frozen=True)
class BenchmarkSet:
    """The clips of one benchmark run, their folds and their windows."""

    name: str
    root: Path  # clip paths are relative to this
    clips: list[BenchmarkClip]
    folds: dict[str, int]  # clip id -> fold
    windows: list[SampleSpec]
    protocol: WindowProtocol
    skipped_clips: list[tuple[str, str]]  # (clip id, why it gives no window)

    def fingerprint(self) -> str:
        """Names the folder of this set's results: clips, protocol, folds and every window."""
        windows = [dataclasses.asdict(w) for w in self.windows]
        return fingerprint(
            [
                self.name,
                [dataclasses.asdict(c) for c in self.clips],
                self.protocol,
                self.folds,
                windows,
            ]
        )


def build_set(
    name: str, root: Path, clips: list[BenchmarkClip], protocol: WindowProtocol, k: int, seed: int
) -> BenchmarkSet:
    """Fold the clips by recording and plan every window."""
    folds = assign_folds(
        [FoldMember(c.clip_id, c.source_video, c.category) for c in clips], k, seed
    )
    windows, skipped = [], []
    for clip in clips:
        planned = plan_windows(clip, protocol)
        if not planned:
            skipped.append(
                (
                    clip.clip_id,
                    f"{min(clip.picture_s, clip.sound_s):.2f} s of picture and sound, "
                    f"shorter than one {protocol.window_s} s window",
                )
            )
        windows += planned
    return BenchmarkSet(name, root, clips, folds, windows, protocol, skipped)


# ------------------------------------------------------------------------------------ features
def window_inputs(
    bench: BenchmarkSet,
    config: FeatureConfig,
    cache_dir: Path,
    *,
    workers: int,
    progress: bool,
) -> dict[str, SampleInputs]:
    """Extract (or reuse) the features of every window; ``sample_id -> inputs`` of those that
    could be extracted (failures are reported by the extraction and left out)."""
    config = dataclasses.replace(config, save_frames=False)
    extract_samples(
        bench.windows, bench.root, cache_dir, config, workers=workers, progress=progress
    )
    cache = FeatureCache(cache_dir, config)
    inputs = {}
    for spec in bench.windows:
        try:
            features = cache.load(spec.sample_id)
        except CacheError:
            continue
        inputs[spec.sample_id] = SampleInputs.from_features(
            spec.sample_id,
            model_arrays(features),
            spec.label,
            spec.misalignment,
            spec.offset_ms,
        )
    return inputs


@dataclass(frozen=True)
class ClipWindowsJob:
    """The windows of one clip, scored from its whole-clip features."""

    clip: BenchmarkClip
    path: Path
    specs: tuple[SampleSpec, ...]
    clip_cache: Path
    config: FeatureConfig


def clip_windows(job: ClipWindowsJob) -> list[tuple[str, dict[str, np.ndarray]]]:
    """``(sample id, model arrays)`` of a clip's windows: the picture cut from the clip's
    per-step features, the sound rendered from the decoded track exactly as for samples
    (`render_sample_audio`), so in-sync, shifted, muted and noisy windows go through one path.
    (Plain arrays: a worker process hands back numpy arrays, not thousands of tensors.)"""
    from avalign.features.audio import audio_features
    from avalign.features.clips import SOUND_KEYS, load_clips, per_step
    from avalign.media.decode import decode_audio
    from avalign.samples.perturb import NotEnoughAudioError, render_sample_audio

    config = job.config
    loaded = load_clips([job.clip.clip_id], job.clip_cache, config)
    if not loaded:
        return []
    features = loaded[job.clip.clip_id]
    picture = [k for k in per_step(features) if k not in SOUND_KEYS]
    total = len(features["flow_energy"])
    track = decode_audio(job.path, config.sample_rate)
    if track is None:
        return []
    out = []
    for spec in job.specs:
        start = round(spec.start_s * config.fps)
        steps = round(spec.duration_s * config.fps)
        if start + steps > total:
            continue
        try:
            sound = render_sample_audio(track, config.sample_rate, spec)
        except NotEnoughAudioError:
            continue
        arrays = {k: features[k][start : start + steps] for k in picture}
        arrays.update(audio_features(sound, steps, config))
        out.append((spec.sample_id, model_arrays(arrays)))
    return out


def clip_window_inputs(
    bench: BenchmarkSet,
    config: FeatureConfig,
    clip_cache: Path,
    *,
    workers: int,
    progress: bool,
) -> dict[str, SampleInputs]:
    """Whole-clip features of every clip (cached), then every window's inputs from them."""
    from avalign.batch.parallel import parallel_map
    from avalign.features.clips import extract_clips
    from avalign.samples.plan import group_by_video

    config = dataclasses.replace(config, save_frames=False)
    extract_clips(
        {c.clip_id: bench.root / c.path for c in bench.clips},
        clip_cache,
        config,
        workers=workers,
        progress=progress,
    )
    clip_of = {c.clip_id: c for c in bench.clips}
    spec_of = {s.sample_id: s for s in bench.windows}
    jobs = [
        ClipWindowsJob(clip_of[g[0].video_id], bench.root / g[0].source_path, g, clip_cache, config)
        for g in group_by_video(bench.windows)
    ]
    inputs: dict[str, SampleInputs] = {}
    for outcome in parallel_map(
        clip_windows, jobs, workers=workers, desc="windows", unit="clip", progress=progress
    ):
        if outcome.error is not None:
            log.error("%s: %s", outcome.item.path, outcome.error)
            continue
        for sample_id, arrays in outcome.result:
            spec = spec_of[sample_id]
            inputs[sample_id] = SampleInputs.from_features(
                sample_id, arrays, spec.label, spec.misalignment, spec.offset_ms
            )
    return inputs


def is_self_supervised(train_cfg: DictConfig) -> bool:
    """Whether a detector learns from shifted windows of whole clips (``data.kind=shifts``)."""
    return train_cfg.data.get("kind", "samples") == "shifts"


# ------------------------------------------------------------------------------------ training
def balanced_theta(model, samples: list[SampleInputs]) -> float | None:
    """The θ that maximises balanced accuracy of in-sync against shifted windows (None if the
    windows hold only one of them)."""
    chosen = [s for s in samples if s.type_index in (0, 1)]
    if not chosen:
        return None
    predictions = predict(model, chosen, WindowProtocol())
    shifted = np.array([s.type_index == 1 for s in chosen])
    if shifted.all() or not shifted.any():
        return None
    scores = predictions.p_out
    candidates = np.unique(scores)
    best, best_value = float(candidates[0]), -1.0
    for theta in candidates:
        called = scores >= theta
        value = 0.5 * (called[shifted].mean() + (~called[~shifted]).mean())
        if value > best_value:
            best, best_value = float(theta), value
    return best


def train_fold(
    train_cfg: DictConfig,
    splits: dict[str, list[SampleInputs]],
    feature_config: FeatureConfig,
    checkpoint: Path,
    *,
    monitor: str,
    clips: dict[str, dict] | None = None,
    max_epochs: int | None = None,
) -> None:
    """Train one detector on a fold's training windows, choose its epoch and θ on the validation
    windows (θ for balanced accuracy), and save it to ``checkpoint``.

    A self-supervised detector learns from shifted windows drawn from ``clips`` instead
    (``{"train": clip arrays, "val": clip arrays}``).
    """
    import pytorch_lightning as pl

    from avalign.training.augment import AugmentConfig
    from avalign.training.datamodule import SyncDataModule
    from avalign.training.run import build_model, fit_best, trainer_kwargs, use_torch_threads

    pl.seed_everything(int(train_cfg.seed), workers=True)
    use_torch_threads(train_cfg)
    if clips is not None:
        from avalign.training.selfsup import ShiftDataModule, shift_config

        module = ShiftDataModule(
            {**clips, "test": {}},
            feature_config,
            shift_config(OmegaConf.to_container(train_cfg.data.shifts, resolve=True)),
            batch_size=int(train_cfg.data.batch_size),
            seed=int(train_cfg.seed),
        )
        splits = {**splits, "val": module.splits["val"]}
    else:
        augment_settings = train_cfg.model.get("augment")
        # the windows already hold every shift on the grid: no made-up shifts, no crops
        augment = AugmentConfig(
            max_steps=int(augment_settings.max_steps) if augment_settings is not None else 0
        )
        module = SyncDataModule.from_inputs(
            splits,
            feature_config,
            batch_size=int(train_cfg.data.batch_size),
            seed=int(train_cfg.seed),
            augment=augment,
        )
    model = build_model(
        train_cfg.model, *module.input_dims, step_ms=1000.0 / float(feature_config.fps)
    )
    model.set_input_stats(module.stats)
    model.feature_settings = dataclasses.asdict(feature_config)
    settings = trainer_kwargs(train_cfg)
    settings["enable_progress_bar"] = False
    if max_epochs is not None:
        settings["max_epochs"] = min(int(settings["max_epochs"]), int(max_epochs))
    with tempfile.TemporaryDirectory(prefix="avalign-fold-") as scratch:
        task, trainer, _ = fit_best(model, module, settings, Path(scratch), monitor=monitor)
        model = task.model  # the best epoch
        theta = balanced_theta(model, splits["val"])
        if theta is not None:
            model.theta.fill_(theta)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        trainer.save_checkpoint(checkpoint, weights_only=True)  # the validated (best) model


def clip_cache_dir(out_dir: Path, config: FeatureConfig) -> Path:
    """Where a benchmark keeps the whole-clip features of one feature configuration."""
    return out_dir / f"clips-{dataclasses.replace(config, save_frames=False).fingerprint()}"


def fold_clips(
    bench: BenchmarkSet, roles: dict[int, str], config: FeatureConfig, out_dir: Path
) -> dict[str, dict]:
    """The whole-clip features of the training and validation folds (clips with sound)."""
    from avalign.features.clips import load_clips

    loaded = load_clips([c.clip_id for c in bench.clips], clip_cache_dir(out_dir, config), config)
    grouped: dict[str, dict] = {"train": {}, "val": {}}
    for clip_id, features in loaded.items():
        role = roles[bench.folds[clip_id]]
        if role in grouped and bool(features["has_audio"]):
            grouped[role][clip_id] = features
    return grouped


def run_tag(detector: str, train_cfg: DictConfig, training: str, mix: bool) -> str:
    """The name of a detector's row, predictions and fold checkpoints: ``<detector>+synthetic``
    when a self-supervised detector's folds also learn from the synthetic corpus (``mix``)."""
    mixed = mix and training == "folds" and is_self_supervised(train_cfg)
    return f"{detector}+synthetic" if mixed else detector


def synthetic_checkpoint(out_dir: Path, detector: str, train_cfg: DictConfig) -> Path:
    """Where a detector trained on its own (synthetic) dataset is kept: beside every benchmark
    set, named by the training config, so the real and the synthetic benchmark share it."""
    settings = OmegaConf.to_container(train_cfg, resolve=True)
    for key in ("paths", "logger", "progress", "workers", "hydra"):
        settings.pop(key, None)
    return out_dir.parent / "trained" / f"{detector}-{fingerprint(settings)}.ckpt"


def extra_clips(train_cfg: DictConfig, config: FeatureConfig) -> dict[str, dict]:
    """The whole-clip features of the training split of the detector's own dataset (the
    synthetic corpus by default), to mix into a fold's training clips (``mix_synthetic``)."""
    from avalign.features.pipeline import prepare_dataset
    from avalign.storage.config import data_dir
    from avalign.training.selfsup import clips_by_split

    stage = prepare_dataset(train_cfg.dataset, data_dir(train_cfg), progress=False)
    videos = {
        s.video_id: (stage.dataset.video_file(s), s.split)
        for s in stage.dataset.segments
        if s.split == "train"
    }
    folder = stage.folder / f"clips-{dataclasses.replace(config, save_frames=False).fingerprint()}"
    grouped = clips_by_split(videos, folder, config, workers=int(train_cfg.workers), progress=False)
    return {f"extra-{k}": v for k, v in grouped["train"].items()}


# ------------------------------------------------------------------------------- predictions
PREDICTION_COLUMNS = (
    "sample_id",
    "fold",
    "p_out",
    "decision",
    "offset_pred_ms",
    "offset_class_pred",
)


def write_predictions(path: Path, rows: list[dict]) -> None:
    from avalign.storage.atomic import atomic_target

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, PREDICTION_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def read_predictions(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            {
                "sample_id": r["sample_id"],
                "fold": int(r["fold"]),
                "p_out": float(r["p_out"]),
                "decision": int(r["decision"]),
                "offset_pred_ms": float(r["offset_pred_ms"]),
                "offset_class_pred": int(r["offset_class_pred"]),
            }
            for r in csv.DictReader(handle)
        ]


def _rows(predictions: WindowPredictions, folds: dict[str, int]) -> list[dict]:
    return [{**row, "fold": folds[row["sample_id"]]} for row in predictions.rows()]


@dataclass(frozen=True)
class DetectorRun:
    """One detector measured one way: its name, how it was trained, its predictions."""

    detector: str
    training: str
    fps: float
    rows: list[dict]
    seconds: float


def train_on_roles(
    bench: BenchmarkSet,
    train_cfg: DictConfig,
    roles: dict[int, str],
    ordered: list[SampleInputs],
    checkpoint: Path,
    out_dir: Path,
    *,
    monitor: str,
    max_epochs: int | None,
    mix: bool,
) -> dict[str, list[SampleInputs]]:
    """Split the windows by their fold's role and, unless ``checkpoint`` exists, train one model
    on them (`train_fold`): a fold model, or the model to ship (`final_roles`). A
    self-supervised detector learns from the training folds' whole clips (and the synthetic
    corpus's with ``mix``). Returns the windows by role."""
    feature_config = FeatureConfig.from_dict(OmegaConf.to_container(train_cfg.feature))
    window_fold = {s.sample_id: bench.folds[s.video_id] for s in bench.windows}
    splits: dict[str, list[SampleInputs]] = {"train": [], "val": [], "test": []}
    for item in ordered:
        splits[roles[window_fold[item.sample_id]]].append(item)
    if not checkpoint.is_file():
        clips = None
        if is_self_supervised(train_cfg):
            clips = fold_clips(bench, roles, feature_config, out_dir)
            clips["train"].update(extra_clips(train_cfg, feature_config) if mix else {})
        train_fold(
            train_cfg,
            splits,
            feature_config,
            checkpoint,
            monitor=monitor,
            clips=clips,
            max_epochs=max_epochs,
        )
    return splits


def run_detector(
    bench: BenchmarkSet,
    detector: str,
    train_cfg: DictConfig,
    training: str,
    out_dir: Path,
    inputs: dict[str, SampleInputs],
    *,
    k: int,
    train_synthetic: Callable[[DictConfig, Path], None],
    monitor: str,
    fold_max_epochs: int | None = None,
    mix: bool = False,
) -> DetectorRun:
    """Predictions of one detector trained one way (read back when already computed)."""
    from avalign.models.checkpoints import load_model

    feature_config = FeatureConfig.from_dict(OmegaConf.to_container(train_cfg.feature))
    tag = run_tag(detector, train_cfg, training, mix)
    mix = tag != detector
    target = out_dir / "predictions" / f"{tag}-{training}.csv"
    window_fold = {s.sample_id: bench.folds[s.video_id] for s in bench.windows}
    timing = target.with_suffix(".seconds.json")
    if target.is_file():
        seconds = json.loads(timing.read_text())["seconds"] if timing.is_file() else float("nan")
        return DetectorRun(tag, training, feature_config.fps, read_predictions(target), seconds)
    started = time.time()
    ordered = [inputs[s.sample_id] for s in bench.windows if s.sample_id in inputs]
    rows: list[dict] = []
    if training == "synthetic":
        checkpoint = synthetic_checkpoint(out_dir, detector, train_cfg)
        if not checkpoint.is_file():
            train_synthetic(train_cfg, checkpoint)
        model, _ = load_model(checkpoint)
        rows = _rows(predict(model, ordered, bench.protocol), window_fold)
    elif training == "packaged":
        from avalign.models.checkpoints import PACKAGED

        model, features = load_model(PACKAGED)
        # the version may be older: the model learned from features of an earlier release,
        # scored here on today's (models/packaged/README.md says which changes were checked)
        if dataclasses.replace(features, save_frames=False, version=0) != dataclasses.replace(
            feature_config, save_frames=False, version=0
        ):
            raise ValueError(
                f"training=packaged scores the packaged model, whose features are not those of "
                f"{detector!r}: use run=[lagnet]"
            )
        rows = _rows(predict(model, ordered, bench.protocol), window_fold)
    elif training == "folds":
        for fold in range(k):
            roles = fold_splits(fold, k)
            checkpoint = out_dir / "models" / f"{tag}-fold{fold}.ckpt"
            if not checkpoint.is_file():
                log.info("%s: training on fold %d of %d", detector, fold + 1, k)
            splits = train_on_roles(
                bench,
                train_cfg,
                roles,
                ordered,
                checkpoint,
                out_dir,
                monitor=monitor,
                max_epochs=fold_max_epochs,
                mix=mix,
            )
            model, _ = load_model(checkpoint)
            rows += _rows(predict(model, splits["test"], bench.protocol), window_fold)
    else:
        raise ValueError(f"training must be one of {TRAININGS}, not {training!r}")
    seconds = time.time() - started
    write_predictions(target, rows)
    timing.write_text(json.dumps({"seconds": round(seconds, 1)}), encoding="utf-8")
    return DetectorRun(tag, training, feature_config.fps, rows, seconds)


def final_roles(k: int, val_fold: int = 0) -> dict[int, str]:
    """Fold roles of the model to ship: every fold trains but ``val_fold``, which chooses the
    epoch and θ as a fold model's validation fold does; no fold is left to test it."""
    if not 0 <= val_fold < k:
        raise ValueError(f"val_fold must be in [0, {k}), got {val_fold}")
    roles = dict.fromkeys(range(k), "train")
    roles[val_fold] = "val"
    return roles


def train_final(
    bench: BenchmarkSet,
    detector: str,
    train_cfg: DictConfig,
    out_dir: Path,
    inputs: dict[str, SampleInputs],
    *,
    k: int,
    monitor: str,
    fold_max_epochs: int | None = None,
    mix: bool = False,
    val_fold: int = 0,
) -> Path:
    """Train the model to ship (``<out>/models/<tag>-all.ckpt``, reused when there) with the fold
    models' recipe on every clip of the set, one fold validating (`final_roles`).

    It is not scored here: its clips are the benchmark's, so the fold models, trained the same way
    on fewer clips, are the honest estimate of how it does on clips it never saw.
    """
    tag = run_tag(detector, train_cfg, "folds", mix)
    checkpoint = out_dir / "models" / f"{tag}-all.ckpt"
    if checkpoint.is_file():
        return checkpoint
    log.info("%s: training the model to ship on all %d folds (fold %d validates)", tag, k, val_fold)
    ordered = [inputs[s.sample_id] for s in bench.windows if s.sample_id in inputs]
    train_on_roles(
        bench,
        train_cfg,
        final_roles(k, val_fold),
        ordered,
        checkpoint,
        out_dir,
        monitor=monitor,
        max_epochs=fold_max_epochs,
        mix=tag != detector,
    )
    return checkpoint


def write_folds(path: Path, bench: BenchmarkSet) -> None:
    """Every clip's fold (``clip_id, path, category, source_video, fold``), for tools that score
    files of the set with the fold models (each file by the model that never saw its clip)."""
    from avalign.storage.atomic import atomic_target

    with atomic_target(path) as target, open(target, "w", newline="", encoding="utf-8") as sink:
        writer = csv.writer(sink)
        writer.writerow(["clip_id", "path", "category", "source_video", "fold"])
        for clip in sorted(bench.clips, key=lambda c: c.clip_id):
            fold = bench.folds[clip.clip_id]
            writer.writerow([clip.clip_id, clip.path, clip.category, clip.source_video, fold])


# ----------------------------------------------------------------------------------- figures
def window_table(bench: BenchmarkSet, rows: list[dict]) -> WindowTable:
    """Join a detector's predictions with the truth of every window it scored."""
    spec_of = {s.sample_id: s for s in bench.windows}
    clip_index = {c.clip_id: i for i, c in enumerate(bench.clips)}
    specs = [spec_of[r["sample_id"]] for r in rows]
    offsets = np.array([0.0 if math.isnan(s.offset_ms) else s.offset_ms for s in specs])
    return WindowTable(
        clip=np.array([clip_index[s.video_id] for s in specs], dtype=int),
        category=np.array([s.category for s in specs]),
        kind=np.array([s.misalignment for s in specs]),
        offset_ms=offsets,
        true_class=bench.protocol.offset_class(offsets),
        p_out=np.array([r["p_out"] for r in rows]),
        decision=np.array([bool(r["decision"]) for r in rows]),
        offset_pred_ms=np.array([r["offset_pred_ms"] for r in rows]),
        class_pred=np.array([r["offset_class_pred"] for r in rows], dtype=int),
    )


def summarize(bench: BenchmarkSet, run: DetectorRun, resamples: int, seed: int) -> dict:
    table = window_table(bench, run.rows)
    return {
        "detector": run.detector,
        "training": run.training,
        "fps": run.fps,
        "seconds": round(run.seconds, 1),  # training and scoring (first run; NaN if unknown)
        "overall": bootstrap_figures(table, resamples, seed),
        "per_category": by_category(table, resamples, seed),
    }


def as_json(value):
    """Figures and numpy values as plain JSON."""
    if dataclasses.is_dataclass(value):
        return {k: as_json(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_results(out_dir: Path, bench: BenchmarkSet, summaries: list[dict], header: dict) -> Path:
    """``results.json`` (every figure) beside ``results.md`` (the README tables)."""
    from avalign.benchmark.report import markdown_report

    report = {
        **header,
        "set": bench.name,
        "clips": len(bench.clips),
        "clips_without_window": [{"clip": c, "why": why} for c, why in bench.skipped_clips],
        "windows": len(bench.windows),
        "protocol": dataclasses.asdict(bench.protocol),
        "detectors": summaries,
    }
    plain = as_json(report)
    (out_dir / "results.json").write_text(json.dumps(plain, indent=2), encoding="utf-8")
    target = out_dir / "results.md"
    target.write_text(markdown_report(plain), encoding="utf-8")
    return target
