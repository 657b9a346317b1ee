"""Write samples as real mp4 files with ffmpeg, every label through the same encoder settings.

The picture of every sample is cut from its source and re-encoded identically; the sound of every
sample (positives included) is the array `render_sample_audio` makes, piped to ffmpeg and encoded
to AAC with the same settings; a muted sample simply has no audio stream. So no codec or padding
artefact tells a positive from a negative.

Times are on the source's own timeline, the one `avalign.media.probe` and `avalign.media.decode`
use (the packets' timestamps; an MPEG-TS picture may start at 1.4 s). The picture shown at time t
of a written sample is the source picture shown at ``start_s + t``, to the microsecond: the cut is
planned from the source's packet times (`index_pictures`, `plan_cut`), not left to ffmpeg's
``-ss``, which counts from the container's start time and, in a transport stream (no index), can
land after the only keyframe that the cut's pictures can be decoded from. Frames keep their own
times (no constant-rate grid, which would move them up to half a frame); the frame on screen at
``start_s`` is shown from 0. A written file without a picture, or with a picture much shorter than
asked, is an error.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from avalign.media.decode import TIME_EPS, decode_audio
from avalign.media.errors import MediaError
from avalign.media.ffmpeg import run_ffmpeg
from avalign.samples.perturb import NotEnoughAudioError, render_sample_audio
from avalign.samples.plan import SampleSpec
from avalign.storage.atomic import atomic_target

SAMPLES_FOLDER = "generated_samples"
#: ffmpeg's demuxer seeks this far before the keyframe that the cut decodes from: it seeks a
#: transport stream by timestamps (no index), lands on any packet near the time asked, and
#: moves back a further 0.13 s when the video has B-frames. Pictures before the keyframe are
#: decoded for nothing (or dropped by the decoder) and never kept.
SEEK_MARGIN_S = 0.5
#: A written picture may end this much before the asked duration (a source picture that ends
#: within `avalign.datasets.prepared.END_SLACK_S` of ``end_s``, a last frame without a duration);
#: a cut that lost its keyframe, or that fell outside the picture, loses seconds.
SHORTFALL_S = 0.25
#: Time base of the written picture (the MPEG clock): shifting a frame by ``start_s`` rounds by
#: at most 6 us, also for sources whose own time base is coarse (1/25 s).
PICTURE_TIME_BASE = "1/90000"


@dataclass(frozen=True)
class MaterializeJob:
    """All samples of one source video, and where their files go."""

    source: Path
    samples: tuple[SampleSpec, ...]
    out_dir: Path
    sample_rate: int  # Hz of the written sound
    crf: int = 18  # x264 quality (lower is better; 18 is visually lossless)


@dataclass(frozen=True)
class PictureIndex:
    """When a source's pictures are shown, from its packets (nothing decoded).

    Attributes
    ----------
    times : sorted presentation times (s) of the pictures that are shown, on the file's timeline
        (pictures that an edit list hides are left out, as the decoder drops them).
    keyframes : sorted presentation times (s) of the shown pictures that decoding can start from.
    """

    times: np.ndarray
    keyframes: np.ndarray


@dataclass(frozen=True)
class PictureCut:
    """How ffmpeg cuts [start_s, end_s) of a source's picture, times on the source's timeline.

    ffmpeg seeks to ``seek_s``, decodes, keeps the ``frames`` pictures shown in
    [keep_from_s, keep_until_s) (bounds half-way between pictures, so that rounding never moves
    one across) and shows each at its time minus ``start_s``; the first one, on screen at
    ``start_s``, from 0.
    """

    seek_s: float
    keep_from_s: float
    keep_until_s: float
    start_s: float
    frames: int

    def filters(self) -> str:
        """The ffmpeg video filters of the cut, for timestamps on the source's timeline."""
        return (
            f"trim=start={self.keep_from_s:.6f}:end={self.keep_until_s:.6f},"
            f"settb={PICTURE_TIME_BASE},setpts=max(0\\,PTS-{self.start_s:.6f}/TB)"
        )


