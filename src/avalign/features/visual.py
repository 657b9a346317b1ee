"""Visual features: optical flow between consecutive frames, its energy V(t), a coarse energy grid.

For each step (the interval between two consecutive feature frames) we keep the mean flow
magnitude over the frame (`flow_energy`, the V(t) of the seed's method), the same over a
``grid x grid`` partition (`flow_grid`, where in the picture the motion is), the mean absolute
frame difference (`frame_diff`, which also sees flashes that flow misses), and the change of the
flow field since the previous step (`flow_accel`, `accel_grid`: impacts). Camera motion can be
removed first by subtracting the median flow vector.
"""

from __future__ import annotations

import cv2
import numpy as np

from avalign.features.config import FlowConfig

_DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


class FlowEstimator:
    """Dense optical flow between two gray frames, by DIS or Farneback (OpenCV)."""

    def __init__(self, config: FlowConfig) -> None:
        self.config = config
        self._dis = (
            cv2.DISOpticalFlow_create(_DIS_PRESETS[config.dis_preset])
            if config.method == "dis"
            else None
        )

    def __call__(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Flow field ``(H, W, 2)`` in pixels per step, camera motion removed if configured."""
        if self._dis is not None:
            flow = self._dis.calc(previous, current, None)
        else:
            flow = cv2.calcOpticalFlowFarneback(
                previous,
                current,
                None,
                pyr_scale=0.5,
                levels=3,
                winsize=15,
                iterations=3,
                poly_n=5,
                poly_sigma=1.2,
                flags=0,
            )
        if self.config.compensate_camera:
            flow = flow - np.median(flow.reshape(-1, 2), axis=0)
        return flow


def grid_means(values: np.ndarray, grid: int) -> np.ndarray:
    """Mean of a ``(H, W)`` map over a ``grid x grid`` partition (cells as even as possible)."""
    rows = np.array_split(np.arange(values.shape[0]), grid)
    cols = np.array_split(np.arange(values.shape[1]), grid)
    return np.array(
        [[values[r[0] : r[-1] + 1, c[0] : c[-1] + 1].mean() for c in cols] for r in rows],
        dtype=np.float32,
    )


def motion_features(
    frames: np.ndarray, estimator: FlowEstimator, flow_cache: dict | None = None, keys=None
) -> dict[str, np.ndarray]:
    """Per-step motion features of ``frames`` ``(T + 1, H, W)`` uint8: arrays of length T.

    Besides the flow energy, ``flow_accel`` is the mean magnitude of the *change* of the flow
    field from the previous step (0 for the first step): impacts, strikes and footfalls are abrupt
    changes of motion, while steady motion (a drifting background, a wandering object) cancels.
    ``flow_cache`` (with ``keys``, one hashable id per frame) lets samples cut from the same source
    share the work on frame pairs they have in common.
    """
    steps = max(frames.shape[0] - 1, 0)
    grid = estimator.config.grid
    energy = np.zeros(steps, np.float32)
    cells = np.zeros((steps, grid, grid), np.float32)
    diff = np.zeros(steps, np.float32)
    accel = np.zeros(steps, np.float32)
    accel_cells = np.zeros((steps, grid, grid), np.float32)
    previous = None
    for k in range(steps):
        key = (keys[k], keys[k + 1]) if keys is not None and flow_cache is not None else None
        cached = flow_cache.get(key) if key is not None else None
        if cached is None:
            flow = estimator(frames[k], frames[k + 1])
            magnitude = np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2)
            change = np.abs(frames[k + 1].astype(np.int16) - frames[k].astype(np.int16))
            cached = (flow, magnitude.mean(), grid_means(magnitude, grid), change.mean() / 255.0)
            if key is not None:
                flow_cache[key] = cached
        flow, energy[k], cells[k], diff[k] = cached
        if previous is not None:
            jerk = np.sqrt(((flow - previous) ** 2).sum(-1))
            accel[k] = jerk.mean()
            accel_cells[k] = grid_means(jerk, grid)
        previous = flow
    return {
        "flow_energy": energy,
        "flow_grid": cells,
        "frame_diff": diff,
        "flow_accel": accel,
        "accel_grid": accel_cells,
    }
