"""The reliability diagram of a detector's probabilities (how often "p out of sync" is right)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


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
