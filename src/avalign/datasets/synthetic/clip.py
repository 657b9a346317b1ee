"""Rendering one clip to an mp4 file and describing it for ``corpus.json``."""

from __future__ import annotations

from pathlib import Path

from .encode import encode_mp4
from .scene import Scene, build_scene, render_audio, render_frames
from .spec import ClipRecord, ClipSpec, EventRecord


def _record(scene: Scene, file: str) -> ClipRecord:
    spec = scene.spec
    d = spec.distractors
    events = tuple(
        EventRecord(
            category=event.category,
            start=event.start,
            end=event.end,
            onsets=tuple(round(float(t), 6) for t in source.onsets),
        )
        for event, source in zip(spec.events, scene.sources, strict=True)
    )
    distractors = {
        "camera_shake_px": d.camera_shake_px,
        "background_drift_px_s": d.background_drift_px_s,
        "background_texture": scene.background.kind,
        "silent_object": (
            None
            if scene.silent_object is None
            else f"{scene.silent_object.shape}/{scene.silent_object.motion}"
        ),
        "ambient_mix": None
        if d.ambient_snr_db is None
        else dict(zip(("pink", "brown", "hum"), d.ambient_mix, strict=True)),
        "offscreen_sounds": [
            {"time": s.time, "kind": s.kind, "level_db": s.level_db} for s in scene.offscreen
        ],
    }
    return ClipRecord(
        video_id=spec.video_id,
        file=file,
        index=spec.index,
        events=events,
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        sample_rate=spec.sample_rate,
        channels=spec.channels,
        duration_s=spec.duration_s,
        ambient_snr_db=d.ambient_snr_db,
        distractors=distractors,
    )


def describe_clip(spec: ClipSpec, file: str | None = None) -> ClipRecord:
    """The record of a clip without rendering it (the scene's timeline is enough).

    ``file`` is the path stored in the record, by default ``AVE/<video_id>.mp4``.
    """
    return _record(build_scene(spec), file or f"AVE/{spec.video_id}.mp4")


def write_clip(spec: ClipSpec, path: Path) -> ClipRecord:
    """Render ``spec`` and encode it to the mp4 file ``path`` (written atomically).

    Returns the clip's record, with the ground-truth onsets of its visible sources; its
    ``file`` is ``AVE/<name>`` as in the corpus layout.
    """
    path = Path(path)
    scene = build_scene(spec)
    audio = render_audio(scene)
    encode_mp4(
        path,
        render_frames(scene),
        audio,
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        sample_rate=spec.sample_rate,
    )
    return _record(scene, f"AVE/{path.name}")
