"""Figures people would rather look at than read: θ sweeps, confusion matrices, ROC, V(t)/A(t)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torchmetrics.functional.classification import binary_roc


def theta_curve_figure(curve: dict[str, np.ndarray], chosen: float, title: str = "") -> Figure:
    """Precision, recall and F1 against θ, with the chosen θ marked."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for name in ("precision", "recall", "f1"):
        axis.plot(curve["theta"], curve[name], label=name)
    axis.axvline(chosen, color="k", linestyle="--", label=f"θ = {chosen:.3g}")
    axis.set_xlabel("θ (score threshold)")
    axis.set_ylabel("validation metric (misaligned = positive)")
    axis.set_ylim(0, 1.02)
    axis.set_title(title or "θ sweep on validation")
    axis.legend()
    figure.tight_layout()
    return figure


def confusion_figure(tn: float, fp: float, fn: float, tp: float, title: str = "") -> Figure:
    """2x2 confusion matrix (rows: truth, columns: decision)."""
    matrix = np.array([[tn, fp], [fn, tp]])
    figure, axis = plt.subplots(figsize=(4, 3.6))
    axis.imshow(matrix, cmap="Blues")
    labels = ["synchronized", "misaligned"]
    axis.set_xticks([0, 1], labels)
    axis.set_yticks([0, 1], labels)
    axis.set_xlabel("decision")
    axis.set_ylabel("truth")
    for (i, j), value in np.ndenumerate(matrix):
        axis.text(
            j,
            i,
            f"{int(value)}",
            ha="center",
            va="center",
            color="white" if value > matrix.max() / 2 else "black",
        )
    axis.set_title(title or "confusion matrix")
    figure.tight_layout()
    return figure


def roc_figure(
    scores: torch.Tensor, targets: torch.Tensor, auroc: float | None, title: str = ""
) -> Figure:
    """ROC curve of the score (misaligned = positive)."""
    fpr, tpr, _ = binary_roc(
        torch.sigmoid(scores.float()) if scores.max() > 1 or scores.min() < 0 else scores.float(),
        targets.long(),
    )
    figure, axis = plt.subplots(figsize=(4.5, 4))
    axis.plot(fpr.numpy(), tpr.numpy(), label=f"AUROC {auroc:.3f}" if auroc is not None else None)
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":")
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.set_title(title or "ROC")
    if auroc is not None:
        axis.legend(loc="lower right")
    figure.tight_layout()
    return figure


def curves_figure(
    times: np.ndarray,
    visual: np.ndarray,
    audio: np.ndarray,
    title: str = "",
    scores: tuple[np.ndarray, np.ndarray] | None = None,
) -> Figure:
    """V(t) and A(t) of one clip (each scaled to [0, 1]), with optional window scores below."""
    rows = 2 if scores is not None else 1
    figure, axes = plt.subplots(rows, 1, figsize=(9, 2.6 * rows), sharex=True, squeeze=False)
    scale = lambda x: (x - np.min(x)) / max(float(np.ptp(x)), 1e-9)  # noqa: E731
    axes[0, 0].plot(times, scale(visual), label="V(t) motion")
    axes[0, 0].plot(times, scale(audio), label="A(t) audio energy", alpha=0.8)
    axes[0, 0].set_ylabel("scaled")
    axes[0, 0].legend(loc="upper right")
    axes[0, 0].set_title(title)
    if scores is not None:
        axes[1, 0].step(scores[0], scores[1], where="mid", color="tab:red")
        axes[1, 0].set_ylim(0, 1.02)
        axes[1, 0].set_ylabel("P(out of sync)")
    axes[-1, 0].set_xlabel("time (s)")
    figure.tight_layout()
    return figure


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
) -> Figure:
    """One video: V(t) and A(t), the window scores, the offset over time, the evidence per lag.

    ``estimate`` is an `avalign.detection.windows.OffsetEstimate` (its ``curve``: the probability
    of each lag given every window, or for files without an offset model the cross-correlation
    of the whole file); ``timeline`` an `avalign.detection.timeline.OffsetModel` or None, whose
    per-window log-likelihoods are drawn as a heat map behind each window's best lag and the
    fitted offset model (constant, drift or edit).
    """
    rows = 4 if timeline is not None else 3
    figure, axes = plt.subplots(rows, 1, figsize=(9, 2.3 * rows + 0.6))
    axes[0].plot(*_decimated(times, _scaled(visual)), label="V(t) picture motion", lw=0.9)
    axes[0].plot(*_decimated(times, _scaled(audio)), label="A(t) sound energy", alpha=0.8, lw=0.9)
    axes[0].set_xlabel("time (s)")
    axes[0].set_ylabel("activity (scaled)")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_title(title, fontsize=10)
    for w in windows:
        color = "tab:red" if w.out_of_sync else "tab:green"
        axes[1].hlines(w.p_out_of_sync, w.start_s, w.end_s, color=color, linewidth=3)
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_ylabel("P(out of sync)")
    axes[1].set_xlabel("window (s): red out of sync, green in sync")
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


def reliability_figure(
    probability: np.ndarray, outcome: np.ndarray, title: str = "", bins: int = 10
) -> tuple[Figure, float]:
    """Reliability diagram of ``probability`` (of the event ``outcome``) and its expected
    calibration error (ECE: the bins' |observed - predicted|, weighted by their counts).

    A calibrated detector's points lie on the diagonal: of the files called 80% likely out of
    sync, 80% are.
    """
    probability = np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)
    outcome = np.asarray(outcome, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=probability, minlength=bins) / np.maximum(counts, 1)
    observed = np.bincount(index, weights=outcome, minlength=bins) / np.maximum(counts, 1)
    used = counts > 0
    ece = float(np.sum(counts[used] * np.abs(observed[used] - predicted[used])) / counts.sum())
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="calibrated")
    top.plot(predicted[used], observed[used], "o-", label=f"detector (ECE {ece:.3f})")
    top.set_ylabel("observed share out of sync")
    top.set_ylim(-0.02, 1.02)
    top.legend(loc="upper left")
    top.set_title(title or "reliability")
    bottom.bar((edges[:-1] + edges[1:]) / 2, counts, width=1.0 / bins, color="0.5")
    bottom.set_xlabel("predicted probability of out of sync")
    bottom.set_ylabel("count")
    figure.tight_layout()
    return figure, ece
