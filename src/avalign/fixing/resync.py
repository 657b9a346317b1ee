"""``python -m avalign.fix IN OUT [offset_ms=...] [method=...] [key=value ...]``: re-sync a copy.

Writes a copy of IN whose sound is moved so that it agrees with the picture: by the offset, drift
or edit that `avalign.detect` finds in IN (or by ``offset_ms`` / ``drift_ms_per_min`` given on the
command line). The picture and every other stream are copied bit for bit, the metadata is kept.
A constant offset is applied by rewriting the audio timestamps (``method=remux``: lossless,
nothing re-encoded); drifts and edits by moving the decoded sound sample-accurately and
encoding it again in its own codec (``method=reencode``); see `avalign.fixing.apply`. OUT is
written atomically, never over IN, never over an existing file unless ``overwrite=true``; where
the written sound lands is measured from the file itself, and then detection runs on OUT: when
its residual offset is outside the in-sync band or above ``max_residual_ms``, OUT is removed
and the file counts as refused. IN may be a folder: every video under it is fixed into the same
place under OUT (a folder), with a progress bar; a file that cannot be read or written is
reported and skipped, and every OUT is checked before any detection runs.

Refusals (one line each, with the reason): the verdict is not a time shift, a drift or an edit
(in sync, no audio, noise, distortion), or its confidence is below ``min_confidence``; pass
``force=true`` to move the sound by the detected offset anyway. A fix whose check fails is
refused after the check ("refused after check: residual -313 ms").

Exit status (bits, like detect's): 0 every file fixed; 2 some file could not be read or written
(or its OUT is unusable); 4 some file refused; 6 both.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm.auto import tqdm

from avalign.datasets.folder import VIDEO_EXTENSIONS, find_videos
from avalign.detection.band import IN_SYNC_BAND_MS
from avalign.fixing.apply import write_fixed
from avalign.fixing.outputs import output_problem
from avalign.media.errors import MediaError

log = logging.getLogger("avalign.fix")
EXIT_FAILED, EXIT_REFUSED = 2, 4
CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}
#: Fields of OUT's detection record kept as the check.
CHECKED = ("verdict", "out_of_sync", "offset_ms", "confidence", "drift_ms_per_min", "offset_model")
#: Verdict kinds that moving the sound can repair.
FIXABLE = ("time_shift", "drift", "edit")


def load_detector(cfg):
    """detect's detector (model, feature config, description), imported only when needed: a fix
    by a given offset without a check never loads torch or a model."""
    from avalign.detection.check import load_detector as load

    return load(cfg)


def check_file(*args, **kwargs) -> dict:
    """detect's record of one file (`avalign.detection.check.check_file`)."""
    from avalign.detection.check import check_file as check

    return check(*args, **kwargs)


class RefusedError(Exception):
    """The file is not fixed, for the one-line reason given."""


@dataclass(frozen=True)
class Plan:
    """How to move a file's sound: an offset at 00:00 and a drift, or an edit."""

    kind: str  # "constant" | "drift" | "edit"
    offset_ms: float  # constant offset, or the drift's offset at 00:00, or the edit's before
    drift_ms_per_min: float = 0.0
    edit_time_s: float | None = None
    offset_after_ms: float | None = None
    source: str = "detected"  # "detected" or "given"

    def offsets(self):
        """The offset to undo as `retime_samples` takes it: a number or a function of time."""
        if self.kind == "constant":
            return self.offset_ms
        if self.kind == "drift":
            return lambda t: self.offset_ms + self.drift_ms_per_min / 60.0 * t

        def edit(t):
            import numpy as np

            return np.where(t < self.edit_time_s, self.offset_ms, self.offset_after_ms)

        return edit

    def describe(self) -> str:
        if self.kind == "drift":
            return (
                f"drift {self.drift_ms_per_min:+.1f} ms/min from {self.offset_ms:+.0f} ms at "
                "00:00 undone (audio resampled to the picture's clock)"
            )
        if self.kind == "edit":
            return (
                f"offset {self.offset_ms:+.0f} ms before {self.edit_time_s:.2f} s and "
                f"{self.offset_after_ms:+.0f} ms after undone"
            )
        if round(self.offset_ms) == 0:
            return "audio kept where it was (offset 0 ms)"
        side = "earlier" if self.offset_ms > 0 else "later"
        return f"audio moved {abs(self.offset_ms):.0f} ms {side}"


