"""Find and load a trained detector from a checkpoint file or an MLflow run id."""

from __future__ import annotations

import tempfile
from pathlib import Path

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


def load_model(checkpoint: Path) -> tuple[SyncModel, FeatureConfig]:
    """The model stored in ``checkpoint`` (any avalign class) and the features it expects."""
    import importlib

    data = torch.load(checkpoint, map_location="cpu", weights_only=True)  # no arbitrary unpickling
    class_path = data.get("avalign_model_class")
    if not class_path:
        raise CheckpointError(f"{checkpoint}: not an avalign checkpoint (no model class recorded)")
    module_name, _, class_name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    model = cls.load_from_checkpoint(checkpoint, map_location="cpu")
    model.eval()
    return model, FeatureConfig.from_dict(data.get("avalign_feature_config") or {})
