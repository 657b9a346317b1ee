"""``python -m avalign.detect --merge A.json B.json ... [--json all.json] [--report all.html]``.

Merges detect reports, typically the shards of one batch (``out.shard0-of-4.json``, ...), into
one report of the same schema: every file of every report, sorted by path (the order one run over
a folder gives), the summary counted again, and one HTML page (each file's figure is its
``--plots`` PNG where the shards wrote one). The reports must come from the same detector and
settings, or nothing is merged. A shard that is missing, a shard whose run did not finish, and a
file reported twice are each said in one line, and the merge goes on with what there is; the
exit status then has bit 2 set ("some file could not be read").
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from avalign.batch.resume import write_json
from avalign.detection.check import EXIT_FAILED, table
from avalign.detection.runner import exit_status, stored_page, summarise

log = logging.getLogger("avalign.detect")


class MergeError(Exception):
    """The reports cannot be merged; the message says why."""


def merge_reports(reports: dict[str, dict]) -> tuple[dict, list[str]]:
    """One report from ``reports`` (by file name), and the problems met (one line each)."""
    if not reports:
        raise MergeError("no reports to merge")
    for name, report in reports.items():
        if not isinstance(report, dict) or not isinstance(report.get("files"), list):
            raise MergeError(f"{name} is not a detect report")
    first_name, first = next(iter(reports.items()))
    made = _made_by(first)
    for name, report in reports.items():
        if _made_by(report) != made:
            raise MergeError(
                f"{name} and {first_name} come from other detectors or settings: "
                f"{_made_by(report)} against {made}"
            )
    problems = _shard_problems(reports)
    by_path: dict[str, dict] = {}
    for name, report in reports.items():
        for record in report["files"]:
            seen = by_path.get(record["path"])
            if seen is not None:
                problems.append(f"{record['path']} is in more than one report ({name})")
                if seen.get("status") == "ok" and record.get("status") != "ok":
                    continue  # a result is never replaced by an error
            by_path[record["path"]] = record
    records = [by_path[path] for path in sorted(by_path)]
    run = dict(first.get("run") or {})
    run.update(
        shard_index=0,
        num_shards=1,
        files=len(records),
        complete=not problems,
        merged_from=list(reports),
    )
    merged = {
        "schema_version": first.get("schema_version"),
        "model": first.get("model"),
        "files": records,
        "summary": summarise(records),
        "run": run,
    }
    return merged, problems


def _made_by(report: dict) -> tuple:
    """What must agree between merged reports: schema, detector, settings."""
    return (
        report.get("schema_version"),
        report.get("model"),
        (report.get("run") or {}).get("settings"),
    )


def _shard_problems(reports: dict[str, dict]) -> list[str]:
    """Shards missing or unfinished, from each report's ``run`` block."""
    problems = []
    counts: dict[int, set[int]] = {}
    for name, report in reports.items():
        run = report.get("run") or {}
        if run.get("complete") is False:
            problems.append(
                f"{name}: its run did not finish ({len(report['files'])} of "
                f"{run.get('files', '?')} files)"
            )
        counts.setdefault(int(run.get("num_shards", 1)), set()).add(int(run.get("shard_index", 0)))
    for count, present in sorted(counts.items()):
        if count > 1:
            missing = [i for i in range(count) if i not in present]
            problems += [f"shard {i} of {count} is missing" for i in missing]
    if len(counts) > 1:
        problems.append(f"reports of different shard counts: {sorted(counts)}")
    return problems


def run_merge(paths: list[Path], json_path: str | None, report_path: str | None) -> int:
    """Merge the reports at ``paths``; print the table; write JSON and HTML; the exit status."""
    try:
        reports = {str(p): json.loads(Path(p).read_text(encoding="utf-8")) for p in paths}
        merged, problems = merge_reports(reports)
    except (OSError, ValueError, MergeError) as error:
        print(f"detect --merge: {error}", file=sys.stderr)
        return EXIT_FAILED
    for problem in problems:
        log.error("%s", problem)
    description = (merged.get("model") or {}).get("description", "")
    print(f"model: {description}")
    print(table(merged["files"]))
    if json_path:
        write_json(Path(json_path), merged)
    if report_path:
        from avalign.detection.report import write_report

        write_report(Path(report_path), [stored_page(r) for r in merged["files"]], description)
    return exit_status(merged["summary"]) | (EXIT_FAILED if problems else 0)
