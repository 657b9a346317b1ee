"""``python -m avalign.detect PATH... [--json FILE] [--plots DIR] [key=value ...]``.

Checks each video (files, folders searched recursively, or glob patterns) and prints one verdict
line per file: ``in sync``, ``audio late by 480 ms (confidence high)``, ``no audio track``,
``audio replaced by noise from 00:12``, ... Settings are the keys of ``conf/detect.yaml`` given as
``key=value`` (``model=transformer``, ``source=<run id or .ckpt>``, ``window_s=4``).
``--report report.html`` writes one self-contained page for the whole batch.

Batches (`avalign.detection.runner`): ``workers=2`` checks two files at once, one process per
core; ``num_shards=4 shard_index=0`` checks a quarter of the files (the k-th in sorted order goes
to shard k mod 4) and writes ``out.shard0-of-4.json`` for ``--json out.json``; ``resume=true``
keeps the files that the JSON already has. ``--merge out.shard*.json --json all.json --report
all.html`` merges reports (`avalign.detection.merge`).

Exit status, a sum of bits: 0 every file in sync; +1 some file out of sync; +2 some file could
not be read; +4 for some file the detector cannot tell (its verdict ``cannot tell``, JSON
``"kind": "cannot_tell"``, ``"out_of_sync": null``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from avalign.detection.check import EXIT_FAILED, expand, set_threads, table


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
    parser.add_argument(
        "--merge", action="store_true", help="PATHS are detect JSON reports (shards): merge them"
    )
    args = parser.parse_intermixed_args(argv)
    overrides = [p for p in args.paths if "=" in p and not Path(p).exists()]
    args.paths = [p for p in args.paths if p not in overrides]
    if args.merge and (overrides or args.plots):
        parser.error("--merge takes detect JSON files, --json and --report only")
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

    from avalign.batch.resume import ResumeError
    from avalign.detection.runner import check_files, exit_status, summarise
    from avalign.storage.config import config_dir

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    args, overrides = parse(argv)
    if args.merge:
        from avalign.detection.merge import run_merge

        return run_merge([Path(p) for p in args.paths], args.json, args.report)
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(config_name="detect", overrides=overrides)
    if int(cfg.threads) > 0:
        set_threads(int(cfg.threads))
    try:
        batch = check_files(expand(args.paths), cfg)
    except (ResumeError, ValueError) as error:  # a report of other settings; a bad shard_index
        print(f"detect: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"model: {batch.description}")
    print(table(batch.records))
    return exit_status(summarise(batch.records))


def main() -> None:
    sys.exit(run(sys.argv[1:]))
