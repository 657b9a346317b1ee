"""Write a file so that readers see either the old file or the complete new one, never a part.

Every stage writes its outputs (CSV reports, JSON records, NPZ features, mp4 samples) through
`atomic_target`: a hidden temporary file beside the target, then a rename. The temporary name
carries the process id, so that two processes writing the same file at once (two jobs of a
parallel sweep, two extraction shards) never share one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content to.

    When the block ends without error the temporary file replaces ``path``; in any case no
    temporary file is left behind. The temporary name is ``.<stem>.<pid>.tmp<suffix>``: hidden,
    so globs for finished files skip it, and with the target's extension, which tools such as
    ffmpeg read the format from.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
