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
