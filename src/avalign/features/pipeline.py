"""The data stages as plain functions: dataset -> samples -> features, each reused when present.

These functions take plain mappings (a Hydra config node works, so does a dict) and return paths
and objects; the Hydra entry points (`avalign.prepare`, `avalign.generate`, `avalign.extract`,
`avalign.train`) are thin wrappers around them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from avalign.batch.failures import FailureLog
from avalign.batch.parallel import parallel_map
from avalign.datasets.ave import DatasetError, prepare_ave
from avalign.datasets.folder import prepare_folder
from avalign.datasets.prepared import FAILURES_CSV, PREPARE_VERSION, PreparedDataset
from avalign.features.config import FeatureConfig
from avalign.features.extract import ExtractReport, extract_samples
from avalign.samples.materialize import (
    SAMPLES_FOLDER,
    MaterializeJob,
    materialize_video,
    sample_file,
)
from avalign.samples.metadata import METADATA_CSV, read_metadata, write_metadata
from avalign.samples.plan import SampleConfig, SampleSpec, group_by_video, plan_samples
from avalign.storage.config import data_dir as configured_data_dir
from avalign.storage.layout import corpus_dir, dataset_dir, features_dir, file_digest, samples_dir
from avalign.storage.locking import exclusive

log = logging.getLogger(__name__)

DATASET_KINDS = ("synthetic", "ave", "folder")


def _plain(node: Mapping) -> dict:
    """A plain dict from a mapping or an OmegaConf node (interpolations resolved)."""
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(node, DictConfig):
            return OmegaConf.to_container(node, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return dict(node)


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list | tuple) else value


def synthetic_config(settings: Mapping):
    """The generator config from the dataset settings (other keys are ignored)."""
    from avalign.datasets.synthetic import SyntheticConfig

    names = {f.name for f in dataclasses.fields(SyntheticConfig)}
    return SyntheticConfig(
        **{k: _tuples(v) for k, v in settings.items() if k in names and v is not None}
    )


@dataclass(frozen=True)
class DatasetStage:
    """A prepared dataset and the folder it lives in."""

    dataset: PreparedDataset
    folder: Path

    @property
    def digest(self) -> str:
        return file_digest(self.folder / "annotations.csv")


def dataset_settings(dataset: Mapping) -> dict:
    """The settings that identify a dataset (roots resolved, run-only keys dropped), with the
    version of the prepared layout, so that a change of its meaning rebuilds old datasets."""
    settings = {k: v for k, v in _plain(dataset).items() if k not in ("workers", "progress")}
    if settings.get("root"):
        settings["root"] = str(Path(settings["root"]).expanduser().resolve())
    settings["prepare_version"] = PREPARE_VERSION
    return settings


def prepare_dataset(
    dataset: Mapping, data_dir: Path, *, workers: int = 1, progress: bool = True, reuse: bool = True
) -> DatasetStage:
    """Prepare (and, for ``synthetic``, first generate) the dataset described by ``dataset``."""
    settings = dataset_settings(dataset)
    kind = settings.get("kind", settings.get("name"))
    name = settings.get("name", kind)
    if kind not in DATASET_KINDS:
        raise DatasetError(f"dataset.kind must be one of {DATASET_KINDS}, not {kind!r}")
    folder = dataset_dir(data_dir, name, settings)
    if reuse and PreparedDataset.exists(folder):
        log.info("dataset %s: reusing %s", name, folder)
        return DatasetStage(PreparedDataset.read(folder), folder)
    with exclusive(folder):  # parallel jobs: one builds, the others wait and reuse
        if reuse and PreparedDataset.exists(folder):
            return DatasetStage(PreparedDataset.read(folder), folder)
        return _prepare(settings, kind, name, folder, data_dir, workers, progress)


def _prepare(
    settings: dict, kind: str, name: str, folder: Path, data_dir: Path, workers: int, progress: bool
) -> DatasetStage:
    """Build a prepared dataset (the caller holds the folder's lock)."""
    if kind == "synthetic":
        from avalign.datasets.synthetic import generate_corpus

        config = synthetic_config(settings)
        root = (
            Path(settings["root"])
            if settings.get("root")
            else corpus_dir(data_dir, config.fingerprint())
        )
        generate_corpus(root, config, workers=workers, progress=progress)
        prepared, failures = prepare_ave(
            root, name=name, workers=workers, seed=config.seed, progress=progress
        )
    elif kind == "ave":
        if not settings.get("root"):
            raise DatasetError("dataset=ave needs dataset.root=/path/to/AVE_Dataset")
        prepared, failures = prepare_ave(
            settings["root"],
            name=name,
            workers=workers,
            seed=int(settings.get("seed", 0)),
            max_time_s=float(settings.get("max_time_s", 10)),
            progress=progress,
        )
    else:
        if not settings.get("root"):
            raise DatasetError("dataset=folder needs dataset.root=/path/to/videos")
        prepared, failures = prepare_folder(
            settings["root"],
            name=name,
            window_s=float(settings.get("window_s", 4.0)),
            hop_s=float(settings.get("hop_s", settings.get("window_s", 4.0))),
            split_fractions=tuple(settings.get("split_fractions", (0.7, 0.15, 0.15))),
            seed=int(settings.get("seed", 0)),
            workers=workers,
            progress=progress,
        )
    prepared.summary["failures"] = failures.summary()
    failures.write_csv(folder / FAILURES_CSV)
    prepared.write(folder)
    log.info(
        "dataset %s: %d usable segments in %s (%s)",
        name,
        len(prepared.segments),
        folder,
        failures.summary(),
    )
    return DatasetStage(prepared, folder)


def sample_config(generate: Mapping) -> SampleConfig:
    """The sampling config from the ``generate`` settings."""
    names = {f.name for f in dataclasses.fields(SampleConfig)}
    values = {k: _tuples(v) for k, v in _plain(generate).items() if k in names}
    if "type_weights" in values:
        values["type_weights"] = dict(_plain(generate)["type_weights"])
    return SampleConfig(**values)


@dataclass(frozen=True)
class SamplesStage:
    """The planned samples of a dataset and the folder they live in."""

    samples: list[SampleSpec]
    folder: Path
    dataset: DatasetStage

    @property
    def metadata_csv(self) -> Path:
        return self.folder / METADATA_CSV


def generate_samples(
    stage: DatasetStage,
    generate: Mapping,
    *,
    workers: int = 1,
    progress: bool = True,
    reuse: bool = True,
) -> SamplesStage:
    """Plan the samples, write them as mp4 if ``generate.materialize``, write the metadata CSV."""
    settings = _plain(generate)
    config = sample_config(settings)
    materialize = bool(settings.get("materialize", False))
    folder = samples_dir(stage.folder, stage.digest, dataclasses.asdict(config))
    metadata = folder / METADATA_CSV
    if reuse and metadata.is_file() and not materialize:
        samples = [spec for spec, _ in read_metadata(metadata)]
        log.info("samples: reusing %d from %s", len(samples), metadata)
        return SamplesStage(samples, folder, stage)
    with exclusive(folder):
        if reuse and metadata.is_file() and not materialize:
            return SamplesStage([spec for spec, _ in read_metadata(metadata)], folder, stage)
        return _generate(stage, config, settings, materialize, folder, metadata, workers, progress)


def _generate(
    stage: DatasetStage,
    config: SampleConfig,
    settings: dict,
    materialize: bool,
    folder: Path,
    metadata: Path,
    workers: int,
    progress: bool,
) -> SamplesStage:
    """Plan (and maybe write) the samples (the caller holds the folder's lock)."""
    samples, report = plan_samples(stage.dataset.segments, config)
    failures = FailureLog("generate")
    for sample_id, video_path, reason in report.skipped:
        failures.warning(video_path, f"skipped: {reason}", sample_id)
    file_paths: dict[str, str] = {}
    if materialize:
        file_paths = materialize_samples(
            stage, samples, folder, settings, failures, workers, progress
        )
    write_metadata(metadata, samples, seed=config.seed, file_paths=file_paths)
    failures.write_csv(folder / "generate_failures.csv")
    counts = {
        kind: sum(s.misalignment == kind for s in samples)
        for kind in {s.misalignment for s in samples}
    }
    log.info(
        "samples: %d planned %s -> %s (%s)",
        len(samples),
        dict(sorted(counts.items())),
        metadata,
        failures.summary(),
    )
    return SamplesStage(samples, folder, stage)


def materialize_samples(
    stage: DatasetStage,
    samples: list[SampleSpec],
    folder: Path,
    settings: dict,
    failures: FailureLog,
    workers: int,
    progress: bool,
) -> dict[str, str]:
    """Write ``samples`` as mp4 under ``folder/generated_samples`` (existing files are kept)."""
    out_dir = folder / SAMPLES_FOLDER
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        MaterializeJob(
            stage.dataset.root / group[0].source_path,
            group,
            out_dir,
            int(settings.get("materialize_sample_rate", 16000)),
            int(settings.get("materialize_crf", 18)),
        )
        for group in group_by_video(samples)
    ]
    paths: dict[str, str] = {}
    for outcome in parallel_map(
        materialize_video,
        jobs,
        workers=workers,
        desc="materialize",
        unit="video",
        progress=progress,
    ):
        if outcome.error is not None:
            for spec in outcome.item.samples:
                failures.error(
                    outcome.item.source,
                    f"unexpected {outcome.error_type}: {outcome.error}",
                    spec.sample_id,
                )
            continue
        for sample_id, problem in outcome.result:
            if problem:
                failures.error(outcome.item.source, problem, sample_id)
            else:
                paths[sample_id] = f"{SAMPLES_FOLDER}/{sample_id}.mp4"
    return paths


