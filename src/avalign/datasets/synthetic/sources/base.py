"""The interface every visible sound source implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from ..draw import Box, Canvas


class Source(ABC):
    """A visible object whose visible action makes its sound.

    Built once per clip from the scene's random stream: the constructor draws the object's
    look and its timeline (the onsets), so that the ground truth is known without rendering.
    Outside its active span ``[start, end)`` the object stays visible, idle and silent.

    Attributes
    ----------
    category
        The annotation label.
    aspect
        Preferred width/height of the box the object is laid out in.
    onsets
        Times (s) at which the source's sounds begin, sorted, all inside the active span.
    gains
        Relative loudness of each onset's sound, in (0, 1].
    pan
        Stereo position in [-1, 1] from the object's horizontal place in the frame.
    """

    category: ClassVar[str]
    aspect: ClassVar[float] = 1.0

    def __init__(
        self, rng: np.random.Generator, box: Box, span: tuple[float, float], background_luma: float
    ) -> None:
        self.box = box
        self.start, self.end = float(span[0]), float(span[1])
        self.background_luma = background_luma
        self.onsets = np.array([])
        self.gains = np.array([])
        self.pan = 0.0

    def _set_onsets(self, onsets, gains) -> None:
        onsets = np.asarray(onsets, dtype=float)
        gains = np.asarray(gains, dtype=float)
        order = np.argsort(onsets, kind="stable")
        self.onsets, self.gains = onsets[order], gains[order]
        if len(self.onsets) == 0:
            raise RuntimeError(f"{self.category}: no onset in [{self.start}, {self.end})")
        if self.onsets[0] < self.start or self.onsets[-1] >= self.end:
            raise RuntimeError(f"{self.category}: onsets outside [{self.start}, {self.end})")

    @abstractmethod
    def draw(self, canvas: Canvas, t: float) -> None:
        """Draw the object's state at time ``t`` (s) onto ``canvas``."""

    @abstractmethod
    def sound(self, sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """Render the source's mono sound track of ``n`` samples at ``sr`` Hz.

        ``rng`` is the clip's audio stream (noise in transients); the timing comes from
        :attr:`onsets`, fixed at construction.
        """
