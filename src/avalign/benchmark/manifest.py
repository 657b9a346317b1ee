"""The real development clips' manifest: facts about each clip, read, checked and verified.

``realdev.csv`` (packaged beside this module) lists the real clips of the benchmark, one row per
clip: where its bytes live (``source_repo``, ``source_path`` at ``commit``), what they are
(``blob``, the git blob hash, and ``size_bytes``), what the clip is (``duration_s``, ``category``,
``content``), its ``license`` as recorded, and ``source_video``, the recording it was cut from, so
that folds never split one recording (or one speaker of a face data set) across folds. It holds
facts only: the media are never packaged or committed; ``python -m avalign.benchmark.clips``
builds them from git.

How ``realdev.csv`` was made (once; rows added later must follow the same recipe): every column
but ``blob``, ``size_bytes`` and ``source_video`` was copied from the curated
``../shared/realdev/manifest.csv``; ``blob`` is ``git --git-dir=DIR rev-parse COMMIT:PATH`` and
``size_bytes`` is ``git --git-dir=DIR cat-file -s BLOB`` in a local mirror of the repository;
``source_video`` is ``source_video_of(file, source_repo, source_path)``, whose rules were checked
by hand on contact sheets of every clip (see the comment above it).

``realdev_extra.csv`` holds the 43 clips of ``../shared/realdev/manifest-extra.csv`` (29 talking
heads), found later by the same rules: its columns are that manifest's, cut to those of
``realdev.csv`` (its ``source_video`` was already filled in by the same rules). The benchmark
reads both (``extra_root`` in ``conf/benchmark.yaml``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

MANIFEST_NAME = "realdev.csv"
#: The 43 more clips of ``../shared/realdev/manifest-extra.csv`` (29 talking heads).
EXTRA_MANIFEST_NAME = "realdev_extra.csv"
#: The packaged manifests by set name (``clips build --set NAME``).
PACKAGED_MANIFESTS = {"realdev": MANIFEST_NAME, "realdev_extra": EXTRA_MANIFEST_NAME}

#: The columns of a manifest, in order; ``content`` (a one-line description) may be absent.
COLUMNS = (
    "file",
    "source_repo",
    "source_path",
    "commit",
    "blob",
    "size_bytes",
    "duration_s",
    "category",
    "license",
    "source_video",
    "content",
)
REQUIRED = COLUMNS[:-1]

#: Repositories whose media (and copies of them found elsewhere) are kept for independent
#: evaluation of avalign: never for training, tuning or development (../shared/realdev/README.md).
RESERVED_REPOS = frozenset(
    {
        "Breakthrough/PySceneDetect",
        "DAMO-NLP-SG/Video-LLaMA",
        "DAMO-NLP-SG/VideoLLaMA2",
        "KwaiVGI/LivePortrait",
        "OpenTalker/SadTalker",
        "OpenTalker/video-retalking",
        "PKU-YuanGroup/Video-LLaVA",
        "YuanGongND/cav-mae",
        "Zulko/moviepy",
        "afourast/avobjects",
        "ageitgey/face_recognition",
        "ajay-sainy/Wav2Lip-GFPGAN",
        "bytedance/LatentSync",
        "bytedance/SALMONN",
        "dmlc/decord",
        "facebookresearch/VisualVoice",
        "kivy/kivy",
        "mediaelement/mediaelement-files",
        "open-mmlab/mmaction2",
        "rizkiarm/LipNet",
        "smeetrs/deep_avsr",
        "v-iashin/BMT",
        "v-iashin/SpecVQGAN",
        "v-iashin/video_features",
    }
)
_RESERVED_LOWER = frozenset(name.lower() for name in RESERVED_REPOS)  # GitHub ignores case

_HEX40 = re.compile(r"[0-9a-f]{40}")
_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+")
HASH_CHUNK = 1 << 20  # bytes read at a time by git_blob_hash


class ManifestError(ValueError):
    """A manifest that cannot be used: the message names the file, the line and the problem."""


@dataclass(frozen=True)
class ClipEntry:
    """One real clip: where its bytes are, how to recognise them, and what it shows."""

    file: str  # name under the clip folder (raw/)
    source_repo: str  # OWNER/NAME on GitHub
    source_path: str  # path of the file in that repository
    commit: str  # a commit at which source_path holds exactly this file
    blob: str  # git blob hash of the file (sha1 of "blob <size>\0" + bytes)
    size_bytes: int
    duration_s: float
    category: str  # sound-event | talking-head | music | speech | other
    license: str  # as recorded: the repository's licence and where the media come from
    source_video: str  # the recording it was cut from; folds keep each one whole
    content: str = ""  # one-line description, from looking at it


def is_reserved(repo: str) -> bool:
    """True when ``repo`` (OWNER/NAME, any case) is reserved for independent evaluation."""
    return repo.strip().lower() in _RESERVED_LOWER


def packaged_manifest(name: str = MANIFEST_NAME) -> str:
    """The text of a packaged manifest (``realdev.csv`` or ``realdev_extra.csv``)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def read_manifest(path: str | Path | None = None, packaged: str = MANIFEST_NAME) -> list[ClipEntry]:
    """Read and check a manifest (default: the packaged ``packaged``, ``realdev.csv``).

    Raises ManifestError naming the file and line for a missing column, an empty field, a file
    name that is not a plain name, a malformed commit or blob hash, a size or duration that is
    not a positive number, a repeated file name, or a repository that is reserved.
    """
    if path is None:
        name, text = f"<packaged {packaged}>", packaged_manifest(packaged)
    else:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ManifestError(f"{name}: cannot read the manifest ({error})") from error
    reader = csv.DictReader(io.StringIO(text))
    absent = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if absent:
        raise ManifestError(f"{name}: missing column(s) {', '.join(absent)}")
    entries: list[ClipEntry] = []
    seen: dict[str, int] = {}
    for row in reader:
        where = f"{name} line {reader.line_num}"
        entry = _entry(row, where)
        if entry.file in seen:
            raise ManifestError(
                f"{where}: {entry.file} is listed twice (also line {seen[entry.file]})"
            )
        seen[entry.file] = reader.line_num
        entries.append(entry)
    if not entries:
        raise ManifestError(f"{name}: no clips listed")
    return entries


