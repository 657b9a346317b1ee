"""Find and load a trained detector from a checkpoint file or an MLflow run id."""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import Any

import torch

from avalign.features.config import FeatureConfig
from avalign.models.base import SyncModel


class CheckpointError(Exception):
    """The given source names no usable checkpoint."""


#: The checkpoint that ships inside the package (``source=packaged``), made by a documented
#: recipe: see ``avalign/models/packaged/README.md``.
PACKAGED = Path(__file__).resolve().parent / "packaged" / "lagnet.ckpt"
#: the ``source`` that names it
PACKAGED_SOURCE = "packaged"


def resolve_checkpoint(source: str, store: str | Path | None = None) -> Path:
    """A local checkpoint path for ``source``: ``packaged`` (the model that ships with avalign),
    a ``.ckpt`` file, or the id of an MLflow run."""
    if source == PACKAGED_SOURCE:
        if not PACKAGED.is_file():
            raise CheckpointError(f"{PACKAGED}: the packaged model is missing from this install")
        return PACKAGED
    path = Path(source).expanduser()
    if path.is_file():
        return path.resolve()
    if store is None:
        raise CheckpointError(
            f"{source}: not a checkpoint file, and no MLflow store to look it up in"
        )
    from avalign.storage import tracking

    client = tracking.client(store)
    try:
        client.get_run(source)
    except Exception as error:
        raise CheckpointError(
            f"{source}: neither a checkpoint file nor a run in {store}"
        ) from error
    target = Path(tempfile.mkdtemp(prefix="avalign-model-"))
    local = Path(client.download_artifacts(source, "model", str(target)))
    found = sorted(local.rglob("*.ckpt"))
    if not found:
        raise CheckpointError(f"run {source} has no checkpoint under its 'model' artifacts")
    return found[0]


def checkpoint_entries(model: SyncModel) -> dict[str, Any]:
    """What a checkpoint holds of ``model``: its weights (``state_dict``, keyed as the model's
    own), its constructor settings (``hyper_parameters``), its class and the features it reads.
    Lightning's checkpoints of the training task carry these at their top level."""
    return {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "avalign_model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "avalign_feature_config": model.feature_settings,
    }


def model_from_checkpoint(data: dict[str, Any], name: str = "checkpoint") -> SyncModel:
    """The model a loaded checkpoint (`checkpoint_entries`) holds, rebuilt from its class and
    settings, with its weights (on the CPU, in training mode)."""
    class_path = data.get("avalign_model_class")
    if not class_path:
        raise CheckpointError(f"{name}: not an avalign checkpoint (no model class recorded)")
    module_name, _, class_name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, SyncModel)):
        raise CheckpointError(f"{name}: {class_path} is not an avalign model class")
    model = cls(**(data.get("hyper_parameters") or {}))
    model.load_state_dict(data["state_dict"])
    model.feature_settings = dict(data.get("avalign_feature_config") or {})
    return model


def load_model(checkpoint: Path) -> tuple[SyncModel, FeatureConfig]:
    """The model stored in ``checkpoint`` (any avalign class) and the features it expects, in
    evaluation mode on the CPU. Reads tensors and plain values only (no arbitrary unpickling),
    and needs neither Lightning nor MLflow."""
    data = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = model_from_checkpoint(data, str(checkpoint))
    model.eval()
    return model, FeatureConfig.from_dict(data.get("avalign_feature_config") or {})
