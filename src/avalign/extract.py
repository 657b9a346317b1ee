"""Stage 3 entry point: ``python -m avalign.extract [extract.workers=N] [feature=fps25] ...``."""

from __future__ import annotations

from omegaconf import DictConfig

from avalign.storage.config import NothingUsable
from avalign.storage.helptext import hydra_main


@hydra_main("extract")
def main(cfg: DictConfig) -> None:
    """Extract (or resume) the features of every sample of this shard."""
    from avalign.features.pipeline import data_stages  # here: --help answers at once

    stage = data_stages(
        cfg, shard_index=int(cfg.extract.shard_index), num_shards=int(cfg.extract.num_shards)
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
