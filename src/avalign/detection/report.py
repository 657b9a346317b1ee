"""One self-contained HTML page for a batch checked by ``detect --report report.html``.

The page needs no network and no server: figures are inline PNG images (base64 data URLs),
styles are inline, and a few lines of inline script sort the table when a column header is
clicked (the page reads fine without it). It holds the count of files per verdict class (in
sync, out of sync, cannot tell, unreadable: `verdict_class`, one colour each), a table of every
file (verdict, offset, drift, confidence; each row links to the file's section) and, per file,
one figure: picture and sound activity, the windows' scores, each window's best lag over time
with the fitted offset model (constant, drift or edit) drawn over the windows' evidence, and the
probability of each lag given the whole file. A drift (and its offset at 00:00) is shown only
for a file whose chosen offset model is the drift: the fit of a model that lost says nothing.

`file_page` renders a file's figure as soon as the file is checked, so the batch keeps only
small PNGs in memory, never the features of every file.
"""

from __future__ import annotations

import base64
import html
import io
import time
from dataclasses import dataclass
from pathlib import Path

from avalign.detection.plots import COLOURS
from avalign.storage.atomic import atomic_target


@dataclass(frozen=True)
class FilePage:
    """What the report shows for one file: its JSON record and its figure (base64 PNG)."""

    record: dict
    figure_png: str | None


def figure_png(figure, dpi: int = 80) -> str:
    """A matplotlib figure as base64 PNG text (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def file_page(record: dict, extras: dict | None) -> FilePage:
    """The page of one checked file (no figure for a file that could not be read)."""
    if record.get("status") != "ok" or not extras:
        return FilePage(record, None)
    from avalign.detection.plots import detection_figure
    from avalign.models.inputs import audio_curve

    features = extras["features"]
    figure = detection_figure(
        features["timestamps"],
        features["flow_energy"],
        audio_curve(features["audio_energy"]),
        extras["windows"],
        extras["estimate"],
        f"{Path(record['path']).name}: {record['verdict']}",
        extras["timeline"],
        extras.get("rule"),
    )
    return FilePage(record, figure_png(figure))


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1100px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; border-top: 1px solid #ccc;
padding-top: 1em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #eee; cursor: pointer; user-select: none; }
th:hover { background: #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; font-size: 0.9em; }
dt { color: #555; } dd { margin: 0; }
img { max-width: 100%; border: 1px solid #ddd; }
.note { color: #555; font-size: 0.9em; }
"""
#: Verdict class (`verdict_class`) -> (CSS class, colour, words): the plots' colours, the amber
#: darkened to be legible as text.
CLASSES = {
    "in_sync": ("in-sync", COLOURS["in_sync"], "in sync"),
    "out_of_sync": ("out-of-sync", COLOURS["out_of_sync"], "out of sync"),
    "cannot_tell": ("cannot-tell", "#b36b00", "cannot tell"),
    "unreadable": ("unreadable", "#777777", "could not be read"),
}
STYLE += "".join(
    f"tr.{css} td.verdict, span.{css} {{ color: {colour}; font-weight: 600; }}\n"
    f"tr.{css} td:first-child {{ border-left: 5px solid {colour}; }}\n"
    for css, colour, _ in CLASSES.values()
)


def verdict_class(record: dict) -> str:
    """``in_sync``, ``out_of_sync``, ``cannot_tell`` or ``unreadable``: what the verdict says."""
    if record.get("status") != "ok":
        return "unreadable"
    if record.get("kind") == "cannot_tell" or record.get("out_of_sync") is None:
        return "cannot_tell"
    return "out_of_sync" if record["out_of_sync"] else "in_sync"


def summary_counts(records: list[dict]) -> dict[str, int]:
    """How many files each verdict class has (every class, in `CLASSES` order)."""
    counts = dict.fromkeys(CLASSES, 0)
    for record in records:
        counts[verdict_class(record)] += 1
    return counts


