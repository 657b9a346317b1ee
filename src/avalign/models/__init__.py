"""The detectors: what they are, apart from how they are trained (`avalign.training`).

Seed Methods 1 and 2 (threshold, MLP), a cross-modal transformer, Fourier cross-correlation and
LagNet, each a plain ``torch.nn.Module`` built on `avalign.models.base.SyncModel`; the inputs they
read (`inputs`), and loading a trained one from a checkpoint or an MLflow run (`checkpoints`),
which needs neither Lightning nor MLflow unless the model comes from a run. Lightning only trains
them (`avalign.training.task.SyncTask`).
"""