def sample_file(out_dir: Path, spec: SampleSpec) -> Path:
    """Where a sample's mp4 goes."""
    return out_dir / f"{spec.sample_id}.mp4"


def _shown(packet: av.Packet) -> bool:
    """A packet that the decoder turns into a shown picture (as `avalign.media.probe` counts)."""
    return packet.pts is not None and packet.size > 0 and not packet.is_discard


def index_pictures(source: Path) -> PictureIndex:
    """Read the presentation times of ``source``'s pictures and keyframes from its packets."""
    try:
        container = av.open(str(source), mode="r")
    except FileNotFoundError as error:
        raise MediaError(source, "file not found") from error
    except av.error.FFmpegError as error:
        raise MediaError(source, f"cannot open: {error.strerror}") from error
    times: list[float] = []
    keyframes: list[float] = []
    try:
        if not container.streams.video:
            raise MediaError(source, "no video stream")
        stream = container.streams.video[0]
        time_base = float(stream.time_base)
        for packet in container.demux(stream):
            if _shown(packet):
                times.append(packet.pts * time_base)
                if packet.is_keyframe:
                    keyframes.append(packet.pts * time_base)
    except av.error.FFmpegError as error:
        raise MediaError(source, f"cannot read the picture's packets: {error.strerror}") from error
    finally:
        container.close()
    if not times:
        raise MediaError(source, "no video frames")
    return PictureIndex(np.sort(np.asarray(times)), np.sort(np.asarray(keyframes)))


def plan_cut(pictures: PictureIndex, start_s: float, end_s: float) -> PictureCut | None:
    """The cut of [start_s, end_s) of the picture (`PictureCut`); None when no picture is shown
    in it (the picture ends one frame interval after its last frame). Decoding starts at the last
    keyframe not after the picture on screen at ``start_s`` (the first picture when none is),
    less `SEEK_MARGIN_S`; without keyframe flags, at the first picture."""
    times = pictures.times
    step = float(times[-1] - times[-2]) if times.size > 1 else 1.0
    first = max(0, bisect.bisect_right(times, start_s + TIME_EPS) - 1)  # on screen at start_s
    stop = bisect.bisect_left(times, end_s - TIME_EPS)  # the first picture not in the window
    if stop <= first or start_s >= times[-1] + step - TIME_EPS:
        return None
    keep_from = (
        (times[first - 1] + times[first]) / 2
        if first > 0
        else times[0] - 0.5 * float(times[1] - times[0] if times.size > 1 else 1.0)
    )
    keep_until = (times[stop - 1] + times[stop]) / 2 if stop < times.size else times[-1] + step / 2
    key = bisect.bisect_right(pictures.keyframes, times[first] + TIME_EPS) - 1
    decode_from = float(pictures.keyframes[key]) if key >= 0 else float(times[0])
    return PictureCut(
        seek_s=min(decode_from, float(keep_from)) - SEEK_MARGIN_S,
        keep_from_s=float(keep_from),
        keep_until_s=float(keep_until),
        start_s=start_s,
        frames=stop - first,
    )


def _check_written(path: Path, target: Path, source: Path, spec: SampleSpec, frames: int) -> None:
    """Raise `MediaError` (naming ``target``) when the file at ``path`` has no picture, fewer than
    the ``frames`` pictures planned, or a picture much shorter than ``spec`` asks."""
    window = f"{spec.start_s:.2f}-{spec.end_s:.2f} s of {source.name}"
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise MediaError(target, f"no video stream written (from {window})")
            stream = container.streams.video[0]
            time_base = float(stream.time_base)
            ends = [
                (packet.pts + (packet.duration or 0)) * time_base
                for packet in container.demux(stream)
                if _shown(packet)
            ]
    except av.error.FFmpegError as error:
        raise MediaError(target, f"unreadable after writing: {error.strerror}") from error
    if len(ends) < frames:
        raise MediaError(
            target, f"{len(ends)} of the {frames} pictures shown in {window} were written"
        )
    picture_s = max(ends, default=0.0)
    if picture_s < spec.duration_s - SHORTFALL_S:
        raise MediaError(
            target,
            f"picture written lasts {picture_s:.2f} s of the {spec.duration_s:.2f} s asked "
            f"(from {window})",
        )


