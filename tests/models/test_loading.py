"""Loading a trained detector needs torch alone: ``detect`` and its workers never pay for
Lightning, and the models they load compute what Lightning's loading gave."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from avalign.models.checkpoints import PACKAGED, CheckpointError, load_model
from avalign.models.inputs import SampleInputs, collate
from avalign.models.lagnet import LagNet

#: the training stack: none of it may load to check a video
TRAINING_MODULES = ("pytorch_lightning", "lightning_fabric", "torchmetrics", "mlflow")


def random_batch(visual_dim: int, audio_dim: int, seed: int = 0) -> dict:
    """Windows of random features (two lengths, so one is padded), batched as detect does."""
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for i, steps in enumerate((120, 120, 95, 60)):
        samples.append(
            SampleInputs(
                sample_id=f"w{i}",
                visual=torch.randn(steps, visual_dim, generator=generator),
                audio=torch.randn(steps, audio_dim, generator=generator),
                v_curve=torch.rand(steps, generator=generator),
                a_curve=torch.randn(steps, generator=generator),
                target=0,
                type_index=0,
                offset_ms=0.0,
            )
        )
    return collate(samples)


def test_loading_and_running_the_packaged_model_imports_no_training_stack():
    code = textwrap.dedent(
        f"""
        import sys
        import torch
        from avalign.models.checkpoints import PACKAGED, load_model
        from avalign.models.inputs import collate, SampleInputs

        model, features = load_model(PACKAGED)
        dims = model.hparams.visual_dim, model.hparams.audio_dim
        sample = SampleInputs("w", torch.zeros(120, dims[0]), torch.zeros(120, dims[1]),
                              torch.zeros(120), torch.zeros(120), 0, 0, 0.0)
        with torch.no_grad():
            out = model(collate([sample]))
        assert out["score"].shape == (1,)
        print(sorted(m for m in {TRAINING_MODULES!r} if m in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"imported to load a model: {done.stdout}"


def test_the_packaged_model_computes_what_lightnings_loading_gave():
    """Lightning's ``load_from_checkpoint`` (how avalign loaded detectors while they were
    LightningModules) and `load_model` build the same LagNet from the packaged checkpoint."""
    pl = pytest.importorskip("pytorch_lightning")

    class LightningLagNet(pl.LightningModule):
        """LagNet as Lightning's loader builds it: the checkpoint's hyper-parameters given to
        the constructor, its weights loaded strictly."""

        def __init__(self, **hyper_parameters) -> None:
            super().__init__()
            self.net = LagNet(**hyper_parameters)

        def forward(self, batch: dict) -> dict[str, torch.Tensor]:
            return self.net(batch)

        def on_load_checkpoint(self, checkpoint: dict) -> None:
            checkpoint["state_dict"] = {f"net.{k}": v for k, v in checkpoint["state_dict"].items()}

    reference = LightningLagNet.load_from_checkpoint(PACKAGED, map_location="cpu").eval()
    model, _ = load_model(PACKAGED)
    assert type(model) is LagNet and not model.training
    assert not isinstance(model, pl.LightningModule)
    stored = torch.load(PACKAGED, map_location="cpu", weights_only=True)["hyper_parameters"]
    assert dict(model.hparams) == stored
    batch = random_batch(model.hparams.visual_dim, model.hparams.audio_dim)
    with torch.no_grad():
        expected, got = reference(batch), model(batch)
    assert set(got) == set(expected)
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    assert torch.isnan(model.theta) == torch.isnan(reference.net.theta)


def test_a_file_that_is_no_avalign_checkpoint_is_refused(tmp_path):
    stray = tmp_path / "other.ckpt"
    torch.save({"state_dict": {}}, stray)
    with pytest.raises(CheckpointError, match="no model class"):
        load_model(stray)
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {}, "avalign_model_class": "collections.OrderedDict"}, foreign)
    with pytest.raises(CheckpointError, match="not an avalign model class"):
        load_model(foreign)
