"""File-level benchmark: whole files, made from each clip, checked by ``avalign.detect``.

A QA user does not score windows, they run ``detect`` on files. From every clip we write one file
per variant: in sync, audio late and early by 0.3 s and 1 s, muted, and with noise added. All
variants of a clip show the same picture, ``[m, duration - m)`` with ``m`` the largest offset, and
hear the clip's own sound from the shifted time, so they have the same length and nothing is
padded; every file goes through the same encoder with the same settings (`samples.materialize`).
Then ``python -m avalign.detect`` runs on them in a subprocess, exactly as a user types it, and
its JSON report is compared with the truth.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avalign.batch.parallel import parallel_map
from avalign.benchmark.metrics import (
    weighted_auroc,
    weighted_bootstrap,
    weighted_mean,
    weighted_median,
)
from avalign.benchmark.windows import BenchmarkClip, offset_fits
from avalign.samples.materialize import MaterializeJob, materialize_video, sample_file
from avalign.samples.plan import SampleSpec, group_by_video
from avalign.storage.fingerprint import stable_int

log = logging.getLogger(__name__)

#: audio rate of the written files, Hz (one encoder setting for every variant)
FILE_SAMPLE_RATE = 44100
#: shortest file worth checking, s
MIN_FILE_S = 2.0


@dataclass(frozen=True)
class FileVariant:
    """One way of writing a clip: its name, its truth and the sample that makes it."""

    name: str  # "sync", "late300", "early1000", "mute", "noise"
    kind: str  # "None" | "time_shift" | "mute" | "noise"
    offset_ms: float


def variants(offsets_ms: list[float], mute: bool, noise: bool) -> list[FileVariant]:
    """The file variants: in sync, each offset (positive = late), then mute and noise."""
    out = [FileVariant("sync", "None", 0.0)]
    for offset in sorted(offsets_ms, key=lambda o: (abs(o), o)):
        if offset:
            side = "late" if offset > 0 else "early"
            out.append(FileVariant(f"{side}{abs(round(offset))}", "time_shift", float(offset)))
    if mute:
        out.append(FileVariant("mute", "mute", 0.0))
    if noise:
        out.append(FileVariant("noise", "noise", 0.0))
    return out


def plan_files(
    clips: list[BenchmarkClip], kinds: list[FileVariant], seed: int, snr_db: tuple[float, float]
) -> list[SampleSpec]:
    """One sample per clip and variant; clips too short for every variant are left out whole,
    so that every variant is measured on the same clips."""
    margin = max([abs(v.offset_ms) for v in kinds] + [0.0]) / 1000.0
    specs = []
    for clip in clips:
        start, end = margin, round(min(clip.picture_s, clip.sound_s) - margin, 6)
        if end - start < MIN_FILE_S or not all(
            offset_fits(clip, start, v.offset_ms, end - start) for v in kinds
        ):
            continue
        rng = np.random.default_rng([seed, stable_int(clip.clip_id), 7])
        for variant in kinds:
            extra: dict = {}
            if variant.kind == "time_shift":
                extra["offset_ms"] = variant.offset_ms
            elif variant.kind == "noise":
                extra["snr_db"] = round(float(rng.uniform(*snr_db)), 2)
                extra["noise_seed"] = int(rng.integers(2**31))
            specs.append(
                SampleSpec(
                    sample_id=f"{clip.clip_id}__{variant.name}",
                    video_id=clip.clip_id,
                    category=clip.category,
                    split="all",
                    source_path=clip.path,
                    start_s=start,
                    end_s=end,
                    label=1 if variant.kind == "None" else 0,
                    misalignment=variant.kind,
                    source_duration_s=clip.picture_s,
                    **extra,
                )
            )
    return specs


def materialize_files(
    specs: list[SampleSpec], root: Path, out_dir: Path, *, workers: int, progress: bool
) -> dict[str, Path]:
    """Write every planned file (kept when already there); ``sample_id -> path`` when written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        MaterializeJob(root / group[0].source_path, group, out_dir, FILE_SAMPLE_RATE)
        for group in group_by_video(specs)
    ]
    written: dict[str, Path] = {}
    spec_of = {s.sample_id: s for s in specs}
    for outcome in parallel_map(
        materialize_video, jobs, workers=workers, desc="write files", unit="clip", progress=progress
    ):
        if outcome.error is not None:
            log.error("%s: %s", outcome.item.source, outcome.error)
            continue
        for sample_id, problem in outcome.result:
            if problem is None:
                written[sample_id] = sample_file(out_dir, spec_of[sample_id])
            else:
                log.error("%s: %s", sample_id, problem)
    return written


