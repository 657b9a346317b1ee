"""The calibration saved beside a model: which bar a bound on false alarms gets, what overrides
it, clear errors, and that detect applies it."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from omegaconf import OmegaConf

from avalign.detection.calibration import (
    Calibration,
    CalibrationError,
    calibration_path,
    decision_settings,
    read_calibration,
)
from avalign.detection.command import run as detect
from avalign.models.checkpoints import PACKAGED
from support.media import window_sample, write_windows


def test_a_bound_between_fitted_ones_gets_the_stricter_bar():
    calibration = Calibration(0.5, {0.01: 0.99, 0.02: 0.97, 0.05: 0.9})
    assert calibration.bar_for(0.02) == 0.97
    assert calibration.bar_for(0.03) == 0.97  # between 0.02 and 0.05: the 0.02 bar
    assert calibration.bar_for(0.5) == 0.9
    assert calibration.bar_for(0.001) == 0.99  # under every fitted bound: the strictest
    assert Calibration().bar_for(0.02) == 0.0  # nothing fitted: no bar


def test_explicit_settings_override_the_calibration():
    calibration = Calibration(0.25, {0.02: 0.97, 0.05: 0.9})
    cfg = OmegaConf.create(
        {"out_of_sync_at": None, "evidence_weight": None, "max_false_alarm": 0.05}
    )
    assert decision_settings(cfg, calibration) == (0.9, 0.25)
    cfg.out_of_sync_at, cfg.evidence_weight = 0.5, 1.0
    assert decision_settings(cfg, calibration) == (0.5, 1.0)
    cfg.out_of_sync_at, cfg.evidence_weight = None, None
    assert decision_settings(cfg, None) == (0.0, 1.0)  # no calibration: no bar, weight 1


def test_the_packaged_model_ships_its_calibration():
    calibration = read_calibration(PACKAGED)
    assert calibration is not None and calibration.path == calibration_path(PACKAGED)
    assert calibration.path.name == "lagnet.calibration.json"
    assert 0.02 in calibration.bars and 0 < calibration.bars[0.02] <= 1
    assert calibration.evidence_weight > 0
    bars = [calibration.bars[b] for b in sorted(calibration.bars)]
    assert bars == sorted(bars, reverse=True)  # a looser bound never needs a higher bar


@pytest.mark.parametrize(
    "content, problem",
    [
        ("{not json", "not a usable calibration"),
        ('{"evidence_weight": 0}', "must be > 0"),
        ('{"out_of_sync_at": {"0.02": 1.5}}', "in [0, 1]"),
    ],
)
def test_a_broken_calibration_is_named(tmp_path, content, problem):
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"")
    calibration_path(checkpoint).write_text(content)
    with pytest.raises(CalibrationError, match=re.escape(problem)) as error:
        read_calibration(checkpoint)
    assert "model.calibration.json" in str(error.value)


def test_detect_applies_the_calibration_beside_the_checkpoint(tmp_path):
    """A copy of the packaged model whose calibration tempers the evidence hard and asks for a
    bar of 1: its clear 480 ms shift becomes "cannot tell"; without the file it is called."""
    made, _ = write_windows(tmp_path, {"late": window_sample("time_shift", offset_ms=480.0)})
    checkpoint = tmp_path / "copy.ckpt"
    shutil.copyfile(PACKAGED, checkpoint)
    report = tmp_path / "r.json"
    options = [f"source={checkpoint}", "--json", str(report), "progress=false"]
    detect([str(made["late"]), *options])
    called = json.loads(report.read_text())["files"][0]
    assert called["kind"] == "time_shift"
    calibrated = tmp_path / "calibrated.ckpt"  # (detect keeps a loaded model for its process)
    shutil.copyfile(PACKAGED, calibrated)
    calibration_path(calibrated).write_text(
        json.dumps({"evidence_weight": 0.05, "out_of_sync_at": {"0.02": 1.0}})
    )
    detect([str(made["late"]), f"source={calibrated}", *options[1:]])
    record = json.loads(report.read_text())["files"][0]
    assert record["kind"] == "cannot_tell"
    assert record["p_out_of_sync"] < called["p_out_of_sync"]  # tempered: less sure
