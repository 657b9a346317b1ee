"""One plain-words verdict per file from its window scores and global offset estimate."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from avalign.detection.band import IN_SYNC_BAND_MS, in_band
from avalign.detection.timeline import MARGIN_NATS
from avalign.detection.windows import OffsetEstimate, WindowScore

if TYPE_CHECKING:
    from avalign.detection.reasons import Reason
    from avalign.detection.timeline import OffsetModel

#: The larger bound of the in-sync band (`IN_SYNC_BAND_MS`): a change of offset (an edit) must be
#: at least this large to be reported.
PERCEPTIBLE_MS = 125.0
#: Share of windows that must agree before a problem is reported.
MAJORITY = 0.5


@dataclass(frozen=True)
class Verdict:
    text: str  # e.g. "in sync", "audio late by 480 ms (confidence high)"
    out_of_sync: bool | None  # None: cannot tell
    kind: str  # none | time_shift | drift | edit | noise | mute | silent | distort | cannot_tell
    offset_ms: float | None
    confidence: str  # high | medium | low
    since_s: float | None = None  # where the problem starts, when it does not cover the whole file
    p_out_of_sync: float | None = None  # the file's probability of being out of sync, if known
    reason: str | None = None  # why "cannot tell" (`avalign.detection.reasons`); None otherwise


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


CANNOT_TELL = (
    "cannot tell: the picture shows too little of what makes the sound to judge its timing"
)
#: Log-likelihood gap (nats) by which one side of the in-sync band's edge must beat the other for
#: a clear single lag to decide when the posterior does not (`clear_peak`): the offset's "high"
#: margin, a likelihood ratio of about 55.
CLEAR_NATS = MARGIN_NATS["high"]


@dataclass(frozen=True)
class PosteriorRule:
    """How a lag posterior becomes a verdict (`posterior_verdict`)."""

    sync_prior: float = 0.5  # prior probability that a file is in sync (the rest: spread over lags)
    decide_at: float = 0.8  # a verdict needs this posterior probability; below: cannot tell
    high_at: float = 0.95  # posterior probability of a "confidence high" verdict


def band_mask(lags_ms: np.ndarray) -> np.ndarray:
    """Which lags of a grid lie in the in-sync band."""
    return (lags_ms >= IN_SYNC_BAND_MS[0]) & (lags_ms <= IN_SYNC_BAND_MS[1])


def band_probability(lags_ms: np.ndarray, loglik: np.ndarray, prior: float) -> float:
    """P(in sync | evidence) for log-likelihoods over ``lags_ms``: ``prior`` on the in-sync band,
    the rest spread evenly over the other lags (one window's row or a file's sum alike)."""
    band = band_mask(lags_ms)
    if band.all() or not band.any():
        return prior
    likelihood = np.exp(loglik - loglik.max())
    in_band, other = likelihood[band].mean(), likelihood[~band].mean()
    return float(prior * in_band / (prior * in_band + (1 - prior) * other))


def sync_probability(model: OffsetModel, prior: float) -> float:
    """P(in sync | every window) with ``prior`` on the in-sync band and the rest of the prior
    spread evenly over the other lags (the windows' summed log-likelihoods are the evidence)."""
    return band_probability(model.lags_ms, model.file_loglik, prior)


def clear_peak(model: OffsetModel) -> bool | None:
    """True (out of sync) or False (in sync) when one side of the band's edge wins clearly.

    The posterior spreads its out-of-sync prior over every lag outside the band (about 95 of
    them at 25 steps/s, +-2 s), so one lag that the windows agree on must beat the band by about
    log(95 * 4) ~ 6 nats before P(out of sync) reaches 0.8: the price of not knowing the lag
    beforehand. A file 1 s late whose windows cluster at +1.0-1.2 s and whose best lag beats
    every other by 4-6 nats stayed "cannot tell". Here the two hypotheses are compared at their
    best lags instead (a likelihood-ratio test): out of sync when the best lag lies outside the
    band, its margin over every lag more than a step away is "high" (`MARGIN_NATS`), and it beats
    the best in-band lag by `CLEAR_NATS`; in sync when the best in-band lag beats every lag
    outside by `CLEAR_NATS`. None: no side wins clearly.
    """
    band = band_mask(model.lags_ms)
    if band.all() or not band.any():
        return None
    inside, outside = model.file_loglik[band].max(), model.file_loglik[~band].max()
    if outside - inside >= CLEAR_NATS and model.offset_confidence == "high":
        return True
    if inside - outside >= CLEAR_NATS:
        return False
    return None


def posterior_verdict(model: OffsetModel | None, rule: PosteriorRule) -> Verdict:
    """In sync, shifted, or cannot tell, from the file's lag posterior (lag-head detectors).

    The decision needs ``rule.decide_at`` of posterior probability; weak evidence (a still
    picture, a source out of view, music over unrelated images) leaves the posterior near the
    prior, and the verdict says so instead of guessing. Below that, one clear lag still decides
    (`clear_peak`), with confidence medium: the posterior alone did not reach ``decide_at``.
    """
    if model is None:
        return Verdict(CANNOT_TELL, None, "cannot_tell", None, "low", None, None)
    p_sync = sync_probability(model, rule.sync_prior)
    clear = clear_peak(model)
    if p_sync >= rule.decide_at or clear is False:
        confidence = "high" if p_sync >= rule.high_at else "medium"
        return Verdict("in sync", False, "none", model.offset_ms, confidence, None, 1 - p_sync)
    if 1 - p_sync >= rule.decide_at or clear is True:
        outside = np.where(band_mask(model.lags_ms), -np.inf, model.file_loglik)
        best = int(np.argmax(outside))
        offset = float(model.lags_ms[best])
        if abs(model.offset_ms - offset) <= 100.0:  # the refined peak, when it is this lag's
            offset = model.offset_ms
        confidence = "high" if 1 - p_sync >= rule.high_at else "medium"  # clear peak: medium
        verdict = _shift_verdict(offset, confidence)
        return Verdict(verdict.text, True, "time_shift", offset, confidence, None, 1 - p_sync)
    return Verdict(CANNOT_TELL, None, "cannot_tell", model.offset_ms, "low", None, 1 - p_sync)


def barred(verdict: Verdict, out_of_sync_at: float) -> Verdict:
    """A time-shift verdict whose P(out of sync) is under ``out_of_sync_at``, as "cannot tell".

    The bar is fitted on held-out real clips so that at most a set share of in-sync files are
    called out of sync (``experiments/decision_calibration.py``); a shift the evidence favours
    but not that strongly is reported as likely, not as found.
    """
    p_out = verdict.p_out_of_sync
    if verdict.kind != "time_shift" or p_out is None or p_out >= out_of_sync_at:
        return verdict
    side = "late" if (verdict.offset_ms or 0.0) > 0 else "early"
    words = (
        f"audio {side} by {abs(verdict.offset_ms or 0.0):.0f} ms is likely (P(out of sync) "
        f"{p_out:.2f}) but under the bar that keeps false alarms rare ({out_of_sync_at:g})"
    )
    return replace(
        verdict,
        text=f"cannot tell: {words}",
        out_of_sync=None,
        kind="cannot_tell",
        confidence="low",
        reason="below_bar",
    )


def explained(verdict: Verdict, reason: Reason) -> Verdict:
    """A "cannot tell" verdict that says why (``cannot tell: no face found ...``)."""
    if verdict.kind != "cannot_tell":
        return verdict
    return replace(verdict, text=f"cannot tell: {reason.words}", reason=reason.code)


def decide(
    windows: list[WindowScore],
    has_audio: bool,
    estimate: OffsetEstimate,
    step_ms: float,
    timeline: OffsetModel | None = None,
    rule: PosteriorRule | None = None,
) -> Verdict:
    """Combine the windows, the file's offset estimate and its offset model into one verdict.

    A drift or an edit that the offset model finds with medium or high confidence, and that a
    viewer would notice somewhere in the file, is reported before the windows' majority. With a
    ``rule`` (detectors that decide by their lag posterior), sync is judged from every window's
    evidence at once (`posterior_verdict`), which may say "cannot tell".
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
    if rule is not None:
        return posterior_verdict(timeline, rule)
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
            if not in_band(shown):  # within the band, the windows' shift is one nobody sees
                return _shift_verdict(shown, confidence)
    # Without training, a clear whole-file correlation peak away from 0 overrules inconclusive
    # windows; a trained model's windows are decided at its validated threshold and stand.
    if (
        estimate.method == "xcorr"
        and not in_band(offset_ms)
        and abs(offset_ms) >= step_ms
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
    """``late by 480 ms``, ``early by 300 ms``, or ``in sync`` within what a viewer accepts."""
    if in_band(ms):
        return "in sync"
    return f"{'late' if ms > 0 else 'early'} by {abs(ms):.0f} ms"


def _changing_verdict(model: OffsetModel | None) -> Verdict | None:
    """``audio drifts +42 ms/min, 0 ms at 00:00`` or an edit's verdict; None if neither holds."""
    if model is None or model.kind == "constant" or model.confidence == "low":
        return None
    times = model.window_times_s
    ends = model.offset_at(times[[0, -1]]) if times.size else []
    if model.kind == "drift" and any(not in_band(x) for x in ends):
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
        and not (in_band(before) and in_band(after))
    ):
        text = (
            f"audio offset changes at {clock(model.edit_time_s)}: {_offset_words(before)} "
            f"before, {_offset_words(after)} after (confidence {model.confidence})"
        )
        return Verdict(text, True, "edit", None, model.confidence, model.edit_time_s)
    return None