def encode_sample(
    source: Path,
    spec: SampleSpec,
    audio,
    sample_rate: int,
    target: Path,
    *,
    crf: int = 18,
    pictures: PictureIndex | None = None,
) -> None:
    """Cut ``spec``'s window from ``source``, add ``audio`` (None: no sound), write ``target``.

    The picture shown at time t of ``target`` is the one ``source`` shows at ``spec.start_s + t``
    (see the module's docstring); sample 0 of ``audio`` plays at time 0. ``pictures`` is
    ``index_pictures(source)``, read here when not given (give it for many samples of a source).
    Raises `MediaError` when ffmpeg fails, or writes no picture, fewer pictures than the source
    shows in the window, or a picture much shorter than asked.
    """
    source = Path(source)
    pictures = index_pictures(source) if pictures is None else pictures
    cut = plan_cut(pictures, spec.start_s, spec.end_s)
    if cut is None:
        raise MediaError(
            source, f"no picture shown in {spec.start_s:.2f}-{spec.end_s:.2f} s (nothing to cut)"
        )
    # Timestamps stay those of the source's timeline (-copyts; without it ffmpeg counts them from
    # the seek point plus the container's start time), -ss is a time on that timeline too
    # (-seek_timestamp), and the trim filter, not ffmpeg's seek, decides which frames are kept.
    args = ["-copyts", "-seek_timestamp", "1", "-ss", f"{cut.seek_s:.6f}", "-noaccurate_seek"]
    args += ["-i", str(source)]
    if audio is not None:
        args += ["-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"]
    args += ["-map", "0:v:0"]
    if audio is not None:
        args += ["-map", "1:a:0", "-c:a", "aac", "-b:a", "128k"]
    args += [
        "-vf",
        cut.filters() + ",scale=trunc(iw/2)*2:trunc(ih/2)*2",  # x264 4:2:0 needs even sizes
        "-fps_mode:v",
        "passthrough",  # every frame at its own time, none duplicated or dropped
        "-enc_time_base:v",
        PICTURE_TIME_BASE,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        str(crf),
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "1",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
    ]
    with atomic_target(target) as tmp:
        run_ffmpeg(
            [*args, str(tmp)],
            input_bytes=None if audio is None else audio.astype("<f4").tobytes(),
            target=target,
        )
        _check_written(tmp, Path(target), source, spec, cut.frames)


def materialize_video(job: MaterializeJob) -> list[tuple[str, str | None]]:
    """Write every sample of one source video; return (sample id, error or None) per sample.

    Samples whose file already exists are kept (resume). The source sound is decoded once, the
    picture's packet times read once.
    """
    todo = [s for s in job.samples if not sample_file(job.out_dir, s).is_file()]
    results: list[tuple[str, str | None]] = [
        (s.sample_id, None) for s in job.samples if s not in todo
    ]
    if not todo:
        return results
    try:
        source_audio = decode_audio(job.source, job.sample_rate)
        pictures = index_pictures(job.source)
    except MediaError as error:
        return results + [(s.sample_id, error.problem) for s in todo]
    if source_audio is None:
        return results + [(s.sample_id, "no audio stream in the source") for s in todo]
    for spec in todo:
        try:
            audio = render_sample_audio(source_audio, job.sample_rate, spec)
            encode_sample(
                job.source,
                spec,
                audio,
                job.sample_rate,
                sample_file(job.out_dir, spec),
                crf=job.crf,
                pictures=pictures,
            )
            results.append((spec.sample_id, None))
        except (NotEnoughAudioError, MediaError) as error:
            results.append((spec.sample_id, getattr(error, "problem", str(error))))
    return results