def _entry(row: dict[str, str | None], where: str) -> ClipEntry:
    values = {key: (row.get(key) or "").strip() for key in COLUMNS}
    empty = [key for key in REQUIRED if not values[key]]
    if empty:
        raise ManifestError(f"{where}: empty field(s) {', '.join(empty)}")
    repo = values["source_repo"]
    if is_reserved(repo):
        raise ManifestError(
            f"{where}: {repo} is a reserved repository (kept for independent evaluation, "
            "see RESERVED_REPOS); its clips must not be used for development"
        )
    if not _REPO.fullmatch(repo):
        raise ManifestError(f"{where}: source_repo {repo!r} is not OWNER/NAME")
    file = values["file"]
    if file in (".", "..") or "/" in file or "\\" in file or file.startswith("."):
        raise ManifestError(f"{where}: file {file!r} must be a plain, visible file name")
    for key in ("commit", "blob"):
        if not _HEX40.fullmatch(values[key]):
            raise ManifestError(f"{where}: {key} {values[key]!r} is not 40 lowercase hex digits")
    try:
        size, duration = int(values["size_bytes"]), float(values["duration_s"])
    except ValueError as error:
        raise ManifestError(
            f"{where}: size_bytes or duration_s is not a number ({error})"
        ) from None
    if size <= 0 or not duration > 0:
        raise ManifestError(f"{where}: size_bytes and duration_s must be positive")
    return ClipEntry(
        file=file,
        source_repo=repo,
        source_path=values["source_path"],
        commit=values["commit"],
        blob=values["blob"],
        size_bytes=size,
        duration_s=duration,
        category=values["category"],
        license=values["license"],
        source_video=values["source_video"],
        content=values["content"],
    )


