"""Locate the Hydra configs and turn config nodes into the values the stages need.

``conf/`` at the repository root is the one source of the configs. A regular (wheel) install
carries a copy inside the package (``avalign/conf``); an editable install or a source checkout
reads the repository's folder directly.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

log = logging.getLogger(__name__)


def config_dir() -> str:
    """Absolute path of the Hydra config folder."""
    packaged = Path(__file__).resolve().parents[1] / "conf"
    if packaged.is_dir():
        return str(packaged)
    source = Path(__file__).resolve().parents[3] / "conf"
    if source.is_dir():
        return str(source)
    raise FileNotFoundError(f"avalign configs not found in {packaged} or {source}")


def data_dir(cfg: DictConfig) -> Path:
    """The absolute data folder (relative settings are taken from the current directory)."""
    return Path(cfg.paths.data_dir).expanduser().resolve()


class NothingUsable(SystemExit):
    """Exit status 1: a stage finished without producing anything usable."""

    def __init__(self, message: str) -> None:
        log.error(message)
        super().__init__(1)
