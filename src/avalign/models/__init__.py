"""The detectors: seed Methods 1 and 2 (threshold, MLP), a cross-modal transformer, and Fourier
cross-correlation. Each is a LightningModule built on `avalign.models.base.SyncModel`."""
