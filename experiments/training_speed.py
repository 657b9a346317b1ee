"""Benchmark: training throughput per model, and the training time of the real LagNet recipe.

    python experiments/training_speed.py [--clips 40]   # both parts
    python experiments/training_speed.py --models [--clips 40]
    python experiments/training_speed.py --recipe [--real-root DIR] [--train-full]
                                         [--train-one-thread] [--train-timeout 2400]

``--models`` (`training_throughput`): samples per second of two training epochs of each model
(mlp, transformer) on the cached features of a ``--clips``-clip synthetic corpus.

``--recipe`` (`real_recipe_training`; part 3 of the costs of the source evidence, issue 12): the
training time of the default real recipe (``experiment=lagnet`` on the real development clips of
``--real-root`` as a folder dataset, the synthetic corpus when it holds no videos), apart from its
one-off clip feature extraction; projected from 1 and 2 epochs, or with the config's epochs
(``--train-full``).

Neither given: both, in that order. Every timing gives wall time and CPU time; the machine is
shared with other jobs, so CPU time is the fair measure (see ``measure.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from measure import (
    AVE_CLIP_S,
    AVE_CLIPS,
    ONE_THREAD,
    REPO,
    Cost,
    OverranError,
    _compose,
    _config,
    load_note,
    timed_call,
    timed_command,
)


def training_throughput(clips: int, scratch: Path) -> None:
    """Samples per second of one training epoch of each model on the cached features."""
    from avalign.training.run import build_model, prepare_data
    from avalign.training.task import SyncTask

    datamodule, _ = prepare_data(_config("train", clips, scratch, "logger=none"))
    import pytorch_lightning as pl

    for name in ("mlp", "transformer"):
        model_cfg = _config("train", clips, scratch, f"model={name}").model
        model = build_model(model_cfg, *datamodule.input_dims, step_ms=200.0)
        model.set_input_stats(datamodule.stats)
        trainer = pl.Trainer(
            max_epochs=2,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
        )
        started = time.perf_counter()
        trainer.fit(SyncTask(model), datamodule=datamodule)
        rate = 2 * len(datamodule.splits["train"]) / (time.perf_counter() - started)
        print(f"training {name}: {rate:.0f} samples/s")


def _train_log_results(log: Path) -> None:
    """Print the results table and the "finished in" line of a training command's output."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    table = [i for i, text in enumerate(lines) if text.startswith("results: ")]
    for text in lines[table[-1] :] if table else []:
        if text.startswith(("results", " ", "val", "test", "offset", "finished")):
            print("  " + text)


