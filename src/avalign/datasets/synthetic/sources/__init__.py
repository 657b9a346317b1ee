"""Visible sound sources, one module per category, and the registry that names them."""

from __future__ import annotations

from .ball import BallBounce
from .base import Source
from .clap import HandClap
from .drum import DrumStrike
from .lamp import FlashBeep
from .machine import Machinery
from .speech import SpeechMouth
from .walker import Footsteps

#: Category name -> source class.
SOURCES: dict[str, type[Source]] = {
    cls.category: cls
    for cls in (BallBounce, DrumStrike, FlashBeep, SpeechMouth, Machinery, Footsteps, HandClap)
}

__all__ = ["SOURCES", "Source"]
