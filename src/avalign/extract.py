"""Stage 3 entry point: ``python -m avalign.extract [extract.workers=N] [feature=fps25] ...``."""

from __future__ import annotations

from omegaconf import DictConfig

from avalign.config import NothingUsable, data_dir, hydra_main
from avalign.pipeline import extract_features, generate_samples, prepare_dataset


@hydra_main("extract")
def main(cfg: DictConfig) -> None:
    """Extract (or resume) the features of every sample of this shard."""
    progress = bool(cfg.progress)
    dataset = prepare_dataset(
        cfg.dataset, data_dir(cfg), workers=int(cfg.dataset.workers), progress=progress
    )
    samples = generate_samples(
        dataset, cfg.generate, workers=int(cfg.generate.workers), progress=progress
    )
    stage = extract_features(
        samples,
        cfg.feature,
        workers=int(cfg.extract.workers),
        shard_index=int(cfg.extract.shard_index),
        num_shards=int(cfg.extract.num_shards),
        threads=int(cfg.extract.threads),
        progress=progress,
    )
    report = stage.report
    print(
        f"features: {report.done} computed, {report.cached} cached, {report.failed} failed"
        f" -> {stage.folder}"
    )
    if report.usable == 0:
        raise NothingUsable(
            f"{stage.folder}: no sample's features could be extracted ({report.failures_csv})"
        )


if __name__ == "__main__":
    main()
