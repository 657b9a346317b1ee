"""Benchmark: the least time that extraction's required work can take, against the bare decode.

    python experiments/extraction_floor.py [--repeats 7] [--seconds 10] [--sizes 640x360,1280x720]

`bench_extraction.py` times the extraction as it is. This script asks what it *could* be: it
times each piece of work that the default feature config requires, alone, with the fastest
primitive available here (no Python loop around it, no bookkeeping), on the same clips and the
same six samples per clip:
- decoding the pictures as extraction does (pictures nobody shows or refers to are skipped),
  without converting them;
- decoding the sound, without resampling; resampling it to the feature rate (FFmpeg's
  resampler, as used, and torchaudio's, the fastest here; the floor takes the faster);
- shrinking the luma planes of the frames at the step boundaries to 112x112 gray, with the area
  filter that extraction uses (`media.decode.shrink`) and, for comparison, with a bilinear
  filter (the cheapest OpenCV offers short of nearest neighbour; it aliases, so avalign does not
  use it);
- DIS optical flow between consecutive feature frames (ultrafast preset);
- torchaudio's MFCC of each sample's sound;
- deflating each sample's frames (zlib level 1; the other arrays are a few hundred bytes).
The sum of these medians (with the faster resampler) is a floor for the extraction of the clip,
given for each filter. Its ratio to the bare decode says whether a ratio target can be met at all
with these features, whatever is optimised around them. One process, one core.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import torch
import torchaudio
from bench_extraction import bare_decode, benchmark_clips, extraction

from avalign.batch.parallel import limit_threads
from avalign.datasets.prepared import PreparedSegment
from avalign.features.audio import _mfcc_transform
from avalign.features.config import FeatureConfig
from avalign.features.extract import step_boundaries
from avalign.media.decode import _decode_shown, _open_video, decode_audio, shrink
from avalign.samples.perturb import render_sample_audio
from avalign.samples.plan import SampleConfig, plan_samples


def median_ms(work: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``work`` in ms, after one untimed call."""
    work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def clip_samples(path: Path, duration: float):
    """The samples that `bench_extraction` extracts from this clip (same plan)."""
    segment = PreparedSegment(
        "bench", "bench", "good", 0.0, duration, "train", path.name, 1, duration, 0, 0, 30.0, 48000
    )
    samples, _ = plan_samples([segment], SampleConfig(draws_per_segment=3, shift_source="video"))
    return samples


def decode_pictures(path: Path, times: list[float]) -> None:
    """Decode the pictures as extraction does, converting none."""
    container, stream = _open_video(path, 1)
    try:
        for _ in _decode_shown(container, stream, times, True):
            pass
    finally:
        container.close()


def decode_sound(path: Path) -> None:
    """Decode the sound, converting nothing."""
    with av.open(str(path)) as container:
        for _ in container.decode(audio=0):
            pass


def native_sound(path: Path) -> tuple[np.ndarray, int]:
    """The sound as float samples at its own rate, channels averaged, and that rate (untimed
    input of the resampling step)."""
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].sample_rate
        chunks = [frame.to_ndarray() for frame in container.decode(audio=0)]
    return np.concatenate(chunks, axis=1).mean(axis=0).astype(np.float32), rate


def luma_planes(path: Path, times: np.ndarray) -> list[np.ndarray]:
    """The full-size luma plane on screen at each time (untimed input of the shrink step)."""
    planes, queue = [], list(times)
    with av.open(str(path)) as container:
        shown = None
        for frame in container.decode(video=0):
            now = frame.pts * float(frame.time_base)
            while queue and queue[0] < now - 1e-6:
                planes.append(shown if shown is not None else frame.to_ndarray(format="gray"))
                queue.pop(0)
            shown = frame.to_ndarray(format="gray")
        planes += [shown] * len(queue)
    return planes


