"""A batch's JSON report: written as items finish, read back on a rerun to skip finished ones.

The report is rewritten atomically after each item (`avalign.storage.atomic`), so an interrupted
run leaves a complete, readable report of what it finished. A rerun with ``resume=true`` reads it
back and keeps the finished records, but only when the report says it was made with the same
settings (its ``"run": {"settings": ...}``): results of other settings are never mixed in, and
never replaced without being asked (``resume=false`` replaces them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from avalign.storage.atomic import atomic_target


class ResumeError(Exception):
    """An existing report cannot be resumed; the message says why and what to do."""


def write_json(path: Path, document: dict, default: Callable | None = None) -> Path:
    """Write ``document`` to ``path`` atomically: readers see the old report or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp:
        tmp.write_text(json.dumps(document, indent=2, default=default), encoding="utf-8")
    return path


def finished_records(
    path: Path, settings: dict, *, key: str, done: Callable[[dict], bool]
) -> dict[str, dict]:
    """The records of ``path`` that ``done`` accepts, by their ``key`` field ({} without a file).

    Raises `ResumeError` when the file cannot be read or was made with other settings.
    """
    path = Path(path)
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ResumeError(f"{path} cannot be read ({error}); resume=false replaces it") from None
    run = document.get("run") if isinstance(document, dict) else None
    if not isinstance(run, dict) or not isinstance(run.get("settings"), dict):
        raise ResumeError(
            f"{path} does not say which settings made it (another command's file, or one written "
            "before resume existed): give another file, or resume=false to replace it"
        )
    differ = [
        f"{name} {run['settings'].get(name)!r} there, {value!r} now"
        for name, value in settings.items()
        if run["settings"].get(name) != value
    ]
    if differ:
        raise ResumeError(
            f"{path} holds results of other settings ({'; '.join(differ)}): give another file, "
            "or resume=false to replace it"
        )
    return {r[key]: r for r in document.get("files", []) if isinstance(r, dict) and done(r)}
