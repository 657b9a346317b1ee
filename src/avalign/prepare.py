"""Stage 1 entry point: ``python -m avalign.prepare dataset=<synthetic|ave|folder> ...``."""

from __future__ import annotations

from omegaconf import DictConfig

from avalign.storage.config import NothingUsable, data_dir
from avalign.storage.helptext import hydra_main


@hydra_main("prepare")
def main(cfg: DictConfig) -> None:
    """Prepare the configured dataset afresh and print where it went."""
    from avalign.features.pipeline import prepare_dataset  # here: --help answers at once

    stage = prepare_dataset(
        cfg.dataset,
        data_dir(cfg),
        workers=int(cfg.dataset.workers),
        progress=bool(cfg.progress),
        reuse=False,
    )
    summary = stage.dataset.summary
    print(
        f"prepared {stage.dataset.name}: {len(stage.dataset.segments)} segments -> {stage.folder}"
    )
    print(f"  {summary}")
    if not stage.dataset.segments:
        raise NothingUsable(f"{stage.folder}: no usable segment (see prepare_failures.csv)")


if __name__ == "__main__":
    main()
