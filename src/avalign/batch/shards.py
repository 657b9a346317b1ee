"""Split a batch into disjoint shards, and name each shard's outputs.

A shard is one process's share of a batch that several machines (or array jobs) run at once:
the k-th item in sorted order goes to shard k mod n, so every process that sees the same items
picks the same share without talking to the others. A shard's report goes to its own file
(`shard_path`), and the reports are merged afterwards.
"""

from __future__ import annotations

from pathlib import Path


def shard_of(ids: list[str], shard_index: int, num_shards: int) -> set[str]:
    """The items of one shard: the k-th item in sorted order goes to shard k mod n."""
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"shard_index must be in [0, {num_shards}), got {shard_index}")
    return {v for k, v in enumerate(sorted(set(ids))) if k % num_shards == shard_index}


def shard_path(path: str | Path, shard_index: int, num_shards: int) -> Path:
    """Where one shard writes ``path``: ``out.json`` -> ``out.shard0-of-4.json`` (``path`` itself
    when there is one shard), so that shards never overwrite each other and ``out.shard*.json``
    finds them all."""
    path = Path(path)
    if num_shards <= 1:
        return path
    return path.with_name(f"{path.stem}.shard{shard_index}-of-{num_shards}{path.suffix}")
