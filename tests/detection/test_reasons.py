"""A "cannot tell" says why, from the evidence the detector had (`avalign.detection.reasons`)."""

from __future__ import annotations

import numpy as np
import pytest

from avalign.detection.evidence import lag_head_evidence
from avalign.detection.reasons import cannot_tell_reason
from avalign.detection.timeline import fit_timeline
from avalign.detection.verdict import PosteriorRule, explained, posterior_verdict

FPS = 25.0
LAGS = range(-50, 51)
STEPS = 250  # 10 s of features


def peaked(lags: list[int], sharpness: float) -> list[dict[int, float]]:
    """One window per entry of ``lags``, each putting ``sharpness`` times the mass on its lag."""
    windows = []
    for lag in lags:
        base = {k: 1.0 for k in LAGS}
        base[lag] = sharpness
        total = sum(base.values())
        windows.append({k: v / total for k, v in base.items()})
    return windows


def flat_model(count: int = 4):
    """Windows that favour no lag: the evidence of a file nobody can judge."""
    windows = peaked([0] * count, 1.0)
    return fit_timeline(lag_head_evidence(windows, 2.4 + 2.4 * np.arange(count), FPS, 0.5))


def features(
    motion: float = 0.2, face: float | None = None, mouth_std: float = 0.04
) -> dict[str, np.ndarray]:
    """Per-step features: picture motion around ``motion``; a face in view for a share ``face``
    of the steps (None: no face evidence computed) whose mouth opening varies by ``mouth_std``."""
    rng = np.random.default_rng(0)
    out = {"flow_energy": motion * (1 + 0.5 * rng.random(STEPS))}
    if face is not None:
        out["face_present"] = (np.arange(STEPS) < face * STEPS).astype(np.float32)
        out["mouth_open"] = 0.1 + mouth_std * rng.standard_normal(STEPS)
    return out


def test_flat_evidence_gets_a_reason_in_its_verdict_and_record():
    verdict = posterior_verdict(flat_model(), PosteriorRule())
    reason = cannot_tell_reason(features(face=0.0), 10.0, 4.8, flat_model())
    said = explained(verdict, reason)
    assert said.kind == "cannot_tell" and said.reason == "no_face"
    assert said.text == "cannot tell: " + reason.words
    assert said.text.startswith("cannot tell: no face found in the picture")


def test_a_decided_verdict_keeps_its_words():
    model = fit_timeline(
        lag_head_evidence(peaked([0] * 8, 20.0), 2.4 + 2.4 * np.arange(8), FPS, 0.5)
    )
    verdict = posterior_verdict(model, PosteriorRule())
    reason = cannot_tell_reason(features(face=0.0), 10.0, 4.8, model)
    assert explained(verdict, reason) == verdict and verdict.reason is None


@pytest.mark.parametrize(
    ("found", "duration_s", "code", "words"),
    [
        (features(motion=0.0), 10.0, "still_picture", "the picture hardly moves"),
        (features(motion=0.002, face=1.0), 3.0, "still_picture", "the picture hardly moves"),
        (features(face=1.0), 3.0, "too_short", "the file (3.0 s) is shorter than one 4.8 s"),
        (features(face=0.05), 10.0, "no_face", "no face found in the picture"),
        (features(face=0.9, mouth_std=0.001), 10.0, "silent_face", "does not speak"),
        (features(face=0.9), 10.0, "no_shared_activity", "nothing in the picture moves with"),
        (features(), 10.0, "no_shared_activity", "nothing in the picture moves with"),
        (features(face=0.3, mouth_std=0.001), 10.0, "no_shared_activity", "nothing in"),
    ],
)
def test_each_reason_from_its_evidence(found, duration_s, code, words):
    reason = cannot_tell_reason(found, duration_s, 4.8, flat_model())
    assert reason.code == code and words in reason.words


def test_no_usable_window_is_its_own_reason():
    reason = cannot_tell_reason(features(face=0.0), 10.0, 4.8, None)
    assert reason.code == "no_usable_sound"


def test_windows_that_point_at_different_lags_disagree():
    windows = peaked([-40, -40, 30, 30], 300.0)  # each window sure, the file split
    model = fit_timeline(lag_head_evidence(windows, 2.4 + 2.4 * np.arange(4), FPS, 0.5))
    reason = cannot_tell_reason(features(face=0.9), 10.0, 4.8, model)
    assert reason.code == "windows_disagree"
    assert "-1600 .. +1200 ms" in reason.words
