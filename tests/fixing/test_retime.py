"""Moving sound in memory: drift resampling, edits, and blocks that add up to one pass."""

from __future__ import annotations

import numpy as np
import pytest

from avalign.fixing import retime
from avalign.fixing.retime import retime_samples


def test_drift_resampling_is_accurate():
    """A 1 kHz tone read 1% fast by the sinc interpolator matches the tone at those times."""
    rate = 16000
    t = np.arange(rate * 2) / rate
    tone = np.sin(2 * np.pi * 1000 * t)[None, :].astype(np.float32)
    moved = retime_samples(tone, rate, 0.0, lambda times: 10.0 * times)  # +10 ms per second
    expected = np.sin(2 * np.pi * 1000 * t * 1.01)
    middle = slice(1000, int(1.9 * rate))
    assert np.max(np.abs(moved[0, middle] - expected[middle])) < 2e-3
    assert np.all(moved[0, -200:] == 0)  # past the end of the old sound: silence


def test_an_edit_moves_each_part_by_its_own_offset():
    """In sync for 1 s, then 100 ms late: each part lands where it belongs, faded at the cut."""
    rate = 8000
    sound = np.random.default_rng(0).standard_normal((2, 2 * rate)).astype(np.float32)
    moved = retime_samples(sound, rate, 0.0, lambda t: np.where(t < 1.0, 0.0, 100.0))
    fade = int(0.010 * rate)
    before, after = slice(0, rate - fade), slice(rate + fade, int(1.85 * rate))
    assert np.allclose(moved[:, before], sound[:, before], atol=1e-5)
    shifted = slice(after.start + 800, after.stop + 800)  # 100 ms at 8 kHz
    assert np.allclose(moved[:, after], sound[:, shifted], atol=1e-5)
    assert np.all(np.abs(moved[:, rate - 2 : rate + 2]) < np.abs(sound).max() * 0.2)  # faded
    assert np.all(moved[:, -700:] == 0)  # the last 100 ms had no sound to take


@pytest.mark.parametrize(
    "offset",
    [123.4, -250.0, lambda t: 40.0 + 30.0 * t, lambda t: np.where(t < 0.9, 0.0, -120.0)],
    ids=["late", "early", "drift", "edit"],
)
def test_blocks_give_the_same_sound_as_one_pass(monkeypatch, offset):
    """Fades and sinc taps that cross a block boundary are the same as in one block."""
    rate = 8000
    sound = np.random.default_rng(1).standard_normal((2, 3 * rate)).astype(np.float32)
    whole = retime_samples(sound, rate, 0.5, offset)
    monkeypatch.setattr(retime, "BLOCK", 1000)  # 24 blocks, boundaries inside every fade
    blocks = retime_samples(sound, rate, 0.5, offset)
    assert np.allclose(blocks, whole, atol=1e-6)