def plan_fix(record: dict, timeline, cfg) -> Plan:
    """What to do with a detected file, or `RefusedError` with the reason."""
    kind, confidence = record.get("kind"), record.get("confidence") or "low"
    if not record.get("has_audio", True):
        raise RefusedError("no audio track: nothing to move")
    if kind in FIXABLE:
        if CONFIDENCE_RANK[confidence] < CONFIDENCE_RANK[str(cfg.min_confidence)] and not cfg.force:
            raise RefusedError(
                f"{record['verdict']}: confidence {confidence} is below {cfg.min_confidence} "
                "(force=true fixes it anyway)"
            )
        if kind == "drift":
            return Plan("drift", timeline.offset_at_zero_ms, timeline.drift_ms_per_min)
        if kind == "edit":
            return Plan(
                "edit",
                timeline.offset_before_ms,
                edit_time_s=timeline.edit_time_s,
                offset_after_ms=timeline.offset_after_ms,
            )
        return Plan("constant", float(record["offset_ms"]))
    if cfg.force and record.get("offset_ms") is not None and kind not in ("mute", "silent"):
        return Plan("constant", float(record["offset_ms"]))
    reason = (
        f"in sync (best single offset {record['offset_ms']:+.0f} ms, confidence {confidence}): "
        "nothing to fix"
        if kind == "none" and record.get("offset_ms") is not None
        else f"{record['verdict']}: not a time shift, drift or edit"
    )
    raise RefusedError(
        reason + ("" if kind in ("mute", "silent") else " (force=true moves it anyway)")
    )


def given_plan(cfg) -> Plan | None:
    """The plan that ``offset_ms`` / ``drift_ms_per_min`` on the command line ask for, if any."""
    if cfg.offset_ms is None and cfg.drift_ms_per_min is None:
        return None
    offset = float(cfg.offset_ms or 0.0)
    drift = float(cfg.drift_ms_per_min or 0.0)
    return Plan("drift" if drift else "constant", offset, drift, source="given")


def pairs(source: Path, target: Path) -> list[tuple[Path, Path]]:
    """(IN file, OUT file) pairs: one file, or every video under a folder (OUT then a folder)."""
    if source.is_dir():
        found = [
            p
            for p in find_videos(source, VIDEO_EXTENSIONS)
            if not p.resolve().is_relative_to(target.resolve())
        ]
        return [(p, target / p.relative_to(source)) for p in found]
    if target.is_dir():
        return [(source, target / source.name)]
    return [(source, target)]


def residual_problem(residual_ms: float | None, max_residual_ms: float) -> str | None:
    """Why OUT's measured residual offset is not acceptable, or None."""
    if residual_ms is None:
        return None
    low, high = IN_SYNC_BAND_MS
    if not low <= residual_ms <= high or abs(residual_ms) > max_residual_ms:
        return (
            f"refused after check: residual {residual_ms:+.0f} ms (in sync is {low:+.0f}.."
            f"{high:+.0f} ms, max_residual_ms={max_residual_ms:g})"
        )
    return None


