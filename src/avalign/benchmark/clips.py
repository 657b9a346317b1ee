"""``python -m avalign.benchmark.clips build|verify OUT_DIR``: build and check the real clips.

``build OUT_DIR --repos REPOS.tsv`` writes every clip of the manifest to ``OUT_DIR/raw/<file>``
from local git copies of its repository (REPOS.tsv: one line per repository,
``OWNER/NAME<TAB>path to its git directory or clone``), byte for byte, and checks its git blob
hash. A repository that REPOS.tsv does not list is fetched where the network allows: only the
recorded commit, without file contents (``git fetch --depth 1 --filter=blob:none``), then only the
clips' blobs, into ``--clone-dir`` (default ``OUT_DIR/.git-cache``); nothing else of the
repository is downloaded. ``--no-fetch`` works offline. Clips already present with the right hash
are kept (a rerun resumes); each file is written to a temporary name and renamed when verified.

``verify OUT_DIR`` checks ``OUT_DIR/raw`` against the manifest without writing clips.

Both write ``OUT_DIR/clips.json`` (each clip's status), print one line per missing or wrong clip,
a summary and, when clips are missing, how to get them. Exit status: 0 when every clip is present
and verified, 1 otherwise, 2 for bad arguments (an unreadable REPOS.tsv or manifest).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from avalign.benchmark.manifest import (
    MANIFEST_NAME,
    PACKAGED_MANIFESTS,
    ClipCheck,
    ClipEntry,
    ManifestError,
    VerifyReport,
    check_clip,
    git_blob_hash,
    read_manifest,
    verify_clips,
)
from avalign.storage.atomic import atomic_target

DEFAULT_URL = "https://github.com/{repo}.git"  # {repo} = OWNER/NAME
GIT_TIMEOUT_S = 1800  # one git command (a fetch of a large blob on a slow line)
STATUS_FILE = "clips.json"
# git must never stop to ask for a user name (a renamed or private repository asks for one).
GIT_ENV = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}


class GitError(RuntimeError):
    """A git command failed; the message is its last line of error output."""


def git(git_dir: Path, *args: str, stdout=subprocess.PIPE) -> str:
    """Run ``git --git-dir=git_dir ARGS`` (a list, no shell); return its output as text."""
    try:
        done = subprocess.run(
            ["git", f"--git-dir={git_dir}", *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=GIT_ENV,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(f"git {args[0]}: {error}") from error
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]}: {lines[-1] if lines else f'exit {done.returncode}'}")
    return "" if done.stdout is None else done.stdout.decode(errors="replace").strip()


def read_repos_table(path: Path) -> dict[str, Path]:
    """``OWNER/NAME -> git directory`` from REPOS.tsv (blank and ``#`` lines are skipped).

    A clone's work tree is accepted for its ``.git``. Raises ValueError naming the file and the
    line for a line that is not ``OWNER/NAME<TAB>path``.
    """
    table: dict[str, Path] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the repository table ({error})") from error
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or "/" not in parts[0] or not parts[1].strip():
            raise ValueError(f"{path} line {number}: expected OWNER/NAME<TAB>git directory")
        where = Path(parts[1].strip()).expanduser()
        if (where / ".git").exists():
            where = where / ".git"
        table[parts[0].strip().lower()] = where
    return table


@dataclass
class Fetcher:
    """Partial clones of the repositories that no local copy provides, one bare repo each."""

    clone_dir: Path
    url_template: str = DEFAULT_URL
    fetched: set[tuple[str, str]] = field(default_factory=set)  # (repo, commit) this run
    failed: dict[tuple[str, str], str] = field(default_factory=dict)  # (repo, commit) -> why

    def git_dir(self, repo: str, commit: str) -> Path:
        """A git directory holding ``commit`` of ``repo`` (trees only); raises GitError.

        Each commit is fetched once per run, without its history and without file contents
        (``--depth 1 --filter=blob:none``): the repository becomes a partial clone, and
        ``git cat-file blob`` then fetches just the blob it is asked for.
        """
        key = (repo, commit)
        if key in self.failed:
            raise GitError(self.failed[key])
        owner, name = repo.split("/", 1)
        where = self.clone_dir / f"{owner}+{name}"
        if key in self.fetched:
            return where
        url = self.url_template.format(repo=repo, owner=owner, name=name)
        try:
            if not (where / "HEAD").is_file():
                where.mkdir(parents=True, exist_ok=True)
                git(where, "init", "--bare", "--quiet")
            git(where, "config", "remote.origin.url", url)  # adds the remote, or updates it
            git(where, "fetch", "--quiet", "--depth", "1", "--filter=blob:none", "origin", commit)
        except GitError as error:
            self.failed[key] = f"fetching {commit[:12]} from {url} failed: {error}"
            raise GitError(self.failed[key]) from None
        self.fetched.add(key)
        return where


def write_clip(git_dir: Path, entry: ClipEntry, target: Path) -> None:
    """Write the clip's blob to ``target`` atomically; raises GitError, or ValueError when the
    bytes git gives do not have the recorded hash (nothing is left behind then)."""
    with atomic_target(target) as tmp:
        with tmp.open("wb") as handle:
            git(git_dir, "cat-file", "blob", entry.blob, stdout=handle)
        got = git_blob_hash(tmp)
        if got != entry.blob:
            raise ValueError(f"git gave blob {got}, the manifest says {entry.blob}")


def build_clips(
    out_dir: Path,
    entries: list[ClipEntry],
    repos: dict[str, Path] | None = None,
    *,
    fetcher: Fetcher | None = None,
    progress: bool = True,
) -> VerifyReport:
    """Write every clip to ``out_dir/raw`` from ``repos`` (or the fetcher), verify, and report.

    A clip already present with the right hash is kept. One clip that cannot be had is reported
    (missing, with the reason) and the others go on.
    """
    raw = out_dir / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    repos = repos or {}
    checks: list[ClipCheck] = []
    bar = tqdm(entries, desc="clips", unit="clip", disable=not progress, dynamic_ncols=True)
    for entry in bar:
        target = raw / entry.file
        before = check_clip(target, entry)
        if before.ok:
            checks.append(ClipCheck(entry.file, "ok", "already present"))
            continue
        try:
            local = repos.get(entry.source_repo.lower())
            if local is not None:
                git_dir = local
            elif fetcher is not None:
                git_dir = fetcher.git_dir(entry.source_repo, entry.commit)
            else:
                raise GitError(f"no local copy of {entry.source_repo} given (--repos)")
            write_clip(git_dir, entry, target)
            checks.append(ClipCheck(entry.file, "written"))
        except (GitError, OSError) as error:
            status = "wrong_hash" if before.status == "wrong_hash" else "missing"
            reason = f"{before.detail}; " if status == "wrong_hash" else ""
            checks.append(ClipCheck(entry.file, status, f"{reason}{error}"))
        except ValueError as error:
            checks.append(ClipCheck(entry.file, "wrong_hash", str(error)))
        counts = Counter(c.status for c in checks)
        bar.set_postfix(written=counts["written"], missing=counts["missing"], refresh=False)
    return VerifyReport(raw, tuple(checks))


def how_to_get(missing: list[ClipEntry], out_dir: Path) -> str:
    """The instructions printed when clips are missing: both ways, and which commits are needed."""
    by_repo: dict[tuple[str, str], int] = defaultdict(int)
    for entry in missing:
        by_repo[(entry.source_repo, entry.commit)] += 1
    lines = [
        f"To get the {len(missing)} missing clips, either:",
        "  - give local copies of their repositories (clones or mirrors holding the files, not",
        "    LFS pointers): write REPOS.tsv with one line per repository,",
        "        OWNER/NAME<TAB>path to its git directory or clone",
        "    and run",
        f"        python -m avalign.benchmark.clips build {out_dir} --repos REPOS.tsv",
        "  - or, on a machine that reaches github.com, run the build without --repos: it",
        "    fetches each commit without file contents, then only the clips' files.",
        "    By hand, per repository:",
        "        git init --bare DIR",
        "        git --git-dir=DIR remote add origin https://github.com/OWNER/NAME.git",
        "        git --git-dir=DIR fetch --depth 1 --filter=blob:none origin COMMIT",
        "    then list DIR in REPOS.tsv (its clips' files are fetched when they are first read).",
        "Needed (repository, commit, clips missing):",
    ]
    lines += [f"  {repo}\t{commit}\t{n}" for (repo, commit), n in sorted(by_repo.items())]
    return "\n".join(lines)


def write_status(out_dir: Path, report: VerifyReport, entries: list[ClipEntry], manifest: str):
    """``OUT_DIR/clips.json``: each clip's status, so that other commands can tell what is there."""
    by_file = {e.file: e for e in entries}
    record = {
        "manifest": manifest,
        "folder": "raw",
        "complete": report.all_ok,
        "counts": report.counts(),
        "clips": [
            {
                "file": c.file,
                "status": c.status,
                "ok": c.ok,
                "detail": c.detail,
                "category": by_file[c.file].category,
                "source_repo": by_file[c.file].source_repo,
                "blob": by_file[c.file].blob,
            }
            for c in report.checks
        ],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_target(out_dir / STATUS_FILE) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def finish(
    out_dir: Path, report: VerifyReport, entries: list[ClipEntry], manifest: str, built: bool
) -> int:
    """Write clips.json, print problems, summary and instructions; return the exit status."""
    write_status(out_dir, report, entries, manifest)
    for line in report.problems():
        print(line)
    counts = report.counts()
    if built:
        summary = (
            f"{len(report.checks)} clips in {report.folder}: {counts['written']} written, "
            f"{counts['ok']} already present, {counts['missing']} missing, "
            f"{counts['wrong_hash']} wrong hash"
        )
    else:
        summary = report.summary()
    print(f"{summary} (status of each clip in {out_dir / STATUS_FILE})")
    absent = {c.file for c in report.checks if not c.ok}
    if absent:
        print(how_to_get([e for e in entries if e.file in absent], out_dir))
    return 0 if report.all_ok else 1


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m avalign.benchmark.clips", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the clips to OUT_DIR/raw and verify them")
    verify = commands.add_parser("verify", help="check OUT_DIR/raw against the manifest")
    for sub in (build, verify):
        sub.add_argument("out_dir", type=Path, help="folder that holds (or will hold) raw/")
        sub.add_argument(
            "--manifest", type=Path, help=f"manifest CSV (default: the packaged {MANIFEST_NAME})"
        )
        sub.add_argument(
            "--set",
            choices=sorted(PACKAGED_MANIFESTS),
            default="realdev",
            help="which packaged manifest, when --manifest is not given (default: realdev; "
            "realdev_extra: the 43 more clips, built into their own folder)",
        )
        sub.add_argument("--no-progress", action="store_true", help="no progress bar")
    build.add_argument(
        "--repos", type=Path, help="REPOS.tsv: OWNER/NAME<TAB>git directory or clone, per line"
    )
    build.add_argument(
        "--clone-dir", type=Path, help="where fetched repositories go (default OUT_DIR/.git-cache)"
    )
    build.add_argument(
        "--url-template",
        default=DEFAULT_URL,
        help="remote of a repository not in REPOS.tsv; {repo}, {owner}, {name} are filled in",
    )
    build.add_argument(
        "--no-fetch", action="store_true", help="never fetch: use only the local copies"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run ``build`` or ``verify``; return the exit status (0 all verified, 1 not, 2 error)."""
    args = parse(argv)
    out_dir: Path = args.out_dir.expanduser()
    try:
        packaged = PACKAGED_MANIFESTS[args.set]
        entries = read_manifest(args.manifest, packaged)
        repos = read_repos_table(args.repos) if getattr(args, "repos", None) else {}
    except (ManifestError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    manifest = str(args.manifest) if args.manifest else f"<packaged {packaged}>"
    progress = not args.no_progress
    if args.command == "verify":
        report = verify_clips(out_dir / "raw", entries, progress=progress)
    else:
        fetcher = None
        if not args.no_fetch:
            clone_dir = (args.clone_dir or out_dir / ".git-cache").expanduser()
            fetcher = Fetcher(clone_dir.resolve(), args.url_template)
        report = build_clips(out_dir, entries, repos, fetcher=fetcher, progress=progress)
    return finish(out_dir, report, entries, manifest, built=args.command == "build")


if __name__ == "__main__":
    sys.exit(main())
