"""Render a ``detect --report`` page in headless Chromium and save a screenshot to look at.

The report is meant to be read in a browser; the unit tests check its HTML, this checks what a
QA engineer sees (counts per verdict class, one colour each, the windows' colours, the drift
shown only when chosen). Needs ``chromium`` (``apt-get install -y chromium``); fails, rather than
skips, without it.

    python experiments/report_screenshot.py VIDEO... --out /tmp/report   # -> report.html, .png
    python experiments/report_screenshot.py --late data/realdev/raw/clip.mp4 VIDEO...

``--late FILE`` adds a copy of FILE with its sound 1 s late (the bundled ffmpeg, stream copy),
so that the page has an out-of-sync file too.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def late_copy(source: Path, target: Path, seconds: float = 1.0) -> Path:
    """``source`` with its sound ``seconds`` late (picture and sound streams copied)."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y"]
    command += ["-itsoffset", str(seconds), "-i", str(source), "-i", str(source)]
    command += ["-map", "1:v", "-map", "0:a", "-c", "copy", str(target)]
    subprocess.run(command, check=True)
    return target


def screenshot(page: Path, target: Path, size: tuple[int, int] = (1400, 2000)) -> Path:
    """A PNG of ``page`` as headless Chromium draws it."""
    browser = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    if browser is None:
        raise SystemExit("no chromium found: apt-get install -y chromium")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu"]
    command += [f"--screenshot={target}", f"--window-size={size[0]},{size[1]}"]
    subprocess.run([*command, page.resolve().as_uri()], check=True, capture_output=True)
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("videos", nargs="*", help="files to check (as detect takes them)")
    parser.add_argument("--late", help="also check a copy of this file with its sound 1 s late")
    parser.add_argument("--out", default="/tmp/avalign-report", help="folder for page and PNG")
    parser.add_argument("--height", type=int, default=2000, help="screenshot height, pixels")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    videos = list(args.videos)
    if args.late:
        videos.append(str(late_copy(Path(args.late), out / f"late_{Path(args.late).name}")))
    if not videos:
        parser.error("give at least one video (or --late FILE)")
    page = out / "report.html"
    command = [sys.executable, "-m", "avalign.detect", *videos, "--report", str(page)]
    code = subprocess.run([*command, "progress=false"], check=False).returncode
    if not page.is_file():
        raise SystemExit(f"detect exited {code} without writing {page}")
    print(screenshot(page, out / "report.png", (1400, args.height)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