def floor_of(path: Path, duration: float, repeats: int) -> tuple[dict[str, float], int]:
    """Median ms of each required piece of work for the clip's samples, and how many samples."""
    config = FeatureConfig()
    samples = clip_samples(path, duration)
    bounds = [step_boundaries(s.start_s, s.duration_s, config.fps) for s in samples]
    times = np.unique(np.concatenate(bounds))
    width, height = config.frame_size
    planes = luma_planes(path, times)
    thumbs = np.stack([shrink(p, width, height) for p in planes])
    pairs = [
        (thumbs[a], thumbs[b])
        for sample_bounds in bounds
        for a, b in zip(
            np.searchsorted(times, sample_bounds)[:-1],
            np.searchsorted(times, sample_bounds)[1:],
            strict=True,
        )
    ]
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    sound = decode_audio(path, config.sample_rate)
    sounds = []
    for spec, sample_bounds in zip(samples, bounds, strict=True):
        length = (len(sample_bounds) - 1) * config.samples_per_step
        signal = render_sample_audio(sound, config.sample_rate, spec)
        # a muted sample's MFCC is that of digital silence, as in `audio_features`
        sounds.append(np.zeros(length, np.float32) if signal is None else signal[:length])
    mfcc = _mfcc_transform(config.sample_rate, config.mfcc)
    frames_bytes = [thumbs[np.searchsorted(times, b)].tobytes() for b in bounds]
    native, rate = native_sound(path)

    def swr() -> None:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=config.sample_rate)
        frame = av.AudioFrame.from_ndarray(native[None, :], format="flt", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        resampler.resample(frame)
        resampler.resample(None)

    def torch_resample() -> None:
        torchaudio.functional.resample(torch.from_numpy(native), rate, config.sample_rate)

    def all_mfcc() -> None:
        with torch.no_grad():
            for signal in sounds:
                mfcc(torch.from_numpy(signal))

    costs = {
        "pictures": median_ms(lambda: decode_pictures(path, times.tolist()), repeats),
        "sound": median_ms(lambda: decode_sound(path), repeats),
        "resample (FFmpeg)": median_ms(swr, repeats),
        "resample (torchaudio)": median_ms(torch_resample, repeats),
        "shrink (area)": median_ms(lambda: [shrink(p, width, height) for p in planes], repeats),
        "shrink (bilinear)": median_ms(
            lambda: [
                cv2.resize(p, (width, height), interpolation=cv2.INTER_LINEAR) for p in planes
            ],
            repeats,
        ),
        "flow": median_ms(lambda: [dis.calc(a, b, None) for a, b in pairs], repeats),
        "mfcc": median_ms(all_mfcc, repeats),
        "deflate": median_ms(lambda: [zlib.compress(b, 1) for b in frames_bytes], repeats),
    }
    return costs, len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--sizes",
        default="640x360,1280x720",
        help="WIDTHxHEIGHT, comma-separated (the default corpus has 320x240 to 640x360)",
    )
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    limit_threads()
    cv2.setNumThreads(1)
    columns = (
        "pictures",
        "sound",
        "resample (FFmpeg)",
        "resample (torchaudio)",
        "shrink (area)",
        "shrink (bilinear)",
        "flow",
        "mfcc",
        "deflate",
    )
    print(
        "| clip | bare decode | extraction | "
        + " | ".join(columns)
        + " | floor (area) | floor (bilinear) | extraction / decode |"
    )
    print("|---" * (len(columns) + 6) + "|")
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        for width, height, label, path in benchmark_clips(scratch, sizes, args.seconds):
            costs, _ = floor_of(path, args.seconds, args.repeats)
            decode = median_ms(lambda p=path: bare_decode(p), args.repeats)
            actual = median_ms(
                lambda p=path: extraction(p, args.seconds, "dis", scratch), args.repeats
            )
            rest = (
                costs["pictures"]
                + costs["sound"]
                + min(costs["resample (FFmpeg)"], costs["resample (torchaudio)"])
                + costs["flow"]
                + costs["mfcc"]
                + costs["deflate"]
            )
            floors = [rest + costs["shrink (area)"], rest + costs["shrink (bilinear)"]]
            print(
                f"| {width}x{height} {label} | {decode:.0f} ms | {actual:.0f} ms | "
                + " | ".join(f"{costs[c]:.1f}" for c in columns)
                + "".join(f" | {f:.0f} ms ({f / decode:.2f}x)" for f in floors)
                + f" | {actual / decode:.2f} |"
            )


if __name__ == "__main__":
    main()
