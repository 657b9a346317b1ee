"""Drawing helpers: layout boxes, contrasting colours, and sub-pixel OpenCV primitives.

Shapes are drawn anti-aliased with fixed-point coordinates (1/16 pixel), so that slow
motion moves smoothly instead of in whole-pixel steps, which matters for timing at small
frame sizes. They draw on a :class:`Canvas`: an RGB ``uint8`` image of shape
(height, width, 3) plus a translation, which is how camera shake moves every object
without resampling the frame.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4
_SCALE = 1 << _SHIFT

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Box:
    """An axis-aligned region of the frame, in pixels: [x0, x1) x [y0, y1)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def w(self) -> float:
        return self.x1 - self.x0

    @property
    def h(self) -> float:
        return self.y1 - self.y0

    @property
    def cx(self) -> float:
        return 0.5 * (self.x0 + self.x1)

    @property
    def cy(self) -> float:
        return 0.5 * (self.y0 + self.y1)


def luma(color: Color) -> float:
    """BT.601 luma of an RGB colour, the brightness a grayscale model sees."""
    r, g, b = color
    return 0.299 * r + 0.587 * g + 0.114 * b


def contrasting_color(rng: np.random.Generator, background_luma: float, min_gap: float = 70.0):
    """A random-hue colour whose luma differs from ``background_luma`` by >= ``min_gap``.

    Keeps every visible source distinct from the background in grayscale, where hue is lost.
    """
    for _ in range(64):
        rgb = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.2, 0.9), rng.uniform(0.15, 1.0))
        color = tuple(round(255 * c) for c in rgb)
        if abs(luma(color) - background_luma) >= min_gap:
            return color
    return (235, 235, 235) if background_luma < 128 else (20, 20, 20)


def shade(color: Color, factor: float) -> Color:
    """Scale a colour's brightness by ``factor`` (clipped to the valid range)."""
    return tuple(int(np.clip(round(c * factor), 0, 255)) for c in color)


def mix(a: Color, b: Color, w: float) -> Color:
    """Blend ``(1 - w) * a + w * b``."""
    return tuple(round((1 - w) * ca + w * cb) for ca, cb in zip(a, b, strict=True))


@dataclass
class Canvas:
    """An RGB frame to draw on; scene coordinates (x, y) land at pixel (x + dx, y + dy)."""

    img: np.ndarray
    dx: float = 0.0
    dy: float = 0.0

    def pt(self, x: float, y: float) -> tuple[int, int]:
        """Fixed-point pixel position of a scene point."""
        return round((x + self.dx) * _SCALE), round((y + self.dy) * _SCALE)


def circle(canvas: Canvas, x: float, y: float, r: float, color: Color, thickness: int = -1):
    """Draw a circle centred at (x, y) with sub-pixel precision; ``thickness=-1`` fills."""
    radius = round(max(r, 0.5) * _SCALE)
    cv2.circle(canvas.img, canvas.pt(x, y), radius, color, thickness, cv2.LINE_AA, _SHIFT)


def ellipse(
    canvas: Canvas,
    x: float,
    y: float,
    ax: float,
    ay: float,
    color: Color,
    angle_deg: float = 0.0,
    thickness: int = -1,
):
    """Draw an ellipse with semi-axes (ax, ay) rotated by ``angle_deg``."""
    axes = (round(max(ax, 0.5) * _SCALE), round(max(ay, 0.5) * _SCALE))
    cv2.ellipse(
        canvas.img, canvas.pt(x, y), axes, angle_deg, 0, 360, color, thickness, cv2.LINE_AA, _SHIFT
    )


def line(canvas: Canvas, x0: float, y0: float, x1: float, y1: float, color: Color, width: float):
    """Draw a thick segment with round caps."""
    thickness = max(1, round(width))
    cv2.line(
        canvas.img, canvas.pt(x0, y0), canvas.pt(x1, y1), color, thickness, cv2.LINE_AA, _SHIFT
    )


def polygon(canvas: Canvas, points: np.ndarray, color: Color):
    """Fill the polygon with vertices ``points`` of shape (n, 2), in scene pixels."""
    pts = np.asarray(points, dtype=float) + np.array([canvas.dx, canvas.dy])
    cv2.fillPoly(canvas.img, [np.round(pts * _SCALE).astype(np.int32)], color, cv2.LINE_AA, _SHIFT)


def rect(canvas: Canvas, x0: float, y0: float, x1: float, y1: float, color: Color):
    """Fill an axis-aligned rectangle (given by two corners)."""
    polygon(canvas, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), color)
