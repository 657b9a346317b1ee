"""How `avalign.detect` goes through a batch: this shard's files, in worker processes, resumable.

``shard_index``/``num_shards`` keep this process's share of the files (the k-th file in sorted
order goes to shard k mod n, as `avalign.extract` splits videos); ``workers`` checks that many
files at once, each worker a process on one core with its own detector (`avalign.batch.parallel`;
files are handed out two per worker at a time, so memory stays bounded). Records keep the order
the files were given in, whatever order they finish in. The JSON report is rewritten atomically
after every file, so an interrupted run leaves a valid report of what it finished, and
``resume=true`` keeps the files the report already has (status ``ok``, same settings) instead of
checking them again (`avalign.batch.resume`).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avalign.batch.parallel import parallel_map
from avalign.batch.resume import finished_records, write_json
from avalign.batch.shards import shard_of, shard_path
from avalign.detection.check import (
    EXIT_CANNOT_TELL,
    EXIT_FAILED,
    EXIT_OUT_OF_SYNC,
    SCHEMA_VERSION,
    check_file,
    load_detector,
)
from avalign.media.errors import MediaError

log = logging.getLogger("avalign.detect")
#: The settings that change what detect says about a file: a report is resumed only with the same.
SETTINGS = (
    "source",
    "fps",
    "window_s",
    "hop_s",
    "max_lag_s",
    "substeps",
    "evidence_weight",
    "evidence",
    "temperature",
    "sync_prior",
    "decide_at",
    "out_of_sync_at",
    "max_false_alarm",
)


@dataclass(frozen=True)
class FileJob:
    """One file to check, with everything a worker process needs to check it."""

    index: int  # the file's place among this shard's files
    path: Path
    cfg: Any  # the composed detect config
    page: bool  # also draw the file's figure for the HTML report
    progress: bool  # a progress bar per file (only when checking in this process)


@dataclass(frozen=True)
class Checked:
    """What a worker sends back: the file's record, its report page, and which detector ran."""

    record: dict
    page: Any  # detection.report.FilePage, or None when no report is asked for
    description: str
    feature_fps: float


_DETECTORS: dict[str, tuple] = {}  # per process: the detector, loaded by its first file


def detector(cfg) -> tuple:
    """(model, feature config, description) for ``cfg``, loaded once per process."""
    key = repr(sorted(settings_of(cfg).items()))
    if key not in _DETECTORS:
        _DETECTORS[key] = load_detector(cfg)
    return _DETECTORS[key]


def check_job(job: FileJob) -> Checked:
    """Check one file (a module-level function: worker processes receive it by reference)."""
    model, features_config, description = detector(job.cfg)
    extras: dict | None = {} if job.page else None
    try:
        record = check_file(job.path, model, features_config, job.cfg, job.progress, extras)
    except MediaError as error:
        log.error("%s", error)
        record = {"path": str(job.path), "status": "error", "error": error.problem}
    page = None
    if job.page:
        from avalign.detection.report import file_page

        page = file_page(record, extras)
    return Checked(record, page, description, features_config.fps)


def settings_of(cfg) -> dict:
    """The settings that decide a file's record (compared before a report is resumed)."""
    model = cfg.get("model")
    return {
        **{name: cfg.get(name) for name in SETTINGS},
        "model": None if model is None else str(model.name),
        "schema_version": SCHEMA_VERSION,
    }


def stored_page(record: dict):
    """The report page of a file checked earlier: its ``plot`` PNG when it still exists."""
    from avalign.detection.report import FilePage

    plot = Path(record["plot"]) if record.get("plot") else None
    if record.get("status") != "ok" or plot is None or not plot.is_file():
        return FilePage(record, None)
    return FilePage(record, base64.b64encode(plot.read_bytes()).decode("ascii"))


def summarise(records: list[dict]) -> dict:
    """The report's ``summary``: files per verdict class."""
    return {
        "files": len(records),
        "in_sync": sum(r.get("out_of_sync") is False for r in records),
        "out_of_sync": sum(bool(r.get("out_of_sync")) for r in records),
        "cannot_tell": sum(r.get("kind") == "cannot_tell" for r in records),
        "failed": sum(r["status"] == "error" for r in records),
    }


def exit_status(summary: dict) -> int:
    """detect's exit status: +1 some file out of sync, +2 unreadable, +4 cannot tell."""
    return (
        (EXIT_OUT_OF_SYNC if summary["out_of_sync"] else 0)
        | (EXIT_FAILED if summary["failed"] else 0)
        | (EXIT_CANNOT_TELL if summary["cannot_tell"] else 0)
    )


