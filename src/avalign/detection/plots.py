"""The picture of one checked file: activity, window scores, offset over time, lag evidence."""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from avalign.detection.evidence import SOUND_KINDS

#: One colour per verdict class, in the plots and the HTML report alike.
COLOURS = {"in_sync": "#2a8a2a", "out_of_sync": "#c0392b", "cannot_tell": "#e69f00"}


def _scaled(x: np.ndarray) -> np.ndarray:
    return (x - np.min(x)) / max(float(np.ptp(x)), 1e-9)


def _decimated(times: np.ndarray, values: np.ndarray, points: int = 3000):
    """At most ``points`` points: the maximum of each block (peaks stay visible on long files)."""
    if times.size <= points:
        return times, values
    block = int(np.ceil(times.size / points))
    usable = times.size // block * block
    return times[:usable:block], values[:usable].reshape(-1, block).max(axis=1)


def detection_figure(
    times: np.ndarray,
    visual: np.ndarray,
    audio: np.ndarray,
    windows: list,
    estimate,
    title: str,
    timeline=None,
    rule=None,
) -> Figure:
    """One video: V(t) and A(t), the window scores, the offset over time, the evidence per lag.

    ``estimate`` is an `avalign.detection.windows.OffsetEstimate` (its ``curve``: the probability
    of each lag given every window, or for files without an offset model the cross-correlation
    of the whole file); ``timeline`` an `avalign.detection.timeline.OffsetModel` or None, whose
    per-window log-likelihoods are drawn as a heat map behind each window's best lag and the
    fitted offset model (constant, drift or edit). With a ``rule`` (a
    `avalign.detection.verdict.PosteriorRule`: the file was judged by its lag posterior), each
    window is shown by that same rule applied to its own evidence (`window_rows`).
    """
    rows = 4 if timeline is not None else 3
    figure, axes = plt.subplots(rows, 1, figsize=(9, 2.3 * rows + 0.6))
    axes[0].plot(*_decimated(times, _scaled(visual)), label="V(t) picture motion", lw=0.9)
    axes[0].plot(*_decimated(times, _scaled(audio)), label="A(t) sound energy", alpha=0.8, lw=0.9)
    axes[0].set_xlabel("time (s)")
    axes[0].set_ylabel("activity (scaled)")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_title(textwrap.fill(title, 100), fontsize=10)  # long verdicts wrap, not clip
    rows = window_rows(windows, timeline, rule)
    for start, end, p, verdict in rows:
        axes[1].hlines(p, start, end, color=COLOURS[verdict], linewidth=3)
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_ylabel("P(out of sync)")
    axes[1].set_xlabel(
        "window (s): red out of sync, green in sync"
        + (
            f", amber cannot tell (each window alone, by the file's rule: {rule.decide_at:g})"
            if rule is not None and timeline is not None
            else ""
        )
    )
    axes[1].set_xlim(axes[0].get_xlim())
    if timeline is not None:
        axis = axes[2]
        t, lags = timeline.window_times_s, timeline.lags_ms
        if t.size > 1:
            half = 0.5 * float(np.median(np.diff(t)))
            each = np.exp(timeline.window_loglik - timeline.window_loglik.max(1, keepdims=True))
            axis.imshow(
                each.T,  # each window's likelihood of every lag, scaled to its own peak
                aspect="auto",
                origin="lower",
                cmap="Greys",
                extent=(t[0] - half, t[-1] + half, lags[0], lags[-1]),
                alpha=0.5,
                vmin=0.0,
                vmax=1.0,
            )
        axis.scatter(
            t,
            timeline.window_offsets_ms,
            s=10 + 30 * timeline.window_strength,
            c="tab:blue",
            label="best lag of each window",
            zorder=3,
        )
        line_t = np.linspace(min(0.0, float(t[0])), float(times[-1]) if times.size else t[-1], 400)
        axis.plot(
            line_t,
            timeline.offset_at(line_t),
            color="tab:red",
            lw=1.5,
            label=f"offset model: {timeline.kind} ({timeline.confidence})",
            zorder=4,
        )
        axis.set_ylim(lags[0], lags[-1])
        axis.set_xlim(axes[0].get_xlim())
        axis.set_xlabel("time (s)")
        axis.set_ylabel("offset (ms)")
        axis.legend(loc="upper right", fontsize=8)
    axis = axes[-1]
    axis.plot(estimate.lags_ms, estimate.curve)
    axis.axvline(
        estimate.offset_ms, color="k", linestyle="--", label=f"peak {estimate.offset_ms:+.0f} ms"
    )
    axis.set_xlabel("lag (ms, positive = audio late)")
    axis.set_ylabel(
        "correlation"
        if timeline is None and estimate.method == "xcorr"
        else "P(lag | all windows)\none offset for the file"
        if timeline is not None
        else "lag probability"
    )
    axis.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    return figure


def window_rows(windows: list, timeline=None, rule=None) -> list[tuple[float, float, float, str]]:
    """(start, end, P(out of sync), verdict class) of each window, for the windows' panel.

    With a posterior ``rule`` and the file's ``timeline``, a window's probability is the rule's
    P(out of sync) from that window's evidence alone, weighted as in the file's sum (the file's
    prior, its in-sync band; a file of one window reads as its window does), and
    its class the one the rule gives (``cannot_tell`` between the thresholds): the windows are
    read as the file is, so an in-sync file is not drawn as a row of red windows from the
    model's uncalibrated per-window score. Windows whose sound is the problem (mute, silent,
    noise) carry no timing evidence and keep their own decision. Otherwise (the training-free
    path, whose verdict is the windows' majority), each window's own decision.
    """
    from avalign.detection.verdict import band_probability

    usable = [w for w in windows if w.kind not in SOUND_KINDS]
    by_rule = (
        rule is not None and timeline is not None and len(usable) == len(timeline.window_loglik)
    )
    rows: list[tuple[float, float, float, str]] = []
    evidence = iter(timeline.window_loglik if by_rule else [])
    for w in windows:
        if not by_rule or w.kind in SOUND_KINDS:
            verdict = "out_of_sync" if w.out_of_sync else "in_sync"
            rows.append((w.start_s, w.end_s, float(w.p_out_of_sync), verdict))
            continue
        row = timeline.weight * next(evidence)  # as much as it counts in the file's sum
        p = 1.0 - band_probability(timeline.lags_ms, row, rule.sync_prior)
        verdict = (
            "out_of_sync"
            if p >= rule.decide_at
            else "in_sync"
            if 1.0 - p >= rule.decide_at
            else "cannot_tell"
        )
        rows.append((w.start_s, w.end_s, p, verdict))
    return rows
