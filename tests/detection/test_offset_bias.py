"""`detect`'s offset on clips whose sync is beyond doubt, read as a viewer sees it.

The clips (`support.flashes`) flash a square and start a beep on the same frame, at every
sample rate, channel layout, sound codec and frame rate worth checking. The default detector
(the packaged LagNet) used to read them 20-40 ms late at 25 fps, where every picture is shown
at the very end of its feature step, and on the one-step grid of its lag head (300 ms read as
320 or 281 ms); detect now places the pictures where they are shown and reads the sound at
three phases of the step (`avalign.detection.evidence.presented`).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from avalign.detection.command import run
from support.flashes import flash_clip

#: name: (flash_clip settings, true offset in ms)
CLIPS = {
    "aac48_mono_25": ({"rate": 48000}, 0.0),
    "aac16_stereo_30": ({"rate": 16000, "channels": 2, "fps": 30}, 0.0),
    "aac44_51_12": ({"rate": 44100, "channels": 6, "fps": 12}, 0.0),
    "opus48_60": ({"rate": 48000, "codec": "libopus", "fps": 60}, 0.0),
    "aac48_vfr": ({"rate": 48000, "vfr": True}, 0.0),
    "aac48_late_300": ({"rate": 48000, "shift_s": 0.3}, 300.0),
    "aac16_early_300": ({"rate": 16000, "shift_s": -0.3}, -300.0),
    "aac48_late_90": ({"rate": 48000, "shift_s": 0.09}, 90.0),
}
#: The most the offset may be off, ms (measured with the packaged model trained on real clips and
#: the synthetic corpus: 0-4 ms; the synthetic-only model read 7-12 ms, and 19-40 ms at 25 fps
#: before offsets were read as a viewer sees them).
TOLERANCE_MS = 8.0


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flashes")
    paths = [
        flash_clip(folder / f"{name}.mp4", seconds=10.0, size=(96, 72), **settings)
        for name, (settings, _) in CLIPS.items()
    ]
    out = folder / "report.json"
    code = run([*map(str, paths), "--json", str(out), "progress=false"])
    records = json.loads(out.read_text())["files"]
    return code, {r["path"].rsplit("/", 1)[-1][:-4]: r for r in records}


@pytest.mark.parametrize("name", list(CLIPS))
def test_the_packaged_detector_reads_the_true_offset(report, name):
    _, records = report
    record, truth = records[name], CLIPS[name][1]
    assert record["offset_ms"] == pytest.approx(truth, abs=TOLERANCE_MS), record["verdict"]
    assert record["out_of_sync"] is (abs(truth) > 125)  # 90 ms late is in the band


def test_a_batch_with_a_shifted_file_exits_out_of_sync(report):
    assert report[0] == 1


@pytest.mark.parametrize(
    ("fps", "delay_ms"), [(25, 20.0), (50, 10.0), (24, 0.8), (30, 3.3), (60, 1.7)]
)
def test_pictures_at_25_fps_are_shown_half_a_step_after_its_middle(fps, delay_ms):
    from avalign.features.stream import picture_delay_ms

    times = np.arange(20 * fps) / fps
    assert picture_delay_ms(times, 25.0, 500) == pytest.approx(delay_ms, abs=0.1)