def run_detect(files: list[Path], report: Path, overrides: list[str]) -> dict:
    """``python -m avalign.detect FILES --json REPORT key=value...`` in a subprocess; its report.

    The exit status says what detect found (1: some file out of sync), so only a missing report
    is an error.
    """
    if report.is_file():
        return json.loads(report.read_text(encoding="utf-8"))
    report.parent.mkdir(parents=True, exist_ok=True)
    partial = report.with_suffix(".partial.json")
    command = [
        sys.executable,
        "-m",
        "avalign.detect",
        *map(str, files),
        "--json",
        str(partial),
        "progress=false",
        *overrides,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if not partial.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"detect wrote no report (exit {done.returncode}): {tail[0]}")
    partial.replace(report)
    return json.loads(report.read_text(encoding="utf-8"))


def file_score(record: dict) -> float:
    """A file's probability of being out of sync: detect's own when it gives one, else the mean
    of its windows'."""
    if record.get("p_out_of_sync") is not None:
        return float(record["p_out_of_sync"])
    windows = record.get("windows") or []
    return float(np.mean([w["p_out_of_sync"] for w in windows])) if windows else 1.0


def file_figures(
    records: dict[str, dict], specs: list[SampleSpec], kinds: list[FileVariant], resamples: int
) -> dict:
    """Agreement per variant, file AUROC (in sync against shifted) and offset error, each with a
    bootstrap interval over clips."""
    chosen = [s for s in specs if s.sample_id in records and records[s.sample_id]["status"] == "ok"]
    clips = sorted({s.video_id for s in chosen})
    clip = np.array([clips.index(s.video_id) for s in chosen])
    variant = np.array([s.sample_id.rsplit("__", 1)[1] for s in chosen])
    truth_out = np.array([s.label == 0 for s in chosen])
    called_out = np.array([bool(records[s.sample_id]["out_of_sync"]) for s in chosen])
    cannot_tell = np.array([records[s.sample_id].get("kind") == "cannot_tell" for s in chosen])
    score = np.array([file_score(records[s.sample_id]) for s in chosen])
    true_offset = np.array([0.0 if s.misalignment != "time_shift" else s.offset_ms for s in chosen])
    offset = np.array(
        [
            np.nan
            if records[s.sample_id].get("offset_ms") is None
            else float(records[s.sample_id]["offset_ms"])
            for s in chosen
        ]
    )
    agree = (called_out == truth_out) & ~cannot_tell
    functions = {}
    for kind in kinds:
        rows = variant == kind.name
        functions[f"agree/{kind.name}"] = lambda w, r=rows: weighted_mean(agree[r], w[r])
        functions[f"cannot_tell/{kind.name}"] = lambda w, r=rows: weighted_mean(
            cannot_tell[r], w[r]
        )
    pair = np.isin(variant, [k.name for k in kinds if k.kind in ("None", "time_shift")])
    shifted = np.isin(variant, [k.name for k in kinds if k.kind == "time_shift"])
    functions["file_auroc"] = lambda w: weighted_auroc(score[pair], shifted[pair], w[pair])
    synced = variant == "sync"
    functions["synced_called_out"] = lambda w: weighted_mean(called_out[synced], w[synced])
    decided = ~cannot_tell
    functions["right_when_decided"] = lambda w: weighted_mean(agree[decided], w[decided])
    functions["cannot_tell"] = lambda w: weighted_mean(cannot_tell, w)
    known = shifted & ~np.isnan(offset)
    functions["offset_err_ms"] = lambda w: weighted_median(
        np.abs(offset - true_offset)[known], w[known]
    )
    functions["offset_within_40ms"] = lambda w: weighted_mean(
        np.abs(offset - true_offset)[known] <= 40.0, w[known]
    )
    figures = weighted_bootstrap(functions, clip, resamples)
    return {"figures": figures, "clips": len(clips), "files": len(chosen)}


def file_reliability(
    records: dict[str, dict], specs: list[SampleSpec], out_dir: Path, label: str
) -> dict:
    """Reliability of detect's ``p_out_of_sync`` over every file it checked (in sync, shifted,
    muted, noisy): the diagram as ``plots/reliability-<label>.png`` and its ECE."""
    import matplotlib.pyplot as plt

    from avalign.benchmark.plots import reliability_figure

    chosen = [s for s in specs if records.get(s.sample_id, {}).get("p_out_of_sync") is not None]
    if not chosen:
        return {"ece": None, "files": 0, "plot": None}
    probability = np.array([records[s.sample_id]["p_out_of_sync"] for s in chosen])
    outcome = np.array([s.label == 0 for s in chosen])
    figure, ece = reliability_figure(probability, outcome, f"{label}: files, p(out of sync)")
    target = out_dir / "plots" / f"reliability-{label.replace(' ', '_').replace('/', '-')}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=90)
    plt.close(figure)
    return {"ece": round(ece, 4), "files": len(chosen), "plot": str(target)}
