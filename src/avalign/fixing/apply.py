"""Write the fixed copy by the method that fits the plan, and prove where its sound landed.

Two methods (``fix method=``):

- ``remux``: the audio packets get new timestamps (`avalign.fixing.remux`); nothing is decoded
  or re-encoded, no sound is lost. Only a constant offset can be expressed this way.
- ``reencode``: the sound is decoded, moved sample-accurately and encoded again in its own codec
  (`avalign.fixing.reencode`); needed for drifts and edits.

``auto`` (the default) remuxes constant offsets and re-encodes the rest. Whatever the method, the
written file is then measured (`avalign.fixing.verify`): the sound it presents is compared with
IN's, and the move must be the planned one within `TOLERANCE_MS`. A remux that a container did
not carry falls back to a re-encode (under ``auto``); a re-encode that an encoder's priming
samples pushed off is put right by a lossless remux of its own audio; a file that still misses
is removed and reported.
"""

from __future__ import annotations

from pathlib import Path

from avalign.fixing.reencode import reencode_file
from avalign.fixing.remux import remux_file, stream_kinds
from avalign.fixing.verify import TOLERANCE_MS, first_sound_s, sound_move_ms
from avalign.media.errors import MediaError

METHODS = ("auto", "remux", "reencode")
#: Seconds of sound the check of a drift or an edit compares at most (the move must be nearly
#: constant over them).
PART_S = 20.0


def planned_move(plan, source: Path, stream_index: int) -> tuple[float, float, float]:
    """(begin_s, window_s, move_ms): a stretch of IN's sound and how far the plan moves it.

    A constant offset moves all the sound by ``-offset``; a drift is checked over a stretch short
    enough that its move changes by under 1 ms; an edit on the longer side of its cut.
    """
    start = first_sound_s(source, stream_index)
    if plan.kind == "constant":
        return start, PART_S, -plan.offset_ms
    if plan.kind == "drift":
        per_s = abs(plan.drift_ms_per_min) / 60.0
        window = min(PART_S, max(2.0, 1.0 / per_s)) if per_s else PART_S
        middle = start + window / 2
        return start, window, -(plan.offset_ms + plan.drift_ms_per_min / 60.0 * middle)
    if plan.edit_time_s - start >= 4.0:
        return start, min(PART_S, plan.edit_time_s - start - 0.5), -plan.offset_ms
    return plan.edit_time_s + 0.5, PART_S, -plan.offset_after_ms


def _misses(source: Path, target: Path, plan, audio: list[int]) -> list[float | None]:
    """For each audio stream: written move minus planned move, ms (None: silent, not measured)."""
    misses = []
    for index in audio:
        begin, window, move = planned_move(plan, source, index)
        written = sound_move_ms(source, target, index, move, window_s=window, begin_s=begin)
        misses.append(None if written is None else written - move)
    return misses


def _off(misses: list[float | None]) -> float | None:
    """The largest miss beyond the tolerance, or None when every stream landed."""
    bad = [m for m in misses if m is not None and abs(m) > TOLERANCE_MS]
    return max(bad, key=abs) if bad else None


def write_fixed(source: Path, target: Path, plan, cfg) -> dict:
    """Write ``target`` by ``plan`` (see the module docstring); return what was done.

    The record holds ``method`` (remux | reencode), ``audio_codecs``, ``landed_ms`` (each
    stream's measured miss, ms; None where its sound is silent) and ``notes``.
    """
    method = str(cfg.method)
    if method not in METHODS:
        raise MediaError(target, f"method={method}: choose one of {', '.join(METHODS)}")
    if method == "remux" and plan.kind != "constant":
        raise MediaError(target, f"method=remux moves by a constant offset, not a {plan.kind}")
    audio = [i for i, kind in enumerate(stream_kinds(source)) if kind == "audio"]
    if not audio:
        raise MediaError(source, "no audio stream to move")
    notes: list[str] = []
    if method in ("auto", "remux") and plan.kind == "constant" and str(cfg.audio_codec) == "auto":
        remux_file(source, target, -plan.offset_ms / 1000.0)
        misses = _misses(source, target, plan, audio)
        miss = _off(misses)
        if miss is None:
            codecs = _codecs(target, audio)
            return {"method": "remux", "audio_codecs": codecs, "landed_ms": misses, "notes": notes}
        target.unlink(missing_ok=True)
        if method == "remux":
            raise MediaError(target, f"the container did not carry the move ({miss:+.1f} ms off)")
        notes.append(f"remux landed {miss:+.1f} ms off: re-encoded instead")
    codecs = reencode_file(
        source,
        target,
        plan.offsets(),
        codec=str(cfg.audio_codec),
        bitrate=cfg.audio_bitrate,
        fade_ms=float(cfg.fade_ms),
    )
    misses = _misses(source, target, plan, audio)
    miss = _off(misses)
    if miss is not None:  # e.g. priming samples that the container cannot hide
        notes.append(f"re-encoded sound landed {miss:+.1f} ms off: its timestamps corrected")
        corrected = target.with_name(f".{target.stem}.corrected{target.suffix}")
        try:
            remux_file(target, corrected, -miss / 1000.0)
            corrected.replace(target)
        finally:
            corrected.unlink(missing_ok=True)
        misses = _misses(source, target, plan, audio)
        miss = _off(misses)
        if miss is not None:
            target.unlink(missing_ok=True)
            raise MediaError(target, f"the written sound lands {miss:+.1f} ms off; OUT removed")
    return {"method": "reencode", "audio_codecs": codecs, "landed_ms": misses, "notes": notes}


def _codecs(path: Path, audio: list[int]) -> list[str]:
    import av

    with av.open(str(path)) as container:
        return [container.streams[i].codec_context.codec.canonical_name for i in audio]
