"""Detection metrics with *misaligned* as the positive class, computed with torchmetrics.

Beyond accuracy, precision, recall and F1 we report what a user of a sync detector asks next:
how well synchronized clips are recognised (their own F1 and the macro F1), the threshold-free
AUROC, recall per misalignment type, recall by size of the time shift, the confusion matrix, and,
for models that estimate it, the offset error.
"""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics.functional.classification import (
    binary_accuracy,
    binary_auroc,
    binary_confusion_matrix,
    binary_f1_score,
    binary_precision,
    binary_recall,
)

from avalign.models.inputs import TYPES

#: |offset| bins (ms) for recall by shift size: < 250, 250-1000, >= 1000.
SHIFT_BINS = (
    (0.0, 250.0, "lt250ms"),
    (250.0, 1000.0, "250to1000ms"),
    (1000.0, float("inf"), "ge1000ms"),
)


def decisions(scores: torch.Tensor, theta: float) -> torch.Tensor:
    """Misaligned (1) where the score reaches ``theta``."""
    return (scores >= theta).long()


def classification_metrics(
    scores: torch.Tensor,
    targets: torch.Tensor,
    theta: float,
    type_index: torch.Tensor,
    offset_ms: torch.Tensor,
) -> dict[str, float]:
    """All classification metrics of one split, as a flat ``name -> value`` dict."""
    preds = decisions(scores, theta)
    targets = targets.long()
    out = {
        "acc": binary_accuracy(preds, targets).item(),
        "precision": binary_precision(preds, targets).item(),
        "recall": binary_recall(preds, targets).item(),
        "f1": binary_f1_score(preds, targets).item(),
        "f1_synced": binary_f1_score(1 - preds, 1 - targets).item(),
    }
    out["f1_macro"] = (out["f1"] + out["f1_synced"]) / 2
    if targets.min() != targets.max():
        # AUROC on the raw score; torchmetrics squashes scores outside [0, 1] with a sigmoid,
        # which is monotonic, so the ranking (and the AUROC) is unchanged
        out["auroc"] = binary_auroc(scores.float(), targets).item()
    for index, name in enumerate(TYPES):
        chosen = type_index == index
        if chosen.any():
            hit = preds[chosen] == (0 if index == 0 else 1)
            out[f"recall/{'synced' if index == 0 else name}"] = hit.float().mean().item()
    synced = type_index == 0
    for index, name in enumerate(TYPES[1:], start=1):
        if (type_index == index).any() and synced.any():
            # threshold-free separation of this type from synchronized samples (the ablation's test)
            chosen = synced | (type_index == index)
            out[f"auroc/{name}"] = binary_auroc(scores[chosen].float(), targets[chosen]).item()
    shifted = type_index == TYPES.index("time_shift")
    for low, high, label in SHIFT_BINS:
        chosen = shifted & (offset_ms.abs() >= low) & (offset_ms.abs() < high)
        if chosen.any():
            out[f"recall/shift_{label}"] = preds[chosen].float().mean().item()
    matrix = binary_confusion_matrix(preds, targets)  # rows: true synced/misaligned
    out["tn"], out["fp"], out["fn"], out["tp"] = (float(v) for v in matrix.flatten().tolist())
    return out


def offset_metrics(
    predicted_ms: torch.Tensor, true_ms: torch.Tensor, type_index: torch.Tensor
) -> dict[str, float]:
    """Offset error on time-shift samples: median and mean |error| (ms), share within 1 step."""
    shifted = type_index == TYPES.index("time_shift")
    if not shifted.any():
        return {}
    error = (predicted_ms[shifted] - true_ms[shifted]).abs()
    return {
        "offset_median_abs_err_ms": error.median().item(),
        "offset_mean_abs_err_ms": error.mean().item(),
    }


def theta_curve(
    scores: torch.Tensor, targets: torch.Tensor, count: int = 101
) -> dict[str, np.ndarray]:
    """Precision, recall and F1 of the decision ``score >= theta`` over a grid of thresholds."""
    values = scores.double().numpy()
    truth = targets.numpy().astype(bool)
    low, high = float(values.min()), float(values.max())
    thetas = np.unique(np.concatenate([np.linspace(low, high, count), values]))
    precision, recall, f1 = [], [], []
    for theta in thetas:
        pred = values >= theta
        tp = float(np.sum(pred & truth))
        p = tp / max(float(pred.sum()), 1.0)
        r = tp / max(float(truth.sum()), 1.0)
        precision.append(p)
        recall.append(r)
        f1.append(0.0 if p + r == 0 else 2 * p * r / (p + r))
    return {
        "theta": thetas,
        "precision": np.array(precision),
        "recall": np.array(recall),
        "f1": np.array(f1),
    }


def best_theta(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """The threshold that maximises F1 (the midpoint between neighbouring scores, for margin)."""
    curve = theta_curve(scores, targets)
    best = int(np.argmax(curve["f1"]))
    thetas = curve["theta"]
    if best > 0:
        return float((thetas[best] + thetas[best - 1]) / 2)
    return float(thetas[best])
