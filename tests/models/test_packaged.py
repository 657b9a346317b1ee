"""The model that ships inside the package: made by the documented recipe, small, and usable by
``detect`` with nothing downloaded."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from avalign.detection.command import run
from avalign.features.config import FEATURE_VERSION, FeatureConfig
from avalign.models.checkpoints import PACKAGED, load_model, resolve_checkpoint
from avalign.storage.config import config_dir
from support.media import window_sample, write_windows

#: the model and feature settings of the packaged checkpoint: the benchmark trains it on the real
#: clips and the synthetic corpus with exactly this training config
#: (avalign/models/packaged/README.md)
RECIPE = ["experiment=lagnet"]


def recipe_config():
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose(config_name="train", overrides=RECIPE)


def test_the_packaged_checkpoint_is_in_the_package_and_small():
    assert resolve_checkpoint("packaged") == PACKAGED
    assert PACKAGED.stat().st_size <= 20 * 1024 * 1024


def test_the_packaged_checkpoint_is_the_recipes_model():
    cfg = recipe_config()
    data = torch.load(PACKAGED, map_location="cpu", weights_only=True)
    settings = OmegaConf.to_container(cfg.model, resolve=True)
    assert data["avalign_model_class"] == settings.pop("_target_")
    settings.pop("augment", None)
    stored = data["hyper_parameters"]
    assert {key: stored[key] for key in settings} == settings
    assert stored["step_ms"] == pytest.approx(1000.0 / float(cfg.feature.fps))
    recipe_features = FeatureConfig.from_dict(OmegaConf.to_container(cfg.feature, resolve=True))
    model, features = load_model(PACKAGED)
    # the settings are the recipe's; the features it learned from may be of an earlier version
    # of the code when a change since was checked to keep its figures (models/packaged/README.md)
    learned, now = dataclasses.asdict(features), dataclasses.asdict(recipe_features)
    assert learned.pop("version") <= now.pop("version") == FEATURE_VERSION
    assert learned == now
    assert model.decides_by_lag


def test_detect_uses_the_packaged_model_by_default(tmp_path):
    """An 8 s clip of jumps and clicks: in sync, its sound 480 ms late, and noise over it."""
    specs = {
        "synced": window_sample("None"),
        "late": window_sample("time_shift", offset_ms=480.0),
        "noise": window_sample("noise", snr_db=-5.0, noise_seed=3),
    }
    made, _ = write_windows(tmp_path, specs)
    report = tmp_path / "report.json"
    code = run([*(str(made[k]) for k in specs), "--json", str(report), "progress=false"])
    result = json.loads(report.read_text())
    assert result["model"]["description"] == "LagNet from packaged"
    synced, late, noise = result["files"]
    assert synced["verdict"] == "in sync" and synced["p_out_of_sync"] < 0.2
    assert late["kind"] == "time_shift" and late["offset_ms"] == pytest.approx(480, abs=40)
    assert late["p_out_of_sync"] > 0.8
    assert noise["verdict"] == "audio replaced by noise"  # the sound check, beside the model
    assert code == 1  # one file out of sync, none unreadable, none undecided
