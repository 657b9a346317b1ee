"""How well ``avalign.fix`` re-syncs files with known shifts; how well ``detect`` measures drift.

    python experiments/fix_accuracy.py [--source RUN_OR_CKPT] [--detect key=value ...]
        [--clips 6] [--clip-seconds 30] [--drift-clips 2] [--drift-seconds 90]
        [--real DIR] [--real-limit 20] [--real-shifts -1000,-300,300,1000] [--out DIR]

Makes test files, runs ``fix`` on each exactly as the command does (detect IN, move the sound,
write OUT, detect OUT), and prints:

- **shifts**: synthetic clips (`make_clip_spec`, one category after another, distractors on)
  with their sound taken from a shifted time of the clip's own track (picture and sound share
  the whole file, never padded) by each of ``--shifts`` (ms, 0 included: in-sync files that must
  be left alone), encoded like ``generate.materialize`` does. Per file: accepted or refused, the
  residual offset after the fix (truth minus the applied offset: exact, not detected), whether
  detect calls OUT in sync, and whether OUT's video packets equal IN's byte for byte.
- **drift**: longer synthetic clips whose sound plays at a known tempo (``--tempos``; offset
  ``t (1 / tempo - 1)``, 0 at 00:00): the drift that detect reports, its confidence and error,
  and the residual after ``fix`` (RMS over the file of truth minus the applied correction).
- **given offsets**: the same shifted files fixed with the true ``offset_ms`` given: the lag
  between OUT's sound and the in-sync file's (the fix's own accuracy, without detection).
- **real** (``--real DIR``, e.g. ``data/realdev/raw``): the same as shifts on real clips (the
  sound from the shifted time of the clip's own track; the largest shift, plus 50 ms, cut at
  both ends; clips shorter than 4 s after the cuts, or silent, are skipped).

The detector is detect's default (the packaged LagNet), or ``--source`` (a trained run or
checkpoint; ``null``: the training-free cross-correlation), plus any detect key as
``--detect key=value``. Files go under ``--out`` (default
``data/experiments/fix_accuracy``; never commit them).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import av
import numpy as np
from hydra import compose, initialize_config_dir
from tqdm.auto import tqdm

from avalign.datasets.synthetic import write_clip
from avalign.datasets.synthetic.config import CATEGORIES
from avalign.datasets.synthetic.plan import make_clip_spec
from avalign.detection.check import load_detector
from avalign.fixing.resync import fix_file
from avalign.media.decode import decode_audio
from avalign.media.errors import MediaError
from avalign.media.probe import probe_media
from avalign.samples.materialize import encode_sample
from avalign.samples.perturb import change_tempo, source_window
from avalign.samples.plan import SampleSpec
from avalign.storage.config import config_dir

SR = 48000
SHIFTS = (-2000, -1000, -300, -100, 0, 100, 300, 1000, 2000)
TEMPOS = (0.9999, 1.0001, 0.999, 1.001, 0.99, 1.01, 0.97, 1.03)
MIN_FILE_S = 4.0  # shorter test files are not made (a clip must be this long after the cuts)
WITHIN_MS = 40.0


def spec(name: str, start: float, end: float) -> SampleSpec:
    return SampleSpec(name, "v", "x", "test", "v.mp4", start, end, 1, "None")


def shifted_file(
    source: Path, audio: np.ndarray, offset_ms: float, target: Path, margin_s: float
) -> Path:
    """``source`` without ``margin_s`` at each end, its sound ``offset_ms`` late (never padded)."""
    duration = probe_media(source).duration_s
    start, end = margin_s, duration - margin_s
    if end - start < MIN_FILE_S:
        raise ValueError(f"clip too short: {duration:.1f} s")
    if not float(np.abs(audio).max(initial=0.0)) > 0:
        raise ValueError("no sound in the clip")
    if not target.is_file():
        sound = source_window(audio, SR, start - offset_ms / 1000.0, round((end - start) * SR))
        encode_sample(source, spec(target.stem, start, end), sound, SR, target)
    return target


def drifting_file(source: Path, audio: np.ndarray, tempo: float, target: Path) -> Path:
    """``source`` whose sound plays at ``tempo`` from 00:00 (padded with silence at the end)."""
    if not target.is_file():
        duration = probe_media(source).duration_s
        length = round(duration * SR)
        padded = np.concatenate([audio, np.zeros(int(0.1 * length) + SR, np.float32)])
        sound = change_tempo(padded, SR, 0.0, length, tempo)
        encode_sample(source, spec(target.stem, 0.0, duration), sound, SR, target)
    return target


def video_identical(a: Path, b: Path) -> bool:
    def packets(path):
        with av.open(str(path)) as container:
            return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]

    return packets(a) == packets(b)


def synthetic_clip(folder: Path, index: int, seconds: float) -> Path:
    category = CATEGORIES[index % len(CATEGORIES)]
    target = folder / f"clip{index:02d}_{category}_{seconds:g}s.mp4"
    if not target.is_file():
        clip = make_clip_spec(
            category,
            width=320,
            height=240,
            fps=25,
            sample_rate=SR,
            seed=index,
            event=(0, int(seconds)),
            duration_s=seconds,
        )
        write_clip(clip, target)
    return target


def fix_one(source: Path, target: Path, detector, cfg) -> dict:
    target.unlink(missing_ok=True)
    return fix_file(source, target, detector, cfg)


def margin_of(shifts) -> float:
    """Seconds cut from each end of a clip so that every shifted sound stays inside its track."""
    return max(abs(s) for s in shifts) / 1000.0 + 0.05


def shift_rows(sources: list[Path], shifts, folder: Path, detector, cfg, label: str) -> list[dict]:
    rows = []
    folder.mkdir(parents=True, exist_ok=True)
    margin = margin_of(shifts)
    jobs = [(s, o) for s in sources for o in shifts]
    audio_of: dict[Path, np.ndarray] = {}
    for source, offset in tqdm(jobs, desc=label, unit="file"):
        try:
            if source not in audio_of:
                audio_of = {source: decode_audio(source, SR)}
            made = shifted_file(
                source, audio_of[source], offset, folder / f"{source.stem}_{offset:+d}.mp4", margin
            )
        except (MediaError, ValueError) as error:
            print(f"skipped {source.name} {offset:+d} ms: {error}")
            continue
        result = fix_one(made, folder / "fixed" / made.name, detector, cfg)
        row = {"file": made.name, "truth_ms": offset, "status": result["status"]}
        row["reason"] = result.get("reason")
        if result["status"] == "fixed":
            applied = result["plan"]["offset_ms"]
            row["residual_ms"] = offset - applied
            row["check_in_sync"] = not result["check"]["out_of_sync"]
            row["check_offset_ms"] = result["check"]["offset_ms"]
            row["video_identical"] = video_identical(made, Path(result["out"]))
        rows.append(row)
    return rows


def oracle_rows(sources: list[Path], shifts, folder: Path, detector, cfg) -> list[dict]:
    """The true offset given (``offset_ms=``): OUT's sound against the in-sync file's, by xcorr."""
    from omegaconf import OmegaConf

    rows = []
    for source in tqdm(sources, desc="given offsets", unit="clip"):
        synced = folder / f"{source.stem}_+0.mp4"
        if not synced.is_file():
            continue
        reference = decode_audio(synced, 16000)
        for offset in (o for o in shifts if o):
            made = folder / f"{source.stem}_{offset:+d}.mp4"
            given = OmegaConf.merge(cfg, {"offset_ms": float(offset), "check": False})
            result = fix_one(made, folder / "given" / made.name, detector, given)
            if result["status"] != "fixed":
                continue
            moved = decode_audio(Path(result["out"]), 16000)
            n = min(moved.size, reference.size)
            keep = slice(abs(offset) * 16, n - abs(offset) * 16)  # where both have sound
            spectrum = np.fft.rfft(moved[keep], 2 * n) * np.conj(
                np.fft.rfft(reference[keep], 2 * n)
            )
            lags = np.fft.irfft(spectrum, 2 * n)
            lag = int(np.argmax(lags))
            lag = lag if lag < n else lag - 2 * n
            rows.append({"file": made.name, "truth_ms": offset, "lag_ms": lag / 16.0})
    return rows


def given_offsets(sources, shifts, folder, detector, cfg) -> None:
    given = oracle_rows(sources, shifts, folder, detector, cfg)
    worst = max((abs(r["lag_ms"]) for r in given), default=float("nan"))
    print(
        f"with the true offset given (offset_ms=): {len(given)} files fixed; OUT's sound against "
        f"the in-sync file's: largest |lag| {worst:.2f} ms (16 kHz cross-correlation)"
    )


def summarise_shifts(rows: list[dict], title: str) -> None:
    print(f"\n## {title}: {len(rows)} files")
    print("| truth (ms) | files | accepted | within 40 ms (of accepted) | median abs residual | "
          "detect says in sync after | video identical |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    groups = defaultdict(list)
    for row in rows:
        groups[row["truth_ms"]].append(row)
    for truth in [*sorted(groups), "all shifts"]:
        group = [r for r in rows if r["truth_ms"] != 0] if truth == "all shifts" else groups[truth]
        fixed = [r for r in group if r["status"] == "fixed"]
        within = sum(abs(r["residual_ms"]) <= WITHIN_MS for r in fixed)
        median = statistics.median(abs(r["residual_ms"]) for r in fixed) if fixed else None
        print(
            f"| {truth} | {len(group)} | {len(fixed)} ({len(fixed) / max(1, len(group)):.0%}) | "
            f"{within} ({within / max(1, len(fixed)):.0%}) | "
            + (f"{median:.0f} ms" if median is not None else "-")
            + f" | {sum(r['check_in_sync'] for r in fixed)} | "
            f"{sum(r['video_identical'] for r in fixed)} of {len(fixed)} |"
        )
    reasons = defaultdict(int)
    for row in rows:
        if row["status"] != "fixed":
            reasons[(row["reason"] or "").split(" (")[0].split(":")[0][:60]] += 1
    if reasons:
        print("refused or failed, by reason:", dict(reasons))


def drift_rows(sources: list[Path], tempos, folder: Path, detector, cfg) -> list[dict]:
    rows = []
    folder.mkdir(parents=True, exist_ok=True)
    from avalign.detection.check import check_file

    for source in sources:
        audio = decode_audio(source, SR)
        for tempo in tqdm(tempos, desc=f"drift {source.stem}", unit="file"):
            made = drifting_file(source, audio, tempo, folder / f"{source.stem}_tempo{tempo}.mp4")
            truth = 60_000.0 * (1.0 / tempo - 1.0)
            record = check_file(made, detector[0], detector[1], cfg, False)
            row = {
                "file": made.name,
                "tempo": tempo,
                "truth_ms_per_min": truth,
                "kind": record["kind"],
                "verdict": record["verdict"],
                "model": record["offset_model"],
                "drift": record["drift_ms_per_min"],
                "drift_confidence": record["drift_confidence"],
            }
            result = fix_one(made, folder / "fixed" / made.name, detector, cfg)
            row["status"] = result["status"]
            if result["status"] == "fixed":
                plan = result["plan"]
                t = np.linspace(0, probe_media(made).duration_s, 200)
                applied = plan["offset_ms"] + plan["drift_ms_per_min"] / 60.0 * t
                if plan["kind"] == "edit":
                    applied = np.where(
                        t < plan["edit_time_s"], plan["offset_ms"], plan["offset_after_ms"]
                    )
                row["residual_rms_ms"] = float(np.sqrt(np.mean((truth / 60.0 * t - applied) ** 2)))
                row["check"] = result["check"]["verdict"]
            rows.append(row)
    return rows


def summarise_drift(rows: list[dict]) -> None:
    print(f"\n## drift: {len(rows)} files")
    print("| tempo | truth (ms/min) | verdict | drift (ms/min) | confidence | error | fix | "
          "residual RMS | detect after fix |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        error = (
            f"{(r['drift'] - r['truth_ms_per_min']) / abs(r['truth_ms_per_min']):+.0%}"
            if r["drift"] is not None
            else "-"
        )
        residual = f"{r['residual_rms_ms']:.0f} ms" if "residual_rms_ms" in r else "-"
        print(
            f"| {r['tempo']} | {r['truth_ms_per_min']:+.0f} | {r['verdict']} | "
            f"{r['drift']:+.1f} | {r['drift_confidence']} | {error} | {r['status']} | "
            f"{residual} | {r.get('check', '-')} |"
        )
    high = [r for r in rows if r["kind"] == "drift" and r["drift_confidence"] == "high"]
    good = sum(
        abs(r["drift"] - r["truth_ms_per_min"]) <= 0.2 * abs(r["truth_ms_per_min"]) for r in high
    )
    print(f"drift reported with high confidence: {len(high)} of {len(rows)}; within 20%: {good}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        help="model (MLflow run id, .ckpt, packaged, or null: training-free); default: detect's",
    )
    parser.add_argument("--detect", nargs="*", default=[], help="detect settings, key=value")
    parser.add_argument("--clips", type=int, default=6, help="synthetic clips for shifts")
    parser.add_argument("--clip-seconds", type=float, default=30.0)
    parser.add_argument("--shifts", default=",".join(map(str, SHIFTS)), help="ms, comma-separated")
    parser.add_argument("--drift-clips", type=int, default=2)
    parser.add_argument("--drift-seconds", type=float, default=90.0)
    parser.add_argument("--tempos", default=",".join(map(str, TEMPOS)))
    parser.add_argument("--real", help="folder of real clips (in sync), e.g. data/realdev/raw")
    parser.add_argument(
        "--real-limit", type=int, default=20, help="real clips, evenly spread (0: all)"
    )
    parser.add_argument("--real-shifts", default="-1000,-300,0,300,1000")
    parser.add_argument("--out", default="data/experiments/fix_accuracy")
    args = parser.parse_args()
    out = Path(args.out)
    (out / "synthetic").mkdir(parents=True, exist_ok=True)
    overrides = ["progress=false", *args.detect] + (
        [f"source={args.source}"] if args.source else []
    )
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(config_name="fix", overrides=overrides)
    detector = load_detector(cfg)
    print(f"detector: {detector[2]}; feature fps {detector[1].fps:g}; overrides {overrides}")
    started = time.time()
    shifts = [int(s) for s in args.shifts.split(",") if s]
    if args.clips:
        clips = [synthetic_clip(out / "synthetic", i, args.clip_seconds) for i in range(args.clips)]
        folder = out / f"shifts_margin{margin_of(shifts):g}"
        rows = shift_rows(clips, shifts, folder, detector, cfg, "shifts")
        length = args.clip_seconds - 2 * margin_of(shifts)
        summarise_shifts(rows, f"synthetic shifts ({length:g} s files)")
        given_offsets(clips, shifts, folder, detector, cfg)
    if args.drift_clips:
        clips = [
            synthetic_clip(out / "synthetic", 100 + i, args.drift_seconds)
            for i in range(args.drift_clips)
        ]
        tempos = [float(t) for t in args.tempos.split(",") if t]
        summarise_drift(drift_rows(clips, tempos, out / "drift", detector, cfg))
    if args.real:
        real = sorted(Path(args.real).glob("*.mp4"))
        if args.real_limit and len(real) > args.real_limit:  # spread over the whole list
            real = [real[i * len(real) // args.real_limit] for i in range(args.real_limit)]
        shifts = [int(s) for s in args.real_shifts.split(",") if s]
        folder = out / f"real_margin{margin_of(shifts):g}"
        rows = shift_rows(real, shifts, folder, detector, cfg, "real")
        cut = margin_of(shifts)
        summarise_shifts(rows, f"real clips ({len(real)} clips, {cut:g} s cut at each end)")
        given_offsets(real, shifts, folder, detector, cfg)
    print(f"\ntook {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
