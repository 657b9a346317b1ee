"""`detect --report`: one well-formed, self-contained HTML page that lists every file."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from avalign.detection.command import run
from avalign.detection.evidence import lag_head_evidence
from avalign.detection.plots import window_rows
from avalign.detection.report import CLASSES, FilePage, render_report, summary_counts
from avalign.detection.timeline import fit_timeline
from avalign.detection.verdict import PosteriorRule, posterior_verdict
from avalign.detection.windows import WindowScore
from avalign.media.decode import decode_audio
from avalign.samples.materialize import encode_sample
from avalign.samples.perturb import render_sample_audio
from avalign.samples.plan import SampleSpec
from support.media import make_video, truncate

VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}


class Page(HTMLParser):
    """Checks nesting (every element closed in order) and collects links, images and ids."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []
        self.rows = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("src", "href"):
            if key in attrs:
                self.urls.append(attrs[key])
        if tag == "a":
            self.links.append(attrs.get("href", ""))
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "tr" and self.stack[:-1].count("tbody"):
            self.rows += 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def test_report_is_self_contained_and_lists_every_file(tmp_path):
    source = make_video(tmp_path / "source.mp4", seconds=10.0, sample_rate=16000)
    audio = decode_audio(source, 16000)
    folder = tmp_path / "batch"
    for name, kind, params in (("in sync", "None", {}), ("late", "time_shift", {"offset_ms": 480})):
        spec = SampleSpec(name, "v", "x", "test", "v.mp4", 1.0, 9.0, 1, kind, **params)
        target = folder / f"{name}.mp4"
        target.parent.mkdir(exist_ok=True)
        encode_sample(source, spec, render_sample_audio(audio, 16000, spec), 16000, target)
    truncate(make_video(folder / "broken <1>.mp4", seconds=3.0), 0.5)
    report = tmp_path / "out" / "report.html"
    code = run([str(folder), "--report", str(report), "progress=false", "source=null"])
    assert code == 3  # one out of sync, one unreadable
    text = report.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    assert not page.errors and not page.stack, (page.errors, page.stack)
    assert text.startswith("<!DOCTYPE html>")
    assert not [u for u in page.urls if u.lower().startswith(("http:", "https:", "//"))]
    assert "http://" not in text and "https://" not in text
    assert page.rows == 3  # every file has its row ...
    for name in ("in sync.mp4", "late.mp4", "broken &lt;1&gt;.mp4"):
        assert name in text
    anchors = [link[1:] for link in page.links if link.startswith("#")]
    assert {"file-0", "file-1", "file-2"} <= set(anchors) and set(anchors) <= page.ids
    assert len(page.images) == 2  # ... and each readable file a figure, inline
    for image in page.images:
        assert image.startswith("data:image/png;base64,")
        assert base64.b64decode(image.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "audio late by" in text and "could not be read" in text
    assert Path(report).stat().st_size < 2_000_000


def record(name: str, **fields) -> dict:
    """A checked file's JSON record with the fields the report reads (constant offset model)."""
    base = {
        "path": f"/videos/{name}.mp4",
        "status": "ok",
        "duration_s": 19.0,
        "verdict": "in sync",
        "out_of_sync": False,
        "p_out_of_sync": 0.1,
        "kind": "none",
        "reason": None,
        "offset_ms": 20.0,
        "offset_method": "lag_head",
        "offset_strength": 1.0,
        "confidence": "high",
        "confidence_meaning": "the evidence puts the offset inside the in-sync band",
        "offset_model": "constant",
        # the drift model's fit is in every record, chosen or not (here: it lost)
        "drift_ms_per_min": -650.0,
        "drift_interval_ms_per_min": [-1993.0, 692.0],
        "drift_confidence": "low",
        "offset_at_zero_ms": 321.0,
        "windows": [],
    }
    return {**base, **fields}


class Rows(HTMLParser):
    """The class of every table row and of every span of the summary line."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[str] = []
        self.summary: list[str] = []
        self.in_summary = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and attrs.get("class"):
            self.rows.append(attrs["class"])
        if tag == "p":
            self.in_summary = attrs.get("id") == "summary"
        if tag == "span" and self.in_summary:
            self.summary.append(attrs.get("class", ""))

    def handle_data(self, data):
        if self.in_summary and self.summary and not self.summary[-1].count(":"):
            self.summary[-1] += ":" + data


def test_header_counts_and_colours_follow_each_verdict_kind():
    """One in-sync, one shifted, two cannot-tell and one unreadable file: each counted and
    coloured as its verdict says (it read "3 in sync, 0 out of sync" for 1 + 2 cannot tell)."""
    cannot = {"verdict": "cannot tell: no face found", "out_of_sync": None, "kind": "cannot_tell"}
    pages = [
        FilePage(record("synced"), None),
        FilePage(record("late", verdict="audio late by 1041 ms", out_of_sync=True), None),
        FilePage(record("nobody", reason="no_face", **cannot), None),
        FilePage(record("still", reason="still_picture", **cannot), None),
        FilePage({"path": "/videos/broken.mp4", "status": "error", "error": "no streams"}, None),
    ]
    text = render_report(pages, "test")
    rows = Rows()
    rows.feed(text)
    assert rows.rows == ["in-sync", "out-of-sync", "cannot-tell", "cannot-tell", "unreadable"]
    assert rows.summary == [
        "in-sync:1 in sync",
        "out-of-sync:1 out of sync",
        "cannot-tell:2 cannot tell",
        "unreadable:1 could not be read",
    ]
    assert summary_counts([p.record for p in pages]) == {
        "in_sync": 1,
        "out_of_sync": 1,
        "cannot_tell": 2,
        "unreadable": 1,
    }
    colours = {name: colour for name, (_, colour, _) in CLASSES.items()}
    assert len(set(colours.values())) == 4  # cannot tell is no longer green like in sync
    for css, colour, _ in CLASSES.values():
        assert f"tr.{css} td.verdict, span.{css} {{ color: {colour};" in text
    assert "no_face" in text and "still_picture" in text  # the reason, in the file's details


def test_drift_is_shown_only_when_the_drift_model_is_chosen():
    constant = render_report([FilePage(record("constant"), None)], "test")
    assert "-650" not in constant and "1993" not in constant and "+321" not in constant
    drifting = record("drifting", offset_model="drift", drift_confidence="high")
    shown = render_report([FilePage(drifting, None)], "test")
    assert "-650.0 ms/min" in shown and "-1993.0 .. +692.0" in shown and "+321" in shown


def test_windows_are_drawn_by_the_file_rule_not_the_raw_window_score():
    """LagNet's windows all scored ~1 (out of sync) on a file its posterior calls in sync: by
    the file's rule, each window's own evidence favours the band, never red."""
    windows = [
        WindowScore(2.4 * i, 2.4 * i + 4.8, 1.0, True, "time_shift", 1.0, 0.0) for i in range(6)
    ]
    base = {k: 1.0 for k in range(-50, 51)}
    base[0] = 200.0
    lag_probabilities = [{k: v / sum(base.values()) for k, v in base.items()}] * 6
    evidence = lag_head_evidence(lag_probabilities, 2.4 + 2.4 * np.arange(6), 25.0, 0.5)
    model = fit_timeline(evidence)
    rule = PosteriorRule()
    assert posterior_verdict(model, rule).text == "in sync"
    rows = window_rows(windows, model, rule)
    # one window, counted as in the file's sum, is too little to decide: amber, never red
    assert [verdict for *_, verdict in rows] == ["cannot_tell"] * 6
    assert all(p < 0.3 for _, _, p, _ in rows)
    # without a posterior rule (the training-free path), the windows' own decisions
    assert {verdict for *_, verdict in window_rows(windows)} == {"out_of_sync"}


def test_a_file_of_one_window_draws_it_as_the_file_reads():
    """A 4.5 s file is one window: it counts half (windows overlap) in the file's sum, and so in
    its own colour; unweighted, the window alone read out of sync under a cannot-tell file."""
    base = {k: 1.0 for k in range(-50, 51)}
    base[-34] = 400.0  # 1360 ms early, strongly, in one window
    lag_probabilities = [{k: v / sum(base.values()) for k, v in base.items()}]
    model = fit_timeline(lag_head_evidence(lag_probabilities, np.array([2.24]), 25.0, 0.5))
    assert posterior_verdict(model, PosteriorRule()).kind == "cannot_tell"
    window = WindowScore(0.0, 4.48, 0.99, True, "time_shift", 0.99, -1360.0)
    [(_, _, p, verdict)] = window_rows([window], model, PosteriorRule())
    assert verdict == "cannot_tell" and p < 0.8
