"""`parallel_map`: results and errors per item, and worker processes that import only the work."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from avalign.batch.parallel import parallel_map


def test_each_item_gets_its_result_or_its_own_error():
    outcomes = list(parallel_map(int, ["1", "x", "3"], workers=2, progress=False))
    by_item = {o.item: o for o in outcomes}
    assert by_item["1"].result == 1 and by_item["3"].result == 3
    assert by_item["x"].result is None and by_item["x"].error_type == "ValueError"
    assert "invalid literal" in by_item["x"].error


def test_workers_do_not_reimport_the_entry_module(tmp_path):
    """An entry point run as ``python -m`` (like ``avalign.train``, which loads Lightning) is not
    imported again by each worker; the parent's ``__main__`` is intact afterwards."""
    (tmp_path / "work_items.py").write_text(
        textwrap.dedent(
            """
            import sys

            def main_module_of_worker(_):
                main = sys.modules["__main__"]
                return getattr(main, "ENTRY_MARKER", False), "heavy_import" in sys.modules
            """
        )
    )
    (tmp_path / "heavy_import.py").write_text("")
    (tmp_path / "entry.py").write_text(
        textwrap.dedent(
            """
            import heavy_import  # what an entry point loads for itself
            import work_items
            from avalign.batch.parallel import parallel_map

            ENTRY_MARKER = True
            if __name__ == "__main__":
                outcomes = parallel_map(
                    work_items.main_module_of_worker, [1, 2, 3], workers=2, progress=False
                )
                print(sorted({o.result for o in outcomes}), __spec__.name)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "entry"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[(False,", "False)]", "entry"]


def test_concurrent_writers_of_one_failures_report_do_not_collide(tmp_path):
    """Two jobs of a parallel sweep write the same stage's failures report at once; each writes
    its own temporary file before the atomic rename (a shared one made the loser crash)."""
    report = tmp_path / "extract_failures.csv"
    script = (
        "import sys; from pathlib import Path; from avalign.batch.failures import FailureLog\n"
        "log = FailureLog('extract'); log.error(Path('a.mp4'), 'broken', 's1')\n"
        f"for _ in range(300): log.write_csv(Path({str(report)!r}))\n"
    )
    writers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert report.read_text(encoding="utf-8").count("broken") == 1
    assert not list(tmp_path.glob(".*.tmp*"))  # no temporary file left behind
