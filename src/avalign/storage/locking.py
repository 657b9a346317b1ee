"""An exclusive lock on a folder, so that parallel jobs (shards, sweep jobs) build shared data once.

The first process to arrive builds the dataset or the samples; the others wait on the lock and
then find the finished result and reuse it. POSIX ``flock`` on a lock file beside the folder: it
works on local disks and on cluster file systems that support it.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


@contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Hold ``<folder>.lock`` exclusively for the duration of the block."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock_path = folder.with_name(folder.name + ".lock")
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process to finish %s", folder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
