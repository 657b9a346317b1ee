"""Split clips into k folds by the recording they come from, deterministically by seed.

Two clips cut from one recording (or one speaker of a face data set) share their look, their
voice and their room: if one were in a training fold and the other in the test fold, a model could
recognise the recording instead of judging synchrony. So whole recordings (``source_video``) go to
a fold. Recordings are shuffled by the seed, then dealt out category by category, each to the fold
that holds the fewest clips so far, so that every fold gets its share of talking heads, music and
sound events.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FoldMember:
    """What folding needs to know of one clip."""

    clip_id: str
    source_video: str
    category: str


def assign_folds(clips: Iterable[FoldMember], k: int = 5, seed: int = 0) -> dict[str, int]:
    """``clip_id -> fold`` in ``0..k-1``; all clips of one ``source_video`` share a fold.

    The same clips and seed always give the same folds, whatever their input order.
    """
    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got {k}")
    members = sorted(clips, key=lambda c: c.clip_id)
    if len({c.clip_id for c in members}) != len(members):
        raise ValueError("clip ids must be unique")
    by_source: dict[str, list[FoldMember]] = defaultdict(list)
    for clip in members:
        by_source[clip.source_video].append(clip)
    sources = sorted(by_source)
    if len(sources) < k:
        raise ValueError(f"{len(sources)} source videos cannot fill {k} folds")
    order = np.random.default_rng(seed).permutation(len(sources))
    shuffled = [sources[i] for i in order]

    def category_of(source: str) -> str:
        counts = Counter(c.category for c in by_source[source])
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]

    # stable sort: the shuffled order survives within each category
    shuffled.sort(key=category_of)
    load = [0] * k
    folds: dict[str, int] = {}
    for source in shuffled:
        fold = min(range(k), key=lambda f: (load[f], f))
        load[fold] += len(by_source[source])
        for clip in by_source[source]:
            folds[clip.clip_id] = fold
    return folds


def fold_splits(fold: int, k: int) -> dict[int, str]:
    """The role of every fold when ``fold`` is held out: ``test``, one ``val`` fold, ``train``.

    The validation fold (the next one, cyclically) chooses thresholds and checkpoints, so the test
    fold is never looked at before it is scored.
    """
    if not 0 <= fold < k:
        raise ValueError(f"fold must be in [0, {k}), got {fold}")
    roles = dict.fromkeys(range(k), "train")
    roles[fold] = "test"
    roles[(fold + 1) % k] = "val"
    return roles
