"""Assign every video to exactly one split, so that no video leaks between train, val and test."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

SPLITS = ("train", "val", "test")
#: When a video is listed in several official splits it goes to the first of these.
PRIORITY = ("test", "val", "train")


def resolve_overlaps(
    memberships: Mapping[str, Iterable[str]],
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Give each video one split from the official lists; return it and the videos that overlapped.

    The rule (documented in the README): a video listed in more than one official split goes to
    test if it is listed there, else to val, and is dropped from the other lists. This keeps the
    official test set intact, so results stay comparable, and leaves no video in two splits.
    """
    assigned: dict[str, str] = {}
    overlaps: dict[str, tuple[str, ...]] = {}
    for video_id, splits in memberships.items():
        listed = tuple(s for s in PRIORITY if s in set(splits))
        if not listed:
            continue
        assigned[video_id] = listed[0]
        if len(listed) > 1:
            overlaps[video_id] = listed
    return assigned, overlaps


def random_video_splits(
    video_ids: Iterable[str], fractions: tuple[float, float, float], seed: int
) -> dict[str, str]:
    """Split videos (not segments) into train/val/test, deterministically for a seed.

    The ids are sorted before shuffling, so the result does not depend on discovery order. With
    three or more videos every split gets at least one.
    """
    ids = sorted(set(video_ids))
    if not np.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {fractions}")
    order = np.random.default_rng(seed).permutation(len(ids))
    counts = np.floor(np.asarray(fractions) * len(ids)).astype(int)
    if len(ids) >= 3:
        counts = np.maximum(counts, [1 if f > 0 else 0 for f in fractions])
    counts[0] = len(ids) - counts[1:].sum()  # train takes the remainder
    names = np.repeat(SPLITS, counts)
    return {ids[i]: str(names[k]) for k, i in enumerate(order)}
