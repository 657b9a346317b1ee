"""`fix` on every container and timestamp layout: the sound lands where it belongs.

Each case is a `support.flashes` clip misaligned one way real files are (`support.layouts`),
fixed with its true offset (read from the decoded streams, `support.presented`) by each method.
What is checked is what a player presents, not avalign's own features: the residual offset, the
codec, the picture's packets with their times, and the length of the sound.
"""

from __future__ import annotations

import json

import av
import pytest

from avalign.fixing.resync import run
from support.layouts import CONTAINERS, LAYOUTS, misaligned
from support.presented import presented_offset_ms, sound_samples, video_packets

CASES = [(c, layout, s) for c in CONTAINERS for layout in LAYOUTS for s in (1, -1)]
#: Re-encoding is slower: every container with every layout, each layout with one sign.
REENCODED = [
    (c, layout, s) for c in CONTAINERS for layout, s in zip(LAYOUTS, (1, -1, 1, -1), strict=True)
]
MATRIX = [(*case, "remux") for case in CASES] + [(*case, "reencode") for case in REENCODED]
#: The most the fixed sound may be off, ms.
RESIDUAL_MS = 5.0
#: Priming samples an encoder puts before the sound (AAC: 1024 to 2112; Opus: 312).
PRIMING = 2112


def audio_packets(path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def audio_codec(path):
    with av.open(str(path)) as container:
        return container.streams.audio[0].codec_context.codec.canonical_name


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return tmp_path_factory.mktemp("layouts")


@pytest.mark.parametrize(("container", "layout", "sign", "method"), MATRIX)
def test_the_true_offset_lands_within_5_ms(clips, tmp_path, container, layout, sign, method):
    source = clips / f"{container}_{layout}_{sign:+d}.{container}"
    if not source.exists():
        misaligned(clips / "make", container, layout, sign).replace(source)
    before = presented_offset_ms(source)
    assert abs(abs(before) - 320) < 30 and (before > 0) == (sign > 0)  # the case is what it says
    out = tmp_path / f"fixed.{container}"
    report = tmp_path / "fix.json"
    given = f"offset_ms={before:.3f}"
    code = run([str(source), str(out), given, f"method={method}", "check=false", f"json={report}"])
    result = json.loads(report.read_text())["files"][0]
    assert code == 0, result
    assert result["method"] == method
    assert abs(presented_offset_ms(out)) <= RESIDUAL_MS
    assert audio_codec(out) == audio_codec(source)
    assert video_packets(out) == video_packets(source)  # bytes and times of every picture
    if method == "remux":  # the same packets: no sound lost, nothing re-encoded
        assert audio_packets(out) == audio_packets(source)
        # none is lost: an edit list may now hide the encoder's priming samples, and show what
        # it hid before a cut (every stream shifted rather than sound given negative times)
        assert sound_samples(out) >= sound_samples(source) - PRIMING
    else:  # the track keeps its length, give or take the encoder's frames and priming
        assert abs(sound_samples(out) - sound_samples(source)) <= 2 * 1024 + PRIMING


def test_aac_priming_in_mpeg_ts_does_not_move_the_sound(clips, tmp_path):
    """MPEG-TS cannot hide AAC's 1024 priming samples (64 ms at 16 kHz): a re-encode by 0 ms
    must still present the sound where it was, the priming measured and taken out."""
    from support.flashes import flash_clip

    made = flash_clip(tmp_path / "clip.mp4", seconds=4.0, rate=16000)
    source = tmp_path / "clip.ts"
    from avalign.media.ffmpeg import run_ffmpeg

    run_ffmpeg(["-i", str(made), "-c", "copy", str(source)], target=source)
    out = tmp_path / "fixed.ts"
    report = tmp_path / "fix.json"
    code = run(
        [str(source), str(out), "offset_ms=0", "method=reencode", "check=false", f"json={report}"]
    )
    result = json.loads(report.read_text())["files"][0]
    assert code == 0 and result["method"] == "reencode"
    assert abs(presented_offset_ms(out) - presented_offset_ms(source)) <= RESIDUAL_MS
