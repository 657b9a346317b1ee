"""``python -m avalign.train [model=mlp|transformer|lagnet|...] ...``: train one detector.

Makes whatever the composed config needs and is missing (dataset, samples, feature cache), trains
the model, tests it, logs to MLflow and prints a results table; the work is
`avalign.training.run.train`. This module is the Hydra entry point, which returns the metric a
sweep optimises.
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from avalign.storage.helptext import hydra_main

log = logging.getLogger("avalign.train")


@hydra_main("train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns ``cfg.optimized_metric`` for sweepers."""
    from avalign.training.run import train  # here, so that --help answers at once

    metrics = train(cfg)
    value = metrics.get(str(cfg.optimized_metric))
    log.info("%s = %s", cfg.optimized_metric, value)
    return value


if __name__ == "__main__":
    main()
