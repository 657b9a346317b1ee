"""Benchmark: the projected extraction of all of AVE with the source evidence (issue 12, part 2).

    python experiments/sources_extraction_cost.py [--clips 40] [--repeats 3] [--talking-head CLIP]

With the features of ``conf/feature/sources.yaml`` (25 steps/s, log-mel bands, face and mouth
evidence; `sources_feature_config`), `extraction_with_sources` times
`avalign.features.clips.extract_clips` with 2 workers over the ``--clips`` ten-second clips of
the synthetic corpus and over every other one of them, fresh caches, ``--repeats`` times each:
the steady state, the start-up and the projected extraction of all of AVE (4,143 clips, 2
workers); then single ten-second 720p clips on one core (`single_clip_costs`): synthetic scenes,
and pieces of the real talking head ``--talking-head`` (skipped when it is absent).

All figures are measured in this run on this machine; real footage decodes slower than the flat
synthetic scenes, so the projection for AVE is a lower bound. Every timing gives wall time and
CPU time (see ``measure.py``). The 720p clips made here are kept in ``--media-dir`` and reused.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from measure import (
    AVE_CLIPS,
    Cost,
    _config,
    _kept,
    _with_one_thread,
    add_media_arguments,
    load_note,
    sources_feature_config,
    talking_head_video,
    timed_call,
)


def _projection(clips: int, half: int, full: list[Cost], halves: list[Cost]) -> None:
    """Steady state and AVE projection from runs over ``clips`` and ``half`` of them."""
    wall_full, wall_half = (statistics.median(c.wall for c in runs) for runs in (full, halves))
    cpu_full, cpu_half = (statistics.median(c.cpu for c in runs) for runs in (full, halves))
    steady = (clips - half) / (wall_full - wall_half)  # clips/s once running, 2 workers
    cpu_per_clip = (cpu_full - cpu_half) / (clips - half)
    start_wall = wall_full - clips / steady
    start_cpu = cpu_full - clips * cpu_per_clip
    print(
        f"{clips} clips: {wall_full:.1f} s wall, {cpu_full:.1f} s CPU; {half} clips: "
        f"{wall_half:.1f} s wall, {cpu_half:.1f} s CPU (medians of {len(full)}); steady state "
        f"{steady:.2f} clips/s ({1 / steady:.2f} s wall per clip), {cpu_per_clip:.2f} s CPU per "
        f"clip; start-up {start_wall:.1f} s wall, {start_cpu:.1f} s CPU"
    )
    wall = start_wall + AVE_CLIPS / steady
    ideal = start_wall + AVE_CLIPS * cpu_per_clip / 2
    print(
        f"projected full AVE ({AVE_CLIPS} clips, 2 workers): {wall / 60:.1f} min at the "
        f"throughput measured here (shared machine); {ideal / 60:.1f} min from the CPU time on 2 "
        f"cores of its own ({AVE_CLIPS} x {cpu_per_clip:.2f} s CPU / 2 + start-up)"
    )


def _written(write: Callable, spec, path: Path) -> Path:
    write(spec, path)
    return path


def single_clip_costs(label: str, paths: list[Path], scratch: Path, config) -> Cost:
    """Median cost of one clip's `extract_clip` in this process on one core (an extraction
    worker's work for it), after a first untimed clip loads the libraries and models."""
    from avalign.features.cache import FeatureCache
    from avalign.features.clips import ClipJob, extract_clip

    cache = scratch / f"single-{label.replace(' ', '_')}"
    FeatureCache(cache, config).prepare()
    _with_one_thread(extract_clip, ClipJob("warm-up", paths[0], cache, config))
    costs = []
    for index, path in enumerate(paths):
        job = ClipJob(f"clip{index}", path, cache, config)
        note = load_note()
        costs.append(timed_call(_with_one_thread, extract_clip, job)[1])
    cost = Cost(statistics.median(c.wall for c in costs), statistics.median(c.cpu for c in costs))
    ideal = AVE_CLIPS * cost.cpu / 2
    print(
        f"{label}, one clip on one core: {cost} (median of {len(paths)}; {note}); all of AVE "
        f"at this cost per clip, 2 workers on 2 cores of their own: {ideal / 60:.1f} min"
    )
    return cost


def extraction_with_sources(
    clips: int, scratch: Path, media: Path, repeats: int, talking_head: Path
) -> None:
    """Part 2: projected extraction of all of AVE with the source evidence, 2 workers.

    `avalign.features.clips.extract_clips` (what self-supervised training and the benchmark
    use) over ``clips`` clips of the synthetic corpus and over every other one of them, fresh
    caches, ``repeats`` times each: the difference is the steady state, the rest the start-up
    (as in `extraction_throughput`; every other clip rather than the first half, so that both
    sets hold the same mix of frame sizes and scenes). Then single ten-second 720p clips on one
    core: synthetic scenes and pieces of the real talking head (the face models at work).
    """
    from avalign.datasets.synthetic import make_clip_spec, write_clip
    from avalign.features.clips import extract_clips
    from avalign.features.pipeline import prepare_dataset
    from avalign.media.probe import probe_media

    print(f"\n## extraction of all of AVE with the source evidence ({AVE_CLIPS} clips, 2 workers)")
    config = sources_feature_config()
    stage = prepare_dataset(
        _config("train", clips, scratch).dataset, scratch / "data", workers=2, progress=False
    )
    files = {s.video_id: stage.dataset.video_file(s) for s in stage.dataset.segments}
    sizes = Counter(
        f"{info.width}x{info.height}" for info in (probe_media(p) for p in files.values())
    )
    print(
        f"synthetic corpus, {len(files)} ten-second clips: "
        + ", ".join(f"{n} x {size}" for size, n in sorted(sizes.items()))
    )
    names = sorted(files)
    half = len(names[::2])  # every other clip: both sets hold the same mix of scenes and sizes
    full, halves = [], []
    note = load_note()
    for repeat in range(repeats):
        for subset, runs in ((names[::2], halves), (names, full)):
            cache = scratch / f"clips-{repeat}-{len(subset)}"
            failures, cost = timed_call(
                extract_clips,
                {n: files[n] for n in subset},
                cache,
                config,
                workers=2,
                progress=False,
            )
            if failures.errors:
                raise RuntimeError(f"clip extraction failed: {failures.errors[0]}")
            runs.append(cost)
            shutil.rmtree(cache)
    print(f"extract_clips with workers=2 ({note})")
    _projection(len(names), half, full, halves)

    synthetic = []
    for index, category in enumerate(("drum_strike", "speech_mouth", "hand_clap", "ball_bounce")):
        spec = make_clip_spec(
            category, width=1280, height=720, fps=30, sample_rate=48000, seed=10 + index
        )
        path = media / f"synthetic_720p_{category}.mp4"
        synthetic.append(_kept(path, lambda p, spec=spec: _written(write_clip, spec, p)))
    single_clip_costs("synthetic 720p 30 fps", synthetic, scratch, config)
    if talking_head.is_file():
        pieces = [
            _kept(
                media / f"talking_head_720p_10s_{start}.mp4",
                lambda p, start=start: talking_head_video(talking_head, p, 10.0, start),
            )
            for start in (0, 15, 30, 45)
        ]
        single_clip_costs("real talking head at 720p 25 fps", pieces, scratch, config)
    else:
        print(f"talking-head clips skipped: {talking_head} is absent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3, help="runs per extraction figure")
    add_media_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        extraction_with_sources(
            args.clips, Path(folder), Path(args.media_dir), args.repeats, Path(args.talking_head)
        )


if __name__ == "__main__":
    main()
