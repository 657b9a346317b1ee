"""`avalign.fix` over a folder in batches: workers, shards and resume, like detect's."""

from __future__ import annotations

import json

from avalign.fixing.resync import run
from support.media import make_video

GIVEN = ["offset_ms=200", "check=false", "progress=false"]  # no detector: remux only


def test_shards_split_a_folder_and_a_rerun_keeps_what_is_fixed(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    for name in ("a", "b", "c"):
        make_video(source / f"{name}.mp4", seconds=2.0)
    report = tmp_path / "fix.json"
    for index in (0, 1):
        shard = ["num_shards=2", f"shard_index={index}", "workers=2"]
        code = run([str(source), str(target), f"json={report}", *shard, *GIVEN])
        assert code == 0
    shards = [json.loads((tmp_path / f"fix.shard{i}-of-2.json").read_text()) for i in (0, 1)]
    assert [len(s["files"]) for s in shards] == [2, 1]
    assert sorted(p.name for p in target.iterdir()) == ["a.mp4", "b.mp4", "c.mp4"]

    again = [str(source), str(target), f"json={report}", "num_shards=2", "shard_index=0"]
    assert run([*again, "resume=true", *GIVEN]) == 0  # OUT exists, but the report says fixed
    assert json.loads((tmp_path / "fix.shard0-of-2.json").read_text()) == shards[0]
    assert run([*again, *GIVEN]) != 0  # without resume, an existing OUT is not overwritten