def git_blob_hash(path: str | Path, chunk_size: int = HASH_CHUNK) -> str:
    """The git blob hash of a file (what ``git hash-object`` prints), read in chunks.

    Raises OSError when the file cannot be read or changes size while it is read.
    """
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    read = 0
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
            read += len(chunk)
    if read != size:
        raise OSError(f"{path}: changed while it was read ({read} bytes, {size} expected)")
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class ClipCheck:
    """The state of one clip in a folder."""

    file: str
    status: str  # "ok" | "written" (by build, verified) | "missing" | "wrong_hash"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "written")

    def line(self) -> str:
        """``<file>: <state>``, one line."""
        text = {"ok": "ok", "written": "written", "missing": "missing", "wrong_hash": "wrong hash"}
        state = text.get(self.status, self.status)
        return f"{self.file}: {state}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class VerifyReport:
    """Every clip of a manifest checked against one folder."""

    folder: Path
    checks: tuple[ClipCheck, ...] = field(default_factory=tuple)

    def with_status(self, *statuses: str) -> list[ClipCheck]:
        return [c for c in self.checks if c.status in statuses]

    @property
    def ok(self) -> list[ClipCheck]:
        return [c for c in self.checks if c.ok]

    @property
    def missing(self) -> list[ClipCheck]:
        return self.with_status("missing")

    @property
    def wrong_hash(self) -> list[ClipCheck]:
        return self.with_status("wrong_hash")

    @property
    def all_ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def problems(self) -> list[str]:
        """One line per clip that is missing or wrong."""
        return [c.line() for c in self.checks if not c.ok]

    def counts(self) -> dict[str, int]:
        counts = Counter(c.status for c in self.checks)
        return {s: counts.get(s, 0) for s in ("written", "ok", "missing", "wrong_hash")}

    def summary(self) -> str:
        c = self.counts()
        return (
            f"{len(self.checks)} clips in {self.folder}: {c['ok'] + c['written']} present and "
            f"verified, {c['missing']} missing, {c['wrong_hash']} with a wrong hash"
        )


def check_clip(path: Path, entry: ClipEntry) -> ClipCheck:
    """Compare one file with its manifest entry (size first, then the git blob hash)."""
    if not path.is_file():
        return ClipCheck(entry.file, "missing", f"no file {path}")
    try:
        size = path.stat().st_size
        if size != entry.size_bytes:
            return ClipCheck(
                entry.file, "wrong_hash", f"{size} bytes, the manifest says {entry.size_bytes}"
            )
        got = git_blob_hash(path)
    except OSError as error:
        return ClipCheck(entry.file, "missing", f"cannot read {path}: {error}")
    if got != entry.blob:
        return ClipCheck(entry.file, "wrong_hash", f"blob {got}, the manifest says {entry.blob}")
    return ClipCheck(entry.file, "ok")


def verify_clips(
    folder: str | Path, entries: Iterable[ClipEntry], *, progress: bool = True
) -> VerifyReport:
    """Check that ``folder/<file>`` of every entry is present with the right git blob hash."""
    folder = Path(folder)
    entries = list(entries)
    checks = [
        check_clip(folder / e.file, e)
        for e in tqdm(entries, desc="verify", unit="clip", disable=not progress)
    ]
    return VerifyReport(folder, tuple(checks))


# ---------------------------------------------------------------------------------------------
# Source videos
#
# Rules for source_video, first match wins (checked by hand on contact sheets of all 123 clips):
#   1. groups seen by eye (SAME_SOURCE): one actor in two VoxCeleb2 interviews (PC-AVS
#      Audio_Source/00104 and Pose_Source/741400163); two guests on one studio set, perhaps one
#      episode (PC-AVS Audio_Source/00086 and Input/00098); two face tracks of one MSDWild car
#      conversation (samples/demo1); the four Greatest Hits clips of CondFoleyGen (one drumstick,
#      the same hands and buildings: treated like one speaker);
#   2. VoxCeleb2 layout idNNNNN/<YouTube id>/NNNNN.mp4 -> "voxceleb2:idNNNNN" (one speaker);
#   3. LRS2 layout <19-digit programme id>/NNNNN.mp4 -> "lrs2:<programme id>" (one broadcast);
#   4. LRS3 layout {pretrain,trainval,test}/<YouTube id>/NNNNN.mp4 -> "youtube:<id>";
#   5. a file named <11-char YouTube id>_<start>[_<end>] (VGGSound, AudioSet, im2wav, SparseSync)
#      -> "youtube:<id>", so 003whBJovZ8_000282 and 003whBJovZ8_000309 are one recording;
#   6. a file named by its bare YouTube id in AVSBench and LLP (Crab, AVVP) -> "youtube:<id>";
#   7. otherwise the clip itself -> "clip:<file stem>".
# No YouTube id occurs in two repositories; the AVSync15 and VGGSound clips that look alike across
# repositories (lions, drums, congas, tennis, toilets, dogs, cap guns) are different recordings.