def real_recipe_training(
    root: Path, scratch: Path, timeout_s: float, full: bool, one_thread: bool = False
) -> None:
    """Part 3: training time of the default real recipe, ``python -m avalign.train
    experiment=lagnet dataset=folder dataset.root=ROOT``, apart from its one-off clip feature
    extraction (timed first, in this process, as ``train`` does it); on the synthetic corpus
    when ``root`` holds no videos.

    With ``full``, the command runs with the config's epochs. Otherwise (bounded time) it runs
    with 1 and with 2 epochs: every epoch draws the same number of windows, so the difference
    is the cost of one epoch and the rest the fixed cost (start-up, validation of the best
    epoch, test, MLflow), and the config's epochs are projected from them. Each run logs to an
    MLflow store of its own, so each pays the same store creation.

    ``one_thread``: torch (and OpenCV) on one thread (`ONE_THREAD`). By default torch runs two
    intra-op threads on 2 cores; when another job holds a core, they wait for each other and
    the CPU time grows with the waiting. On one thread the CPU time is the work itself, and it
    bounds from above the wall time on 2 cores of its own.
    """
    from avalign.datasets.folder import find_videos
    from avalign.media.probe import probe_media
    from avalign.training.run import prepare_shift_data

    print("\n## training of the default real recipe (experiment=lagnet)")
    videos = find_videos(root) if root.is_dir() else []
    data = scratch / "recipe"
    if videos:
        dataset = ["dataset=folder", f"dataset.root={root}"]
        seconds = sum(probe_media(p).duration_s for p in videos)
        print(f"dataset: {len(videos)} real development clips in {root}, {seconds:.0f} s in all")
    else:
        dataset, seconds = [], 0.0
        print(f"{root} holds no videos: the synthetic corpus (its default size) instead")
    common = ["experiment=lagnet", *dataset, f"paths.data_dir={data}", "progress=false"]
    cfg = _compose("train", *common)
    epochs = int(cfg.model.epochs)
    note = load_note()
    module, extraction = timed_call(prepare_shift_data, cfg)
    windows = len(module[0].train_set)
    print(
        f"epochs: {epochs}; {windows} training windows per epoch "
        f"({cfg.data.shifts.draws_per_clip} per training clip), batch {cfg.data.batch_size}"
    )
    line = f"one-off: dataset and clip features (source evidence): {extraction} ({note})"
    if seconds:
        per_s = extraction.cpu / seconds
        ave = AVE_CLIPS * AVE_CLIP_S * per_s / 2 / 60
        line += (
            f"; {per_s * 10:.2f} s CPU per 10 s of this real footage (start-up included), so "
            f"all of AVE at that cost, 2 workers on 2 cores of their own: {ave:.1f} min"
        )
    print(line)
    command = [sys.executable, "-m", "avalign.train", *common]
    env = ONE_THREAD if one_thread else None
    threads = " with " + " ".join(f"{k}={v}" for k, v in ONE_THREAD.items()) if one_thread else ""
    print("training command:", " ".join(command[1:]), f"(features cached now){threads}")
    costs = {}
    for count in (epochs,) if full else (1, 2):
        note, log = load_note(), scratch / f"train-{count}.log"
        run_command = [
            *command,
            f"model.epochs={count}",
            f"paths.output_dir={scratch / 'outputs'}",
            f"paths.mlflow_dir={scratch / f'mlflow-{count}'}",
        ]
        try:
            costs[count] = timed_command(run_command, timeout_s=timeout_s, log=log, env=env)
        except OverranError as error:
            print(f"{count} epochs: stopped after {error.cost} ({note}): longer than that")
            return
        print(f"{count} epochs: {costs[count]} ({note})")
        _train_log_results(log)
    if full:
        print(f"training, {epochs} epochs (MLflow logging included): {costs[epochs]}")
        return
    epoch = Cost(costs[2].wall - costs[1].wall, costs[2].cpu - costs[1].cpu)
    fixed = Cost(costs[1].wall - epoch.wall, costs[1].cpu - epoch.cpu)
    total = Cost(fixed.wall + epochs * epoch.wall, fixed.cpu + epochs * epoch.cpu)
    print(
        f"one epoch: {epoch} ({1000 * epoch.cpu / windows:.0f} ms CPU per window); fixed: "
        f"{fixed}; projected training with the config's {epochs} epochs: {total} "
        f"({total.wall / 60:.1f} min wall, {total.cpu / 60:.1f} min CPU)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models", action="store_true", help="training throughput of each model (samples/s)"
    )
    parser.add_argument(
        "--recipe", action="store_true", help="training time of the real LagNet recipe"
    )
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument(
        "--real-root",
        default=str(REPO / "data" / "realdev" / "raw"),
        help="folder of real in-sync videos for the training recipe",
    )
    parser.add_argument(
        "--train-full",
        action="store_true",
        help="time the recipe's training with its own epochs (default: project from 1 and 2)",
    )
    parser.add_argument(
        "--train-one-thread",
        action="store_true",
        help="train with torch on one thread (CPU time free of thread waiting)",
    )
    parser.add_argument(
        "--train-timeout", type=float, default=2400.0, help="seconds per training command"
    )
    args = parser.parse_args()
    both = not (args.models or args.recipe)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        if both or args.models:
            training_throughput(args.clips, scratch)
        if both or args.recipe:
            real_recipe_training(
                Path(args.real_root),
                scratch,
                args.train_timeout,
                args.train_full,
                args.train_one_thread,
            )


if __name__ == "__main__":
    main()
