"""Stage 4: training and evaluating detectors.

How a detector is taught and judged, apart from what it is (`avalign.models`): the data modules
(`datamodule` for samples, `selfsup` for self-supervised shifted windows of whole videos),
augmentation, the task that steps, evaluates and tunes θ (`task`), metrics, the MLflow record of a
run (`reporting`, `plots`), and the end-to-end `run.train` and `evaluation.evaluate`.
"""
