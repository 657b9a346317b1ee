"""`parallel_map`: results and errors per item, and worker processes that import only the work."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from avalign.parallel import parallel_map


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
            from avalign.parallel import parallel_map

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