_VOXCELEB2 = re.compile(r"(?:^|/)(id\d{5})/[A-Za-z0-9_-]{11}/\d{5}\.mp4$")
_LRS2 = re.compile(r"(?:^|/)(\d{19})/\d{5}\.mp4$")
_LRS3 = re.compile(r"(?:^|/)(?:pretrain|trainval|test)/([A-Za-z0-9_-]{11})/\d{5}\.mp4$")
_YOUTUBE_STAMPED = re.compile(r"([A-Za-z0-9_-]{11})_\d+(?:\.\d+)?(?:_\d+(?:\.\d+)?)?")
_YOUTUBE_BARE = re.compile(r"[A-Za-z0-9_-]{10,11}")  # AVSBench names a few clips by 10 chars
_YOUTUBE_NAMED_REPOS = frozenset({"OpenNLPLab/AVSBench", "GeWu-Lab/Crab", "YapengTian/AVVP-ECCV20"})

#: (source_repo, source_path) -> group, for recordings shared in ways the names do not show.
SAME_SOURCE = {
    ("Hangz-nju-cuhk/Talking-Face_PC-AVS", "misc/Audio_Source/00104.mp4"): "group:pcavs-actor-1",
    ("Hangz-nju-cuhk/Talking-Face_PC-AVS", "misc/Pose_Source/741400163.mp4"): "group:pcavs-actor-1",
    ("Hangz-nju-cuhk/Talking-Face_PC-AVS", "misc/Audio_Source/00086.mp4"): "group:pcavs-studio-1",
    ("Hangz-nju-cuhk/Talking-Face_PC-AVS", "misc/Input/00098.mp4"): "group:pcavs-studio-1",
    ("X-LANCE/MSDWILD", "samples/demo1/speaking_mp4s/0.mp4"): "group:msdwild-demo1",
    ("X-LANCE/MSDWILD", "samples/demo1/speaking_mp4s/5.mp4"): "group:msdwild-demo1",
    **{
        ("XYPB/CondFoleyGen", path): "group:greatest-hits"
        for path in (
            "generated_videos/6_4s/orig/2015-02-23-21-05-54_denoised_trim_to_8s_from_10.6667"
            "_new_fps_resized.mp4",
            "generated_videos/4_6s/orig/2015-03-25-01-08-28_denoised_trim_to_8s_from_2.7333"
            "_new_fps_resized.mp4",
            "data/demo_video/hitting_bag.mp4",
            "data/demo_video/hitting_metal.mp4",
        )
    },
}


def source_video_of(file: str, source_repo: str, source_path: str) -> str:
    """The recording a clip was cut from, by the rules above (the manifest stores the result)."""
    if (source_repo, source_path) in SAME_SOURCE:
        return SAME_SOURCE[(source_repo, source_path)]
    for pattern, kind in ((_VOXCELEB2, "voxceleb2"), (_LRS2, "lrs2"), (_LRS3, "youtube")):
        if match := pattern.search(source_path):
            return f"{kind}:{match.group(1)}"
    stem = PurePosixPath(source_path).stem
    if match := _YOUTUBE_STAMPED.fullmatch(stem):
        return f"youtube:{match.group(1)}"
    if source_repo in _YOUTUBE_NAMED_REPOS and _YOUTUBE_BARE.fullmatch(stem):
        return f"youtube:{stem}"
    return f"clip:{PurePosixPath(file).stem}"
