"""``python -m avalign.evaluate source=<run id | checkpoint> dataset=...``: evaluate elsewhere.

Evaluates a trained detector on another dataset (e.g. trained on ``synthetic``, evaluated on
``dataset=folder`` of real videos) and logs it as its own MLflow run; the work is
`avalign.training.evaluation.evaluate`.
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig, OmegaConf

from avalign.storage.helptext import hydra_main

log = logging.getLogger("avalign.evaluate")


@hydra_main("evaluate")
def main(cfg: DictConfig) -> None:
    from avalign.training.evaluation import evaluate  # here, so that --help answers at once

    log.debug("config:\n%s", OmegaConf.to_yaml(cfg))
    evaluate(cfg)


if __name__ == "__main__":
    main()
