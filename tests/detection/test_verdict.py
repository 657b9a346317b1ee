"""Verdicts from a lag posterior: in sync, shifted, or "cannot tell"; and their calibration."""

from __future__ import annotations

import numpy as np
import pytest

from avalign.benchmark.plots import reliability_figure
from avalign.benchmark.tracking import metrics_of
from avalign.detection.evidence import lag_head_evidence
from avalign.detection.timeline import fit_timeline
from avalign.detection.verdict import PosteriorRule, posterior_verdict, sync_probability

FPS = 25.0
LAGS = range(-50, 51)


def windows_peaked_at(lag: int, count: int, sharpness: float) -> list[dict[int, float]]:
    """``count`` windows whose lag distribution puts ``sharpness`` times the mass on ``lag``."""
    base = {k: 1.0 for k in LAGS}
    base[lag] = sharpness
    total = sum(base.values())
    return [{k: v / total for k, v in base.items()} for _ in range(count)]


def model_of(windows: list[dict[int, float]]):
    centres = 2.4 + 2.4 * np.arange(len(windows))
    return fit_timeline(lag_head_evidence(windows, centres, FPS, weight=0.5))


def test_evidence_for_lag_zero_gives_in_sync():
    verdict = posterior_verdict(model_of(windows_peaked_at(0, 8, 20.0)), PosteriorRule())
    assert verdict.text == "in sync" and verdict.out_of_sync is False
    assert verdict.p_out_of_sync < 0.2


def test_evidence_for_a_lag_gives_the_shift_and_its_offset():
    verdict = posterior_verdict(model_of(windows_peaked_at(12, 8, 20.0)), PosteriorRule())
    assert verdict.kind == "time_shift" and verdict.out_of_sync is True
    assert verdict.offset_ms == pytest.approx(480, abs=40)
    assert verdict.text.startswith("audio late by")


def test_flat_evidence_says_cannot_tell_instead_of_guessing():
    """A still picture or music over unrelated images: every lag as likely as the next."""
    model = model_of(windows_peaked_at(0, 8, 1.0))
    assert sync_probability(model, 0.5) == pytest.approx(0.5, abs=1e-6)  # only the prior
    verdict = posterior_verdict(model, PosteriorRule())
    assert verdict.kind == "cannot_tell" and verdict.out_of_sync is None
    assert verdict.text.startswith("cannot tell")


def test_weak_evidence_becomes_certain_with_many_windows():
    """One weak window cannot decide; many that agree can (summed, not averaged)."""
    one = posterior_verdict(model_of(windows_peaked_at(0, 1, 3.0)), PosteriorRule())
    many = posterior_verdict(model_of(windows_peaked_at(0, 30, 3.0)), PosteriorRule())
    assert one.kind == "cannot_tell"
    assert many.text == "in sync" and many.confidence == "high"


def test_reliability_of_calibrated_and_overconfident_probabilities():
    rng = np.random.default_rng(0)
    probability = rng.random(20000)
    calibrated = rng.random(20000) < probability
    _, ece = reliability_figure(probability, calibrated)
    assert ece < 0.02
    overconfident = np.where(probability > 0.5, 1.0, 0.0)  # says 0 or 1 for what is 50/50
    _, worse = reliability_figure(overconfident, calibrated)
    assert worse > 0.2


def test_benchmark_figures_become_mlflow_metrics():
    figure = {"value": 0.8, "low": 0.7, "high": 0.9}
    report = {
        "detectors": [
            {
                "detector": "lagnet",
                "training": "folds",
                "overall": {"figures": {"sync_auroc": figure, "offset_exact": None}},
                "per_category": {"talking-head": {"figures": {"sync_auroc": figure}}},
            }
        ],
        "files": {
            "detectors": [
                {
                    "label": "lagnet (folds)",
                    "all": {"figures": {"file_auroc": figure}, "calibration": {"ece": 0.05}},
                }
            ]
        },
    }
    assert metrics_of(report) == {
        "lagnet.folds/sync_auroc": 0.8,
        "lagnet.folds/talking-head/sync_auroc": 0.8,
        "files.lagnet.folds/file_auroc": 0.8,
        "files.lagnet.folds/ece": 0.05,
    }


def test_one_clear_lag_outside_the_band_is_out_of_sync_not_cannot_tell():
    """The reported case: windows agree on about +1 s, the best lag beats every other by more
    than 4 nats, yet the posterior (its out-of-sync prior spread over ~95 lags) stays under 0.8."""
    model = model_of(windows_peaked_at(26, 8, 3.0))  # 26 steps: 1040 ms late
    assert model.offset_confidence == "high"
    assert 0.5 < 1 - sync_probability(model, 0.5) < 0.8  # alone, the posterior cannot decide
    verdict = posterior_verdict(model, PosteriorRule())
    assert verdict.kind == "time_shift" and verdict.out_of_sync is True
    assert verdict.offset_ms == pytest.approx(1040, abs=20)
    assert verdict.confidence == "medium"  # the posterior did not reach decide_at by itself
    assert verdict.text == "audio late by 1040 ms (confidence medium)"


def test_a_peak_that_does_not_stand_out_still_cannot_tell():
    """The clear-peak rule needs a high margin: a medium one stays cannot tell."""
    model = model_of(windows_peaked_at(26, 6, 3.0))
    assert model.offset_confidence == "medium"
    assert posterior_verdict(model, PosteriorRule()).kind == "cannot_tell"


def test_a_shift_under_the_calibrated_bar_becomes_cannot_tell():
    """out_of_sync_at: a time shift is reported only with enough P(out of sync); below, the
    verdict says it is likely and why it is not called."""
    from avalign.detection.verdict import Verdict, barred

    shift = Verdict("audio late by 480 ms (confidence high)", True, "time_shift", 480.0, "high")
    shift = Verdict(**{**shift.__dict__, "p_out_of_sync": 0.93})
    kept = barred(shift, 0.9)
    assert kept == shift
    under = barred(shift, 0.99)
    assert under.kind == "cannot_tell" and under.out_of_sync is None
    assert under.reason == "below_bar" and under.offset_ms == 480.0
    assert under.text.startswith("cannot tell: audio late by 480 ms is likely")
    noise = Verdict("audio replaced by noise", True, "noise", None, "high", p_out_of_sync=0.5)
    assert barred(noise, 0.99) == noise  # the bar is for timing, not for sound problems
