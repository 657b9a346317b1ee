"""The sound checks: noise that replaced the sound is found, a naturally noisy recording is not.

Issue 17: real recordings of wind, rain, engines or gunfire are as flat as noise, and the flatness
alone called them "audio replaced by noise". Noise now also has to be white above ~1 kHz, or a
stationary power law (pink, brown), which a natural sound is not: it rolls off and comes and goes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avalign.detection.command import run
from avalign.detection.windows import sound_checks
from avalign.features.audio import audio_features
from avalign.features.config import FeatureConfig
from avalign.media.ffmpeg import run_ffmpeg
from support.media import make_video

SR, FPS, SECONDS = 16000, 25.0, 4.8


def _shaped(rng: np.random.Generator, n: int, corner_hz: float, order: float) -> np.ndarray:
    """Gaussian noise through a low-pass of ``order`` (power falls 10 * order dB per decade)."""
    freqs = np.fft.rfftfreq(n, 1 / SR)
    spectrum = np.fft.rfft(rng.standard_normal(n)) / (1 + (freqs / corner_hz) ** 2) ** (order / 2)
    return np.fft.irfft(spectrum, n)


def wind_like(seed: int) -> np.ndarray:
    """Noise rolling off above 2.5 kHz, in gusts (level changing about once a second), with
    crackles: as flat as noise (flatness ~0.8), but neither white nor stationary."""
    rng = np.random.default_rng(seed)
    n = round(SECONDS * SR)
    gusts = np.abs(_shaped(rng, n, 1.0, 2))
    sound = _shaped(rng, n, 2500.0, 1) * (0.3 + gusts / gusts.max())
    for start in rng.uniform(0, SECONDS - 0.1, 6):
        i = int(start * SR)
        sound[i : i + 400] += 3 * rng.standard_normal(400) * np.exp(-np.arange(400) / 80)
    return (0.1 * sound / np.std(sound)).astype(np.float32)


def window_of(sound: np.ndarray) -> dict[str, np.ndarray]:
    steps = round(SECONDS * FPS)
    features = audio_features(sound, steps, FeatureConfig(fps=FPS, save_frames=False))
    features["has_audio"] = np.array(True)
    return features


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_naturally_noisy_sound_is_not_noise(seed):
    features = window_of(wind_like(seed))
    energy = features["audio_energy"].astype(np.float64) ** 2
    flatness = np.sum(features["audio_flatness"] * energy) / np.sum(energy)
    assert flatness > 0.6  # flatter than white noise: flatness alone would call it noise
    assert sound_checks(features, (0, len(energy))) is None


def test_steady_white_noise_is_noise_and_silence_is_silent():
    white = np.random.default_rng(5).standard_normal(round(SECONDS * SR)).astype(np.float32)
    features = window_of(0.1 * white)
    assert sound_checks(features, (0, len(features["audio_energy"])))[0] == "noise"
    silence = window_of(np.zeros(round(SECONDS * SR), np.float32))
    assert sound_checks(silence, (0, len(silence["audio_energy"]))) == ("silent", 1.0)


def replaced_sound(folder: Path, name: str, audio_filter: list[str]) -> Path:
    """A picture whose sound track was replaced through the AAC encoder."""
    picture = make_video(folder / "picture.mp4", seconds=8.0, sample_rate=None)
    target = folder / f"{name}.mp4"
    run_ffmpeg(
        [
            "-i", str(picture), *audio_filter,
            "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", str(target),
        ],
        target=target,
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def replaced(tmp_path_factory):
    folder = tmp_path_factory.mktemp("replaced")
    made = {
        colour: replaced_sound(
            folder, colour, ["-f", "lavfi", "-i", f"anoisesrc=c={colour}:r=48000:a=0.1:seed=3"]
        )
        for colour in ("white", "pink", "brown")
    }
    made["silent"] = replaced_sound(
        folder,
        "silent",
        ["-f", "lavfi", "-i", "anoisesrc=c=white:r=48000:a=0.1", "-af", "volume=0"],
    )
    return made


def test_noise_or_silence_replacing_the_track_is_found(replaced, tmp_path):
    report = tmp_path / "report.json"
    paths = [str(replaced[k]) for k in ("white", "pink", "brown", "silent")]
    run([*paths, "--json", str(report), "progress=false", "window_s=4", "hop_s=2", "source=null"])
    verdicts = {Path(f["path"]).stem: f for f in json.loads(report.read_text())["files"]}
    for colour in ("white", "pink", "brown"):  # brown noise is too dull for flatness alone
        assert verdicts[colour]["verdict"] == "audio replaced by noise", colour
    assert verdicts["silent"]["verdict"] == "audio track is silent"


def test_sound_that_ends_before_the_window_does_is_not_noise():
    """A track that stops (digital silence after it): its silent steps are flat, not noise."""
    rng = np.random.default_rng(4)
    n = round(SECONDS * SR)
    t = np.arange(n) / SR
    clicks = np.zeros(n)
    for start in rng.uniform(0.1, 3.0, 12):
        i = int(start * SR)
        clicks[i : i + 800] += np.sin(2 * np.pi * 600 * t[:800]) * np.exp(-np.arange(800) / 200)
    sound = (0.3 * clicks + 0.003 * rng.standard_normal(n)).astype(np.float32)
    sound[int(3.3 * SR) :] = 0.0  # the last 1.5 s: the track has ended
    features = window_of(sound)
    assert sound_checks(features, (0, len(features["audio_energy"]))) is None


def test_loud_bursts_over_a_quiet_hiss_are_not_noise():
    """Hiss 24 dB under broadband bursts (clicks, footsteps): flat and white, but the bursts
    carry the energy and come and go, which noise that replaced the sound does not."""
    rng = np.random.default_rng(5)
    n = round(SECONDS * SR)
    sound = 0.01 * rng.standard_normal(n)
    for start in (0.6, 1.9, 3.4):
        i = int(start * SR)
        sound[i : i + 1600] += 0.3 * rng.standard_normal(1600) * np.exp(-np.arange(1600) / 600)
    features = window_of(sound.astype(np.float32))
    assert sound_checks(features, (0, len(features["audio_energy"]))) is None
