"""Does mouth evidence tell in-sync from shifted real talking heads? Figures, not a test.

For every talking-head and speech clip of the real development set, per 40 ms step (25 steps/s):
the face/mouth values of `avalign.features.face` under three schedules (face mesh on every
frame, every 2nd, every 4th), whole-frame motion as avalign computes it today (DIS flow energy and
frame difference on 112x112 gray), and from the sound (16 kHz) the RMS energy, a voice-band
(300-3000 Hz) envelope, log-mel energy and spectral flux. Then, on 4.8 s windows whose sound is
taken from the shifted time of the real track (offsets -2.0..+2.0 s, 0.2 s apart, positive =
audio late; offsets whose sound the track lacks are skipped), a training-free score per pair of
curves: the normalised cross-correlation over lags of +-2.4 s. Reported per pair and category:
AUROC of in-sync against shifted windows (score = correlation at the natural lag), exact-class
and +-1-class offset accuracy (argmax lag minus the natural lag, on the 0.2 s grid), the best lag
on in-sync windows (the natural lag, calibrated leaving the clip out), and 95% bootstrap
intervals over clips. Costs per frame (CPU time, one thread) of every part.

    python experiments/face_signal.py                       # all talking-head + speech clips
    python experiments/face_signal.py --limit 3 --cache ''  # a quick look, nothing cached

Needs the face models (`avalign.features.face.models_available()`), PyAV, OpenCV, scipy; no
torch. Per-clip features are cached under data/face_signal/ (delete it to recompute).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import av
import cv2
import numpy as np
from scipy.signal import butter, sosfiltfilt
from tqdm import tqdm

from avalign.features.config import FlowConfig
from avalign.features.face import FaceConfig, FaceTracker, models_available
from avalign.features.visual import FlowEstimator, motion_features
from avalign.media.decode import decode_audio

REPO = Path(__file__).resolve().parents[1]
FPS = 25.0
STEP = 1.0 / FPS
SR = 16000
WINDOW_S = 4.8
HOP_S = 1.2
OFFSETS = np.round(np.arange(-10, 11) * 0.2, 1)  # s, positive = audio late
MAX_LAG_S = 2.4
SCHEDULES = {"mesh1": 1, "mesh2": 2, "mesh4": 4}  # face mesh every N frames

# (visual, audio) pairs scored; visual names are prefixed by a schedule where they are facial
PAIRS = [
    ("mouth_open", "voice_env"),
    ("mouth_open", "logmel"),
    ("mouth_open", "rms_log"),
    ("mouth_open_d", "voice_env_d"),
    ("mouth_motion", "voice_env"),
    ("mouth_motion", "voice_env_absd"),
    ("mouth_motion", "flux"),
    ("mouth_motion_rel", "voice_env"),
    ("flow_energy", "rms"),
    ("flow_energy", "rms_log"),
    ("flow_energy", "voice_env"),
    ("flow_energy", "flux"),
    ("frame_diff", "flux"),
]
FACIAL = ("mouth_open", "mouth_open_d", "mouth_motion", "mouth_motion_rel")
COMBOS = {
    "mouth_combo": (
        "mouth_open~voice_env",
        "mouth_open_d~voice_env_d",
        "mouth_motion_rel~voice_env",
    ),
    "mouth_motion_combo": ("mouth_motion_rel~voice_env", "mouth_motion~voice_env"),
}


def frames_at_steps(path: Path):
    """Yield ``(time, frame)`` for every step time k/25 s: the PyAV frame on screen then.

    Decoding runs on one thread; the caller converts (and times) what it needs.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        base = float(stream.time_base)
        duration = float(stream.duration * base) if stream.duration else None
        if duration is None and container.duration:
            duration = container.duration / 1e6
        k, held = 0, None
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            now = frame.pts * base
            while held is not None and k * STEP < now - 1e-6:
                yield k * STEP, held
                k += 1
            held = frame
        while held is not None and (duration is None or k * STEP < duration - 1e-6):
            yield k * STEP, held
            k += 1
            if duration is None:
                break


