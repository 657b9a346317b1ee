"""Self-supervised sync data: shifted windows of whole clips, and LagNet learning from them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avalign.features.clips import shifted_window
from avalign.features.config import FeatureConfig
from avalign.models.inputs import collate
from avalign.models.lagnet import LagNet, grid_and_face
from avalign.training.selfsup import ShiftConfig, ShiftDataModule, ShiftedWindows, fixed_windows

FPS = 25.0


def indexed_clip(steps: int, grid: int = 2) -> dict[str, np.ndarray]:
    """Per-step arrays whose values are the step index: a window shows where it was cut from."""
    t = np.arange(steps, dtype=np.float32)
    return {
        "flow_energy": t.copy(),
        "frame_diff": t.copy(),
        "flow_accel": t.copy(),
        "flow_grid": np.repeat(t[:, None, None], grid, 1).repeat(grid, 2),
        "accel_grid": np.repeat(t[:, None, None], grid, 1).repeat(grid, 2),
        "audio_energy": t.copy(),
        "audio_onset": t.copy(),
        "audio_flatness": t.copy(),
        "mfcc": np.repeat(t[:, None], 13, 1),
        "timestamps": (t + 0.5) / FPS,
        "has_audio": np.array(True),
    }


def test_shifted_window_takes_the_sound_from_lag_steps_earlier():
    clip = indexed_clip(200)
    window = shifted_window(clip, start=60, steps=120, lag=7)
    assert window["flow_energy"][0] == 60 and window["flow_grid"][0, 0, 0] == 60
    assert window["audio_energy"][0] == 53 and window["mfcc"][0, 0] == 53  # audio late by 7
    assert "has_audio" not in window  # only per-step arrays are cut
    with pytest.raises(ValueError, match="outside the clip"):
        shifted_window(clip, start=0, steps=120, lag=5)  # would need sound before the clip


def test_sampler_draws_positives_at_lag_zero_and_negatives_at_known_lags_without_padding():
    clips = {"a": indexed_clip(250), "b": indexed_clip(180)}
    config = ShiftConfig(draws_per_clip=400, sync_share=0.2)
    data = ShiftedWindows(clips, config, FPS, seed=1)
    lags = []
    for index in range(len(data)):
        item = data[index]
        picture, sound = item.v_curve.numpy(), item.audio[:, 1].numpy()  # onset = step index
        lag = round(item.offset_ms / 40.0)
        lags.append(lag)
        assert item.visual.shape[0] == 120  # 4.8 s at 25 steps/s, never shorter
        assert np.all(picture - sound == lag)  # the sound is the track's own, lag steps earlier
        total = 250 if item.sample_id.startswith("a") else 180
        assert picture.min() >= 0 and picture.max() < total  # inside the clip: no padding
        assert sound.min() >= 0 and sound.max() < total
        assert (item.target == 0) == (lag == 0)  # target 1 = misaligned
    lags = np.array(lags)
    assert 0.15 < np.mean(lags == 0) < 0.3  # sync_share plus the lag-0 draws of the rest
    assert lags.min() == -50 and lags.max() == 50  # the whole +-2 s range is drawn
    first, again = (ShiftedWindows(clips, config, FPS, seed=1) for _ in range(2))
    assert [again[i].sample_id for i in range(20)] == [first[i].sample_id for i in range(20)]


def test_evaluation_windows_are_fixed_and_on_the_grid():
    clips = {"a": indexed_clip(250), "short": indexed_clip(130)}
    config = ShiftConfig(eval_starts_per_clip=2)
    first = fixed_windows(clips, config, FPS, seed=3)
    assert [w.sample_id for w in first] == [
        w.sample_id for w in fixed_windows(clips, config, FPS, 3)
    ]
    lags = sorted({round(w.offset_ms / 40) for w in first if w.sample_id.startswith("a")})
    assert lags == list(range(-50, 51, 5))  # 21 classes of 0.2 s
    short = {round(w.offset_ms / 40) for w in first if w.sample_id.startswith("short")}
    assert short == {-10, -5, 0, 5, 10}  # only the lags a 5.2 s clip can hold


def test_lagnet_reads_the_token_layout():
    assert grid_and_face(3 + 2 * 16) == (4, 0)
    assert grid_and_face(3 + 2 * 16 + 8) == (4, 8)
    assert grid_and_face(3 + 2 * 4) == (2, 0)
    with pytest.raises(ValueError):
        grid_and_face(10)


def test_lagnet_learns_the_lag_of_clicks_and_stays_flat_without_evidence():
    """A region that flashes with a click and a sound of clicks: after a short training the lag
    distribution peaks at the true lag; for a still picture it stays flat ("cannot tell")."""
    rng = np.random.default_rng(0)

    def clip(steps: int = 400, still: bool = False) -> dict[str, np.ndarray]:
        events = np.zeros(steps, np.float32)
        events[rng.choice(steps, steps // 12, replace=False)] = 1.0
        picture = np.zeros((steps, 2, 2), np.float32)
        if not still:
            picture[:, 1, 0] = events  # one region moves with the sound
        picture += 0.05 * rng.random((steps, 2, 2)).astype(np.float32)
        return {
            "flow_energy": picture.mean((1, 2)),
            "frame_diff": picture.mean((1, 2)),
            "flow_accel": picture.mean((1, 2)),
            "flow_grid": picture,
            "accel_grid": picture,
            "audio_energy": 0.01 + events + 0.01 * rng.random(steps).astype(np.float32),
            "audio_onset": events.copy(),
            "audio_flatness": np.full(steps, 0.2, np.float32),
            "mfcc": np.repeat(events[:, None], 13, 1),
            "has_audio": np.array(True),
        }

    torch.manual_seed(0)
    clips = {"train": {f"c{i}": clip() for i in range(6)}, "val": {"v": clip()}}
    config = ShiftConfig(draws_per_clip=64, sync_share=0.1)
    module = ShiftDataModule(clips, FeatureConfig(fps=FPS), config, batch_size=32, seed=0)
    model = LagNet(*module.input_dims, width=16, layers=2, step_ms=40.0, dropout=0.0)
    model.set_input_stats(module.stats)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(2):
        for batch in module.train_dataloader():
            optimizer.zero_grad()
            model.loss(batch, model(batch)).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        val = collate(module.splits["val"])
        out = model(val)
        found = out["offset_ms"].round() / 40.0
        truth = val["offset_ms"] / 40.0
        assert torch.mean(((found - truth).abs() <= 1).float()) > 0.9
        still = collate(fixed_windows({"s": clip(still=True)}, config, FPS, seed=5))
        flat = model(still)["lag_logits"].softmax(1).amax(1)
    assert out["lag_logits"].softmax(1).amax(1).median() > 4 * flat.median()
