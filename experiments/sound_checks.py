"""How the sound checks do on real recordings and on copies whose sound was replaced or muted.

    python experiments/sound_checks.py make [--out data/sound_checks]
    python -m avalign.detect data/realdev/raw data/realdev_extra/raw --json real.json progress=false
    python -m avalign.detect data/sound_checks --json copies.json progress=false
    python experiments/sound_checks.py score real.json copies.json

``make`` writes copies (MP4) of the real development clips (``data/realdev/raw`` then
``data/realdev_extra/raw``, in `find_videos` order): 40 with the sound replaced by white noise,
5 by pink and 5 by brown noise (ffmpeg ``anoisesrc`` at the clip's own mean loudness, AAC), 20 muted
(``-af volume=0``), and a ``manifest.csv``. ``score`` counts, per half of the clips (clip index
odd: the half the thresholds were fitted on; even: held out), the in-sync real files called
noise and out of sync, the replaced copies called noise and the muted ones called silent, each
with an exact (Clopper-Pearson) 95% interval.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

from real_clips import REPO, interval, real_clips, write_manifest

from avalign.media.ffmpeg import ffmpeg_exe


def split_of(index: int) -> str:
    return "fit" if index % 2 else "held-out"


def mean_db(args: list[str]) -> float | None:
    """ffmpeg's ``volumedetect`` mean level of the input ``args`` describe, dBFS."""
    command = [ffmpeg_exe(), "-hide_banner", "-nostats", *args, "-af", "volumedetect"]
    result = subprocess.run([*command, "-f", "null", "-"], capture_output=True, text=True)
    found = re.search(r"mean_volume: (-?[\d.]+) dB", result.stderr)
    return float(found.group(1)) if found else None


def make(out: Path) -> None:
    clips = real_clips()
    out.mkdir(parents=True, exist_ok=True)
    noise = "anoisesrc=c={}:r=48000:a=0.1:seed={}"
    reference = {
        c: mean_db(["-f", "lavfi", "-t", "10", "-i", noise.format(c, 1)])
        for c in ("white", "pink", "brown")
    }
    n = len(clips)
    plan = [(round(k * n / 40), "white") for k in range(40)]
    plan += [(round(k * n / 10) + 2, "pink" if k % 2 == 0 else "brown") for k in range(10)]
    plan += [(round(k * n / 20) + 1, "mute") for k in range(20)]
    rows = []
    for index, kind in plan:
        clip = clips[index]
        name = f"{kind}__{index:03d}__{clip.stem}.mp4"
        target = out / name
        keep = ["-map", "0:v", "-c:v", "copy", "-c:a", "aac"]
        if kind == "mute":
            args = ["-i", str(clip), *keep, "-map", "0:a", "-af", "volume=0"]
        else:
            level = mean_db(["-i", str(clip), "-map", "0:a"])
            if level is None or level < -70:
                print(f"{clip.name}: silent, skipped")
                continue
            source = noise.format(kind, index + 1)
            args = ["-i", str(clip), "-f", "lavfi", "-i", source, *keep, "-map", "1:a"]
            args += ["-af", f"volume={level - reference[kind]:.2f}dB", "-shortest"]
        subprocess.run([ffmpeg_exe(), "-y", "-v", "error", *args, str(target)], check=True)
        rows.append({"file": name, "index": index, "kind": kind, "split": split_of(index)})
    write_manifest(out, rows)
    print(f"{len(rows)} copies in {out}")


def score(real_json: Path, copies_json: Path) -> None:
    split = {clip.name: split_of(i) for i, clip in enumerate(real_clips())}
    real = json.loads(real_json.read_text())["files"]
    copies = json.loads(copies_json.read_text())["files"]
    for half in ("fit", "held-out"):
        mine = [f for f in real if f["status"] == "ok" and split[Path(f["path"]).name] == half]
        made = [f for f in copies if f["status"] == "ok" and copy_half(f["path"]) == half]
        replaced = [f for f in made if not Path(f["path"]).name.startswith("mute")]
        muted = [f for f in made if Path(f["path"]).name.startswith("mute")]
        counts = {
            "real in-sync files called noise": (mine, lambda f: f["kind"] == "noise"),
            "real in-sync files called out of sync": (mine, lambda f: bool(f["out_of_sync"])),
            "replaced sound called noise": (replaced, lambda f: f["kind"] == "noise"),
            "muted sound called silent": (muted, lambda f: f["kind"] in ("silent", "mute")),
        }
        for what, (files, hit) in counts.items():
            print(f"{half}: {what} {interval(sum(map(hit, files)), len(files))}")


def copy_half(path: str) -> str:
    """The half of a copy: that of the clip it was made from (its index is in its name)."""
    return split_of(int(Path(path).name.split("__")[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    making = commands.add_parser("make")
    making.add_argument("--out", type=Path, default=REPO / "data/sound_checks")
    scoring = commands.add_parser("score")
    scoring.add_argument("real_json", type=Path)
    scoring.add_argument("copies_json", type=Path)
    args = parser.parse_args()
    if args.command == "make":
        make(args.out)
    else:
        score(args.real_json, args.copies_json)


if __name__ == "__main__":
    main()
