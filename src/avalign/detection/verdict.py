"""One plain-words verdict per file from its window scores and global offset estimate."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from avalign.detection.windows import OffsetEstimate, WindowScore

if TYPE_CHECKING:
    from avalign.detection.timeline import OffsetModel

#: Offsets smaller than this are in sync for a viewer (ITU-R BT.1359 detectability: audio
#: 45 ms early or 125 ms late); we use the larger bound on both sides.
PERCEPTIBLE_MS = 125.0
#: Share of windows that must agree before a problem is reported.
MAJORITY = 0.5


@dataclass(frozen=True)
class Verdict:
    text: str  # e.g. "in sync", "audio late by 480 ms (confidence high)"
    out_of_sync: bool
    kind: str  # none | time_shift | drift | edit | noise | mute | silent | distort
    offset_ms: float | None
    confidence: str  # high | medium | low
    since_s: float | None = None  # where the problem starts, when it does not cover the whole file


def clock(seconds: float) -> str:
    """``MM:SS`` (``H:MM:SS`` past an hour)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return (
        f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
        if hours
        else f"{rest // 60:02d}:{rest % 60:02d}"
    )


def onset(windows: list[WindowScore], kind: str) -> float | None:
    """Start of the earliest window from which most windows show ``kind`` (None if never)."""
    flags = [w.out_of_sync and w.kind == kind for w in windows]
    for i in range(len(flags)):
        if flags[i] and sum(flags[i:]) >= MAJORITY * (len(flags) - i):
            return windows[i].start_s
    return None


def decide(
    windows: list[WindowScore],
    has_audio: bool,
    estimate: OffsetEstimate,
    step_ms: float,
    timeline: OffsetModel | None = None,
) -> Verdict:
    """Combine the windows, the file's offset estimate and its offset model into one verdict.

    A drift or an edit that the offset model finds with medium or high confidence, and that a
    viewer would notice somewhere in the file, is reported before the windows' majority.
    """
    confidence, offset_ms = estimate.confidence, estimate.offset_ms
    if not has_audio:
        return Verdict("no audio track", True, "mute", None, "high")
    for kind, words in (("silent", "audio track is silent"), ("noise", "audio replaced by noise")):
        since = onset(windows, kind)
        if since is not None:
            text = words if since == 0 else f"{words} from {clock(since)}"
            return Verdict(text, True, kind, None, "high", since)
    changing = _changing_verdict(timeline)
    if changing is not None:
        return changing
    flagged = [w for w in windows if w.out_of_sync]
    if len(flagged) >= MAJORITY * len(windows) and flagged:
        kind = Counter(w.kind for w in flagged).most_common(1)[0][0]
        if kind == "distort":
            since = onset(windows, "distort") or 0.0
            text = "audio distorted or drifting" + (f" from {clock(since)}" if since else "")
            return Verdict(text, True, kind, None, confidence, since)
        if kind == "time_shift":
            offsets = [w.offset_ms for w in flagged if w.offset_ms is not None]
            shown = (
                offset_ms
                if confidence != "low" or not offsets
                else sorted(offsets)[len(offsets) // 2]
            )
            return _shift_verdict(shown, confidence)
    # Without training, a clear whole-file correlation peak away from 0 overrules inconclusive
    # windows; a trained model's windows are decided at its validated threshold and stand.
    if (
        estimate.method == "xcorr"
        and abs(offset_ms) >= max(PERCEPTIBLE_MS, step_ms)
        and confidence == "high"
    ):
        return _shift_verdict(offset_ms, confidence)
    return Verdict("in sync", False, "none", offset_ms, confidence)


def _shift_verdict(offset_ms: float, confidence: str) -> Verdict:
    side = "late" if offset_ms > 0 else "early"
    return Verdict(
        f"audio {side} by {abs(offset_ms):.0f} ms (confidence {confidence})",
        True,
        "time_shift",
        offset_ms,
        confidence,
    )


def _signed(ms: float) -> str:
    """``+42``, ``-7``, or ``0`` (no sign on a rounded zero)."""
    return "0" if round(ms) == 0 else f"{ms:+.0f}"


def _offset_words(ms: float) -> str:
    """``late by 480 ms``, ``early by 300 ms``, or ``in sync`` below what a viewer notices."""
    if abs(ms) < PERCEPTIBLE_MS:
        return "in sync"
    return f"{'late' if ms > 0 else 'early'} by {abs(ms):.0f} ms"


def _changing_verdict(model: OffsetModel | None) -> Verdict | None:
    """``audio drifts +42 ms/min, 0 ms at 00:00`` or an edit's verdict; None if neither holds."""
    if model is None or model.kind == "constant" or model.confidence == "low":
        return None
    times = model.window_times_s
    ends = model.offset_at(times[[0, -1]]) if times.size else []
    if model.kind == "drift" and max((abs(x) for x in ends), default=0.0) >= PERCEPTIBLE_MS:
        text = (
            f"audio drifts {_signed(model.drift_ms_per_min)} ms/min, "
            f"{_signed(model.offset_at_zero_ms)} ms at 00:00 (confidence {model.confidence})"
        )
        mean = float(model.offset_at(times).mean())  # the drift's average offset over the file
        return Verdict(text, True, "drift", mean, model.confidence)
    before, after = model.offset_before_ms, model.offset_after_ms
    if (
        model.kind == "edit"
        and abs(before - after) >= PERCEPTIBLE_MS
        and max(abs(before), abs(after)) >= PERCEPTIBLE_MS
    ):
        text = (
            f"audio offset changes at {clock(model.edit_time_s)}: {_offset_words(before)} "
            f"before, {_offset_words(after)} after (confidence {model.confidence})"
        )
        return Verdict(text, True, "edit", None, model.confidence, model.edit_time_s)
    return None
