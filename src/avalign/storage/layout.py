"""Where every stage keeps its output under ``data_dir``, named by fingerprints so caches never mix.

::

    <data_dir>/corpora/synthetic-<fp>/         the generated corpus (AVE layout)
    <data_dir>/datasets/<name>-<fp>/           a prepared dataset (annotations.csv, ...)
        samples-<fp>/                          generated_samples_metadata.csv, generated_samples/
            features-<fp>/                     one NPZ per sample

Each ``<fp>`` hashes the settings of its stage and of everything upstream of it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from avalign.storage.fingerprint import fingerprint


def file_digest(path: Path, length: int = 10) -> str:
    """Short sha256 of a file's bytes (a prepared dataset's identity for the stages after it)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:length]


def corpus_dir(data_dir: Path, corpus_fingerprint: str) -> Path:
    return data_dir / "corpora" / f"synthetic-{corpus_fingerprint}"


def dataset_dir(data_dir: Path, name: str, settings: dict) -> Path:
    return data_dir / "datasets" / f"{name}-{fingerprint(settings)}"


def samples_dir(dataset_folder: Path, prepared_digest: str, sample_settings: dict) -> Path:
    return dataset_folder / f"samples-{fingerprint([prepared_digest, sample_settings])}"


def features_dir(samples_folder: Path, feature_fingerprint: str) -> Path:
    return samples_folder / f"features-{feature_fingerprint}"