def fix_file(source: Path, target: Path, detector, cfg) -> dict:
    """Fix one file; return its record (status fixed | refused | error, plan, check)."""
    model, features_config, _ = detector
    result: dict = {"in": str(source), "out": str(target)}
    try:
        problem = output_problem(source, target, bool(cfg.overwrite))
        if problem:
            raise MediaError(target, problem)
        plan = given_plan(cfg)
        if plan is None:
            extras: dict = {}
            record = check_file(source, model, features_config, cfg, False, extras)
            result["detected"] = record["verdict"]
            plan = plan_fix(record, extras["timeline"], cfg)
        result["plan"] = asdict(plan)
        target.parent.mkdir(parents=True, exist_ok=True)
        result.update(write_fixed(source, target, plan, cfg))
        result["status"] = "fixed"
        result["done"] = plan.describe()
        if cfg.check:
            after = check_file(target, model, features_config, cfg, False)
            result["check"] = {key: after.get(key) for key in CHECKED}
            refusal = residual_problem(after.get("offset_ms"), float(cfg.max_residual_ms))
            if refusal:
                target.unlink(missing_ok=True)
                raise RefusedError(refusal)
    except RefusedError as reason:
        result.update(status="refused", reason=str(reason))
    except MediaError as error:
        result.update(status="error", reason=error.problem, about=str(error.path))
    return result


def line(result: dict) -> str:
    """One line per file for the terminal."""
    name = Path(result["in"]).name
    if result["status"] == "refused":
        return f"{name}: refused: {result['reason']}"
    if result["status"] == "error":
        about = result.get("about")
        where = f" ({about})" if about and about != result["in"] else ""
        return f"{name}: ERROR{where} {result['reason']}"
    text = f"{name} -> {result['out']}: {result['done']} ({result['method']})"
    check = result.get("check")
    if check:
        residual = check["offset_ms"]
        shown = "-" if residual is None else f"{residual:+.0f} ms"
        text += f"; check: {check['verdict']}, residual offset {shown}"
    return text


#: fix's settings beyond detect's: a JSON report is resumed only when they are the same.
FIX_SETTINGS = (
    "offset_ms",
    "drift_ms_per_min",
    "method",
    "force",
    "min_confidence",
    "max_residual_ms",
    "check",
    "audio_codec",
    "audio_bitrate",
    "fade_ms",
)


@dataclass(frozen=True)
class FixJob:
    """One file to fix, with everything a worker process needs."""

    index: int  # the file's place among this shard's files
    source: Path
    target: Path
    cfg: object  # the composed fix config
    detects: bool  # whether a detector is needed (to plan or to check)


def fix_job(job: FixJob) -> tuple[dict, str | None]:
    """Fix one file (module-level: worker processes receive it by reference); its record and
    the detector's description. The detector is loaded once per process, by its first file."""
    detector = (None, None, None)
    if job.detects:
        from avalign.detection.runner import detector as loaded

        detector = loaded(job.cfg)
    return fix_file(job.source, job.target, detector, job.cfg), detector[2]


def fix_settings(cfg) -> dict:
    """The settings that decide a file's fix: detect's and fix's own."""
    from avalign.detection.runner import settings_of

    return {**settings_of(cfg), **{name: cfg.get(name) for name in FIX_SETTINGS}}