def feature_config(feature: Mapping) -> FeatureConfig:
    """The feature config from the ``feature`` settings."""
    return FeatureConfig.from_dict(_plain(feature))


@dataclass(frozen=True)
class FeaturesStage:
    """Where a samples stage's features are cached, and how the extraction went."""

    folder: Path
    config: FeatureConfig
    samples: SamplesStage
    report: ExtractReport


def extract_features(
    stage: SamplesStage,
    feature: Mapping,
    *,
    workers: int = 1,
    shard_index: int = 0,
    num_shards: int = 1,
    threads: int = 1,
    progress: bool = True,
) -> FeaturesStage:
    """Extract (or resume extracting) the features of every sample of ``stage``."""
    config = feature_config(feature)
    folder = features_dir(stage.folder, config.fingerprint())
    report = extract_samples(
        stage.samples,
        stage.dataset.dataset.root,
        folder,
        config,
        workers=workers,
        shard_index=shard_index,
        num_shards=num_shards,
        threads=threads,
        progress=progress,
    )
    return FeaturesStage(folder, config, stage, report)


def data_stages(
    cfg, feature: Mapping | None = None, *, shard_index: int = 0, num_shards: int = 1
) -> FeaturesStage:
    """Stages 1-3 for a composed config (``dataset``, ``generate``, ``feature``, ``extract``,
    ``progress`` keys), each reused when present; ``feature`` overrides ``cfg.feature``."""
    progress = bool(cfg.progress)
    dataset = prepare_dataset(
        cfg.dataset,
        configured_data_dir(cfg),
        workers=int(cfg.dataset.workers),
        progress=progress,
    )
    samples = generate_samples(
        dataset, cfg.generate, workers=int(cfg.generate.workers), progress=progress
    )
    return extract_features(
        samples,
        cfg.feature if feature is None else feature,
        workers=int(cfg.extract.workers),
        shard_index=shard_index,
        num_shards=num_shards,
        threads=int(cfg.extract.threads),
        progress=progress,
    )


__all__ = [
    "DatasetStage",
    "FeaturesStage",
    "SamplesStage",
    "data_stages",
    "extract_features",
    "generate_samples",
    "prepare_dataset",
    "sample_file",
]
