"""Residual offset of ``fix`` on every container and timestamp layout, both methods.

    python experiments/fix_layouts.py [--out data/experiments/fix_layouts]

Builds the matrix of `tests/support/layouts.py` (a square flashing with a beep, misaligned by
320 ms in MP4, MOV, MKV, MPEG-TS and WebM: audio stream later, video stream later, a cut hidden by
an edit list, a shift encoded in the content, each sign), fixes every file with its true offset
(read from the decoded streams, `tests/support/presented.py`) by ``method=remux`` and
``method=reencode`` exactly as the command does, and prints each residual (the fixed file's
presented offset, ms) and any correction ``fix`` had to make, then the median and the largest.
The test suite runs 60 of these 80 cases with a 5 ms bound; this prints them all.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from avalign.fixing.resync import run  # noqa: E402
from support.layouts import CONTAINERS, LAYOUTS, misaligned  # noqa: E402
from support.presented import presented_offset_ms  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "data/experiments/fix_layouts")
    args = parser.parse_args()
    residuals = []
    for container in CONTAINERS:
        for layout in LAYOUTS:
            for sign in (1, -1):
                source = misaligned(args.out / container, container, layout, sign)
                before = presented_offset_ms(source)
                for method in ("remux", "reencode"):
                    out = args.out / f"fixed_{container}_{layout}_{sign:+d}_{method}.{container}"
                    out.unlink(missing_ok=True)
                    report = args.out / "fix.json"
                    given = [f"offset_ms={before:.3f}", f"method={method}", "check=false"]
                    code = run([str(source), str(out), *given, "progress=false", f"json={report}"])
                    result = json.loads(report.read_text())["files"][0]
                    after = presented_offset_ms(out) if code == 0 else None
                    if after is not None:
                        residuals.append(abs(after))
                    shown = "failed" if after is None else f"{after:+.2f} ms"
                    print(
                        f"{container:5} {layout:12} {sign:+d} {method:8} before {before:+7.1f} ms "
                        f"after {shown} {result.get('notes') or ''}",
                        flush=True,
                    )
    residuals.sort()
    print(
        f"{len(residuals)} fixed; |residual| median {residuals[len(residuals) // 2]:.2f} ms, "
        f"largest {residuals[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
