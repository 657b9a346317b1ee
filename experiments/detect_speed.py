"""Benchmark: how fast ``detect`` runs against the bare decode of the same file, and where its
time goes.

    python experiments/detect_speed.py [--long-minutes 10]   # all three parts
    python experiments/detect_speed.py --long-video [--long-minutes 10]
    python experiments/detect_speed.py --sources [--source CKPT] [--long-minutes 10]
    python experiments/detect_speed.py --profile [--profile-seconds 60] [--source CKPT]

Parts (they combine; none given: all three, in this order):

``--long-video`` (`detect_long_video`): ``python -m avalign.detect VIDEO fps=5`` (its defaults
otherwise) on a ``--long-minutes`` synthetic 720p drum video, against the bare decode of the same
file (`bare_decode`), detect's start-up included.

``--sources`` (`detect_with_sources`; part 1 of the costs of the source evidence, issue 12):
``detect`` with a LagNet checkpoint (``--source``; default: a tiny one trained here,
`tiny_lagnet`), whose features are those of ``conf/feature/sources.yaml`` (25 steps/s, log-mel
bands, face and mouth evidence), on a ``--long-minutes`` 720p video against the bare decode of the
same file, on the synthetic drum video and on a talking head looped and scaled from a real clip
of ``data/realdev/raw`` (``--talking-head``), with the training-free default (``source=null``) on
the same files for comparison (`detect_costs`).

``--profile`` (`profile_by_stage`; part 4): where the time of ``stream_features`` goes on a
``--profile-seconds`` talking head and drum video (`profile_sources`, `stage_timers`), and what
a sparser face mesh would save; then ``detect`` with the source evidence on the long videos that
``--sources`` made, as it runs and on one thread (`detect_variants`). For issue 21's figures (both
cores, folders, memory) see ``experiments/detect_scale.py``. With ``--sources`` in the same
run, it also tells how much of detect's CPU time on the talking head the features take.

Every timing gives wall time and CPU time (user + sys of this process's children, and of this
process where the work runs in it). The machine is shared with other jobs: CPU time is the fair
measure, wall time is what one user waited here. A timing that starts while the 1-minute load
average is above 3 says so. Media made for it (never committed) are kept in ``--media-dir``
(``data/bench_scale``, git-ignored) and reused by later runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from bench_extraction import bare_decode  # the same baseline as the extraction benchmark
from measure import (
    ONE_THREAD,
    Cost,
    _config,
    _kept,
    _with_one_thread,
    add_media_arguments,
    bare_decode_command,
    load_note,
    run,
    sources_feature_config,
    talking_head_video,
    timed_call,
    timed_command,
)

#: detect's exit status is a sum of bits: 1 out of sync, 4 cannot tell are verdicts, 2 a failure
DETECT_VERDICTS = (0, 1, 4, 5)


# ---------------------------------------------------------------------------------------------
# --long-video: detect as it runs against the bare decode of the same file.


def long_drum_video(minutes: float, path: Path) -> Path:
    """A synthetic drum video of ``minutes`` at 1280x720, 25 fps, 48 kHz (no face), at ``path``."""
    from avalign.datasets.synthetic import make_clip_spec, write_clip

    seconds = int(minutes * 60)
    spec = make_clip_spec(
        "drum_strike",
        width=1280,
        height=720,
        fps=25,
        sample_rate=48000,
        seed=3,
        event=(0, seconds),
        duration_s=float(seconds),
    )
    started = time.perf_counter()
    write_clip(spec, path)  # atomic
    print(f"made a {minutes:g}-minute 720p video in {time.perf_counter() - started:.0f} s")
    return path


def detect_long_video(minutes: float, scratch: Path) -> None:
    """`detect` on a long 720p video against the bare decode of the same file."""
    path = long_drum_video(minutes, scratch / "long720.mp4")
    decode = bare_decode(path)
    detect = run(
        [sys.executable, "-m", "avalign.detect", str(path), "progress=false", "fps=5"],
        ok=DETECT_VERDICTS,
    )
    print(
        f"detect on {minutes:g} min of 720p: {detect:.1f} s; bare decode {decode:.1f} s; "
        f"ratio {detect / decode:.2f} (detect's start-up included)"
    )


# ---------------------------------------------------------------------------------------------
# --sources: detect with the source evidence (LagNet) and without it, against the bare decode.


def tiny_lagnet(scratch: Path, keep: Path) -> Path:
    """A LagNet checkpoint on the source evidence, trained here on 24 synthetic clips for one
    epoch: what ``detect`` needs to compute those features (its accuracy does not matter here).
    The same as ``python -m avalign.train experiment=lagnet dataset.num_clips=24
    model.epochs=1 logger=none paths.data_dir=SCRATCH``, keeping the best checkpoint."""
    from avalign.training.run import train

    cfg = _config("train", 24, scratch, "experiment=lagnet", "model.epochs=1", "logger=none")
    keep.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        _, cost = timed_call(train, cfg, keep_checkpoint=keep)
    print(
        f"trained a tiny LagNet (24 synthetic clips, 1 epoch) in {cost} -> {keep} "
        f"(pass --source {keep} to skip this next time)"
    )
    return keep


def _verdict(report: Path) -> str:
    record = json.loads(report.read_text(encoding="utf-8"))["files"][0]
    if record["status"] != "ok":
        return f"error: {record.get('error')}"
    return f"{record['verdict']} (p_out_of_sync {record['p_out_of_sync']})"


def detect_costs(label: str, path: Path, source: Path, scratch: Path) -> dict[str, Cost]:
    """``detect`` on ``path`` with the LagNet checkpoint ``source`` (its features: the source
    evidence) and with the training-free default (25 steps/s, no face, no bands), against the
    bare decode of the same file (PyAV, every frame and the sound, one thread). Each is one
    command, timed from start to end (interpreter start-up and imports included)."""
    from avalign.media.probe import probe_media

    info = probe_media(path)
    detect = [
        sys.executable,
        "-m",
        "avalign.detect",
        str(path),
        "progress=false",
        "logger=none",
        f"paths.data_dir={scratch / 'data'}",
    ]
    runs = {
        "bare decode (PyAV, 1 thread)": (bare_decode_command(path), None),
        "detect, source evidence (LagNet)": ([*detect, f"source={source}"], "sources"),
        "detect, training-free default": ([*detect, "source=null"], "default"),
    }
    costs, lines = {}, []
    for name, (command, report_name) in runs.items():
        note = load_note()
        if report_name is None:
            costs[name] = timed_command(command)
            lines.append((name, costs[name], note, ""))
            continue
        report = scratch / f"{path.stem}-{report_name}.json"
        costs[name] = timed_command([*command, "--json", str(report)], ok=DETECT_VERDICTS)
        lines.append((name, costs[name], note, _verdict(report)))
    decode = costs["bare decode (PyAV, 1 thread)"]
    print(
        f"\n{label}: {path.name}, {info.duration_s / 60:.1f} min, {info.width}x{info.height}, "
        f"{info.fps:g} fps"
    )
    print("| run | wall s | CPU s | wall / decode | CPU / decode | load | verdict |")
    print("|---|---|---|---|---|---|---|")
    for name, cost, note, verdict in lines:
        print(
            f"| {name} | {cost.wall:.1f} | {cost.cpu:.1f} | {cost.wall / decode.wall:.2f} | "
            f"{cost.cpu / decode.cpu:.2f} | {note} | {verdict} |"
        )
    return costs


def detect_with_sources(
    minutes: float, scratch: Path, media: Path, source: Path | None, talking_head: Path
) -> dict[str, dict[str, Cost]]:
    """Part 1: `detect_costs` on a long 720p synthetic drum video (no face) and on a long 720p
    talking head made from a real clip (skipped, with the reason, when the clip is absent)."""
    print(f"\n## detect with the source evidence on {minutes:g} min of 720p")
    if source is None:
        source = tiny_lagnet(scratch, media / "lagnet_tiny.ckpt")
    results = {}
    drum = _kept(media / f"drum_720p_{minutes:g}min.mp4", lambda p: long_drum_video(minutes, p))
    results["drum"] = detect_costs("(a) synthetic drum video (no face)", drum, source, scratch)
    if not talking_head.is_file():
        print(
            f"\n(b) talking head skipped: {talking_head} is absent (the real development clips "
            "are not on this machine)"
        )
        return results
    head = _kept(
        media / f"talking_head_720p_{minutes:g}min.mp4",
        lambda p: talking_head_video(talking_head, p, minutes * 60),
    )
    results["talking head"] = detect_costs(
        f"(b) talking head, {talking_head.name} looped and scaled to 720p", head, source, scratch
    )
    print(
        "wall time is what one waited on this shared machine; CPU time (user + sys of the "
        "command and its workers) is the fair measure of cost: the ratios to compare with "
        "issue 12's '<= 3x the bare decode' are the CPU ones"
    )
    return results


# ---------------------------------------------------------------------------------------------
# --profile: where the time of the source evidence goes, and what a sparser mesh would save.


@contextlib.contextmanager
def stage_timers() -> Iterator[Counter]:
    """While active: CPU seconds of this process in each stage of `stream_features`, by name.

    Wraps the functions that do each stage (restored on exit): the decoder's frames
    (``decode._decode_shown``), the gray thumbnail, the colour picture, the face detector, the
    face mesh (with its crop), the mouth and face motion crops, the rest of the face tracker,
    the motion features (flow) and the sound features.
    """
    import avalign.features.face as face
    import avalign.features.stream as stream
    import avalign.media.decode as decode

    totals: Counter = Counter()

    def timed(fn, key):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[key] += time.process_time() - started

        return wrapper

    def timed_frames(fn, key):
        def wrapper(*args, **kwargs):
            frames = fn(*args, **kwargs)
            while True:
                started = time.process_time()
                frame = next(frames, None)
                totals[key] += time.process_time() - started
                if frame is None:
                    return
                yield frame

        return wrapper

    targets = [
        (decode, "_decode_shown", "decode", timed_frames),
        (decode, "gray_thumbnail", "gray picture", timed),
        (decode, "rgb_picture", "colour picture", timed),
        (face.FaceDetector, "__call__", "face detector", timed),
        (face.FaceLandmarker, "__call__", "face mesh", timed),
        (face.FaceTracker, "_motion", "mouth and face crops", timed),
        (face.FaceTracker, "step", "face tracker in all", timed),
        (stream, "motion_features", "flow (motion features)", timed),
        (stream, "audio_steps", "sound (MFCC, log-mel, voice band)", timed),
    ]
    saved = [(owner, name, vars(owner)[name]) for owner, name, _, _ in targets]
    for owner, name, key, wrap in targets:
        setattr(owner, name, wrap(getattr(owner, name), key))
    try:
        yield totals
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)


def _agreement(base: dict, other: dict) -> str:
    import numpy as np

    present = float(np.mean(base["face_present"] == other["face_present"]))
    parts = [f"face_present equal on {present:.1%} of steps"]
    for key in ("mouth_open", "mouth_motion", "flow_energy"):
        a, b = base[key].astype(float), other[key].astype(float)
        if np.array_equal(a, b):
            parts.append(f"{key} identical")
        elif a.std() > 0 and b.std() > 0:
            parts.append(f"{key} r={np.corrcoef(a, b)[0, 1]:.3f}")
    return ", ".join(parts)


def profile_sources(path: Path, scratch: Path) -> float:
    """Part 4: where the CPU time of `stream_features` with the source evidence goes on ``path``
    (one core, as in an extraction worker); then the same with the face mesh every 4th step
    instead of every 2nd.
    Returns the CPU seconds per step of the unchanged code."""
    from avalign.features.stream import stream_features

    config = sources_feature_config()
    print(f"\n## where the time goes: stream_features with the source evidence on {path.name}")
    note = load_note()
    decode = timed_command(bare_decode_command(path))
    _with_one_thread(stream_features, path, config)  # warm-up: imports, models, caches
    with stage_timers() as stages:
        (features, info), cost = timed_call(_with_one_thread, stream_features, path, config)
    steps = len(features["flow_energy"])
    stages["face tracker, rest"] = stages.pop("face tracker in all") - sum(
        stages[k] for k in ("face detector", "face mesh", "mouth and face crops")
    )
    stages["other"] = cost.cpu - sum(stages.values())
    print(
        f"{steps} steps ({info.duration_s:.0f} s at 25 steps/s), {info.width}x{info.height}, "
        f"face found on {features['face_present'].mean():.0%} of steps; {cost} in all ({note}); "
        f"bare decode of the file {decode}"
    )
    print("| stage | CPU s | ms per step | share |")
    print("|---|---|---|---|")
    for key, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(
            f"| {key} | {seconds:.2f} | {1000 * seconds / steps:.2f} | {seconds / cost.cpu:.0%} |"
        )
    variants = {
        "face mesh every 4th step (face.landmarks_every=4)": (
            contextlib.nullcontext(),
            dataclasses.replace(config, face=dataclasses.replace(config.face, landmarks_every=4)),
        ),
    }
    for name, (context, settings) in variants.items():
        with context:
            (other, _), changed = timed_call(_with_one_thread, stream_features, path, settings)
        print(
            f"{name}: {changed.cpu:.2f} s CPU ({1000 * changed.cpu / steps:.2f} ms per step, "
            f"{changed.cpu / cost.cpu - 1:+.0%}); {_agreement(features, other)}"
        )
    return cost.cpu / steps


def detect_variants(path: Path, source: Path, scratch: Path) -> None:
    """``detect`` with the source evidence on ``path``, back to back: as it runs (OpenCV and
    torch on every core), with one thread for each (`ONE_THREAD`: a second thread helps little,
    the decoder runs on one, and its waiting costs CPU time), against the bare decode of the
    file."""
    arguments = [
        str(path),
        "progress=false",
        "logger=none",
        f"paths.data_dir={scratch / 'data'}",
        f"source={source}",
    ]
    detect = [sys.executable, "-m", "avalign.detect", *arguments]
    note = load_note()
    decode = timed_command(bare_decode_command(path))
    print(f"\ndetect with the source evidence on {path.name}; bare decode {decode} ({note})")
    runs = (
        ("as it runs (every core)", detect, None),
        ("one thread (OpenCV, torch)", detect, ONE_THREAD),
    )
    for name, command, env in runs:
        note = load_note()
        cost = timed_command(command, ok=DETECT_VERDICTS, env=env)
        print(
            f"  {name}: {cost}; {cost.cpu / decode.cpu:.2f}x the decode's CPU time, "
            f"{cost.wall / decode.wall:.2f}x its wall time ({note})"
        )


def profile_by_stage(
    args: argparse.Namespace, scratch: Path, detected: dict[str, dict[str, Cost]]
) -> None:
    """Part 4 (``--profile``): `profile_sources` on a talking head and on a drum video, then
    `detect_variants` on the long videos of part 1; ``detected``: part 1's costs when it ran in
    this run (`detect_with_sources`), to split detect's CPU time on the talking head."""
    media = Path(args.media_dir)
    head = Path(args.talking_head)
    if not head.is_file():
        print(f"\nprofile skipped: {head} is absent")
        return
    piece = _kept(
        media / f"talking_head_720p_{args.profile_seconds:g}s.mp4",
        lambda p: talking_head_video(head, p, args.profile_seconds),
    )
    per_step = profile_sources(piece, scratch)
    minutes = args.profile_seconds / 60
    drum = _kept(
        media / f"drum_720p_{args.profile_seconds:g}s.mp4",
        lambda p: long_drum_video(minutes, p),
    )
    profile_sources(drum, scratch)  # no face: what the colour pictures cost alone
    checkpoint = Path(args.source) if args.source else media / "lagnet_tiny.ckpt"
    for name in ("talking_head", "drum"):
        long_video = media / f"{name}_720p_{args.long_minutes:g}min.mp4"
        if long_video.is_file() and checkpoint.is_file():
            detect_variants(long_video, checkpoint, scratch)
        else:
            print(f"\ndetect variants skipped: {long_video} or {checkpoint} absent (part 1)")
    if "talking head" in detected:
        cost = detected["talking head"]["detect, source evidence (LagNet)"]
        features = per_step * args.long_minutes * 60 * 25
        print(
            f"detect's {cost.cpu:.0f} s CPU on the {args.long_minutes:g}-minute talking head: "
            f"about {features:.0f} s for the features at this profile's rate, the rest "
            f"({cost.cpu - features:.0f} s) start-up, LagNet on the windows and the verdict"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--long-video", action="store_true", help="detect on a long video against the bare decode"
    )
    parser.add_argument(
        "--sources",
        action="store_true",
        help="detect with the source evidence on 720p drum and talking-head videos (issue 12)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="stream_features with the source evidence by stage"
    )
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument(
        "--source", help="LagNet checkpoint for detect (default: train a tiny one here)"
    )
    add_media_arguments(parser)
    parser.add_argument("--profile-seconds", type=float, default=60.0)
    args = parser.parse_args()
    every = not (args.long_video or args.sources or args.profile)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        if every or args.long_video:
            detect_long_video(args.long_minutes, scratch)
        detected = {}
        if every or args.sources:
            detected = detect_with_sources(
                args.long_minutes,
                scratch,
                Path(args.media_dir),
                Path(args.source) if args.source else None,
                Path(args.talking_head),
            )
        if every or args.profile:
            profile_by_stage(args, scratch, detected)


if __name__ == "__main__":
    main()
