"""A bar on out-of-sync verdicts that bounds false alarms: fitted on some folds, scored on others.

    python experiments/decision_calibration.py make [--out data/decision_calibration]
    python -m avalign.detect data/decision_calibration \\
        --json data/decision_calibration/detect.json workers=2 progress=false
    python experiments/decision_calibration.py fit [--max-false-alarm 0.02]
    python experiments/decision_calibration.py detect-folds --bench data/benchmark/realdev-<fp>
    python experiments/decision_calibration.py fit --bench data/benchmark/realdev-<fp>

``make`` writes, for every real development clip (``data/realdev/raw`` and
``data/realdev_extra/raw``), five files through one code path (the picture from one reading of the
clip, the sound from a second reading moved by ``-itsoffset``, every packet copied into MKV):
the sound in sync, 300 ms and 1 s late, 300 ms and 1 s early; and a ``manifest.csv``.

``detect-folds --bench DIR`` checks them with the fold models of a benchmark run (``python -m
avalign.benchmark 'run=[lagnet]' 'training=[folds]'``): each clip's five files by the model of the
fold that held the clip out, one ``detect-<tag>.fold<k>.json`` per fold; ``fit --bench DIR`` then
takes the folds from the benchmark's ``folds.csv``, so a file is never scored by a bar or a model
that saw its clip.

``fit`` reads detect's JSON for them. The clips are split into 5 folds by the recording they come
from (`avalign.benchmark.folds`, seed 0). For each fold, the bar is fitted on the other four: the
least P(out of sync) at which a time-shift verdict (shift, drift or edit) is kept such that at
most ``--max-false-alarm`` of their in-sync files are called out of sync; below the bar the
verdict becomes ``cannot tell``. Sound checks (mute, noise) are kept as they are. The held-out
folds' files, pooled, give the figures: in-sync files called out of sync (with the exact 95%
upper bound), shifts caught with the right sign (1 s, 300 ms; all and talking heads), offsets
within 100 ms of the truth among those caught, right when a verdict is given, and the share of
``cannot tell``; then the same without the bar, and the bar fitted on all folds.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from real_clips import REPO, interval, real_clips, write_manifest

from avalign.benchmark.folds import FoldMember, assign_folds
from avalign.benchmark.manifest import source_video_of
from avalign.detection.evidence import LagEvidence
from avalign.detection.timeline import as_estimate, fit_timeline
from avalign.detection.verdict import PosteriorRule, decide
from avalign.media.ffmpeg import ffmpeg_exe

SHARED = REPO.parent / "shared" / "realdev"
SHIFTS_MS = (0, 300, -300, 1000, -1000)
#: Verdicts that say the timing is wrong; the bar judges the first only, as detect does.
TIMING = ("time_shift", "drift", "edit")
BARRED = ("time_shift",)
#: An offset this close to the truth (ms) is right.
RIGHT_MS = 100.0


def manifest_rows() -> dict[str, dict[str, str]]:
    """Each real clip's manifest row (category, recording), from both shared manifests."""
    rows = {}
    for name in ("manifest.csv", "manifest-extra.csv"):
        with open(SHARED / name, newline="") as source:
            for row in csv.DictReader(source):
                row.setdefault("source_video", "")
                if not row["source_video"]:
                    row["source_video"] = source_video_of(
                        row["file"], row["source_repo"], row["source_path"]
                    )
                rows[row["file"]] = row
    return rows


