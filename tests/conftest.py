"""Shared fixtures: tiny media and AVE-layout folders made by the tests themselves."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.media import make_video


@pytest.fixture(scope="session")
def clip_factory(tmp_path_factory):
    """Make (and memoize) small test videos: ``clip_factory("name.mp4", seconds=4, ...)``."""
    folder = tmp_path_factory.mktemp("clips")
    made: dict[tuple, Path] = {}

    def make(name: str, **options) -> Path:
        key = (name, tuple(sorted(options.items())))
        if key not in made:
            made[key] = make_video(folder / name, **options)
        return made[key]

    return make