def _rgb(frame: av.VideoFrame, short_side: int) -> np.ndarray:
    """The frame as RGB, short side scaled down to ``short_side`` (never up).

    4:2:0 frames are shrunk plane by plane with OpenCV's area filter and converted by OpenCV
    (0.2 ms for 720p -> 640x360 here, against 1.1 ms for FFmpeg's scaler to rgb24).
    """
    scale = min(1.0, short_side / min(frame.width, frame.height))
    width = max(2, round(frame.width * scale / 4) * 4)
    height = max(2, round(frame.height * scale / 4) * 4)
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        return frame.to_ndarray(width=width, height=height, format="rgb24")

    def plane(i: int, w: int, h: int) -> np.ndarray:
        p = frame.planes[i]
        full = np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[: p.height, : p.width]
        return cv2.resize(full, (w, h), interpolation=cv2.INTER_AREA)

    y = plane(0, width, height)
    u = plane(1, width // 2, height // 2).reshape(-1, width)
    v = plane(2, width // 2, height // 2).reshape(-1, width)
    return cv2.cvtColor(np.concatenate([y, u, v]), cv2.COLOR_YUV2RGB_I420)


def audio_curves(audio: np.ndarray, steps: int) -> dict[str, np.ndarray]:
    """Per-step sound curves (see the module docstring)."""
    n = int(SR * STEP)
    audio = np.pad(audio, (0, max(0, steps * n - audio.size)))[: steps * n].astype(np.float64)
    rms = np.sqrt((audio.reshape(steps, n) ** 2).mean(1))
    voice = sosfiltfilt(butter(4, [300, 3000], btype="band", fs=SR, output="sos"), audio)
    voice_env = np.log(np.sqrt((voice.reshape(steps, n) ** 2).mean(1)) + 1e-4)
    # log-mel: 25 ms Hann windows, 10 ms hop, 40 mel bands 60-7600 Hz, averaged per step
    win, hop = 400, 160
    frames = np.lib.stride_tricks.sliding_window_view(audio, win)[::hop] * np.hanning(win)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel = power @ _mel_bank(win).T + 1e-10
    log_mel = np.log(mel)
    owner = ((np.arange(len(frames)) * hop + win / 2) // n).astype(int)
    keep = owner < steps

    def per_step(values):
        total = np.bincount(owner[keep], weights=values[keep], minlength=steps)
        return total / np.maximum(np.bincount(owner[keep], minlength=steps), 1)

    flux = np.maximum(np.diff(log_mel, axis=0, prepend=log_mel[:1]), 0).mean(1)
    voice_d = np.diff(voice_env, prepend=voice_env[:1])
    return {
        "rms": rms,
        "rms_log": np.log(rms + 1e-4),
        "voice_env": voice_env,
        "voice_env_d": voice_d,
        "voice_env_absd": np.abs(voice_d),
        "logmel": np.log(per_step(mel.sum(1))),
        "flux": per_step(flux),
    }


def _mel_bank(n_fft: int, bands: int = 40, low: float = 60.0, high: float = 7600.0) -> np.ndarray:
    def mel(f):
        return 2595 * np.log10(1 + f / 700)

    def hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    edges = hz(np.linspace(mel(low), mel(high), bands + 2))
    freqs = np.fft.rfftfreq(n_fft, 1 / SR)
    bank = np.zeros((bands, freqs.size))
    for b in range(bands):
        lo, mid, hi = edges[b : b + 3]
        bank[b] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return bank


def extract_clip(path: Path, short_side: int) -> dict[str, np.ndarray]:
    """Every per-step curve of one clip, and the CPU cost of each part (ms per frame)."""
    trackers = {name: FaceTracker(FaceConfig(landmarks_every=k)) for name, k in SCHEDULES.items()}
    rows = {name: [] for name in SCHEDULES}
    cost = dict.fromkeys(["decode", "rgb", *SCHEDULES, "gray_thumb"], 0.0)
    grays = []
    size = None
    clock = time.process_time()
    converted: tuple[av.VideoFrame, np.ndarray] | None = None
    for t, frame in frames_at_steps(path):
        now = time.process_time()
        cost["decode"] += now - clock
        if converted is None or converted[0] is not frame:  # a held frame is converted once
            converted = (frame, _rgb(frame, short_side))
        rgb = converted[1]
        cost["rgb"] += time.process_time() - now
        size = rgb.shape[:2]
        for name, tracker in trackers.items():
            start = time.process_time()
            rows[name].append(tracker.step(rgb, t))
            cost[name] += time.process_time() - start
        start = time.process_time()
        grays.append(cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (112, 112), cv2.INTER_AREA))
        cost["gray_thumb"] += time.process_time() - start
        clock = time.process_time()
    steps = len(grays) - 1
    start = time.process_time()
    motion = motion_features(np.stack(grays), FlowEstimator(FlowConfig()))
    cost["flow_112"] = time.process_time() - start
    out: dict[str, np.ndarray] = {
        "flow_energy": motion["flow_energy"],
        "frame_diff": motion["frame_diff"],
    }
    for name in SCHEDULES:
        table = {k: np.array([r[k] for r in rows[name]], np.float64) for k in rows[name][0]}
        present = table["face_present"] > 0
        for key in ("mouth_open", "mouth_width"):
            known = ~np.isnan(table[key]) & present
            if known.any():
                table[key] = np.interp(
                    np.arange(present.size), np.flatnonzero(known), table[key][known]
                )
        # step k spans frames k and k + 1: state values at the step's end, motion between the two
        for key, values in table.items():
            out[f"{name}/{key}"] = np.nan_to_num(values[1:])
        out[f"{name}/face_present"] = (present[1:] & present[:-1]).astype(float)
    audio = decode_audio(path, SR)
    out.update(audio_curves(audio if audio is not None else np.zeros(0, np.float32), steps))
    frames = steps + 1
    out["cost_ms_per_frame"] = np.array([1000 * cost[k] / frames for k in cost])
    out["cost_names"] = np.array(list(cost))
    out["frame_size"] = np.array(size)
    return out


def derived(features: dict[str, np.ndarray], schedule: str) -> dict[str, np.ndarray]:
    """The visual curves of one schedule plus the schedule-free ones, by plain name."""
    curves = {k: features[k] for k in ("flow_energy", "frame_diff")}
    opening = features[f"{schedule}/mouth_open"]
    curves["mouth_open"] = opening
    curves["mouth_open_d"] = np.diff(opening, prepend=opening[:1])
    curves["mouth_motion"] = features[f"{schedule}/mouth_motion"]
    curves["mouth_motion_rel"] = curves["mouth_motion"] - features[f"{schedule}/face_motion"]
    curves["face_present"] = features[f"{schedule}/face_present"]
    return curves


def ncc_over_lags(v: np.ndarray, a: np.ndarray, max_lag: int, min_overlap: int = 20) -> np.ndarray:
    """Pearson correlation of v(t) with a(t + L) for L = -max_lag..max_lag, each over the overlap
    of the two windows only (NaN where it is shorter than ``min_overlap`` or flat)."""
    n = v.size
    v = (v - v.mean()) / (v.std() + 1e-12)  # scale-free; the correlation itself is unchanged
    a = (a - a.mean()) / (a.std() + 1e-12)
    lags = np.arange(-max_lag, max_lag + 1)
    sxy = np.correlate(a, v, mode="full")[n - 1 + lags]
    cv, cv2_ = np.r_[0, np.cumsum(v)], np.r_[0, np.cumsum(v * v)]
    ca, ca2 = np.r_[0, np.cumsum(a)], np.r_[0, np.cumsum(a * a)]
    x_lo, x_hi = np.maximum(0, -lags), n - np.maximum(0, lags)  # v[x_lo:x_hi]
    y_lo, y_hi = np.maximum(0, lags), n - np.maximum(0, -lags)  # a[y_lo:y_hi]
    m = (x_hi - x_lo).astype(float)
    sx, sxx = cv[x_hi] - cv[x_lo], cv2_[x_hi] - cv2_[x_lo]
    sy, syy = ca[y_hi] - ca[y_lo], ca2[y_hi] - ca2[y_lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy / m - sx * sy / m**2
        var = (sxx / m - (sx / m) ** 2) * (syy / m - (sy / m) ** 2)
        corr = cov / np.sqrt(var)
    corr[(m < min_overlap) | ~(var > 1e-12)] = np.nan
    return corr


def window_rows(clip: str, category: str, features: dict[str, np.ndarray]) -> list[dict]:
    """One row per (schedule, pair, window, offset): the correlation curve's facts."""
    audio_keys = {a for _, a in PAIRS}
    steps = len(features["flow_energy"])
    width, hop = round(WINDOW_S / STEP), round(HOP_S / STEP)
    max_lag = round(MAX_LAG_S / STEP)
    rows = []
    for schedule in SCHEDULES:
        curves = derived(features, schedule)
        for start in range(0, steps - width + 1, hop):
            present = curves["face_present"][start : start + width].mean()
            for offset in OFFSETS:
                shift = round(offset / STEP)  # the sound heard at t is the track's sound at t - o
                lo = start - shift
                if lo < 0 or lo + width > steps:
                    continue
                curves_here = {}
                for vis, aud in PAIRS:
                    if schedule != "mesh1" and vis not in FACIAL:
                        continue  # schedule-free curves once
                    v = curves[vis][start : start + width]
                    a = features[aud][lo : lo + width]
                    assert aud in audio_keys
                    curves_here[f"{vis}~{aud}"] = ncc_over_lags(v, a, max_lag)
                for name, parts in COMBOS.items():
                    # the mean of several correlation curves: evidence that agrees adds up
                    stack = np.array([curves_here[p] for p in parts])
                    count = np.isfinite(stack).sum(0)
                    with np.errstate(invalid="ignore"):
                        curves_here[name] = np.nan_to_num(stack).sum(0) / count
                for pair, corr in curves_here.items():
                    facial = pair.split("~")[0] in FACIAL or pair in COMBOS
                    rows.append(
                        {
                            "clip": clip,
                            "category": category,
                            "schedule": schedule if facial else "-",
                            "pair": pair,
                            "start": start,
                            "offset": float(offset),
                            "face": float(present),
                            "corr": corr,
                        }
                    )
    return rows


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(score of a random positive > that of a random negative), ties counting half."""
    if positive.size == 0 or negative.size == 0:
        return float("nan")
    scores = np.r_[positive, negative]
    ranks = np.argsort(np.argsort(scores, kind="stable"), kind="stable").astype(float) + 1
    # average ranks of ties
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2
    ranks[order] = np.repeat(average, counts)
    u = ranks[: positive.size].sum() - positive.size * (positive.size + 1) / 2
    return float(u / (positive.size * negative.size))


def evaluate(rows: list[dict], seed: int = 0, boots: int = 300) -> list[dict]:
    """Figures per (schedule, pair, category, face filter), with bootstrap intervals over clips."""
    lags = np.arange(-round(MAX_LAG_S / STEP), round(MAX_LAG_S / STEP) + 1) * STEP
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        for category in (r["category"], "all"):
            for face_only in (False, True):
                if face_only and r["face"] < 0.8:
                    continue
                groups.setdefault((r["schedule"], r["pair"], category, face_only), []).append(r)
    rng = np.random.default_rng(seed)
    results = []
    for (schedule, pair, category, face_only), members in sorted(groups.items()):
        corr = np.array([m["corr"] for m in members])
        valid = np.isfinite(corr).any(1)
        filled = np.where(np.isfinite(corr), corr, -np.inf)
        best = lags[np.argmax(filled, axis=1)]
        offset = np.array([m["offset"] for m in members])
        clip = np.array([m["clip"] for m in members])
        sync = offset == 0
        # natural lag, leaving the clip out: median best lag of other clips' valid in-sync windows
        natural = {}
        for c in np.unique(clip):
            others = sync & valid & (clip != c)
            natural[c] = float(np.median(best[others])) if others.any() else 0.0
        nat = np.array([natural[c] for c in clip])
        nat_index = np.round((nat + MAX_LAG_S) / STEP).astype(int)
        score = np.where(valid, np.nan_to_num(corr[np.arange(len(corr)), nat_index]), 0.0)
        predicted = np.clip(np.round((best - nat) / 0.2) * 0.2, -2.0, 2.0)
        exact = valid & np.isclose(predicted, offset)
        near = valid & (np.abs(predicted - offset) <= 0.2 + 1e-6)

        def figures(index, score=score, offset=offset, exact=exact, near=near):
            s, o = score[index], offset[index]
            return (
                auroc(s[o == 0], s[o != 0]),
                float(exact[index].mean()),
                float(near[index].mean()),
            )

        point = figures(np.arange(len(members)))
        clips = np.unique(clip)
        by_clip = {c: np.flatnonzero(clip == c) for c in clips}
        samples = []
        for _ in range(boots):
            pick = rng.choice(clips, clips.size)
            samples.append(figures(np.concatenate([by_clip[c] for c in pick])))
        low, high = np.nanpercentile(np.array(samples), [2.5, 97.5], axis=0)
        in_sync_best = best[sync & valid]
        # separability inside each clip (what whole-file evidence can build on)
        within = [
            auroc(score[idx][offset[idx] == 0], score[idx][offset[idx] != 0])
            for idx in by_clip.values()
            if (offset[idx] == 0).any() and (offset[idx] != 0).any()
        ]
        results.append(
            {
                "schedule": schedule,
                "pair": pair,
                "category": category,
                "face_only": face_only,
                "clips": int(clips.size),
                "windows": int(sync.sum()),
                "pairs": len(members),
                "auroc": point[0],
                "auroc_ci": (low[0], high[0]),
                "exact": point[1],
                "exact_ci": (low[1], high[1]),
                "within1": point[2],
                "within1_ci": (low[2], high[2]),
                "sync_best_lag_median_ms": 1000 * float(np.median(in_sync_best))
                if in_sync_best.size
                else float("nan"),
                "sync_best_lag_within_0_200ms": float(
                    ((in_sync_best >= -1e-6) & (in_sync_best <= 0.2 + 1e-6)).mean()
                )
                if in_sync_best.size
                else float("nan"),
                "valid": float(valid.mean()),
                "within_clip_auroc_median": float(np.median(within)) if within else float("nan"),
                "within_clip_clips": len(within),
            }
        )
    return results


def survey(clips: list[dict], folder: Path, short_side: int, config: FaceConfig) -> None:
    """The default schedule on every clip: faces found, cost per 40 ms step, failures."""
    per = {}
    for entry in tqdm(clips, desc="survey"):
        path = folder / entry["file"]
        tracker = FaceTracker(config)
        cost = dict.fromkeys(["decode", "rgb", "face"], 0.0)
        steps = present = 0
        try:
            clock = time.process_time()
            converted = None
            for t, frame in frames_at_steps(path):
                now = time.process_time()
                cost["decode"] += now - clock
                if converted is None or converted[0] is not frame:
                    converted = (frame, _rgb(frame, short_side))
                middle = time.process_time()
                cost["rgb"] += middle - now
                present += tracker.step(converted[1], t)["face_present"] > 0
                steps += 1
                clock = time.process_time()
                cost["face"] += clock - middle
        except (av.error.FFmpegError, OSError, ValueError) as error:
            print(f"{path}: {error}")
            per.setdefault(entry["category"], []).append(None)
            continue
        per.setdefault(entry["category"], []).append(
            (steps, present, {k: 1000 * v / max(steps, 1) for k, v in cost.items()})
        )
    print(f"\n## Default schedule on every clip ({config}), CPU ms per 40 ms step\n")
    print("| category | clips | failed | steps | face on steps | decode | rgb | face |")
    print("|---|---|---|---|---|---|---|---|")
    everything = [r for rows in per.values() for r in rows]
    for category, rows in [*sorted(per.items()), ("all", everything)]:
        ok = [r for r in rows if r is not None]
        steps = sum(r[0] for r in ok)
        mean = {
            k: sum(r[0] * r[2][k] for r in ok) / max(steps, 1) for k in ("decode", "rgb", "face")
        }
        print(
            f"| {category} | {len(rows)} | {len(rows) - len(ok)} | {steps} "
            f"| {sum(r[1] for r in ok) / max(steps, 1):.2f} | {mean['decode']:.2f} "
            f"| {mean['rgb']:.2f} | {mean['face']:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=Path, default=REPO / "data" / "realdev" / "raw")
    parser.add_argument(
        "--manifest", type=Path, default=REPO.parent / "shared/realdev/manifest.csv"
    )
    parser.add_argument("--categories", default="talking-head,speech")
    parser.add_argument("--short-side", type=int, default=360, help="RGB frames' short side, px")
    parser.add_argument("--limit", type=int, default=0, help="first N clips only (0 = all)")
    parser.add_argument("--cache", default=str(REPO / "data" / "face_signal"), help="'' = none")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument(
        "--survey", action="store_true", help="only: the default schedule on every listed clip"
    )
    parser.add_argument("--landmarks-every", type=int, default=2, help="--survey's schedule")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if not models_available():
        raise SystemExit("face models not found: see avalign.features.face.find_model")
    wanted = set(args.categories.split(","))
    with open(args.manifest, newline="") as handle:
        clips = [r for r in csv.DictReader(handle) if r["category"] in wanted]
    clips = clips[: args.limit] if args.limit else clips
    if args.survey:
        survey(clips, args.clips, args.short_side, FaceConfig(landmarks_every=args.landmarks_every))
        return
    cache = Path(args.cache) if args.cache else None
    rows, costs, faces = [], [], {}
    for entry in tqdm(clips, desc="clips"):
        path = args.clips / entry["file"]
        if not path.is_file():
            print(f"{path}: missing, skipped")
            continue
        stored = cache / f"{path.stem}-{args.short_side}.npz" if cache else None
        if stored is not None and stored.is_file():
            with np.load(stored) as data:
                features = dict(data)
        else:
            try:
                features = extract_clip(path, args.short_side)
            except (av.error.FFmpegError, ValueError) as error:
                print(f"{path}: {error}, skipped")
                continue
            if stored is not None:
                stored.parent.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(stored, **features)
        names = [str(n) for n in features["cost_names"]]
        costs.append(
            (entry["category"], dict(zip(names, features["cost_ms_per_frame"], strict=True)))
        )
        faces[entry["file"]] = (entry["category"], float(features["mesh1/face_present"].mean()))
        rows.extend(window_rows(entry["file"], entry["category"], features))
    results = evaluate(rows)

    print(
        "\n## Cost, CPU ms per frame (one thread; frames with short side <= "
        f"{args.short_side} px)\n"
    )
    names = list(dict.fromkeys(n for _, c in costs for n in c))
    print("| category | clips | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for category in [*sorted({c for c, _ in costs}), "all"]:
        sel = [c for g, c in costs if category in (g, "all")]
        cells = [
            np.mean([c[n] for c in sel if n in c]) if any(n in c for c in sel) else np.nan
            for n in names
        ]
        print(f"| {category} | {len(sel)} | " + " | ".join(f"{x:.2f}" for x in cells) + " |")
    print("\n## Face found (mesh on every frame): share of steps\n")
    for category in sorted({c for c, _ in faces.values()}):
        shares = [s for c, s in faces.values() if c == category]
        print(
            f"- {category}: mean {np.mean(shares):.2f} over {len(shares)} clips; clips under 0.5:",
            sum(s < 0.5 for s in shares),
        )
    print("\n## Sync evidence on 4.8 s windows (offsets -2..+2 s, 0.2 s grid)\n")
    print(
        "| schedule | pair | category | face>=80% | clips | sync windows | AUROC [95% CI] | "
        "exact [CI] | +-1 class [CI] | in-sync best lag (median ms) | in 0..200 ms "
        "| within-clip AUROC (median, clips) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['schedule']} | {r['pair']} | {r['category']} "
            f"| {'yes' if r['face_only'] else 'no'} "
            f"| {r['clips']} | {r['windows']} "
            f"| {r['auroc']:.3f} [{r['auroc_ci'][0]:.2f}, {r['auroc_ci'][1]:.2f}] "
            f"| {r['exact']:.3f} [{r['exact_ci'][0]:.2f}, {r['exact_ci'][1]:.2f}] "
            f"| {r['within1']:.3f} [{r['within1_ci'][0]:.2f}, {r['within1_ci'][1]:.2f}] "
            f"| {r['sync_best_lag_median_ms']:.0f} | {r['sync_best_lag_within_0_200ms']:.2f} "
            f"| {r['within_clip_auroc_median']:.2f} ({r['within_clip_clips']}) |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