def make(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = manifest_rows()
    written = []
    for clip in real_clips():
        if clip.name in rows:
            for shift in SHIFTS_MS:
                name = f"{shift:+05d}__{clip.stem}.mkv"
                target = out / name
                if not target.exists():
                    command = [ffmpeg_exe(), "-y", "-v", "error", "-i", str(clip)]
                    command += ["-itsoffset", f"{shift / 1000:.3f}", "-i", str(clip)]
                    command += ["-map", "0:v:0", "-map", "1:a:0", "-c", "copy", str(target)]
                    if subprocess.run(command, check=False).returncode != 0:
                        print(f"{clip.name}: could not be copied into MKV, skipped")
                        target.unlink(missing_ok=True)
                        continue
                row = rows[clip.name]
                written.append(
                    {
                        "file": name,
                        "clip": clip.name,
                        "shift_ms": shift,
                        "category": row["category"],
                        "source_video": row["source_video"],
                    }
                )
    write_manifest(out, written)
    print(f"{len(written)} files in {out}")


def called_out(record: dict, bar: float) -> bool:
    """Whether the file is called out of sync under the bar."""
    if not record["out_of_sync"]:
        return False
    if record["kind"] in BARRED:  # as `avalign.detection.verdict.barred` judges it
        return float(record.get("p_out_of_sync") or 0.0) >= bar
    return True  # drifts, edits and sound problems (mute, silent, noise) are not barred


def fit_bar(files: list[dict], max_false_alarm: float) -> float:
    """The least bar keeping in-sync files called out of sync at or under ``max_false_alarm``."""
    in_sync = [f for f in files if f["shift_ms"] == 0]
    candidates = sorted({0.0, 1.0 + 1e-9} | {float(f.get("p_out_of_sync") or 0.0) for f in files})
    for bar in candidates:
        alarms = sum(called_out(f, bar) for f in in_sync)
        if alarms <= max_false_alarm * len(in_sync):
            return bar
    return candidates[-1]


def figures(files: list[dict], bars: dict[int, float]) -> list[str]:
    """The pooled figures of ``files`` (each judged with its own fold's bar)."""
    lines = []
    in_sync = [f for f in files if f["shift_ms"] == 0]
    alarms = sum(called_out(f, bars[f["fold"]]) for f in in_sync)
    lines.append(f"in-sync files called out of sync: {interval(alarms, len(in_sync))}")
    decided = right = cannot = 0
    for f in files:
        out = called_out(f, bars[f["fold"]])
        said_in_sync = f["out_of_sync"] is False
        if out or said_in_sync:
            decided += 1
            if f["shift_ms"] == 0:
                right += said_in_sync
            else:
                right += out and f["kind"] in TIMING and _sign_right(f)
        else:
            cannot += 1
    lines.append(f"right when a verdict is given: {interval(right, decided)}")
    lines.append(f"cannot tell (or below the bar): {interval(cannot, len(files))}")
    for size in (1000, 300):
        for label, chosen in (("all", None), ("talking heads", "talking-head")):
            shifted = [
                f
                for f in files
                if abs(f["shift_ms"]) == size and (chosen is None or f["category"] == chosen)
            ]
            caught = [
                f
                for f in shifted
                if called_out(f, bars[f["fold"]]) and f["kind"] in TIMING and _sign_right(f)
            ]
            share = interval(len(caught), len(shifted))
            lines.append(f"{size} ms shifts caught, right sign, {label}: {share}")
            if size == 1000 and label == "all":
                close = sum(
                    abs(float(f["offset_ms"]) - f["shift_ms"]) <= RIGHT_MS
                    for f in caught
                    if f.get("offset_ms") is not None
                )
                share = interval(close, len(caught))
                lines.append(f"  offsets within 100 ms among those caught: {share}")
    return lines


def _sign_right(record: dict) -> bool:
    offset = record.get("offset_ms")
    return offset is not None and np.sign(float(offset)) == np.sign(record["shift_ms"])


def benchmark_folds(bench: Path) -> dict[str, int]:
    """Clip file name -> fold, as the benchmark run in ``bench`` folded them (its ``folds.csv``)."""
    with open(bench / "folds.csv", newline="") as source:
        return {Path(row["path"]).name: int(row["fold"]) for row in csv.DictReader(source)}


def detect_folds(folder: Path, bench: Path, tag: str) -> None:
    """Check every file with the fold model that never saw its clip (one detect run per fold)."""
    folds = benchmark_folds(bench)
    with open(folder / "manifest.csv", newline="") as source:
        rows = list(csv.DictReader(source))
    by_fold = defaultdict(list)
    for row in rows:
        by_fold[folds[row["clip"]]].append(str(folder / row["file"]))
    for fold, files in sorted(by_fold.items()):
        target = folder / f"detect-{tag}.fold{fold}.json"
        checkpoint = bench / "models" / f"{tag}-fold{fold}.ckpt"
        command = [sys.executable, "-m", "avalign.detect", *files, "--json", str(target)]
        command += [f"source={checkpoint}", "workers=2", "progress=false", "resume=true"]
        command += ["evidence=true", "out_of_sync_at=0"]  # no bar: the fit sets it
        print(f"fold {fold}: {len(files)} files with {checkpoint.name}", flush=True)
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL)


