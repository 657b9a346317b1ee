"""The file's offset model: summed evidence, drift against edit, and drift on a real encode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avalign.detection.command import run as detect
from avalign.detection.evidence import (
    correlation_evidence,
    from_probabilities,
    lag_head_evidence,
    overlap_weight,
)
from avalign.detection.timeline import fit_timeline
from avalign.detection.verdict import _changing_verdict
from avalign.detection.windows import window_spans
from avalign.fixing.resync import run as fix
from avalign.media.decode import decode_audio
from avalign.samples.materialize import encode_sample
from avalign.samples.perturb import change_tempo
from avalign.samples.plan import SampleSpec
from support.media import make_video

FPS = 25.0


def curves(seconds: float, offset_ms, noise: float, seed: int = 0) -> dict[str, np.ndarray]:
    """V(t) and A(t)-like features: pulses at random events, the sound's ``offset_ms(t)`` late."""
    rng = np.random.default_rng(seed)
    steps = int(seconds * FPS)
    t = np.arange(steps) / FPS
    events = np.cumsum(rng.exponential(1 / 1.5, size=int(seconds * 3)))
    events = events[events < seconds]
    visual, audio = np.zeros(steps), np.zeros(steps)
    for e in events:
        visual += np.exp(-0.5 * ((t - e) / 0.04) ** 2)
        audio += np.exp(-0.5 * ((t - e - offset_ms(e) / 1000) / 0.04) ** 2)
    visual += noise * rng.standard_normal(steps) ** 2
    audio += 0.01 + noise * rng.standard_normal(steps) ** 2
    return {"flow_energy": visual.astype(np.float32), "audio_energy": audio.astype(np.float32)}


def model_of(features):
    spans = window_spans(len(features["flow_energy"]), FPS, 4.0, 2.0)
    evidence = correlation_evidence(features, spans, FPS, 2.0, weight=overlap_weight(4.0, 2.0))
    return evidence, fit_timeline(evidence)


def test_a_constant_shift_over_many_weak_windows_is_found():
    """Few windows alone point at -600 ms; their summed evidence does, with confidence."""
    evidence, model = model_of(curves(120.0, lambda t: -600.0, noise=0.8))
    right = np.abs(model.window_offsets_ms + 600) <= 40
    assert right.mean() < 0.3  # each window alone is mostly wrong
    assert model.kind == "constant"
    assert model.offset_ms == pytest.approx(-600, abs=40)
    assert model.offset_confidence in ("medium", "high")
    # the margin grows with the number of windows: half the file is less sure
    half = type(evidence)(
        evidence.centres_s[:15], evidence.lags_ms, evidence.loglik[:15], evidence.weight
    )
    assert fit_timeline(half).offset_margin < model.offset_margin


def test_no_drift_or_edit_is_invented_on_constant_files():
    for offset, noise, seed in ((0.0, 0.3, 1), (480.0, 0.3, 2), (0.0, 1.5, 3), (-300.0, 0.8, 4)):
        _, model = model_of(curves(90.0, lambda t, o=offset: o, noise=noise, seed=seed))
        assert model.kind == "constant", (offset, noise, model.scores)


def test_an_edit_is_told_apart_from_a_drift():
    _, step = model_of(curves(100.0, lambda t: 0.0 if t < 50 else 500.0, noise=0.3))
    assert step.kind == "edit" and step.confidence != "low"
    assert step.edit_time_s == pytest.approx(50, abs=3)
    assert step.offset_before_ms == pytest.approx(0, abs=40)
    assert step.offset_after_ms == pytest.approx(500, abs=40)
    _, ramp = model_of(curves(100.0, lambda t: 10.0 * t, noise=0.3))  # +600 ms/min
    assert ramp.kind == "drift" and ramp.confidence == "high"
    assert ramp.drift_ms_per_min == pytest.approx(600, rel=0.2)
    assert ramp.offset_at_zero_ms == pytest.approx(0, abs=60)


def test_verdict_words_for_drift_and_edit():
    _, ramp = model_of(curves(100.0, lambda t: 10.0 * t, noise=0.3))
    verdict = _changing_verdict(ramp)
    assert verdict.kind == "drift" and verdict.out_of_sync
    assert verdict.text.startswith("audio drifts +6") and " ms/min, " in verdict.text
    assert "ms at 00:00 (confidence high)" in verdict.text
    _, step = model_of(curves(100.0, lambda t: 0.0 if t < 50 else 500.0, noise=0.3))
    verdict = _changing_verdict(step)
    assert verdict.kind == "edit" and "in sync before, late by 5" in verdict.text
    assert verdict.since_s == pytest.approx(50, abs=3)


