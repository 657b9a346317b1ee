"""Stage 2 entry point: ``python -m avalign.generate [generate.materialize=true] ...``."""

from __future__ import annotations

from omegaconf import DictConfig

from avalign.storage.config import NothingUsable, data_dir
from avalign.storage.helptext import hydra_main


@hydra_main("generate")
def main(cfg: DictConfig) -> None:
    """Plan (and optionally write) the samples of the configured dataset."""
    from avalign.features.pipeline import generate_samples, prepare_dataset  # --help: at once

    dataset = prepare_dataset(
        cfg.dataset, data_dir(cfg), workers=int(cfg.dataset.workers), progress=bool(cfg.progress)
    )
    stage = generate_samples(
        dataset,
        cfg.generate,
        workers=int(cfg.generate.workers),
        progress=bool(cfg.progress),
        reuse=False,
    )
    print(f"generated {len(stage.samples)} samples -> {stage.metadata_csv}")
    if not stage.samples:
        raise NothingUsable(f"{stage.folder}: no sample could be made")


if __name__ == "__main__":
    main()
