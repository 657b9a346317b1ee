"""AVE annotation and split files: parsing, malformed lines, unsafe ids, leak-free splits."""

from __future__ import annotations

from collections import Counter

import pytest

from avalign.datasets.annotations import (
    check_video_id,
    parse_line,
    read_annotation_file,
    read_split_ids,
)
from avalign.datasets.splits import random_video_splits, resolve_overlaps
from support import SHARED_AVE

needs_shared_ave = pytest.mark.skipif(
    not (SHARED_AVE / "Annotations.txt").is_file(),
    reason=f"the real AVE annotation files are not at {SHARED_AVE} (they sit beside the checkout)",
)


@needs_shared_ave
def test_real_ave_annotations_parse_completely():
    segments, problems = read_annotation_file(SHARED_AVE / "Annotations.txt")
    # 4,143 rows: one is the zero-length row 0&0, reported rather than kept
    assert len(segments) + len(problems) == 4143
    assert [p.problem for p in problems] == ["empty segment: start and end are both 0 s"]
    assert len({s.video_id for s in segments}) == 4096  # 4,097 videos less the 0&0 one
    assert len({s.category for s in segments}) == 28
    # category names with commas survive because lines split on '&' only
    assert "Male speech, man speaking" in {s.category for s in segments}
    assert all(0 <= s.start_s < s.end_s <= 10 for s in segments)


@needs_shared_ave
def test_real_ave_splits_overlap_and_resolution():
    memberships: dict[str, set[str]] = {}
    for split, name in (("train", "trainSet.txt"), ("val", "valSet.txt"), ("test", "testSet.txt")):
        video_ids, problems = read_split_ids(SHARED_AVE / name)
        assert not problems  # the 0&0 row still names its video's split
        for video_id in video_ids:
            memberships.setdefault(video_id, set()).add(split)
    assert len(memberships) == 4097
    assert sum(m == {"train", "test"} for m in memberships.values()) == 8
    assert sum(m == {"train", "val"} for m in memberships.values()) == 10
    assigned, overlaps = resolve_overlaps(memberships)
    assert len(overlaps) == 18 and len(assigned) == 4097
    # test keeps all its official videos; overlapping ones leave train
    counts = Counter(assigned.values())
    assert counts["test"] == sum("test" in m for m in memberships.values())
    assert all(assigned[v] == "test" for v, m in memberships.items() if "test" in m)


def test_header_and_bom_accepted(tmp_path):
    rows = ["Church bell&RUhOCu3LNXM&good&0&10", "Male speech, man speaking&-abc_DEF-12&good&2&5"]
    for header, bom in ((True, True), (True, False), (False, True), (False, False)):
        path = tmp_path / f"a{header}{bom}.txt"
        text = ("Category&VideoID&Quality&StartTime&EndTime\n" if header else "") + "\n".join(rows)
        path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
        segments, problems = read_annotation_file(path)
        assert not problems
        assert [s.video_id for s in segments] == ["RUhOCu3LNXM", "-abc_DEF-12"]
        assert segments[1].category == "Male speech, man speaking"
        assert (segments[1].start_s, segments[1].end_s) == (2.0, 5.0)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("Bark&abc&good&1", "expected 5 '&'-separated fields, found 4"),
        ("Bark&abc&good&1&2&3", "found 6"),
        ("Bark&abc&good&one&2", "start time 'one' is not an integer"),
        ("Bark&abc&good&1&2.5", "end time '2.5' is not an integer"),
        ("Bark&abc&good&-1&2", "start time -1 is outside [0, 10]"),
        ("Bark&abc&good&1&11", "end time 11 is outside [0, 10]"),
        ("Bark&abc&good&5&3", "end time 3 is before start time 5"),
        ("Bark&abc&good&4&4", "empty segment"),
        ("Bark&../etc/passwd&good&1&2", "must not leave the dataset root"),
        ("Bark&a/b&good&1&2", "must not leave the dataset root"),
        ("Bark&a\\b&good&1&2", "must not leave the dataset root"),
        ("Bark&..&good&1&2", "must not leave the dataset root"),
        ("&abc&good&1&2", "empty category"),
        ("Bark&&good&1&2", "empty VideoID"),
    ],
)
def test_malformed_lines_are_explained(line, problem):
    parsed = parse_line(line, 7)
    assert parsed.line == 7
    assert problem in parsed.problem


def test_bad_lines_are_skipped_and_the_rest_kept(tmp_path):
    path = tmp_path / "Annotations.txt"
    path.write_text(
        "Bark&good1&good&1&3\nBark&bad&good&3&1\nBark&x/../y&good&1&2\nBark&good2&good&0&10\n"
    )
    segments, problems = read_annotation_file(path)
    assert [s.video_id for s in segments] == ["good1", "good2"]
    assert [p.line for p in problems] == [2, 3]


def test_video_id_check():
    assert check_video_id("c---zaDCTaE") is None
    assert check_video_id("-leading-dash") is None
    assert check_video_id(".hidden")
    assert check_video_id("a..b")


def test_random_split_is_by_video_and_deterministic():
    ids = [f"v{i}" for i in range(50)]
    first = random_video_splits(ids, (0.7, 0.15, 0.15), seed=3)
    again = random_video_splits(reversed(ids), (0.7, 0.15, 0.15), seed=3)
    other = random_video_splits(ids, (0.7, 0.15, 0.15), seed=4)
    assert first == again
    assert first != other
    assert Counter(first.values()) == {"train": 36, "val": 7, "test": 7}
    tiny = random_video_splits(["a", "b", "c"], (0.8, 0.1, 0.1), seed=0)
    assert sorted(tiny.values()) == ["test", "train", "val"]