def ece(files: list[dict], bins: int = 10) -> float:
    """Expected calibration error of ``p_out_of_sync`` against the truth (shifted or not)."""
    scored = [f for f in files if f.get("p_out_of_sync") is not None]
    p = np.array([float(f["p_out_of_sync"]) for f in scored])
    truth = np.array([f["shift_ms"] != 0 for f in scored], dtype=float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        chosen = which == b
        if chosen.any():
            error += chosen.mean() * abs(p[chosen].mean() - truth[chosen].mean())
    return float(error)


def replayed(record: dict, weight: float, fps: float, until_s: float | None = None) -> dict:
    """The file's verdict as detect gives it with ``evidence_weight=weight``, from the lag evidence
    its JSON holds (``evidence=true``), through detect's own functions; sound verdicts (mute,
    silent, noise) come before the lag evidence and stay."""
    evidence = record.get("lag_evidence")
    if evidence is None or record["kind"] in ("mute", "silent", "noise"):
        return record
    centres = np.asarray(evidence["centres_s"], dtype=float)
    keep = np.ones(centres.size, dtype=bool)
    if until_s is not None:  # the file cut to its first until_s seconds: the windows inside
        half = 0.5 * (record["windows"][0]["end_s"] - record["windows"][0]["start_s"])
        keep = centres + half <= until_s + 1e-6
        if not keep.any():
            return {**record, "kind": "cannot_tell", "out_of_sync": None, "p_out_of_sync": None}
    lags = LagEvidence(
        centres[keep],
        np.asarray(evidence["lags_ms"], dtype=float),
        np.asarray(evidence["loglik"], dtype=float)[keep],
        weight=float(evidence["weight"]) * weight,
        method="lag_head",
        resolution_ms=evidence.get("resolution_ms"),
    )
    timeline = fit_timeline(lags)
    estimate = as_estimate(timeline, "lag_head")
    verdict = decide([], True, estimate, 1000.0 / fps, timeline, PosteriorRule())
    offset = verdict.offset_ms if verdict.kind == "drift" else estimate.offset_ms
    return {
        **record,
        "kind": verdict.kind,
        "out_of_sync": verdict.out_of_sync,
        "p_out_of_sync": verdict.p_out_of_sync,
        "offset_ms": offset,
    }


def caught(files: list[dict], bar: float) -> int:
    """Shifted files called out of sync with the right sign under ``bar``."""
    return sum(
        called_out(f, bar) and f["kind"] in TIMING and _sign_right(f)
        for f in files
        if f["shift_ms"] != 0
    )


def choose(files: list[dict], replays: dict[float, list[dict]], max_false_alarm: float, keep):
    """(weight, bar) that catch the most shifts among ``keep`` files with the false-alarm bound."""
    best = None
    for weight, records in replays.items():
        chosen = [r for r in records if keep(r)]
        bar = fit_bar(chosen, max_false_alarm)
        score = caught(chosen, bar)
        if best is None or score > best[0]:
            best = (score, weight, bar)
    return best[1], best[2]


def tempering(files: list[dict], weights: list[float], max_false_alarm: float, fps: float):
    """Cross-fit the evidence weight with the bar: for each fold, the pair that catches the most
    shifts on the other folds; the held-out figures pooled, then the pair fitted on all folds."""
    replays = {w: [replayed(f, w, fps) for f in files] for w in weights}
    for weight, records in replays.items():
        bar = fit_bar(records, max_false_alarm)
        print(f"  evidence_weight {weight:g}: ECE {ece(records):.3f}, bar on all folds {bar:.4f}")
    chosen = {
        fold: choose(files, replays, max_false_alarm, lambda r, fold=fold: r["fold"] != fold)
        for fold in sorted({f["fold"] for f in files})
    }
    print(
        "  chosen on the other folds: "
        + ", ".join(f"fold {k}: weight {w:g}, bar {b:.4f}" for k, (w, b) in chosen.items())
    )
    pooled = [r for k, (w, _) in chosen.items() for r in replays[w] if r["fold"] == k]
    print("  held-out folds, pooled, each with its own fold's weight and bar:")
    lines = figures(pooled, {k: b for k, (_, b) in chosen.items()})
    lines.append(f"ECE of p_out_of_sync: {ece(pooled):.3f}")
    for line in lines:
        print("    " + line)
    print("  by length (the files cut, each fold's weight and bar):")
    by_length(files, chosen, fps)
    weight, bar = choose(files, replays, max_false_alarm, lambda r: True)
    print(f"  fitted on all folds (to ship): evidence_weight {weight:g}, out_of_sync_at {bar:.4f}")
    return weight, replays[weight], lines


#: Lengths the files are cut to (s) for the figures by length; None: the whole file.
LENGTHS = (5.0, 10.0, 20.0, None)


def by_length(files: list[dict], chosen: dict[int, tuple[float, float]], fps: float) -> None:
    """False alarms and catches with the files cut to their first 5, 10, 20 s and whole (each
    cut: the windows that lie inside it), held-out bars: summed evidence must not grow
    overconfident as files get longer. Only files at least that long count for a cut."""
    for length in LENGTHS:
        long_enough = [f for f in files if length is None or f["duration_s"] >= length - 0.05]
        cut = [replayed(f, chosen[f["fold"]][0], fps, length) for f in long_enough]
        in_sync = [f for f in cut if f["shift_ms"] == 0]
        alarms = sum(called_out(f, chosen[f["fold"]][1]) for f in in_sync)
        shifted = [f for f in cut if abs(f["shift_ms"]) == 1000]
        hits = sum(
            called_out(f, chosen[f["fold"]][1]) and f["kind"] in TIMING and _sign_right(f)
            for f in shifted
        )
        name = "whole" if length is None else f"{length:g} s"
        print(
            f"    {name}: in-sync called out {interval(alarms, len(in_sync))}; "
            f"1 s caught {interval(hits, len(shifted))}; ECE {ece(cut):.3f}"
        )


def tradeoff_plot(files: list[dict], target: Path) -> None:
    """Per category, as the bar moves: in-sync files called out of sync against 1 s and 300 ms
    shifts caught with the right sign; and right-when-decided against the share decided (every
    file, the verdicts of the models that never saw the file's clip)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = np.linspace(0.0, 1.0, 201)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    groups = [("all", files)] + [
        (c, [f for f in files if f["category"] == c])
        for c in sorted({f["category"] for f in files})
    ]
    for name, chosen in groups:
        in_sync = [f for f in chosen if f["shift_ms"] == 0]
        shifted = [f for f in chosen if f["shift_ms"] != 0]
        if not in_sync or not shifted:
            continue
        alarms = [sum(called_out(f, b) for f in in_sync) / len(in_sync) for b in bars]
        hits = [caught(shifted, b) / len(shifted) for b in bars]
        width = 2.5 if name == "all" else 1.2
        left.plot(alarms, hits, lw=width, label=f"{name} ({len(chosen)} files)")
        decided, right_share = [], []
        for b in bars:
            out = [called_out(f, b) for f in chosen]
            said = [o or f["out_of_sync"] is False for o, f in zip(out, chosen, strict=True)]
            good = [
                (f["shift_ms"] == 0 and f["out_of_sync"] is False)
                or (o and f["shift_ms"] != 0 and f["kind"] in TIMING and _sign_right(f))
                for o, f in zip(out, chosen, strict=True)
            ]
            n = sum(said)
            decided.append(n / len(chosen))
            right_share.append(sum(good) / n if n else np.nan)
        right.plot(decided, right_share, lw=width, label=name)
    left.axvline(0.02, color="grey", ls=":", lw=1)
    left.set(
        xlabel="in-sync files called out of sync",
        ylabel="shifted files caught, right sign",
        title="false alarms against catches, as the bar moves",
    )
    right.set(
        xlabel="share of files given a verdict",
        ylabel="right when a verdict is given",
        title="right-when-decided against the share decided",
    )
    left.legend(fontsize=8)
    for axes in (left, right):
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
    print(f"trade-off plot: {target}")


#: The bounds on false alarms whose bars a calibration file holds (detect's ``max_false_alarm``).
BOUNDS = (0.01, 0.02, 0.05, 0.1)


def write_calibration(
    path: Path, weight: float, files: list[dict], held_out: list[str], command: str
) -> None:
    """The calibration detect reads beside the model (`avalign.detection.calibration`)."""
    ins = sum(f["shift_ms"] == 0 for f in files)
    data = {
        "evidence_weight": weight,
        "out_of_sync_at": {f"{b:g}": round(fit_bar(files, b), 4) for b in BOUNDS},
        "made_by": command,
        "files": len(files),
        "in_sync_files": ins,
        "clips": len({f["clip"] for f in files}),
        "held_out_at_0.02": held_out,
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"calibration written: {path}")


def fit(
    folder: Path,
    max_false_alarm: float,
    reports: list[Path],
    bench: Path | None,
    weights: list[float] | None = None,
    write: Path | None = None,
) -> None:
    report = {"files": []}
    for path in reports:
        loaded = json.loads(path.read_text())
        report["files"] += loaded["files"]
        fps = float(loaded["model"]["feature_fps"])
    with open(folder / "manifest.csv", newline="") as source:
        rows = {row["file"]: row for row in csv.DictReader(source)}
    members = {
        row["clip"]: FoldMember(row["clip"], row["source_video"], row["category"])
        for row in rows.values()
    }
    if bench is not None:
        folds = benchmark_folds(bench)
    else:
        folds = assign_folds(members.values(), k=5, seed=0)
    files = []
    for record in report["files"]:
        row = rows.get(Path(record["path"]).name)
        if row is None or record["status"] != "ok":
            continue
        record.update(
            shift_ms=int(row["shift_ms"]),
            category=row["category"],
            fold=folds[row["clip"]],
            clip=row["clip"],
        )
        files.append(record)
    by_fold = defaultdict(list)
    for f in files:
        by_fold[f["fold"]].append(f)
    bars = {
        fold: fit_bar([f for f in files if f["fold"] != fold], max_false_alarm) for fold in by_fold
    }
    print(f"{len(files)} files from {len(members)} clips; max_false_alarm {max_false_alarm}")
    fitted = ", ".join(f"{k}: {v:.4f}" for k, v in sorted(bars.items()))
    print(f"bars fitted on the other folds: {fitted}")
    print("held-out folds, pooled, with the bar:")
    for line in figures(files, bars):
        print("  " + line)
    print("the same files without a bar (the packaged default):")
    for line in figures(files, dict.fromkeys(bars, 0.0)):
        print("  " + line)
    print(f"bar fitted on all folds: {fit_bar(files, max_false_alarm):.4f}")
    print(f"ECE of p_out_of_sync (10 bins, every file): {ece(files):.3f}")
    print("per category, held-out bars (in-sync called out | 1 s caught, right sign):")
    for category in sorted({f["category"] for f in files}):
        chosen = [f for f in files if f["category"] == category]
        in_sync = [f for f in chosen if f["shift_ms"] == 0]
        second = [f for f in chosen if abs(f["shift_ms"]) == 1000]
        alarms = sum(called_out(f, bars[f["fold"]]) for f in in_sync)
        hits = sum(
            called_out(f, bars[f["fold"]]) and f["kind"] in TIMING and _sign_right(f)
            for f in second
        )
        print(f"  {category}: {interval(alarms, len(in_sync))} | {interval(hits, len(second))}")
    tradeoff_plot(files, folder / f"tradeoff-{reports[0].name.split('.')[0]}.png")
    shipped, shipped_files, held_out = 1.0, files, figures(files, bars)
    held_out.append(f"ECE of p_out_of_sync: {ece(files):.3f}")
    if weights and all("lag_evidence" in f for f in files):
        print("tempered evidence (evidence_weight) cross-fitted with the bar:")
        shipped, shipped_files, held_out = tempering(files, weights, max_false_alarm, fps)
    if write is not None:
        command = "python experiments/decision_calibration.py " + " ".join(sys.argv[1:])
        write_calibration(write, shipped, shipped_files, held_out, command)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    making = commands.add_parser("make")
    making.add_argument("--out", type=Path, default=REPO / "data/decision_calibration")
    folding = commands.add_parser("detect-folds")
    fitting = commands.add_parser("fit")
    for sub in (folding, fitting):
        sub.add_argument("--folder", type=Path, default=REPO / "data/decision_calibration")
        sub.add_argument("--bench", type=Path, help="a benchmark run's folder (its fold models)")
        sub.add_argument("--tag", default="lagnet", help="the fold models' name in the benchmark")
    fitting.add_argument("--max-false-alarm", type=float, default=0.02)
    fitting.add_argument(
        "--weights",
        default="1,0.5,0.25,0.125,0.0625",
        help="evidence weights to cross-fit (files checked with evidence=true)",
    )
    fitting.add_argument(
        "--write", type=Path, help="write the shipped rule as a calibration JSON (beside a model)"
    )
    args = parser.parse_args()
    if args.command == "make":
        make(args.out)
    elif args.command == "detect-folds":
        if args.bench is None:
            parser.error("detect-folds needs --bench")
        detect_folds(args.folder, args.bench, args.tag)
    else:
        if args.bench is None:
            reports = [args.folder / "detect.json"]
        else:
            reports = sorted(args.folder.glob(f"detect-{args.tag}.fold*.json"))
        weights = [float(w) for w in args.weights.split(",")]
        fit(args.folder, args.max_false_alarm, reports, args.bench, weights, args.write)


if __name__ == "__main__":
    main()
