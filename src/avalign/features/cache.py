"""The feature cache: one compressed NPZ per sample in a folder named by the feature fingerprint.

Writes are atomic (a temporary file in the same folder, then ``os.replace``), so an interrupted
run never leaves a half-written file under a final name. A file counts as finished only if it
loads completely and carries this cache's fingerprint; anything else is recomputed. Files hold
plain arrays and unicode strings only and are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from avalign.features.config import FeatureConfig
from avalign.storage.atomic import atomic_target

CONFIG_JSON = "feature_config.json"


class CacheError(Exception):
    """A cache folder that belongs to other settings, or a file that does not load."""


class FeatureCache:
    """NPZ files of one feature configuration under ``folder``."""

    def __init__(self, folder: Path, config: FeatureConfig) -> None:
        self.folder = Path(folder)
        self.config = config
        self.config_hash = config.fingerprint()

    def prepare(self) -> None:
        """Create the folder and record the settings; refuse a folder made with other settings."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record = self.folder / CONFIG_JSON
        text = json.dumps(
            {"fingerprint": self.config_hash, "config": _as_dict(self.config)}, indent=2
        )
        if record.is_file():
            stored = json.loads(record.read_text(encoding="utf-8"))
            if stored.get("fingerprint") != self.config_hash:
                raise CacheError(
                    f"{self.folder}: cache made with feature settings {stored.get('fingerprint')}, "
                    f"not {self.config_hash}"
                )
            return
        with atomic_target(record) as tmp:
            tmp.write_text(text, encoding="utf-8")

    def path(self, sample_id: str) -> Path:
        return self.folder / f"{sample_id}.npz"

    def write(self, sample_id: str, arrays: dict[str, np.ndarray]) -> Path:
        """Store one sample's arrays atomically (with this cache's fingerprint)."""
        target = self.path(sample_id)
        with atomic_target(target) as tmp:
            write_npz(tmp, {"config_hash": np.array(self.config_hash), **arrays})
        return target

    def load(self, sample_id: str) -> dict[str, np.ndarray]:
        """All arrays of one sample; raises `CacheError` if the file is damaged or foreign."""
        path = self.path(sample_id)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
            raise CacheError(f"{path}: unreadable feature file ({error})") from error
        if str(arrays.get("config_hash", "")) != self.config_hash:
            raise CacheError(f"{path}: made with other feature settings")
        return arrays

    def is_done(self, sample_id: str) -> bool:
        """Whether a finished, loadable file for this sample exists."""
        if not self.path(sample_id).is_file():
            return False
        try:
            self.load(sample_id)
        except CacheError:
            return False
        return True


#: Arrays smaller than this (bytes) are stored, not deflated: a feature file holds a dozen arrays
#: of a few dozen bytes, which deflate cannot shrink but whose zlib set-up costs as much as
#: deflating the frames.
STORE_BELOW = 1024


def write_npz(path: Path, arrays: dict[str, np.ndarray], level: int = 1) -> None:
    """Write a compressed ``.npz`` (what ``np.savez_compressed`` writes) at a fast zlib level.

    Level 1 compresses these arrays almost as well as numpy's default level 6 in a fraction of the
    time; arrays under `STORE_BELOW` bytes are stored as they are. Entries carry a fixed date, so
    the same arrays give the same bytes. The file loads with plain ``np.load``.
    """
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in arrays.items():
            array = np.asanyarray(value)
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            small = array.nbytes < STORE_BELOW
            entry.compress_type = zipfile.ZIP_STORED if small else zipfile.ZIP_DEFLATED
            archive.writestr(entry, buffer.getbuffer(), compresslevel=level)


def _as_dict(config: FeatureConfig) -> dict:
    from dataclasses import asdict

    return asdict(config)