def test_lag_probabilities_become_bounded_log_likelihoods():
    loglik = from_probabilities(np.array([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]]))
    assert np.allclose(np.exp(loglik).sum(1), 1.0)
    assert loglik.min() == pytest.approx(np.log(0.05 / 3))  # one confused window costs little
    evidence = lag_head_evidence([{-1: 0.9, 0: 0.1}, {2: 1.0}], np.array([2.0, 4.0]), fps=5.0)
    assert list(evidence.lags_ms) == [-400, -200, 0, 200, 400]
    assert evidence.method == "lag_head" and evidence.loglik.shape == (2, 5)


@pytest.fixture(scope="module")
def drifting(tmp_path_factory):
    """A 24 s clip whose sound plays at 1.02x: it drifts -1176 ms/min, from 0 at 00:00."""
    folder = tmp_path_factory.mktemp("drift")
    source = make_video(folder / "source.mp4", seconds=24.0, fps=25, size=(160, 120))
    audio = decode_audio(source, 16000)
    padded = np.concatenate([audio, np.zeros(16000, np.float32)])
    drifted = change_tempo(padded, 16000, 0.0, audio.size, 1.02)
    spec = SampleSpec("d", "v", "x", "test", "v.mp4", 0.0, 24.0, 1, "None")
    target = folder / "drifting.mp4"
    encode_sample(source, spec, drifted, 16000, target)
    return target


def test_drift_of_a_known_tempo_is_measured_and_fixed(drifting, tmp_path):
    truth = 60_000 * (1 / 1.02 - 1)  # ms per minute
    report = tmp_path / "r.json"
    code = detect([str(drifting), "--json", str(report), "progress=false", "source=null"])
    entry = json.loads(report.read_text())["files"][0]
    assert code == 1 and entry["kind"] == "drift" and entry["drift_confidence"] == "high"
    assert entry["drift_ms_per_min"] == pytest.approx(truth, rel=0.2)
    assert entry["verdict"].startswith("audio drifts -1")
    assert abs(entry["offset_at_zero_ms"]) <= 80
    out = tmp_path / "fixed.mp4"
    fixed_report = tmp_path / "f.json"
    assert (
        fix([str(drifting), str(out), f"json={fixed_report}", "progress=false", "source=null"]) == 0
    )
    result = json.loads(fixed_report.read_text())["files"][0]
    assert result["plan"]["kind"] == "drift"
    assert result["check"]["verdict"] == "in sync" and abs(result["check"]["offset_ms"]) <= 40
    assert Path(out).is_file()


def test_a_lag_head_feeds_the_same_analysis(tmp_path):
    """A model whose lag head points 3 steps (600 ms at 5 steps/s) late in every window (and whose
    type head calls every window a time shift, like the transformer's: the clip's quiet windows
    between clicks are noise-like, which a model without a type head leaves to the sound check)."""
    import torch
    from omegaconf import OmegaConf

    from avalign.detection.check import check_file
    from avalign.features.config import FeatureConfig

    class LagHead:
        theta = torch.tensor(0.5)

        def __call__(self, batch):
            rows = batch["v_curve"].shape[0]
            logits = torch.full((rows, 21), -4.0)
            logits[:, 10 + 3] = 4.0  # lags -10..10 steps
            return {
                "score": torch.full((rows,), 0.9),
                "lag_logits": logits,
                "type_logits": torch.tensor([[-4.0, 4.0, -4.0, -4.0, -4.0]]).repeat(rows, 1),
                "offset_ms": torch.full((rows,), 600.0),
            }

    video = make_video(tmp_path / "clip.mp4", seconds=16.0, size=(96, 64))
    cfg = OmegaConf.create(
        {"window_s": 4.0, "hop_s": 2.0, "max_lag_s": 2.0, "temperature": 1.0, "plots": None}
    )
    extras: dict = {}
    record = check_file(video, LagHead(), FeatureConfig(fps=5.0), cfg, False, extras)
    assert record["offset_method"] == "lag_head" and record["offset_model"] == "constant"
    # the lag head's 3 steps are on the step grid; 25 fps pictures are shown at the end of their
    # 200 ms steps (on average 0.6 into them): a viewer sees the sound 3 steps less 20 ms late
    delay = float(extras["features"]["picture_delay_ms"])
    assert delay == pytest.approx(20.0, abs=0.5)
    assert record["offset_ms"] == pytest.approx(600 - delay, abs=1)
    assert record["verdict"] == f"audio late by {600 - delay:.0f} ms (confidence high)"
    assert list(extras["timeline"].lags_ms[[0, -1]]) == pytest.approx([-2000 - delay, 2000 - delay])
