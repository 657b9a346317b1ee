"""The benchmark's results as Markdown tables (the README's), from ``results.json``'s content."""

from __future__ import annotations

OVERALL_COLUMNS = (
    ("sync_auroc", "sync AUROC"),
    ("sync_balanced_acc", "sync bal. acc"),
    ("offset_exact", "offset exact"),
    ("offset_within1", "within ±1 class"),
    ("offset_median_err_ms", "median |err| ms"),
    ("mute_called_out", "mute found"),
    ("noise_called_out", "noise found"),
)
CATEGORY_COLUMNS = (
    ("sync_auroc", "sync AUROC"),
    ("offset_exact", "offset exact"),
    ("offset_within1", "within ±1"),
)


def _cell(figure: dict | None, name: str) -> str:
    if not figure or figure.get("value") is None:
        return "-"
    digits = 0 if name.endswith("_ms") else 3
    low, high = figure.get("low"), figure.get("high")
    interval = "" if low is None else f" [{low:.{digits}f}, {high:.{digits}f}]"
    return f"{figure['value']:.{digits}f}{interval}"


def _label(summary: dict) -> str:
    fps = summary.get("fps")
    return f"{summary['detector']} ({summary['training']}, {fps:g} steps/s)"


def markdown_report(report: dict) -> str:
    """Overall table, per-category table and the counts behind them."""
    lines = [f"# Benchmark: {report['set']}", ""]
    protocol = report["protocol"]
    lines.append(
        f"{report['clips']} clips, {report['windows']} windows of {protocol['window_s']} s; "
        f"offsets every {protocol['offset_step_s']} s over ±{protocol['max_offset_s']} s; "
        f"{len(report['clips_without_window'])} clips too short for a window. "
        "Figures pool the held-out folds (or score every clip for synthetic-trained models); "
        "[95% bootstrap interval over clips]."
    )
    lines += ["", "| detector | " + " | ".join(t for _, t in OVERALL_COLUMNS) + " |"]
    lines.append("|---" * (len(OVERALL_COLUMNS) + 1) + "|")
    for summary in report["detectors"]:
        figures = summary["overall"]["figures"]
        cells = [_cell(figures.get(name), name) for name, _ in OVERALL_COLUMNS]
        lines.append(f"| {_label(summary)} | " + " | ".join(cells) + " |")
    if report["detectors"]:
        counts = report["detectors"][0]["overall"]["counts"]
        lines += [
            "",
            "Windows: " + ", ".join(f"{v} {k.removeprefix('windows_')}" for k, v in counts.items()),
        ]
        categories = sorted(report["detectors"][0]["per_category"])
        lines += ["", "Per category (sync AUROC / offset exact / within ±1):", ""]
        lines.append("| detector | " + " | ".join(categories) + " |")
        lines.append("|---" * (len(categories) + 1) + "|")
        for summary in report["detectors"]:
            cells = []
            for category in categories:
                figures = summary["per_category"].get(category, {}).get("figures", {})
                values = [figures.get(name, {}) or {} for name, _ in CATEGORY_COLUMNS]
                cells.append(
                    " / ".join(
                        "-" if v.get("value") is None else f"{v['value']:.2f}" for v in values
                    )
                )
            lines.append(f"| {_label(summary)} | " + " | ".join(cells) + " |")
        clip_counts = {
            c: report["detectors"][0]["per_category"][c]["counts"]["clips"] for c in categories
        }
        lines += [
            "",
            "Clips per category: " + ", ".join(f"{c} {n}" for c, n in clip_counts.items()),
        ]
    files = report.get("files")
    if files:
        lines += ["", "## Files, as `detect` sees them", ""]
        variants = files["variants"]
        extra = (
            ("file_auroc", "file AUROC"),
            ("right_when_decided", "right when decided"),
            ("cannot_tell", "cannot tell"),
            ("synced_called_out", "in sync called out"),
            ("offset_err_ms", "median offset err ms"),
        )
        lines.append(
            "| detector | "
            + " | ".join(variants)
            + " | "
            + " | ".join(t for _, t in extra)
            + " | ECE |"
        )
        lines.append("|---" * (len(variants) + len(extra) + 2) + "|")
        for row in files["detectors"]:
            figures = row["all"]["figures"]
            cells = [_cell(row["agreement"].get(v), "") for v in variants]
            cells += [_cell(figures.get(name), name) for name, _ in extra]
            ece = row["all"].get("calibration", {}).get("ece")
            cells.append("-" if ece is None else f"{ece:.3f}")
            lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "Agreement: the verdict's in sync / out of sync matches the file (a `cannot tell` "
            "counts as wrong there); `right when decided` leaves those out.",
        ]
    return "\n".join(lines) + "\n"