SCRIPT = """
document.querySelectorAll('th').forEach(function (th, column) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.from(body.rows);
    var up = th.dataset.order !== 'up';
    th.dataset.order = up ? 'up' : 'down';
    rows.sort(function (a, b) {
      var x = a.cells[column].dataset.sort, y = b.cells[column].dataset.sort;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return up ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""

#: Table columns: (header, record key, how to show it).
COLUMNS = (
    ("file", "path", "name"),
    ("length (s)", "duration_s", "number"),
    ("verdict", "verdict", "text"),
    ("offset (ms)", "offset_ms", "number"),
    ("drift (ms/min)", "drift_ms_per_min", "number"),
    ("at 00:00 (ms)", "offset_at_zero_ms", "number"),
    ("offset model", "offset_model", "text"),
    ("confidence", "confidence", "confidence"),
)
_CONFIDENCE_ORDER = {"high": 3, "medium": 2, "low": 1}
#: Fields of the drift model: shown only when it is the offset model chosen.
DRIFT_KEYS = frozenset({"drift_ms_per_min", "offset_at_zero_ms"})


def _cell(record: dict, key: str, how: str) -> tuple[str, str]:
    """(shown text, sort key) of one table cell."""
    if record.get("status") != "ok" and key == "verdict":
        text = f"could not read: {record.get('error', '')}"
        return text, text
    value = record.get(key)
    if key in DRIFT_KEYS and record.get("offset_model") != "drift":
        value = None  # the drift model lost: its slope is no finding
    if how == "name":
        name = Path(str(value)).name
        return name, name
    if value is None:
        return "-", "" if how == "text" else "-1e308"
    if how == "number":
        return f"{value:+.1f}" if key != "duration_s" else f"{value:.1f}", repr(float(value))
    if how == "confidence":
        return str(value), str(_CONFIDENCE_ORDER.get(str(value), 0))
    return str(value), str(value)


def _details(record: dict) -> list[tuple[str, str]]:
    """The fields listed under a file's figure."""
    p_out = record.get("p_out_of_sync")
    fields = [
        ("verdict", record.get("verdict")),
        ("kind", record.get("kind")),
        ("why cannot tell", record.get("reason")),
        (
            "most likely lag (no finding)" if record.get("kind") == "cannot_tell" else "offset",
            _ms(record.get("offset_ms")),
        ),
        ("P(out of sync)", None if p_out is None else f"{p_out:.2f}"),
        ("confidence", record.get("confidence")),
        ("what that means", record.get("confidence_meaning")),
        ("offset model", record.get("offset_model")),
    ]
    if record.get("offset_model") == "drift" and record.get("drift_ms_per_min") is not None:
        low_high = record.get("drift_interval_ms_per_min") or [None, None]
        fields += [
            (
                "drift",
                f"{record['drift_ms_per_min']:+.1f} ms/min "
                f"(about 95% within {low_high[0]:+.1f} .. {low_high[1]:+.1f}; "
                f"confidence {record.get('drift_confidence')})",
            ),
            ("offset at 00:00 (drift model)", _ms(record.get("offset_at_zero_ms"))),
        ]
    if record.get("offset_model") == "edit":
        fields += [
            ("edit at", f"{record['edit_time_s']:.1f} s"),
            ("offset before / after", f"{_ms(record['offset_before_ms'])} / "
             f"{_ms(record['offset_after_ms'])}"),
        ]  # fmt: skip
    fields += [
        ("offset evidence", f"{record.get('offset_method')}, margin "
         f"{record.get('offset_strength')} nats"),
        ("windows", str(len(record.get("windows") or []))),
    ]  # fmt: skip
    return [(k, str(v)) for k, v in fields if v is not None]


def _ms(value) -> str | None:
    return None if value is None else f"{value:+.0f} ms"


def render_report(pages: list[FilePage], description: str, title: str = "avalign report") -> str:
    """The whole page as one HTML string."""
    e = html.escape
    counts = summary_counts([p.record for p in pages])
    summary = f"{len(pages)} files: " + ", ".join(
        f'<span class="{CLASSES[name][0]}">{counts[name]} {e(CLASSES[name][2])}</span>'
        for name in CLASSES
    )
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f'<h1 id="top">{e(title)}</h1>',
        f'<p class="note">Detector: {e(description)}. Made {e(time.strftime("%Y-%m-%d %H:%M"))}.'
        "</p>",
        f'<p id="summary">{summary}.</p>',
        '<p class="note">Offsets are in ms, positive when the audio is late. Click a column '
        "header to sort, a file name to see its details.</p>",
        '<table id="files">',
        "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h, _, _ in COLUMNS) + "</tr></thead>",
        "<tbody>",
    ]
    for index, page in enumerate(pages):
        record = page.record
        state = CLASSES[verdict_class(record)][0]
        cells = []
        for _, key, how in COLUMNS:
            text, sort = _cell(record, key, how)
            kind = (
                ' class="num"'
                if how == "number"
                else ' class="verdict"'
                if key == "verdict"
                else ""
            )
            shown = f'<a href="#file-{index}">{e(text)}</a>' if how == "name" else e(text)
            cells.append(f'<td{kind} data-sort="{e(sort)}">{shown}</td>')
        out.append(f'<tr class="{state}">' + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>"]
    for index, page in enumerate(pages):
        record = page.record
        css, _, words = CLASSES[verdict_class(record)]
        out.append(
            f'<h2 id="file-{index}">{e(Path(str(record["path"])).name)} '
            f'<span class="{css}">({e(words)})</span></h2>'
        )
        out.append(
            f'<p class="note">{e(str(record["path"]))} · <a href="#top">back to the table</a></p>'
        )
        if record.get("status") != "ok":
            out.append(f"<p>Could not be read: {e(str(record.get('error')))}</p>")
            continue
        out.append("<dl>")
        for key, value in _details(record):
            out.append(f"<dt>{e(key)}</dt><dd>{e(value)}</dd>")
        out.append("</dl>")
        if page.figure_png:
            out.append(
                f'<img alt="{e(Path(str(record["path"])).name)}: activity, window scores, '
                f'offset over time, likelihood over lags" '
                f'src="data:image/png;base64,{page.figure_png}">'
            )
    out += [f"<script>{SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def write_report(path: Path, pages: list[FilePage], description: str) -> Path:
    """Write the page to ``path`` atomically (folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp:
        tmp.write_text(render_report(pages, description), encoding="utf-8")
    return path
