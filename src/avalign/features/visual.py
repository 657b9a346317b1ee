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
            # the median over a 4x-subsampled field is as good an estimate of the camera's motion
            camera = np.median(flow[::4, ::4].reshape(-1, 2), axis=0)
            # subtracted as one complex number per vector: the same float32 differences as
            # broadcasting over the last axis, which numpy runs 20 times slower (a loop of 2)
            flow = (flow.view(np.complex64) - np.complex64(complex(*camera))).view(np.float32)
        return flow


def grid_means(values: np.ndarray, grid: int) -> np.ndarray:
    """Mean of a ``(H, W)`` map over a ``grid x grid`` partition (area-weighted at uneven edges)."""
    return cv2.resize(
        values.astype(np.float32, copy=False), (grid, grid), interpolation=cv2.INTER_AREA
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
    share = keys is not None and flow_cache is not None
    previous = None
    for k in range(steps):
        key = (keys[k], keys[k + 1]) if share else None
        cached = flow_cache.get(key) if share else None
        if cached is None:
            flow = estimator(frames[k], frames[k + 1])
            # (cv2.magnitude misreads strided channel views: it returned differing results)
            magnitude = np.hypot(flow[..., 0], flow[..., 1])
            change = cv2.absdiff(frames[k + 1], frames[k])
            cached = (
                flow,
                float(magnitude.mean()),
                grid_means(magnitude, grid),
                change.mean() / 255.0,
            )
            if share:
                flow_cache[key] = cached
        flow, energy[k], cells[k], diff[k] = cached
        if previous is not None:
            triple = (keys[k - 1], keys[k], keys[k + 1]) if share else None
            change = flow_cache.get(triple) if share else None
            if change is None:
                delta = flow - previous
                jerk = np.hypot(delta[..., 0], delta[..., 1])
                change = (cv2.mean(jerk)[0], grid_means(jerk, grid))
                if share:
                    flow_cache[triple] = change
            accel[k], accel_cells[k] = change
        previous = flow
    return {
        "flow_energy": energy,
        "flow_grid": cells,
        "frame_diff": diff,
        "flow_accel": accel,
        "accel_grid": accel_cells,
    }
