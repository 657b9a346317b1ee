"""Sound on the file's own timeline: gaps in the timestamps become silence, overlaps are dropped."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from avalign.fixing.pcm import PcmReader, decode_to_pcm
from support.media import make_video


def with_audio_gap(source, path, after_s: float, gap_s: float):
    """Copy ``source``, moving every audio packet after ``after_s`` ``gap_s`` later."""
    with av.open(str(source)) as src, av.open(str(path), "w") as dst:
        audio_in = src.streams.audio[0]
        audio_out = dst.add_stream_from_template(audio_in)
        for packet in src.demux(audio_in):
            if packet.dts is None:
                continue
            if packet.pts * audio_in.time_base > after_s:
                shift = round(gap_s / audio_in.time_base)
                packet.pts += shift
                packet.dts += shift
            packet.stream = audio_out
            dst.mux(packet)
    return path


def test_a_gap_in_the_timestamps_becomes_silence(tmp_path):
    source = make_video(tmp_path / "a.mp4", seconds=3.0, sample_rate=16000)
    gapped = with_audio_gap(source, tmp_path / "gap.mkv", after_s=1.0, gap_s=0.5)
    joined = with_audio_gap(source, tmp_path / "joined.mkv", after_s=1.0, gap_s=0.0)
    plain = decode_to_pcm(joined, 0, tmp_path / "plain.f32")
    track = decode_to_pcm(gapped, 0, tmp_path / "gap.f32")
    assert track.gaps_filled == 1 and track.overlaps_dropped == 0 and plain.gaps_filled == 0
    assert abs((track.samples - plain.samples) - 0.5 * 16000) <= 16  # 1 ms of MKV rounding
    with PcmReader(track) as reader:
        sound = reader.read(0, track.samples)[0]
    silent = np.flatnonzero(np.abs(sound) > 0)
    holes = np.diff(silent)
    assert holes.max() >= 0.49 * 16000  # one stretch of half a second with no sound at all
    assert Fraction(track.rate) == 16000


def test_an_overlap_in_the_timestamps_is_dropped(tmp_path):
    source = make_video(tmp_path / "a.mp4", seconds=3.0, sample_rate=16000)
    joined = decode_to_pcm(
        with_audio_gap(source, tmp_path / "joined.mkv", 1.0, 0.0), 0, tmp_path / "j.f32"
    )
    track = decode_to_pcm(
        with_audio_gap(source, tmp_path / "overlap.mkv", 1.0, -0.03), 0, tmp_path / "o.f32"
    )  # 30 ms back: less than one 64 ms AAC frame, so the packets stay in order
    assert track.overlaps_dropped == 1 and track.gaps_filled == 0
    assert abs((joined.samples - track.samples) - 0.03 * 16000) <= 16
