"""Write samples as real mp4 files with ffmpeg, every label through the same encoder settings.

The picture of every sample is cut from its source and re-encoded identically; the sound of every
sample (positives included) is the array `render_sample_audio` makes, piped to ffmpeg and encoded
to AAC with the same settings; a muted sample simply has no audio stream. So no codec or padding
artefact tells a positive from a negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avalign.atomic import atomic_target
from avalign.media.decode import decode_audio
from avalign.media.errors import MediaError
from avalign.media.ffmpeg import run_ffmpeg
from avalign.samples.perturb import NotEnoughAudioError, render_sample_audio
from avalign.samples.plan import SampleSpec

SAMPLES_FOLDER = "generated_samples"


@dataclass(frozen=True)
class MaterializeJob:
    """All samples of one source video, and where their files go."""

    source: Path
    samples: tuple[SampleSpec, ...]
    out_dir: Path
    sample_rate: int  # Hz of the written sound
    crf: int = 18  # x264 quality (lower is better; 18 is visually lossless)


def sample_file(out_dir: Path, spec: SampleSpec) -> Path:
    """Where a sample's mp4 goes."""
    return out_dir / f"{spec.sample_id}.mp4"


def encode_sample(
    source: Path, spec: SampleSpec, audio, sample_rate: int, target: Path, *, crf: int = 18
) -> None:
    """Cut ``spec``'s window from ``source``, add ``audio`` (None: no sound), write ``target``."""
    args = ["-ss", f"{spec.start_s:.6f}", "-t", f"{spec.duration_s:.6f}", "-i", str(source)]
    if audio is not None:
        args += ["-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"]
    args += ["-map", "0:v:0"]
    if audio is not None:
        args += ["-map", "1:a:0", "-c:a", "aac", "-b:a", "128k"]
    args += [
        "-vf",
        "scale=trunc(iw/2)*2:trunc(ih/2)*2",  # x264 4:2:0 needs even sizes
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


def materialize_video(job: MaterializeJob) -> list[tuple[str, str | None]]:
    """Write every sample of one source video; return (sample id, error or None) per sample.

    Samples whose file already exists are kept (resume). The source sound is decoded once.
    """
    todo = [s for s in job.samples if not sample_file(job.out_dir, s).is_file()]
    results: list[tuple[str, str | None]] = [
        (s.sample_id, None) for s in job.samples if s not in todo
    ]
    if not todo:
        return results
    try:
        source_audio = decode_audio(job.source, job.sample_rate)
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
            )
            results.append((spec.sample_id, None))
        except (NotEnoughAudioError, MediaError) as error:
            results.append((spec.sample_id, getattr(error, "problem", str(error))))
    return results
