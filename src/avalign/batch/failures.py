"""Collect, log and report the inputs a stage could not use: one bad file never stops a batch.

Every problem is logged at once as one line (``<file>: <problem>``) and kept; at the end of the
stage the list is written as a CSV report beside the stage's output. ``error`` rows were skipped;
``warning`` rows were used but deserve a look (variable frame rate, odd resolution, ...).
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from avalign.storage.atomic import atomic_target

log = logging.getLogger(__name__)

FIELDS = ("stage", "severity", "file", "item", "problem")


@dataclass(frozen=True)
class Failure:
    """One problem with one input: which stage met it, how bad it is, where, and what."""

    stage: str
    severity: str  # "error": skipped; "warning": used, with a note
    file: str
    item: str  # the annotation line, sample id or segment concerned ("" for the whole file)
    problem: str

    def line(self) -> str:
        where = f"{self.file} [{self.item}]" if self.item else self.file
        return f"{where}: {self.problem}"


class FailureLog:
    """An append-only list of failures for one stage, logged as they arrive."""

    def __init__(self, stage: str, *, max_logged: int = 20) -> None:
        self.stage = stage
        self.failures: list[Failure] = []
        self.max_logged = max_logged  # beyond this many lines, only the report lists them

    def error(self, file: str | Path, problem: str, item: str = "") -> None:
        """Record an input that was skipped."""
        self._add("error", file, problem, item)

    def warning(self, file: str | Path, problem: str, item: str = "") -> None:
        """Record an input that was used but looks odd."""
        self._add("warning", file, problem, item)

    def extend(self, failures: list[Failure]) -> None:
        """Adopt failures recorded elsewhere (e.g. in a worker process); they were logged there."""
        self.failures.extend(failures)

    def _add(self, severity: str, file: str | Path, problem: str, item: str) -> None:
        failure = Failure(self.stage, severity, str(file), item, " ".join(problem.split()))
        self.failures.append(failure)
        if len(self.failures) <= self.max_logged:
            (log.error if severity == "error" else log.warning)(failure.line())
        elif len(self.failures) == self.max_logged + 1:
            log.warning("%s: more problems follow; the failures report lists them all", self.stage)

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "error"]

    def summary(self) -> str:
        """A one-line count of problems by severity."""
        counts = Counter(f.severity for f in self.failures)
        return f"{counts.get('error', 0)} skipped, {counts.get('warning', 0)} warnings"

    def write_csv(self, path: Path) -> Path:
        """Write the report (always, even empty, so its absence never means 'unknown')."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            writer.writeheader()
            for failure in self.failures:
                writer.writerow(asdict(failure))
        return path


def read_failures(path: Path) -> list[Failure]:
    """Read a failures report written by `FailureLog.write_csv`."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [Failure(**row) for row in csv.DictReader(handle)]