def document(records: list[dict], model: dict, cfg, files: int, complete: bool) -> dict:
    """The JSON report (schema in the README): records, summary, and how the run was made."""
    return {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "files": records,
        "summary": summarise(records),
        "run": {
            "settings": settings_of(cfg),
            "shard_index": int(cfg.shard_index),
            "num_shards": int(cfg.num_shards),
            "files": files,  # files of this shard: the report is complete when it has them all
            "complete": complete,
        },
    }


def my_files(files: list[Path], cfg) -> list[Path]:
    """This shard's files, in the order given."""
    mine = shard_of([str(p) for p in files], int(cfg.shard_index), int(cfg.num_shards))
    return [p for p in files if str(p) in mine]


@dataclass
class BatchResult:
    """The records of a batch, in the order the files were given, and what checked them."""

    records: list[dict]
    pages: list  # FilePage per record when a report is asked for, else []
    description: str
    json_path: Path | None
    report_path: Path | None


def check_files(files: list[Path], cfg) -> BatchResult:
    """Check this shard's share of ``files``; write the JSON (as files finish) and the report.

    Raises `avalign.batch.resume.ResumeError` when ``resume=true`` meets a report of other
    settings.
    """
    files = my_files(files, cfg)
    index, count = int(cfg.shard_index), int(cfg.num_shards)
    json_path = shard_path(cfg.json, index, count) if cfg.json else None
    report_path = shard_path(cfg.report, index, count) if cfg.report else None
    kept: dict[str, dict] = {}
    if cfg.resume and json_path is not None:
        kept = finished_records(
            json_path,
            settings_of(cfg),
            key="path",
            done=lambda r: r.get("status") == "ok" and (not cfg.plots or bool(r.get("plot"))),
        )
    elif json_path is not None and json_path.exists():
        log.info("%s is replaced (resume=true would keep its finished files)", json_path)
    records: dict[int, dict] = {}
    pages: dict[int, Any] = {}
    for i, path in enumerate(files):
        if str(path) in kept:
            records[i] = kept[str(path)]
            pages[i] = stored_page(records[i]) if cfg.report else None
    if kept:
        log.info("%s: %d of %d files already checked, kept", json_path, len(records), len(files))
    workers = max(1, min(int(cfg.workers), len(files) - len(records)))
    jobs = [
        FileJob(i, path, cfg, bool(cfg.report), bool(cfg.progress) and workers == 1)
        for i, path in enumerate(files)
        if i not in records
    ]
    model = _previous_model(json_path) if kept else None
    show = bool(cfg.progress) and len(jobs) >= 2
    for outcome in parallel_map(
        check_job, jobs, workers=workers, desc="detect", unit="file", progress=show
    ):
        job = outcome.item
        if outcome.error is not None:  # a bug or an unforeseen input: reported, never fatal
            log.error("%s: unexpected %s: %s", job.path, outcome.error_type, outcome.error)
            records[job.index] = {
                "path": str(job.path),
                "status": "error",
                "error": f"unexpected {outcome.error_type}: {outcome.error}",
            }
            pages[job.index] = stored_page(records[job.index]) if cfg.report else None
        else:
            checked: Checked = outcome.result
            records[job.index], pages[job.index] = checked.record, checked.page
            model = _model_block(checked.description, checked.feature_fps, cfg)
        if json_path is not None and model is not None:
            done = [records[i] for i in sorted(records)]
            write_json(json_path, document(done, model, cfg, len(files), False), _plain)
    if model is None:  # no file was checked here: the detector is loaded only to be named
        _, features_config, description = detector(cfg)
        model = _model_block(description, features_config.fps, cfg)
    ordered = [records[i] for i in range(len(files))]
    if json_path is not None:
        write_json(json_path, document(ordered, model, cfg, len(files), True), _plain)
    if report_path is not None:
        from avalign.detection.report import write_report

        write_report(report_path, [pages[i] for i in range(len(files))], model["description"])
    return BatchResult(
        ordered,
        [pages[i] for i in range(len(files))] if cfg.report else [],
        model["description"],
        json_path,
        report_path,
    )


def _model_block(description: str, feature_fps: float, cfg) -> dict:
    return {
        "description": description,
        "feature_fps": feature_fps,
        "window_s": float(cfg.window_s),
        "hop_s": float(cfg.hop_s),
    }


def _previous_model(path: Path) -> dict | None:
    import json

    return json.loads(path.read_text(encoding="utf-8")).get("model")


def _plain(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
