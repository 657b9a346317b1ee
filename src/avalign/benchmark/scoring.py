"""Run a detector over benchmark windows: a probability of "out of sync", a decision, an offset.

Every avalign model (`SyncModel`) maps a batch to a ``score`` (higher = more likely out of sync)
and its θ decides. Models with an offset estimate give ``offset_ms``; a model with a lag head also
gives a probability for every lag, which is summed into the benchmark's offset classes (a lag of
40 ms steps belongs to the 0.2 s class it rounds to), so that its offset class is the most
probable class rather than the class of the single most probable lag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from avalign.benchmark.windows import WindowProtocol
from avalign.models.inputs import SampleInputs, collate

BATCH = 128


@dataclass
class WindowPredictions:
    """What one detector says of each window, in the order of ``sample_ids``."""

    sample_ids: list[str]
    p_out: np.ndarray  # (N,) score, higher = more likely out of sync
    decision: np.ndarray  # (N,) bool, out of sync at the detector's θ
    offset_ms: np.ndarray  # (N,) offset estimate (positive = audio late), NaN without one
    offset_class: np.ndarray  # (N,) the protocol's offset class, -1 without an estimate
    class_probability: np.ndarray | None  # (N, classes) where the model gives lag probabilities

    def rows(self) -> list[dict]:
        """One plain dict per window (for CSV files)."""
        return [
            {
                "sample_id": sid,
                "p_out": float(self.p_out[i]),
                "decision": int(self.decision[i]),
                "offset_pred_ms": float(self.offset_ms[i]),
                "offset_class_pred": int(self.offset_class[i]),
            }
            for i, sid in enumerate(self.sample_ids)
        ]


def lag_classes(lag_steps: np.ndarray, step_ms: float, protocol: WindowProtocol) -> np.ndarray:
    """The offset class of every lag of a lag head (lags beyond the grid go to its ends)."""
    return protocol.offset_class(lag_steps * step_ms)


def class_probabilities(
    lag_logits: torch.Tensor, step_ms: float, protocol: WindowProtocol
) -> np.ndarray:
    """``(B, classes)``: the lag head's probabilities summed within each offset class."""
    probability = lag_logits.float().softmax(1).numpy()
    max_lag = (probability.shape[1] - 1) // 2
    owners = lag_classes(np.arange(-max_lag, max_lag + 1), step_ms, protocol)
    out = np.zeros((probability.shape[0], protocol.classes))
    for lag, owner in enumerate(owners):
        out[:, owner] += probability[:, lag]
    return out


def predict(model, samples: list[SampleInputs], protocol: WindowProtocol) -> WindowPredictions:
    """Score every window with a trained (or θ-tuned) `SyncModel`."""
    model.eval()
    scores, offsets, probabilities = [], [], []
    with torch.no_grad():
        for start in range(0, len(samples), BATCH):
            out = model(collate(samples[start : start + BATCH]))
            scores.append(out["score"].float())
            if "offset_ms" in out:
                offsets.append(out["offset_ms"].float())
            if "lag_logits" in out:
                probabilities.append(
                    class_probabilities(out["lag_logits"], model.step_ms, protocol)
                )
    score = torch.cat(scores)
    decision = model.decide(score).bool().numpy()
    offset = torch.cat(offsets).numpy() if offsets else np.full(len(samples), np.nan)
    if probabilities:
        by_class = np.concatenate(probabilities)
        offset_class = by_class.argmax(1)
    else:
        by_class = None
        offset_class = np.where(np.isnan(offset), -1, protocol.offset_class(np.nan_to_num(offset)))
    return WindowPredictions(
        [s.sample_id for s in samples],
        score.numpy().astype(np.float64),
        decision,
        offset.astype(np.float64),
        offset_class.astype(int),
        by_class,
    )
