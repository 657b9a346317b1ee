"""One in-sync band on every verdict path, and what `detect` says when it cannot tell.

ITU-R BT.1359: a viewer does not notice sound up to 45 ms early or 125 ms late. The lag
posterior, the windows' majority, the training-free correlation's overrule, drifts and edits all
judge by that band (`avalign.detection.verdict.IN_SYNC_BAND_MS`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from avalign.detection import check
from avalign.detection.command import run as detect
from avalign.detection.evidence import LagEvidence, from_probabilities
from avalign.detection.timeline import as_estimate, fit_timeline
from avalign.detection.verdict import PosteriorRule, decide
from avalign.detection.windows import OffsetEstimate, WindowScore
from support.flashes import flash_clip
from support.media import window_sample, write_windows

STEP_MS = 40.0
LAGS_MS = np.arange(-50, 51) * STEP_MS


def constant_model(offset_ms: float, windows: int = 12):
    """The offset model of a file whose every window points at ``offset_ms``."""
    probability = np.exp(-0.5 * ((LAGS_MS - offset_ms) / 30.0) ** 2)
    rows = from_probabilities(np.tile(probability, (windows, 1)))
    centres = 2.4 + 2.4 * np.arange(windows)
    return fit_timeline(LagEvidence(centres, LAGS_MS, rows, 0.5, "lag_head"))


def shifted_windows(offset_ms: float, count: int = 6) -> list[WindowScore]:
    """Windows that each call a shift of ``offset_ms`` (the training-free windows' way)."""
    return [
        WindowScore(2.0 * i, 2.0 * i + 4.0, 0.6, True, "time_shift", 0.6, offset_ms)
        for i in range(count)
    ]


def estimate(offset_ms: float, confidence: str, method: str = "xcorr") -> OffsetEstimate:
    return OffsetEstimate(offset_ms, confidence, 1.0, method, LAGS_MS, np.zeros(LAGS_MS.size))


@pytest.mark.parametrize("offset_ms", [-40.0, 45.0, 67.0, 100.0, 120.0])
@pytest.mark.parametrize("confidence", ["low", "medium", "high"])
def test_a_window_majority_inside_the_band_is_in_sync(offset_ms, confidence):
    verdict = decide(shifted_windows(offset_ms), True, estimate(offset_ms, confidence), STEP_MS)
    assert (verdict.text, verdict.out_of_sync) == ("in sync", False)


@pytest.mark.parametrize("offset_ms", [-60.0, 140.0])
def test_a_window_majority_outside_the_band_is_a_shift(offset_ms):
    verdict = decide(shifted_windows(offset_ms), True, estimate(offset_ms, "low"), STEP_MS)
    assert verdict.out_of_sync and verdict.kind == "time_shift"


@pytest.mark.parametrize("offset_ms", [-60.0, 140.0])
def test_the_correlation_overrules_quiet_windows_only_outside_the_band(offset_ms):
    quiet = [dataclasses.replace(w, out_of_sync=False, kind="none") for w in shifted_windows(0)]
    assert decide(quiet, True, estimate(offset_ms, "high"), STEP_MS).out_of_sync
    inside = decide(quiet, True, estimate(offset_ms / 3, "high"), STEP_MS)
    assert not inside.out_of_sync


@pytest.mark.parametrize("offset_ms", [40.0, 80.0, 120.0])
def test_the_lag_posterior_calls_shifts_inside_the_band_in_sync(offset_ms):
    model = constant_model(offset_ms)
    verdict = decide([], True, as_estimate(model, "lag_head"), STEP_MS, model, PosteriorRule())
    assert (verdict.text, verdict.out_of_sync) == ("in sync", False)
    assert verdict.offset_ms == pytest.approx(offset_ms, abs=5)


def test_drifts_and_edits_inside_the_band_are_in_sync():
    model = constant_model(60.0)
    times = model.window_times_s
    drift = dataclasses.replace(
        model,
        kind="drift",
        confidence="high",
        offset_at_zero_ms=40.0,
        drift_ms_per_min=70.0 * 60.0 / times[-1],  # 40 ms at 00:00, 110 ms at the end
    )
    edit = dataclasses.replace(
        model,
        kind="edit",
        confidence="high",
        edit_time_s=float(times[5]),
        offset_before_ms=-40.0,
        offset_after_ms=110.0,  # a change of 150 ms, both ends in the band
    )
    for changing in (drift, edit):
        verdict = decide([], True, as_estimate(model, "lag_head"), STEP_MS, changing)
        assert (verdict.text, verdict.out_of_sync) == ("in sync", False), changing.kind
    early = dataclasses.replace(drift, offset_at_zero_ms=-60.0, drift_ms_per_min=0.0)
    assert decide([], True, as_estimate(model, "lag_head"), STEP_MS, early).kind == "drift"


@pytest.mark.parametrize("offset_ms", [60.0, 100.0])
def test_the_training_free_path_calls_small_shifts_in_sync(tmp_path, offset_ms):
    """A window of the test clips with its sound 60 or 100 ms late, through the command."""
    made, _ = write_windows(tmp_path, {"late": window_sample("time_shift", offset_ms=offset_ms)})
    report = tmp_path / "report.json"
    options = ["progress=false", "window_s=4", "hop_s=2", "source=null"]
    code = detect([str(made["late"]), "--json", str(report), *options])
    record = json.loads(report.read_text())["files"][0]
    assert (code, record["verdict"], record["out_of_sync"]) == (0, "in sync", False)


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> Path:
    """Beeps over a picture that never changes: nothing tells when they should sound."""
    folder = tmp_path_factory.mktemp("still")
    return flash_clip(folder / "still.mp4", seconds=3.0, size=(96, 72), still=True)


def test_cannot_tell_sets_exit_bit_4_and_the_summary(still, tmp_path):
    report = tmp_path / "report.json"
    code = detect([str(still), "--json", str(report), "progress=false"])
    data = json.loads(report.read_text())
    record = data["files"][0]
    assert record["kind"] == "cannot_tell" and record["out_of_sync"] is None
    # and says why, from the picture's own motion
    assert record["reason"] == "still_picture"
    assert (
        record["verdict"]
        == "cannot tell: the picture hardly moves: nothing in it follows the sound"
    )
    assert data["summary"]["cannot_tell"] == 1
    assert data["summary"]["in_sync"] == data["summary"]["out_of_sync"] == 0
    assert code == check.EXIT_CANNOT_TELL == 4


def test_decide_at_and_sync_prior_reach_the_verdict(still, tmp_path, monkeypatch):
    """The posterior rule is built from the configuration, not from its defaults."""
    seen: list[PosteriorRule | None] = []

    def spy(*args, **kwargs):
        seen.append(args[5] if len(args) > 5 else kwargs.get("rule"))
        return decide(*args, **kwargs)

    monkeypatch.setattr(check, "decide", spy)
    # (without the false-alarm bar, which would turn a weak shift into "cannot tell" too)
    options = ["progress=false", "decide_at=0.61", "sync_prior=0.37", "out_of_sync_at=0"]
    code = detect([str(still), "--json", str(tmp_path / "r.json"), *options])
    assert seen == [PosteriorRule(sync_prior=0.37, decide_at=0.61)]
    # and it is the one that decides: at 0.61 the same evidence gives a verdict or cannot tell
    record = json.loads((tmp_path / "r.json").read_text())["files"][0]
    p = record["p_out_of_sync"]
    if max(p, 1 - p) >= 0.61:
        assert record["kind"] != "cannot_tell" and code != check.EXIT_CANNOT_TELL
    else:
        assert record["kind"] == "cannot_tell"


def test_out_of_sync_at_reaches_the_verdict(tmp_path):
    """The bar from the configuration decides: a clear 480 ms shift is called, and under a bar
    no P(out of sync) reaches (1.01) it becomes "cannot tell"."""
    made, _ = write_windows(tmp_path, {"late": window_sample("time_shift", offset_ms=480.0)})
    report = tmp_path / "r.json"
    code = detect([str(made["late"]), "--json", str(report), "progress=false"])
    assert json.loads(report.read_text())["files"][0]["kind"] == "time_shift" and code == 1
    options = ["progress=false", "out_of_sync_at=1.01"]
    code = detect([str(made["late"]), "--json", str(report), *options])
    record = json.loads(report.read_text())["files"][0]
    assert record["kind"] == "cannot_tell" and record["reason"] == "below_bar"
    assert code & check.EXIT_CANNOT_TELL
