"""The work of ``avalign.detect`` on one file: features, windows, evidence, verdict, record.

`check_file` turns one video into its JSON record (schema in the README); `load_detector`
resolves ``source``/``model`` into the detector; `table` prints the batch's verdict lines. The
command line is `avalign.detection.command`, the batch loop `avalign.detection.runner`.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from avalign.datasets.folder import VIDEO_EXTENSIONS, find_videos
from avalign.detection.calibration import decision_settings, read_calibration
from avalign.detection.evidence import phase_shifts_ms, presented, window_evidence
from avalign.detection.meaning import confidence_meaning
from avalign.detection.reasons import cannot_tell_reason
from avalign.detection.timeline import as_estimate, fit_timeline, timeline_record
from avalign.detection.verdict import PosteriorRule, barred, decide, explained
from avalign.detection.windows import (
    global_offset,
    lag_head_offset,
    score_windows_default,
    score_windows_trained,
    window_spans,
)
from avalign.features.config import FeatureConfig
from avalign.features.stream import stream_evidence
from avalign.models.inputs import audio_curve

log = logging.getLogger("avalign.detect")
#: 5: "reason" of a cannot tell, confidence_meaning per verdict; 4: p_out_of_sync per file,
#: "cannot_tell"; 3: the offset model (drift, edit)
SCHEMA_VERSION = 5
EXIT_OUT_OF_SYNC, EXIT_FAILED, EXIT_CANNOT_TELL = 1, 2, 4
#: the most threads ``file_threads=auto`` gives one file (segments shorter than 20 s are not cut)
MAX_FILE_THREADS = 8


def expand(paths: list[str]) -> list[Path]:
    """Files, folders (searched recursively for videos) and glob patterns -> files, in order."""
    found: list[Path] = []
    for item in paths:
        path = Path(item).expanduser()
        if path.is_dir():
            found += find_videos(path, VIDEO_EXTENSIONS)
        elif any(c in item for c in "*?[") and not path.exists():
            found += sorted(Path(p) for p in glob.glob(str(path), recursive=True))
        else:
            found.append(path)  # missing files are reported when read
    return list(dict.fromkeys(found))


def set_threads(count: int) -> None:
    """Torch and OpenCV on ``count`` threads (one is faster here: small models and per-frame work
    leave two threads waiting on each other; measured -3% to -17% CPU time)."""
    import cv2
    import torch

    cv2.setNumThreads(count)
    torch.set_num_threads(count)


def file_threads(cfg) -> int:
    """How many threads share one file's work (``file_threads``; ``auto``: this machine's cores
    shared among the ``workers``, at most `MAX_FILE_THREADS`)."""
    value = cfg.get("file_threads", "auto")
    if value in (None, "auto"):
        workers = max(1, int(cfg.get("workers", 1) or 1))
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return max(1, min(MAX_FILE_THREADS, (cores or 1) // workers))
    return max(1, int(value))


def load_detector(cfg) -> tuple[object | None, FeatureConfig, str]:
    """(trained model or None, feature settings, description) for the configured model."""
    source = cfg.source
    if cfg.get("model") is not None:  # model=<name>: its latest training run, over the default
        from avalign.models.checkpoints import PACKAGED_SOURCE

        if source in (None, PACKAGED_SOURCE):
            source = latest_run(cfg, str(cfg.model.name))
    if source is None:
        return (
            None,
            FeatureConfig(fps=float(cfg.fps), save_frames=False),
            "training-free cross-correlation",
        )
    # imported only now: the training-free default needs neither MLflow nor Lightning
    from avalign.models.checkpoints import load_model, resolve_checkpoint
    from avalign.storage import tracking

    store = tracking.store_of(cfg.logger) if tracking.logs_anywhere(cfg.get("logger")) else None
    checkpoint = resolve_checkpoint(str(source), store)
    model, features = load_model(checkpoint)
    model.calibration = read_calibration(checkpoint)
    if model.calibration is None and getattr(model, "decides_by_lag", False):
        log.info("%s: no calibration beside it: evidence weight 1, no bar on verdicts", checkpoint)
    return (
        model,
        dataclasses.replace(features, save_frames=False),
        f"{type(model).__name__} from {source}",
    )


def latest_run(cfg, model_name: str) -> str:
    """The id of the most recent finished training run of ``model_name`` in the MLflow store."""
    from avalign.storage import tracking

    client = tracking.client(tracking.store_of(cfg.logger))
    experiment = client.get_experiment_by_name(cfg.logger.experiment_name)
    runs = (
        []
        if experiment is None
        else client.search_runs(
            [experiment.experiment_id],
            f"tags.`avalign.model` = '{model_name}' and attributes.status = 'FINISHED'",
            order_by=["start_time DESC"],
            max_results=20,
        )
    )
    runs = [r for r in runs if r.data.tags.get("avalign.role") != "evaluation"]
    if not runs:
        raise SystemExit(
            f"no finished training run of model={model_name} in {tracking.store_of(cfg.logger)}: "
            f"train one (python -m avalign.train model={model_name}) or give source=<run or .ckpt>"
        )
    return runs[0].info.run_id


def check_file(
    path: Path,
    model,
    features_config: FeatureConfig,
    cfg,
    progress: bool,
    extras: dict | None = None,
) -> dict:
    """Everything detect says about one file (raises MediaError when it cannot be read).

    ``extras``, when given, receives what reports and `avalign.fix` need beyond the JSON record:
    the features, the windows, the offset model (``timeline``) and the offset estimate.
    """
    fps = features_config.fps
    bar, weight = decision_settings(cfg, getattr(model, "calibration", None))
    progress_bar = tqdm(
        desc=path.name[:30], unit="step", disable=not progress, leave=False, dynamic_ncols=True
    )
    # the sound at the other phases of the step is read with the rest, in the same pass
    shifts = phase_shifts_ms(1000.0 / fps, int(cfg.get("substeps", 1)))
    try:
        features, info, moved_sound = stream_evidence(
            path,
            features_config,
            tick=progress_bar.update,
            threads=file_threads(cfg),
            audio_shifts_s=tuple(shift / 1000.0 for shift in shifts if shift != 0),
        )
    finally:
        progress_bar.close()
    steps = len(features["flow_energy"])
    spans = window_spans(steps, fps, float(cfg.window_s), float(cfg.hop_s))
    # the picture's changes are shown later than the middle of their steps (25 fps: 20 ms)
    delay = float(features.get("picture_delay_ms", 0.0))
    lag_probabilities: list[dict[int, float]] = []
    if model is None:
        windows = score_windows_default(features, spans, fps, float(cfg.max_lag_s), delay)
    else:
        windows, lag_probabilities = score_windows_trained(model, features, spans, fps, delay)

    def evidence_of(features: dict, lag_probabilities: list[dict[int, float]]):
        return window_evidence(
            features,
            spans,
            windows,
            fps,
            max_lag_s=float(cfg.max_lag_s),
            window_s=float(cfg.window_s),
            hop_s=float(cfg.hop_s),
            lag_probabilities=lag_probabilities,
            temperature=float(cfg.temperature),
        )

    evidence = evidence_of(features, lag_probabilities)
    if evidence is not None:  # the same detector on the sound at other phases of the step
        runs = []
        for shift in shifts:
            if shift == 0:
                runs.append(evidence)
                continue
            moved = {**features, **moved_sound[shift / 1000.0]}
            probabilities = (
                score_windows_trained(model, moved, spans, fps)[1] if model is not None else []
            )
            runs.append(evidence_of(moved, probabilities))
        evidence = presented(runs, shifts, delay)
        # tempered: overlapping windows of one scene are not independent evidence
        tempered = evidence.weight * weight
        evidence = dataclasses.replace(evidence, weight=tempered)
    timeline = fit_timeline(evidence) if evidence is not None else None
    if timeline is not None:  # every usable window's evidence, summed
        estimate = as_estimate(timeline, evidence.method)
    else:
        estimate = (
            lag_head_offset(lag_probabilities, fps)
            if lag_probabilities
            else global_offset(features, fps, float(cfg.max_lag_s))
        )
        estimate = dataclasses.replace(
            estimate, offset_ms=estimate.offset_ms - delay, lags_ms=estimate.lags_ms - delay
        )
    rule = None
    if getattr(model, "decides_by_lag", False):  # judged from the lag posterior of every window
        rule = PosteriorRule(sync_prior=float(cfg.sync_prior), decide_at=float(cfg.decide_at))
    verdict = decide(windows, bool(features["has_audio"]), estimate, 1000.0 / fps, timeline, rule)
    if rule is not None:  # the calibrated bar on time-shift verdicts (conf/detect.yaml)
        verdict = barred(verdict, bar)
    if verdict.kind == "cannot_tell" and verdict.reason is None:  # say why, from the evidence
        reason = cannot_tell_reason(features, info.duration_s, float(cfg.window_s), timeline)
        verdict = explained(verdict, reason)
    p_file = verdict.p_out_of_sync
    if p_file is None and windows:  # detectors without a posterior: the windows' mean
        p_file = float(np.mean([w.p_out_of_sync for w in windows]))
    record = {
        "path": str(path),
        "status": "ok",
        "duration_s": round(info.duration_s, 3),
        "has_audio": bool(features["has_audio"]),
        "verdict": verdict.text,
        "out_of_sync": verdict.out_of_sync,
        "p_out_of_sync": None if p_file is None else round(p_file, 4),
        "kind": verdict.kind,
        "reason": verdict.reason,
        "since_s": verdict.since_s,
        "offset_ms": None
        if verdict.kind in ("mute", "silent", "noise", "edit")
        else round(verdict.offset_ms if verdict.kind == "drift" else estimate.offset_ms, 1),
        "offset_method": estimate.method,
        "offset_strength": round(estimate.strength, 3),
        "confidence": verdict.confidence,
        "confidence_meaning": confidence_meaning(verdict.kind, verdict.confidence),
        **timeline_record(timeline),
        "windows": [
            {**dataclasses.asdict(w), "p_out_of_sync": round(w.p_out_of_sync, 4)} for w in windows
        ],
    }
    if cfg.get("evidence") and evidence is not None:  # for calibration studies
        record["lag_evidence"] = evidence_record(evidence)
    if extras is not None:
        extras.update(
            features=features,
            windows=windows,
            timeline=timeline,
            estimate=estimate,
            info=info,
            rule=rule,
        )
    if cfg.plots:
        from avalign.detection.plots import detection_figure

        folder = Path(cfg.plots)
        folder.mkdir(parents=True, exist_ok=True)
        figure = detection_figure(
            features["timestamps"],
            features["flow_energy"],
            audio_curve(features["audio_energy"]),
            windows,
            estimate,
            f"{path.name}: {verdict.text}",
            timeline,
            rule,
        )
        target = folder / f"{path.stem}.png"
        figure.savefig(target, dpi=90)
        import matplotlib.pyplot as plt

        plt.close(figure)
        record["plot"] = str(target)
    return record


def evidence_record(evidence) -> dict:
    """A file's lag evidence for the JSON: the lag grid, each window's log-likelihood over it
    and the weight its sum gets (``--json`` with ``evidence=true``)."""
    return {
        "lags_ms": [round(float(x), 2) for x in evidence.lags_ms],
        "centres_s": [round(float(x), 3) for x in evidence.centres_s],
        "weight": round(float(evidence.weight), 6),
        "resolution_ms": round(float(evidence.resolution), 3),
        "loglik": [[round(float(x), 3) for x in row] for row in evidence.loglik],
    }


def table(records: list[dict]) -> str:
    """A readable table: one line per file."""
    width = max([len(Path(r["path"]).name) for r in records] + [4])
    lines = [f"{'file':<{width}}  {'length':>7}  verdict"]
    for r in records:
        length = f"{r['duration_s']:6.1f}s" if r.get("duration_s") is not None else "      -"
        text = r["verdict"] if r["status"] == "ok" else f"ERROR {r['error']}"
        lines.append(f"{Path(r['path']).name:<{width}}  {length}  {text}")
    return "\n".join(lines)