def run(argv: list[str]) -> int:
    """Fix every file; print one line each; return the exit status.

    Like detect, ``workers`` fixes that many files at once (one process per core),
    ``num_shards``/``shard_index`` keep one shard's files (``--json`` name as detect's:
    ``fix.shard0-of-4.json``), and ``resume=true`` keeps the files that the JSON already has as
    fixed (OUT still there) or refused instead of fixing them again.
    """
    from hydra import compose, initialize_config_dir

    from avalign.batch.parallel import parallel_map
    from avalign.batch.resume import ResumeError, finished_records, write_json
    from avalign.batch.shards import shard_of, shard_path
    from avalign.storage.config import config_dir

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    positional = [a for a in argv if "=" not in a or Path(a).exists()]
    overrides = [a for a in argv if a not in positional]
    if len(positional) != 2 or any(a in ("-h", "--help") for a in argv):
        from avalign.storage.helptext import print_help  # -h: stdout, 0; else stderr, EXIT_FAILED

        return print_help("fix", __doc__, argv, EXIT_FAILED)
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(config_name="fix", overrides=overrides)
    source, target = (Path(p).expanduser() for p in positional)
    if not source.exists():
        print(f"{source}: file not found", file=sys.stderr)
        return EXIT_FAILED
    if source.is_dir() and target.exists() and not target.is_dir():
        print(f"{target}: IN is a folder, so OUT must be a folder", file=sys.stderr)
        return EXIT_FAILED
    shard, shards = int(cfg.shard_index), int(cfg.num_shards)
    json_path = shard_path(cfg.json, shard, shards) if cfg.json else None
    try:
        everything = pairs(source, target)
        mine = shard_of([str(p) for p, _ in everything], shard, shards)
        kept = {}
        if cfg.resume and json_path is not None:
            kept = finished_records(
                json_path,
                fix_settings(cfg),
                key="in",
                done=lambda r: (
                    r.get("status") == "refused"
                    or (r.get("status") == "fixed" and Path(r["out"]).is_file())
                ),
            )
    except (ResumeError, ValueError) as error:  # a report of other settings; a bad shard_index
        print(f"fix: {error}", file=sys.stderr)
        return EXIT_FAILED
    jobs, results = [], {}
    for index, job in enumerate(p for p in everything if str(p[0]) in mine):
        if str(job[0]) in kept:
            results[index] = kept[str(job[0])]
            continue
        problem = output_problem(*job, bool(cfg.overwrite))  # reported before any detection
        if problem:
            results[index] = {
                "in": str(job[0]),
                "out": str(job[1]),
                "status": "error",
                "reason": problem,
                "about": str(job[1]),
            }
            print(f"{job[1]}: {problem}", file=sys.stderr)
        else:
            jobs.append((index, job))
    count = len(results) + len(jobs)
    if kept:
        reused = sum(str(r["in"]) in kept for r in results.values())
        log.info("%s: %d of %d files already fixed or refused, kept", json_path, reused, count)
    detects = bool(jobs) and bool(cfg.check or given_plan(cfg) is None)
    workers = max(1, min(int(cfg.workers), len(jobs)))
    description = None
    if kept and json_path is not None:
        description = json.loads(json_path.read_text(encoding="utf-8")).get("model")

    def report(complete: bool) -> dict:
        done = [results[i] for i in sorted(results)]
        summary = {
            status: sum(r["status"] == status for r in done)
            for status in ("fixed", "refused", "error")
        }
        run_block = {
            "settings": fix_settings(cfg),
            "shard_index": shard,
            "num_shards": shards,
            "files": count,
            "complete": complete,
        }
        return {"model": description, "files": done, "summary": summary, "run": run_block}

    outcomes = parallel_map(
        fix_job,
        [FixJob(i, *job, cfg, detects) for i, job in jobs],
        workers=workers,
        desc="fix",
        unit="file",
        progress=bool(cfg.progress) and len(jobs) >= 2,
    )
    for outcome in outcomes:
        job = outcome.item
        if outcome.error is not None:  # a bug or an unforeseen input: reported, never fatal
            result = {
                "in": str(job.source),
                "out": str(job.target),
                "status": "error",
                "reason": f"unexpected {outcome.error_type}: {outcome.error}",
            }
        else:
            result, described = outcome.result
            description = described or description
        results[job.index] = result
        if result["status"] == "error":
            log.error("%s: %s", result.get("about", result["in"]), result["reason"])
        tqdm.write(line(result), file=sys.stdout)
        if json_path is not None:
            write_json(json_path, report(complete=False))
    final = report(complete=True)
    if json_path is not None:
        write_json(json_path, final)
    summary = final["summary"]
    return (EXIT_FAILED if summary["error"] else 0) | (EXIT_REFUSED if summary["refused"] else 0)


def main() -> None:
    sys.exit(run(sys.argv[1:]))
