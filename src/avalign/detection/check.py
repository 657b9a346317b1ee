"""``python -m avalign.detect PATH... [--json FILE] [--plots DIR] [key=value ...]``.

Checks each video (files, folders searched recursively, or glob patterns) and prints one verdict
line per file: ``in sync``, ``audio late by 480 ms (confidence high)``, ``no audio track``,
``audio replaced by noise from 00:12``, ... Settings are the keys of ``conf/detect.yaml`` given as
``key=value`` (``model=transformer``, ``source=<run id or .ckpt>``, ``window_s=4``).
``--report report.html`` writes one self-contained page for the whole batch.

Exit status, a sum of bits: 0 every file in sync; +1 some file out of sync; +2 some file could
not be read; +4 for some file the detector cannot tell (its verdict ``cannot tell``, JSON
``"kind": "cannot_tell"``, ``"out_of_sync": null``).
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import logging
import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from avalign.datasets.folder import VIDEO_EXTENSIONS, find_videos
from avalign.detection.evidence import phase_shifts_ms, presented, window_evidence
from avalign.detection.timeline import as_estimate, fit_timeline, timeline_record
from avalign.detection.verdict import PosteriorRule, decide
from avalign.detection.windows import (
    CONFIDENCE_MEANING,
    global_offset,
    lag_head_offset,
    score_windows_default,
    score_windows_trained,
    window_spans,
)
from avalign.features.config import FeatureConfig
from avalign.features.stream import audio_steps, stream_features
from avalign.media.errors import MediaError
from avalign.models.inputs import audio_curve

log = logging.getLogger("avalign.detect")
SCHEMA_VERSION = 4  # 4: p_out_of_sync per file, "cannot_tell"; 3: the offset model (drift, edit)
EXIT_OUT_OF_SYNC, EXIT_FAILED, EXIT_CANNOT_TELL = 1, 2, 4


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
    bar = tqdm(
        desc=path.name[:30], unit="step", disable=not progress, leave=False, dynamic_ncols=True
    )
    try:
        features, info = stream_features(path, features_config, tick=bar.update)
    finally:
        bar.close()
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
        shifts = phase_shifts_ms(1000.0 / fps, int(cfg.get("substeps", 1)))
        runs = []
        for shift in shifts:
            if shift == 0:
                runs.append(evidence)
                continue
            moved = {**features, **audio_steps(path, features_config, steps, shift / 1000.0)}
            probabilities = (
                score_windows_trained(model, moved, spans, fps)[1] if model is not None else []
            )
            runs.append(evidence_of(moved, probabilities))
        evidence = presented(runs, shifts, delay)
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
        "since_s": verdict.since_s,
        "offset_ms": None
        if verdict.kind in ("mute", "silent", "noise", "edit")
        else round(verdict.offset_ms if verdict.kind == "drift" else estimate.offset_ms, 1),
        "offset_method": estimate.method,
        "offset_strength": round(estimate.strength, 3),
        "confidence": verdict.confidence,
        "confidence_meaning": CONFIDENCE_MEANING[
            verdict.confidence if verdict.kind in ("drift", "edit") else estimate.confidence
        ],
        **timeline_record(timeline),
        "windows": [
            {**dataclasses.asdict(w), "p_out_of_sync": round(w.p_out_of_sync, 4)} for w in windows
        ],
    }
    if extras is not None:
        extras.update(
            features=features, windows=windows, timeline=timeline, estimate=estimate, info=info
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
        )
        target = folder / f"{path.stem}.png"
        figure.savefig(target, dpi=90)
        import matplotlib.pyplot as plt

        plt.close(figure)
        record["plot"] = str(target)
    return record


def table(records: list[dict]) -> str:
    """A readable table: one line per file."""
    width = max([len(Path(r["path"]).name) for r in records] + [4])
    lines = [f"{'file':<{width}}  {'length':>7}  verdict"]
    for r in records:
        length = f"{r['duration_s']:6.1f}s" if r.get("duration_s") is not None else "      -"
        text = r["verdict"] if r["status"] == "ok" else f"ERROR {r['error']}"
        lines.append(f"{Path(r['path']).name:<{width}}  {length}  {text}")
    return "\n".join(lines)


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    from avalign.storage.helptext import HELP_FLAGS, print_help

    if any(a in HELP_FLAGS for a in argv):  # conf/detect.yaml's settings, examples, exit status
        raise SystemExit(print_help("detect", __doc__, argv, 0))
    parser = argparse.ArgumentParser(
        prog="python -m avalign.detect", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "paths", nargs="+", help="video files, folders or glob patterns; and key=value settings"
    )
    parser.add_argument("--json", help="write the full report (every window) to this file")
    parser.add_argument("--plots", help="folder for one plot per video")
    parser.add_argument("--report", help="write one self-contained HTML page for the batch")
    args = parser.parse_intermixed_args(argv)
    overrides = [p for p in args.paths if "=" in p and not Path(p).exists()]
    args.paths = [p for p in args.paths if p not in overrides]
    if args.json:
        overrides.append(f"json={args.json}")
    if args.plots:
        overrides.append(f"plots={args.plots}")
    if args.report:
        overrides.append(f"report={args.report}")
    if not args.paths:
        parser.error("give at least one video file, folder or pattern")
    return args, overrides


def run(argv: list[str]) -> int:
    """Check every file; print the table; write JSON and plots if asked; return the exit status."""
    from hydra import compose, initialize_config_dir

    from avalign.storage.config import config_dir

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    args, overrides = parse(argv)
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(config_name="detect", overrides=overrides)
    if int(cfg.threads) > 0:
        set_threads(int(cfg.threads))
    model, features_config, description = load_detector(cfg)
    files = expand(args.paths)
    records = []
    pages = []  # per file, for the HTML report
    if cfg.report:  # matplotlib only when a report is asked for
        from avalign.detection.report import file_page, write_report
    for path in tqdm(files, desc="detect", unit="file", disable=not cfg.progress or len(files) < 2):
        extras: dict | None = {} if cfg.report else None
        try:
            records.append(
                check_file(path, model, features_config, cfg, bool(cfg.progress), extras)
            )
        except MediaError as error:
            log.error("%s", error)
            records.append({"path": str(path), "status": "error", "error": error.problem})
        if cfg.report:
            pages.append(file_page(records[-1], extras))
    print(f"model: {description}")
    print(table(records))
    summary = {
        "files": len(records),
        "in_sync": sum(r.get("out_of_sync") is False for r in records),
        "out_of_sync": sum(bool(r.get("out_of_sync")) for r in records),
        "cannot_tell": sum(r.get("kind") == "cannot_tell" for r in records),
        "failed": sum(r["status"] == "error" for r in records),
    }
    if cfg.json:
        report = {
            "schema_version": SCHEMA_VERSION,
            "model": {
                "description": description,
                "feature_fps": features_config.fps,
                "window_s": float(cfg.window_s),
                "hop_s": float(cfg.hop_s),
            },
            "files": records,
            "summary": summary,
        }
        Path(cfg.json).write_text(json.dumps(report, indent=2, default=_plain), encoding="utf-8")
    if cfg.report:
        write_report(Path(cfg.report), pages, description)
    return (
        (EXIT_OUT_OF_SYNC if summary["out_of_sync"] else 0)
        | (EXIT_FAILED if summary["failed"] else 0)
        | (EXIT_CANNOT_TELL if summary["cannot_tell"] else 0)
    )


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def main() -> None:
    sys.exit(run(sys.argv[1:]))
