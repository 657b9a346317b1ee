"""The benchmark's figures, each with a 95% bootstrap interval over clips.

Windows of one clip are not independent (same scene, same voice), so intervals resample whole
clips: each bootstrap draw takes as many clips as there are, with replacement, and every window of
a drawn clip counts as often as its clip was drawn.

- **Synchronizability**: AUROC of in-sync against shifted windows (higher score = out of sync),
  and the balanced accuracy of the detector's own decision (in-sync and shifted windows weighted
  equally, as on a 50/50 test set: a shifted window is 20 times as common on the grid). The
  in-sync band is ITU-R BT.1359's: audio up to 45 ms early or 125 ms late. On the 0.2 s grid only
  the 0 class lies in it.
- **Offset**: exact-class accuracy, accuracy within one class, and the median |error| in ms, over
  in-sync and shifted windows (all classes of the grid), for detectors that estimate an offset.
- **Sound problems**: the share of muted and of noisy windows called out of sync, and the AUROC of
  each against in-sync windows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: ITU-R BT.1359 detectability thresholds in avalign's sign (positive = audio late), ms.
IN_SYNC_BAND_MS = (-45.0, 125.0)


@dataclass(frozen=True)
class WindowTable:
    """Truth and predictions of every window, as parallel arrays."""

    clip: np.ndarray  # clip index per window (int)
    category: np.ndarray  # str
    kind: np.ndarray  # "None" | "time_shift" | "mute" | "noise"
    offset_ms: np.ndarray  # true offset (0 for in-sync, mute, noise)
    true_class: np.ndarray  # true offset class
    p_out: np.ndarray
    decision: np.ndarray  # bool
    offset_pred_ms: np.ndarray  # NaN without an estimate
    class_pred: np.ndarray  # -1 without an estimate

    def subset(self, keep: np.ndarray) -> WindowTable:
        return WindowTable(**{k: v[keep] for k, v in vars(self).items()})


def weighted_auroc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> float:
    """Area under the ROC curve with per-item weights (ties count one half); NaN if one class."""
    w_pos, w_neg = weights * positive, weights * ~positive
    total_pos, total_neg = w_pos.sum(), w_neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        return float("nan")
    unique, inverse = np.unique(scores, return_inverse=True)
    pos_at = np.bincount(inverse, weights=w_pos, minlength=unique.size)
    neg_at = np.bincount(inverse, weights=w_neg, minlength=unique.size)
    below = np.cumsum(neg_at) - neg_at  # negatives strictly below each distinct score
    return float(np.sum(pos_at * (below + 0.5 * neg_at)) / (total_pos * total_neg))


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    return float(np.sum(values * weights) / total) if total > 0 else float("nan")


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    keep = weights > 0
    if not keep.any():
        return float("nan")
    order = np.argsort(values[keep])
    sorted_values, sorted_weights = values[keep][order], weights[keep][order]
    cumulative = np.cumsum(sorted_weights)
    return float(sorted_values[np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def in_band(offset_ms: np.ndarray) -> np.ndarray:
    """Whether each offset is imperceptible (inside the ITU-R BT.1359 band)."""
    return (offset_ms >= IN_SYNC_BAND_MS[0]) & (offset_ms <= IN_SYNC_BAND_MS[1])


def figure_functions(table: WindowTable) -> dict[str, Callable[[np.ndarray], float]]:
    """Every figure as a function of per-window weights (1 = each window once)."""
    synced = table.kind == "None"
    shifted = table.kind == "time_shift"
    pair = synced | shifted
    out_of_band = ~in_band(table.offset_ms)
    has_offset = pair & (table.class_pred >= 0)
    class_error = np.abs(table.class_pred - table.true_class)
    ms_error = np.abs(table.offset_pred_ms - table.offset_ms)

    def balanced(w: np.ndarray) -> float:
        truth = out_of_band & pair
        tpr = weighted_mean(table.decision[truth], w[truth])
        tnr = weighted_mean(~table.decision[pair & ~truth], w[pair & ~truth])
        return 0.5 * (tpr + tnr)

    figures: dict[str, Callable[[np.ndarray], float]] = {
        "sync_auroc": lambda w: weighted_auroc(table.p_out[pair], shifted[pair], w[pair]),
        "sync_balanced_acc": balanced,
        "synced_called_in_sync": lambda w: weighted_mean(~table.decision[synced], w[synced]),
        "shifted_called_out": lambda w: weighted_mean(table.decision[shifted], w[shifted]),
    }
    for kind in ("mute", "noise"):
        chosen = table.kind == kind
        both = chosen | synced
        figures[f"{kind}_called_out"] = lambda w, c=chosen: weighted_mean(table.decision[c], w[c])
        figures[f"{kind}_auroc"] = lambda w, c=chosen, b=both: weighted_auroc(
            table.p_out[b], c[b], w[b]
        )
    if has_offset.any():
        figures["offset_exact"] = lambda w: weighted_mean(
            class_error[has_offset] == 0, w[has_offset]
        )
        figures["offset_within1"] = lambda w: weighted_mean(
            class_error[has_offset] <= 1, w[has_offset]
        )
        figures["offset_median_err_ms"] = lambda w: weighted_median(
            ms_error[has_offset], w[has_offset]
        )
    return figures


@dataclass(frozen=True)
class Figure:
    """A figure with its 95% bootstrap interval over clips."""

    value: float
    low: float
    high: float

    def text(self, digits: int = 3) -> str:
        if np.isnan(self.value):
            return "-"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def weighted_bootstrap(
    functions: dict[str, Callable[[np.ndarray], float]],
    clip: np.ndarray,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Figure]:
    """Each function's value on all items and its 95% interval over ``resamples`` draws of clips
    (``clip`` gives each item's clip; a drawn clip's items weigh as often as it was drawn)."""
    clips, position = np.unique(clip, return_inverse=True)
    ones = np.ones(len(clip))
    rng = np.random.default_rng(seed)
    draws = [
        np.bincount(rng.integers(0, clips.size, clips.size), minlength=clips.size)[position]
        for _ in range(resamples)
    ]
    out = {}
    for name, function in functions.items():
        samples = np.array([function(w.astype(np.float64)) for w in draws])
        samples = samples[~np.isnan(samples)]
        low, high = np.percentile(samples, [2.5, 97.5]) if samples.size else (float("nan"),) * 2
        out[name] = Figure(float(function(ones)), float(low), float(high))
    return out


def bootstrap_figures(table: WindowTable, resamples: int = 1000, seed: int = 0) -> dict:
    """Every figure of `figure_functions` with its interval, and the counts behind them."""
    figures = weighted_bootstrap(figure_functions(table), table.clip, resamples, seed)
    counts = {
        "clips": int(np.unique(table.clip).size),
        "windows_synced": int(np.sum(table.kind == "None")),
        "windows_shifted": int(np.sum(table.kind == "time_shift")),
        "windows_mute": int(np.sum(table.kind == "mute")),
        "windows_noise": int(np.sum(table.kind == "noise")),
    }
    return {"figures": figures, "counts": counts}


def by_category(table: WindowTable, resamples: int = 1000, seed: int = 0) -> dict[str, dict]:
    """`bootstrap_figures` for each category on its own."""
    return {
        category: bootstrap_figures(table.subset(table.category == category), resamples, seed)
        for category in sorted(set(table.category.tolist()))
    }
