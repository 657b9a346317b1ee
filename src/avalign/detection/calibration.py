"""The decision calibration saved beside a model: how much its summed evidence counts, and the bar
on P(out of sync) for each bound on false alarms, all fitted on held-out real files.

A lag-posterior detector sums every window's log-likelihood over lags. Windows overlap and repeat
one scene, so the sum is overconfident; ``evidence_weight`` tempers it. Even tempered, a model
trained on few real clips calls some in-sync files out of sync with high probability, so a
time-shift verdict needs P(out of sync) of at least a bar, fitted such that at most a share
(``max_false_alarm``) of held-out in-sync files are called out of sync
(``experiments/decision_calibration.py``). The file is ``<checkpoint stem>.calibration.json``
beside the checkpoint::

    {"evidence_weight": 0.5, "out_of_sync_at": {"0.01": 0.99, "0.02": 0.97, "0.05": 0.93},
     "made_by": "...", "held_out": {...}}

A model without one is used as it is: weight 1 and no bar (detect says so once).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("avalign.detect")


class CalibrationError(ValueError):
    """A calibration file that cannot be used: the message names the file and the problem."""


@dataclass(frozen=True)
class Calibration:
    """What a model's calibration file says (`read_calibration`)."""

    evidence_weight: float = 1.0
    bars: dict[float, float] = field(default_factory=dict)  # max_false_alarm -> out_of_sync_at
    path: Path | None = None

    def bar_for(self, max_false_alarm: float) -> float:
        """The bar of the largest fitted bound at or under ``max_false_alarm`` (a bound between
        two fitted ones gets the stricter bar); under every fitted bound: the strictest bar."""
        if not self.bars:
            return 0.0
        fitted = sorted(self.bars)
        at_or_under = [bound for bound in fitted if bound <= max_false_alarm + 1e-12]
        return self.bars[at_or_under[-1] if at_or_under else fitted[0]]


def calibration_path(checkpoint: Path) -> Path:
    """Where a checkpoint's calibration lives: ``lagnet.ckpt`` -> ``lagnet.calibration.json``."""
    return checkpoint.with_name(f"{checkpoint.stem}.calibration.json")


def read_calibration(checkpoint: Path) -> Calibration | None:
    """The calibration beside ``checkpoint``, or None when there is none.

    Raises CalibrationError naming the file when it exists but cannot be used.
    """
    path = calibration_path(Path(checkpoint))
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        weight = float(data.get("evidence_weight", 1.0))
        bars = {float(k): float(v) for k, v in (data.get("out_of_sync_at") or {}).items()}
    except (OSError, ValueError, TypeError, AttributeError) as error:
        raise CalibrationError(f"{path}: not a usable calibration ({error})") from error
    if not weight > 0 or any(not 0 <= v <= 1 or not 0 <= k <= 1 for k, v in bars.items()):
        raise CalibrationError(
            f"{path}: evidence_weight must be > 0 and every bound and bar in [0, 1]"
        )
    return Calibration(weight, bars, path)


def decision_settings(cfg, calibration: Calibration | None) -> tuple[float, float]:
    """(out_of_sync_at, evidence_weight) for this run: what ``cfg`` sets explicitly, else what
    the model's calibration fitted for ``cfg.max_false_alarm``, else no bar and weight 1."""
    bar = cfg.get("out_of_sync_at")
    weight = cfg.get("evidence_weight")
    if bar is None:
        bar = calibration.bar_for(float(cfg.get("max_false_alarm", 0.02))) if calibration else 0.0
    if weight is None:
        weight = calibration.evidence_weight if calibration else 1.0
    return float(bar), float(weight)
