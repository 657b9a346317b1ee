"""`detect --report`: one well-formed, self-contained HTML page that lists every file."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

from avalign.detection.check import run
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
