"""A drawn face whose mouth opens by a known amount, and clips of it that talk, for the tests of
the face evidence (nothing is downloaded: BlazeFace and the face mesh find this cartoon)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from support.media import event_times
from support.streams import keyframed_clip


def draw_face(
    mouth_px: float,
    size: int = 192,
    centre: tuple[int, int] | None = None,
    scale: float = 1.0,
    canvas: np.ndarray | None = None,
) -> np.ndarray:
    """RGB cartoon face: skin ellipse, hair, eyes, brows, nose and a mouth ``mouth_px`` high."""
    image = canvas if canvas is not None else np.full((size, size, 3), (70, 90, 110), np.uint8)
    cx, cy = centre or (image.shape[1] // 2, image.shape[0] // 2)
    u = 0.75 * min(image.shape[:2]) * scale  # face unit, pixels

    def p(x: float, y: float) -> tuple[int, int]:
        return round(cx + x * u), round(cy + y * u)

    def s(v: float) -> int:
        return max(1, round(v * u))

    cv2.ellipse(image, p(0, 0.02), (s(0.33), s(0.44)), 0, 0, 360, (224, 172, 140), -1, cv2.LINE_AA)
    cv2.ellipse(image, p(0, -0.27), (s(0.35), s(0.21)), 0, 180, 360, (50, 35, 25), -1, cv2.LINE_AA)
    for side in (-1, 1):
        ex, ey = p(side * 0.13, -0.08)
        cv2.ellipse(image, (ex, ey), (s(0.067), s(0.033)), 0, 0, 360, (250, 250, 250), -1)
        cv2.circle(image, (ex, ey), s(0.027), (40, 30, 30), -1, cv2.LINE_AA)
        cv2.line(
            image, p(side * 0.13 - 0.067, -0.15), p(side * 0.13 + 0.067, -0.16), (60, 40, 30), 2
        )
    cv2.line(image, p(0, -0.03), p(-0.027, 0.09), (180, 120, 100), 2, cv2.LINE_AA)
    mouth = p(0, 0.21)
    height = mouth_px * scale
    cv2.ellipse(image, mouth, (s(0.107), max(1, round(height))), 0, 0, 360, (150, 60, 60), -1)
    if height > 2:
        cv2.ellipse(
            image, mouth, (s(0.093), max(1, round(height) - 2)), 0, 0, 360, (40, 10, 15), -1
        )
    return image


def talking_face_clip(
    path: Path, *, seconds: float, fps: int = 25, keyframe_every: int = 250, size: int = 192
) -> Path:
    """An H.264/AAC mp4 (`streams.keyframed_clip`) of `draw_face` moving slowly across the
    picture with its mouth opening at `media.event_times`' clicks, so that the face is followed
    throughout."""
    events = event_times(seconds)

    def picture(index: int) -> np.ndarray:
        t = index / fps
        since = t - events[events <= t].max() if np.any(events <= t) else 1.0
        mouth = 1.0 + 14.0 * np.exp(-since / 0.12)
        centre = (size // 2 + round(6 * np.sin(t / 3.0)), size // 2 + round(4 * np.cos(t / 4.0)))
        return draw_face(mouth, size, centre)

    return keyframed_clip(
        path,
        picture,
        seconds=seconds,
        fps=fps,
        size=(size, size),
        keyframe_every=keyframe_every,
    )
