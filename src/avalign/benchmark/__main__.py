"""``python -m avalign.benchmark [key=value ...]``: every detector on the field's protocol.

Settings are the keys of ``conf/benchmark.yaml``. The command prints the results table and writes
``results.md`` and ``results.json`` under ``<data_dir>/benchmark/<source>-<fingerprint>/``; with
the MLflow logger the figures and both files are also logged as one run. Exit status 0 when every
detector was measured, 1 when there were no clips to measure.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from avalign.benchmark.windows import BenchmarkClip, WindowProtocol

log = logging.getLogger("avalign.benchmark")


def protocol_of(cfg: DictConfig) -> WindowProtocol:
    settings = OmegaConf.to_container(cfg.protocol, resolve=True)
    settings["noise_snr_db"] = tuple(settings["noise_snr_db"])
    return WindowProtocol(seed=int(cfg.seed), **settings)


def train_config(cfg: DictConfig, detector: str | None) -> DictConfig:
    """The training config of one detector (or the plain one), sharing the benchmark's paths,
    seed, workers and logger."""
    from hydra import compose

    overrides = [] if detector is None else list(cfg.detectors[detector])
    shared = [
        f"paths.data_dir={Path(cfg.paths.data_dir).expanduser().resolve()}",
        f"seed={int(cfg.seed)}",
        f"workers={int(cfg.workers)}",
        f"progress={str(bool(cfg.progress)).lower()}",
    ]
    if not cfg.logger:
        shared.append("logger=none")
    return compose(config_name="train", overrides=[*overrides, *shared, *cfg.train_overrides])


def load_clips(cfg: DictConfig, plain_train: DictConfig) -> tuple[str, Path, list[BenchmarkClip]]:
    """(set name, clip root, measured clips) of the configured source."""
    from avalign.batch.failures import FailureLog
    from avalign.benchmark import sources

    failures = FailureLog("benchmark")
    kind = str(cfg.source)
    if kind == "realdev":
        candidates = sources.realdev_candidates(Path(cfg.root).expanduser().resolve())
        extra = cfg.get("extra_root")
        if extra and Path(extra).expanduser().is_dir():
            candidates += sources.realdev_candidates(
                Path(extra).expanduser().resolve(), packaged="realdev_extra.csv"
            )
        root, candidates = sources.rooted(candidates)
    elif kind == "folder":
        root = Path(cfg.root).expanduser().resolve()
        candidates = sources.folder_candidates(root)
    elif kind == "synthetic":
        from avalign.features.pipeline import prepare_dataset
        from avalign.storage.config import data_dir

        def prepare():
            stage = prepare_dataset(
                plain_train.dataset,
                data_dir(plain_train),
                workers=int(cfg.workers),
                progress=bool(cfg.progress),
            )
            segments = [
                (s.video_path, s.video_id, s.category, s.split) for s in stage.dataset.segments
            ]
            return stage.dataset.root, segments

        root, candidates = sources.synthetic_candidates(prepare, tuple(cfg.synthetic_splits))
    else:
        raise SystemExit(f"source must be realdev, synthetic or folder, not {kind!r}")
    clips = sources.measure_all(
        candidates, failures, workers=int(cfg.workers), progress=bool(cfg.progress)
    )
    return kind, root, clips


def run(argv: list[str]) -> int:
    """Run the configured benchmark; print and write its tables."""
    from avalign.storage.helptext import HELP_FLAGS, print_help

    if any(a in HELP_FLAGS for a in argv):
        return print_help("benchmark", __doc__, argv, 0)
    from hydra import compose, initialize_config_dir

    from avalign.benchmark import runner
    from avalign.benchmark.files import materialize_files, plan_files, variants
    from avalign.features.config import FeatureConfig
    from avalign.storage.config import config_dir
    from avalign.training.run import train

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    started = time.time()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(config_name="benchmark", overrides=argv)
        unknown = [d for d in cfg.run if d not in cfg.detectors]
        if unknown:
            raise SystemExit(f"run: unknown detectors {unknown}; known: {list(cfg.detectors)}")
        bad = [t for t in cfg.training if t not in runner.TRAININGS]
        if bad:
            raise SystemExit(f"training: {bad} not in {runner.TRAININGS}")
        plain_train = train_config(cfg, None)
        detector_cfgs = {d: train_config(cfg, d) for d in cfg.run}

    name, root, clips = load_clips(cfg, plain_train)
    if not clips:
        log.error("no usable clips in %s", root)
        return 1
    k, seed = int(cfg.folds), int(cfg.seed)
    bench = runner.build_set(name, root, clips, protocol_of(cfg), k, seed)
    data = Path(cfg.paths.data_dir).expanduser().resolve()
    out_dir = data / "benchmark" / f"{name}-{bench.fingerprint()}"
    out_dir.mkdir(parents=True, exist_ok=True)
    log.info(
        "benchmark %s: %d clips (%d too short), %d windows -> %s",
        name,
        len(clips),
        len(bench.skipped_clips),
        len(bench.windows),
        out_dir,
    )

    runner.write_folds(out_dir / "folds.csv", bench)
    summaries, runs = [], []
    for detector in cfg.run:
        train_cfg = detector_cfgs[detector]
        features = FeatureConfig.from_dict(OmegaConf.to_container(train_cfg.feature, resolve=True))
        if runner.is_self_supervised(train_cfg):
            inputs = runner.clip_window_inputs(
                bench,
                features,
                runner.clip_cache_dir(out_dir, features),
                workers=int(cfg.workers),
                progress=bool(cfg.progress),
            )
        else:
            inputs = runner.window_inputs(
                bench,
                features,
                out_dir / f"features-{features.fingerprint()}",
                workers=int(cfg.workers),
                progress=bool(cfg.progress),
            )
        for training in cfg.training:
            result = runner.run_detector(
                bench,
                detector,
                train_cfg,
                training,
                out_dir,
                inputs,
                k=k,
                train_synthetic=lambda c, path: train(c, keep_checkpoint=path),
                monitor=str(cfg.monitor),
                fold_max_epochs=cfg.fold_max_epochs,
                mix=bool(cfg.mix_synthetic),
            )
            runs.append(result)
            summaries.append(runner.summarize(bench, result, int(cfg.bootstrap), seed))
            if training == "folds" and detector in cfg.final:
                shipped = runner.train_final(
                    bench,
                    detector,
                    train_cfg,
                    out_dir,
                    inputs,
                    k=k,
                    monitor=str(cfg.monitor),
                    fold_max_epochs=cfg.fold_max_epochs,
                    mix=bool(cfg.mix_synthetic),
                )
                log.info("%s: the model to ship (trained on every clip): %s", detector, shipped)

    header = {"command": "python -m avalign.benchmark " + " ".join(argv)}
    if cfg.files.enabled:
        kinds = variants(list(cfg.files.offsets_ms), bool(cfg.files.mute), bool(cfg.files.noise))
        specs = plan_files(bench.clips, kinds, seed, bench.protocol.noise_snr_db)
        written = materialize_files(
            specs,
            bench.root,
            out_dir / "files",
            workers=int(cfg.workers),
            progress=bool(cfg.progress),
        )
        header["files"] = file_rows(cfg, bench, specs, written, kinds, out_dir, detector_cfgs)
    target = runner.write_results(out_dir, bench, summaries, header)
    if cfg.logger:
        from avalign.benchmark.tracking import log_benchmark

        log_benchmark(cfg, out_dir, name, root)
    print(target.read_text(encoding="utf-8"))
    print(f"results: {target} ({time.time() - started:.0f} s)")
    return 0


def file_rows(cfg, bench, specs, written, kinds, out_dir, cfg_of) -> dict:
    """Run detect on the written files for every detector and training; their figures."""
    from avalign.benchmark import runner
    from avalign.benchmark.files import file_figures, file_reliability, run_detect

    resamples = int(cfg.bootstrap)
    by_fold: dict[int, list] = {}
    for spec in specs:
        if spec.sample_id in written:
            by_fold.setdefault(bench.folds[spec.video_id], []).append(spec)
    rows = []

    def measure(label: str, jobs: list[tuple[list, list[str], str]]) -> None:
        records: dict[str, dict] = {}
        for chosen, overrides, tag in jobs:
            if not chosen:
                continue
            report = run_detect(
                [written[s.sample_id] for s in chosen],
                out_dir / "detect" / f"{tag}.json",
                overrides,
            )
            for spec, record in zip(chosen, report["files"], strict=True):
                records[spec.sample_id] = record
        figures = file_figures(records, specs, kinds, resamples)
        figures["calibration"] = file_reliability(records, specs, out_dir, label)
        rows.append(
            {
                "label": label,
                "agreement": {k.name: figures["figures"][f"agree/{k.name}"] for k in kinds},
                "file_auroc": figures["figures"]["file_auroc"],
                "offset_err_ms": figures["figures"]["offset_err_ms"],
                "all": figures,
            }
        )

    everything = [s for group in by_fold.values() for s in group]
    if cfg.files.training_free:
        measure("training-free", [(everything, ["source=null"], "training-free")])
    for detector in [d for d in cfg.run if d in cfg.files.run]:
        for training in cfg.training:
            tag = runner.run_tag(detector, cfg_of[detector], training, bool(cfg.mix_synthetic))
            if training == "synthetic":
                checkpoint = runner.synthetic_checkpoint(out_dir, detector, cfg_of[detector])
                jobs = [(everything, [f"source={checkpoint}"], f"{detector}-synthetic")]
            elif training == "packaged":
                jobs = [(everything, ["source=packaged"], "packaged")]
            else:
                jobs = [
                    (
                        group,
                        [f"source={out_dir / 'models' / f'{tag}-fold{fold}.ckpt'}"],
                        f"{tag}-fold{fold}",
                    )
                    for fold, group in sorted(by_fold.items())
                ]
            measure(f"{tag} ({training})", jobs)
    return {"variants": [k.name for k in kinds], "detectors": rows}


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
