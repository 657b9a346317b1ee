"""Run one function over many items, in worker processes when asked, with a progress bar.

Workers are separate processes (``spawn``), each limited to one thread for OpenCV, torch and the
decoders, so that N workers use N cores without oversubscription. Results arrive as items finish;
an exception inside one item is returned as that item's error and never stops the others.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from tqdm.auto import tqdm

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Outcome(Generic[Item, Result]):
    """The result of one item, or the one-line error it raised."""

    item: Item
    result: Result | None
    error: str | None  # str(exception) when the item failed
    error_type: str = ""  # the exception's class name


def limit_threads() -> None:
    """Keep this process on one core: BLAS, OpenCV and torch each default to all cores."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """While worker processes start, hide where the parent's ``__main__`` module came from.

    A ``spawn`` worker first re-imports the parent's main module, so that functions defined there
    can be unpickled. `parallel_map` only sends functions of importable modules, and the main
    module is an entry point: re-importing ``avalign.train`` would load Lightning and MLflow into
    every extraction worker (about 260 MB and 3.5 s each), ``avalign.extract`` Hydra. Without a
    ``__spec__`` or ``__file__`` the worker imports only what the work needs.
    """
    main = sys.modules["__main__"]
    saved = {name: vars(main)[name] for name in ("__spec__", "__file__") if name in vars(main)}
    main.__spec__ = None
    vars(main).pop("__file__", None)
    try:
        yield
    finally:
        vars(main).update(saved)
        if "__spec__" not in saved:
            del main.__spec__


def _call(fn: Callable[[Item], Result], item: Item) -> Outcome[Item, Result]:
    try:
        return Outcome(item, fn(item), None)
    except Exception as error:  # one bad item must not stop the batch
        return Outcome(item, None, str(error) or repr(error), type(error).__name__)


def parallel_map(
    fn: Callable[[Item], Result],
    items: Iterable[Item],
    *,
    workers: int = 1,
    desc: str = "",
    unit: str = "item",
    progress: bool = True,
) -> Iterator[Outcome[Item, Result]]:
    """Yield an `Outcome` per item as it completes (in any order when ``workers > 1``).

    ``fn`` must be a module-level function (it is sent to worker processes by reference). At
    most ``2 * workers`` items are in flight, so a long item list never floods memory.
    """
    pending = list(items)
    bar = tqdm(total=len(pending), desc=desc, unit=unit, disable=not progress, dynamic_ncols=True)
    try:
        if workers <= 1:
            for item in pending:
                yield _call(fn, item)
                bar.update(1)
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=limit_threads) as pool:
            queue = iter(pending)
            running: set[Future] = set()
            try:
                while True:
                    while len(running) < 2 * workers:
                        item = next(queue, None)
                        if item is None:
                            break
                        with _main_module_hidden():  # a submit may start a worker
                            running.add(pool.submit(_call, fn, item))
                    if not running:
                        break
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield future.result()
                        bar.update(1)
            except BaseException:
                for future in running:
                    future.cancel()
                raise
    finally:
        bar.close()
