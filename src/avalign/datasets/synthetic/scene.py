"""One clip's scene: its sources laid out in the frame plus its distractors, and the
rendering of its frames and its audio track.

:func:`build_scene` draws every random choice of the picture and of the timing from the
clip's scene stream, so the ground truth (onsets, off-screen sound times) is known before
any pixel or sample is rendered; the audio draws its noise from a separate stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import sound
from .distractors import (
    Background,
    CameraShake,
    OffscreenSound,
    SilentObject,
    ambient_noise,
    plan_offscreen,
    render_offscreen,
)
from .draw import Box, Canvas
from .sources import SOURCES, Source
from .spec import STREAM_AUDIO, STREAM_SCENE, ClipSpec, clip_rng


@dataclass
class Scene:
    """Everything that appears or sounds in one clip."""

    spec: ClipSpec
    sources: list[Source]
    background: Background
    shake: CameraShake | None
    silent_object: SilentObject | None
    offscreen: list[OffscreenSound]


def _layout(rng: np.random.Generator, spec: ClipSpec) -> list[Box]:
    """One box per event: large for a single source, side by side for two."""
    w, h = spec.width, spec.height
    slots = [(0.0, float(w))] if len(spec.events) == 1 else [(0.0, w / 2), (w / 2, float(w))]
    order = rng.permutation(len(slots))
    boxes = []
    for event, slot in zip(spec.events, (slots[i] for i in order), strict=True):
        aspect = SOURCES[event.category].aspect
        lo, hi = (0.65, 0.95) if len(slots) == 1 else (0.6, 0.85)
        box_h = rng.uniform(lo, hi) * h
        slot_w = slot[1] - slot[0]
        box_w = min(0.95 * slot_w, box_h * aspect * rng.uniform(0.9, 1.2))
        x0 = slot[0] + rng.uniform(0.0, slot_w - box_w)
        y0 = rng.uniform(0.0, h - box_h)
        boxes.append(Box(x0, y0, x0 + box_w, y0 + box_h))
    return boxes


def build_scene(spec: ClipSpec) -> Scene:
    """Draw the clip's look and timing from its scene stream (cheap: nothing is rendered)."""
    rng = clip_rng(spec.seed, spec.index, STREAM_SCENE)
    d = spec.distractors
    background = Background(rng, spec.width, spec.height, d.background_drift_px_s)
    sources = []
    for event, box in zip(spec.events, _layout(rng, spec), strict=True):
        source = SOURCES[event.category](rng, box, (event.start, event.end), background.luma)
        source.pan = float(np.clip((box.cx - spec.width / 2) / (spec.width / 2), -1.0, 1.0))
        sources.append(source)
    shake = CameraShake(rng, d.camera_shake_px) if d.camera_shake_px > 0 else None
    silent = (
        SilentObject(rng, spec.width, spec.height, background.luma) if d.silent_object else None
    )
    offscreen = plan_offscreen(rng, d.offscreen_rate_hz, spec.duration_s)
    return Scene(spec, sources, background, shake, silent, offscreen)


def render_frames(scene: Scene) -> Iterator[np.ndarray]:
    """Yield the clip's RGB frames (height, width, 3) uint8, at times ``k / fps``."""
    spec = scene.spec
    for k in range(spec.num_frames):
        t = k / spec.fps
        shift = scene.shake.offset(t) if scene.shake is not None else (0.0, 0.0)
        canvas = Canvas(scene.background.frame(t, shift), *shift)
        if scene.silent_object is not None:
            scene.silent_object.draw(canvas, t)  # behind the sources: it never hides them
        for source in scene.sources:
            source.draw(canvas, t)
        yield canvas.img


def render_audio(scene: Scene) -> np.ndarray:
    """Render the clip's audio, float32 of shape (channels, samples) within [-1, 1].

    The visible sources are panned to their place in the frame; ambient noise is scaled so
    that the sources' power over the annotated events stands ``ambient_snr_db`` above it;
    off-screen sounds are set relative to the sources' peak. The mix is then normalized to
    a random peak level, so that absolute loudness carries no information.
    """
    spec = scene.spec
    rng = clip_rng(spec.seed, spec.index, STREAM_AUDIO)
    sr, n, channels = spec.sample_rate, spec.num_samples, spec.channels
    mix = np.zeros((channels, n))
    for source in scene.sources:
        mono = source.sound(sr, n, rng)
        gains = sound.pan_gains(source.pan) if channels == 2 else (1.0,)
        for ch, gain in enumerate(gains):
            mix[ch] += gain * mono
    active = np.zeros(n, dtype=bool)
    for event in spec.events:
        active[round(event.start * sr) : round(event.end * sr)] = True
    source_power = float(np.mean(mix[:, active] ** 2)) if active.any() else 0.0
    peak = float(np.max(np.abs(mix))) or 1.0
    snr = spec.distractors.ambient_snr_db
    if snr is not None:
        noise = ambient_noise(rng, n, sr, channels, spec.distractors.ambient_mix)
        mix += noise * np.sqrt(source_power / 10.0 ** (snr / 10.0))
    render_offscreen(rng, scene.offscreen, sr, mix, peak)
    target = 10.0 ** (rng.uniform(-9.0, -1.0) / 20.0)
    mix *= target / (float(np.max(np.abs(mix))) or 1.0)
    return np.clip(mix, -1.0, 1.0).astype(np.float32)
