"""The file's offset over time: constant, drifting, or changed by an edit.

Input: `LagEvidence`, every window's log-likelihood over one grid of lags
(`avalign.detection.evidence`). Output: `OffsetModel`, the best of three explanations of the
whole file, each fitted by maximum (pseudo) likelihood, i.e. by adding up the windows'
log-likelihoods at the offset that the model predicts for each window:

- **constant**: one offset for the whole file, ``o(t) = c``. The windows' log-likelihoods are
  summed lag by lag, so a shift that holds everywhere becomes more certain with every window
  (probabilities are not averaged: ten weak windows that agree beat one strong window).
- **drift**: ``o(t) = o0 + b t``: audio running slightly fast or slow against the picture (a wrong
  sample rate, a 25/24 fps conversion). ``b`` is reported in ms per minute, ``o0`` is the offset at
  00:00. Fitted on a grid of slopes (each moves the ends of the file by half a lag step more
  than the last), then refined on log-likelihoods interpolated to an eighth of a step.
- **edit**: ``o(t) = c1`` before a time ``tau``, ``c2`` after (a cut that dropped or added sound).
  Every split between two windows is tried with prefix sums.

Each model's log-likelihood is penalised for its parameters (BIC: half the log of the number of
effective windows per parameter, plus `EXTRA_NATS`) and for the search that found it (the log of
the number of distinct slopes tried, for the drift; of the places the cut could be, for the
edit: with many tries, chance alone finds a slope or a cut that fits the noise a little better),
and the highest penalised score wins. Windows overlap, so
sums are scaled by the evidence's ``weight`` (hop / window). Confidence:

- the offset (constant model): the log-likelihood margin between the best lag and the best lag
  more than one grid step away (`MARGIN_NATS`);
- the drift: how well the slope is pinned down: the interval of slopes whose profile
  log-likelihood is within `INTERVAL_NATS` of the best (about a 95% interval), relative to the
  slope: high when it is within 20% (`DRIFT_RELATIVE`), medium within 50%, and never above low
  when the drift model does not win;
- the edit: its penalised gain over the best other model (`MARGIN_NATS`).

A window predicted outside the lag grid (a long file drifting further than ``max_lag_s``) says
nothing: it contributes the mean of its own log-likelihoods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline

from avalign.detection.evidence import LagEvidence

#: Log-likelihood margins (nats) for the confidence levels of an offset and of an edit.
MARGIN_NATS = {"high": 4.0, "medium": 2.0}
#: Extra penalty (nats) per parameter beyond BIC's (pseudo-likelihoods of overlapping,
#: correlated windows are optimistic; set on constant-offset synthetic files, no false drift).
EXTRA_NATS = 2.0
#: Profile log-likelihood drop (nats) that bounds the slope's interval (chi-square, 1 dof, 95%).
INTERVAL_NATS = 1.92
#: Relative half-width of the slope interval for a high / medium drift confidence.
DRIFT_RELATIVE = {"high": 0.2, "medium": 0.5}
#: Largest drift searched, ms of offset per minute (a 5% speed error).
MAX_DRIFT_MS_PER_MIN = 3000.0
#: Fewest windows for a drift or an edit fit (an edit needs this many on each side, halved).
MIN_WINDOWS = 4
#: Lag-grid refinement for the final fits (each step cut into this many).
REFINE = 8


@dataclass(frozen=True)
class OffsetModel:
    """What the windows say about the file's offset over time (ms, positive = audio late)."""

    kind: str  # "constant" | "drift" | "edit": the explanation chosen
    confidence: str  # high | medium | low: of the chosen explanation
    offset_ms: float  # the best single offset for the whole file (constant model)
    offset_confidence: str
    offset_margin: float  # nats between the best lag and the best one > 1 step away
    drift_ms_per_min: float | None  # the drift model's slope (None: too few windows)
    offset_at_zero_ms: float | None  # the drift model's offset at 00:00
    drift_interval: tuple[float, float] | None  # ~95% interval of the slope, ms/min
    drift_confidence: str  # low whenever the drift model does not win
    edit_time_s: float | None
    offset_before_ms: float | None
    offset_after_ms: float | None
    edit_confidence: str  # low whenever the edit model does not win
    scores: dict[str, float]  # penalised log-likelihood of each model tried
    window_times_s: np.ndarray = field(repr=False)
    window_offsets_ms: np.ndarray = field(repr=False)  # each window's own best lag
    window_strength: np.ndarray = field(repr=False)  # each window's probability of that lag +-1
    lags_ms: np.ndarray = field(repr=False)
    file_loglik: np.ndarray = field(repr=False)  # summed (weighted) log-likelihood per lag
    window_loglik: np.ndarray = field(repr=False)  # (windows, lags): the evidence itself
    weight: float = 1.0  # what each window counts in ``file_loglik`` (hop / window, overlap)

    def offset_at(self, times_s: np.ndarray | float) -> np.ndarray:
        """The chosen model's offset at ``times_s`` (ms)."""
        t = np.asarray(times_s, dtype=np.float64)
        if self.kind == "drift":
            return self.offset_at_zero_ms + self.drift_ms_per_min / 60.0 * t
        if self.kind == "edit":
            return np.where(t < self.edit_time_s, self.offset_before_ms, self.offset_after_ms)
        return np.full_like(t, self.offset_ms)

    @property
    def posterior(self) -> np.ndarray:
        """The constant model's probability of each lag (softmax of ``file_loglik``)."""
        x = self.file_loglik - self.file_loglik.max()
        return np.exp(x) / np.exp(x).sum()


def level(value: float, levels: dict[str, float]) -> str:
    """'high', 'medium' or 'low': the first level whose threshold ``value`` reaches."""
    return "high" if value >= levels["high"] else "medium" if value >= levels["medium"] else "low"


def refine_peak(curve: np.ndarray, best: int) -> float:
    """Sub-step position of the peak at ``best`` (vertex of the parabola through 3 points)."""
    if 0 < best < curve.size - 1:
        left, peak, right = curve[best - 1], curve[best], curve[best + 1]
        bend = left - 2 * peak + right
        if bend < -1e-12:
            return best + float(np.clip(0.5 * (left - right) / bend, -0.5, 0.5))
    return float(best)


def _peak(curve: np.ndarray, lags_ms: np.ndarray) -> tuple[float, float]:
    """(offset in ms at the refined peak, value at the peak)."""
    best = int(np.argmax(curve))
    position = refine_peak(curve, best)
    step = lags_ms[1] - lags_ms[0] if lags_ms.size > 1 else 0.0
    return float(lags_ms[0] + position * step), float(curve[best])


def margin(curve: np.ndarray, width: int = 1) -> float:
    """Peak value minus the best value more than ``width`` grid steps (one step of the detector)
    from the peak (inf if none)."""
    best = int(np.argmax(curve))
    away = np.ones(curve.size, bool)
    away[max(0, best - width) : best + width + 1] = False
    return float(curve[best] - curve[away].max()) if away.any() else float("inf")


def shifted_sum(
    loglik: np.ndarray, shifts: np.ndarray, fill: np.ndarray, columns: np.ndarray | None = None
) -> np.ndarray:
    """``sum_i loglik[i, j + shifts[i]]`` for each grid index ``j`` in ``columns`` (default all).

    ``shifts`` are in grid steps (fractional, linear interpolation); a window read outside its
    grid gives ``fill[i]``.
    """
    size = loglik.shape[1]
    columns = np.arange(size) if columns is None else columns
    whole = np.floor(shifts).astype(int)
    frac = (shifts - whole)[:, None]
    index = columns[None, :] + whole[:, None]
    padded = np.concatenate([loglik, fill[:, None]], axis=1)  # index `size` reads the fill

    def take(ix: np.ndarray) -> np.ndarray:
        inside = (ix >= 0) & (ix < size)
        return np.take_along_axis(padded, np.where(inside, ix, size), axis=1)

    return ((1 - frac) * take(index) + frac * take(index + 1)).sum(axis=0)


def upsample(loglik: np.ndarray, factor: int) -> np.ndarray:
    """Rows interpolated (cubic spline) to ``factor`` points per grid step."""
    size = loglik.shape[1]
    fine = np.arange((size - 1) * factor + 1) / factor
    return CubicSpline(np.arange(size), loglik, axis=1)(fine)


def _drift(ll: np.ndarray, t: np.ndarray, lags: np.ndarray, resolution: float):
    """Best (offset at the middle, slope ms/s, log-likelihood) and the slope profile.

    Slopes are searched in strides of the detector's own lag step (``resolution``, which the
    grid's step may be a fraction of), then refined."""
    step = lags[1] - lags[0]
    middle = 0.5 * (t[0] + t[-1])
    span = max(t[-1] - t[0], 1e-6)
    fill = ll.mean(axis=1)
    top = min(MAX_DRIFT_MS_PER_MIN / 60.0, 2.0 * (lags[-1] - lags[0]) / span)
    delta = resolution / span  # moves each end of the file by half a step
    slopes = np.arange(-top, top + delta / 2, delta)
    profile = np.empty(slopes.size)
    where = np.empty(slopes.size, int)
    for k, b in enumerate(slopes):
        total = shifted_sum(ll, b * (t - middle) / step, fill)
        where[k] = int(np.argmax(total))
        profile[k] = total[where[k]]
    best = int(np.argmax(profile))
    # refine: a finer lag grid and slope grid around the coarse optimum
    fine = upsample(ll, REFINE)
    fine_step = step / REFINE
    fine_slopes = slopes[best] + np.arange(-REFINE, REFINE + 1) * delta / REFINE
    band = where[best] * REFINE + np.arange(-REFINE, REFINE + 1)  # +-1 step around the coarse
    band = band[(band >= 0) & (band < fine.shape[1])]
    fine_profile = np.empty(fine_slopes.size)
    fine_where = np.empty(fine_slopes.size, int)
    for k, b in enumerate(fine_slopes):
        total = shifted_sum(fine, b * (t - middle) / fine_step, fill, band)
        fine_where[k] = int(band[np.argmax(total)])
        fine_profile[k] = total.max()
    k = int(np.argmax(fine_profile))
    mid_offset = lags[0] + fine_where[k] * fine_step
    all_slopes = np.concatenate([slopes, fine_slopes])
    all_profile = np.concatenate([profile, fine_profile])
    order = np.argsort(all_slopes)
    distinct = max(2.0, 2 * top * span / resolution)  # slopes moving the ends apart by a step
    return (
        mid_offset,
        float(fine_slopes[k]),
        float(fine_profile[k]),
        middle,
        distinct,
        (
            all_slopes[order],
            all_profile[order],
        ),
    )


def _interval(slopes: np.ndarray, profile: np.ndarray, best: float) -> tuple[float, float]:
    """Slopes whose profile log-likelihood is within `INTERVAL_NATS` of the best: [low, high]."""
    inside = slopes[profile >= best - INTERVAL_NATS]
    return float(inside.min()), float(inside.max())


def _edit(ll: np.ndarray, lags: np.ndarray):
    """Best split (index of the first window after it) and its log-likelihood."""
    prefix = np.concatenate([np.zeros((1, ll.shape[1])), np.cumsum(ll, axis=0)])
    total = prefix[-1]
    least = max(2, MIN_WINDOWS // 2)
    best_k, best_value = -1, -np.inf
    for k in range(least, ll.shape[0] - least + 1):
        value = prefix[k].max() + (total - prefix[k]).max()
        if value > best_value:
            best_k, best_value = k, value
    before, _ = _peak(prefix[best_k], lags)
    after, _ = _peak(total - prefix[best_k], lags)
    return best_k, before, after, float(best_value)


def fit_timeline(evidence: LagEvidence) -> OffsetModel | None:
    """The file's offset model from its windows' evidence; None when there are no windows."""
    n = len(evidence)
    if n == 0:
        return None
    lags, t = evidence.lags_ms, evidence.centres_s
    ll = evidence.loglik * evidence.weight
    file_ll = ll.sum(axis=0)
    offset, constant_ll = _peak(file_ll, lags)
    width = max(1, round(evidence.resolution / evidence.step_ms))  # grid steps per detector step
    offset_margin = margin(file_ll, width)
    n_eff = max(2.0, n * evidence.weight)
    per_parameter = 0.5 * np.log(n_eff) + EXTRA_NATS
    scores = {"constant": constant_ll - per_parameter}
    # per-window best lags (for plots and reports)
    best = np.argmax(evidence.loglik, axis=1)
    window_offsets = np.array(
        [
            lags[0] + refine_peak(row, b) * evidence.step_ms
            for row, b in zip(evidence.loglik, best, strict=True)
        ]
    )
    probability = np.exp(evidence.loglik)
    strength = np.array(
        [probability[i, max(0, b - width) : b + width + 1].sum() for i, b in enumerate(best)]
    )
    drift = edit = None
    if n >= MIN_WINDOWS and lags.size > 2:
        mid_offset, slope, drift_ll, middle, distinct, profile = _drift(
            ll, t, lags, evidence.resolution
        )
        drift = (mid_offset - slope * middle, slope, profile, drift_ll)
        scores["drift"] = drift_ll - 2 * per_parameter - np.log(distinct)
        k, before, after, edit_ll = _edit(ll, lags)
        edit = (0.5 * (t[k - 1] + t[k]), before, after)
        scores["edit"] = edit_ll - 3 * per_parameter - np.log(max(2, n - MIN_WINDOWS + 1))
    kind = max(scores, key=scores.get)
    others = [v for name, v in scores.items() if name != kind]
    gain = scores[kind] - max(others) if others else float("inf")
    drift_confidence = edit_confidence = "low"
    interval = None
    if drift is not None:
        interval = _interval(drift[2][0], drift[2][1], drift[3])
        half_width = 0.5 * (interval[1] - interval[0]) + 0.25 * (drift[2][0][1] - drift[2][0][0])
        relative = half_width / max(abs(drift[1]), 1e-9)
        if kind == "drift":
            drift_confidence = (
                "high"
                if relative <= DRIFT_RELATIVE["high"]
                else "medium"
                if relative <= DRIFT_RELATIVE["medium"]
                else "low"
            )
    if kind == "edit":
        edit_confidence = level(gain, MARGIN_NATS)
    offset_confidence = level(offset_margin, MARGIN_NATS)
    confidence = {
        "constant": offset_confidence,
        "drift": drift_confidence,
        "edit": edit_confidence,
    }[kind]
    return OffsetModel(
        kind=kind,
        confidence=confidence,
        offset_ms=offset,
        offset_confidence=offset_confidence,
        offset_margin=offset_margin,
        drift_ms_per_min=None if drift is None else drift[1] * 60.0,
        offset_at_zero_ms=None if drift is None else drift[0],
        drift_interval=None if interval is None else (interval[0] * 60.0, interval[1] * 60.0),
        drift_confidence=drift_confidence,
        edit_time_s=None if edit is None else float(edit[0]),
        offset_before_ms=None if edit is None else edit[1],
        offset_after_ms=None if edit is None else edit[2],
        edit_confidence=edit_confidence,
        scores={k: float(v) for k, v in scores.items()},
        window_times_s=t,
        window_offsets_ms=window_offsets,
        window_strength=strength,
        lags_ms=lags,
        file_loglik=file_ll,
        window_loglik=evidence.loglik,
        weight=evidence.weight,
    )


def as_estimate(model: OffsetModel, method: str):
    """The constant model as the `OffsetEstimate` that verdicts and plots read.

    ``strength`` is the log-likelihood margin (nats) and ``curve`` the probability of each lag
    given every window (the softmax of the summed log-likelihoods).
    """
    from avalign.detection.windows import OffsetEstimate

    return OffsetEstimate(
        model.offset_ms,
        model.offset_confidence,
        model.offset_margin,
        method,
        model.lags_ms,
        model.posterior,
    )


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def timeline_record(model: OffsetModel | None) -> dict:
    """The offset model's fields of a file's JSON record (all None without usable windows)."""
    if model is None:
        return {
            "offset_model": None,
            "drift_ms_per_min": None,
            "drift_interval_ms_per_min": None,
            "drift_confidence": None,
            "offset_at_zero_ms": None,
            "edit_time_s": None,
            "offset_before_ms": None,
            "offset_after_ms": None,
            "edit_confidence": None,
            "model_scores": None,
            "timeline": None,
        }
    return {
        "offset_model": model.kind,
        "drift_ms_per_min": _rounded(model.drift_ms_per_min, 2),
        "drift_interval_ms_per_min": None
        if model.drift_interval is None
        else [_rounded(x, 2) for x in model.drift_interval],
        "drift_confidence": model.drift_confidence,
        "offset_at_zero_ms": _rounded(model.offset_at_zero_ms),
        "edit_time_s": _rounded(model.edit_time_s, 2),
        "offset_before_ms": _rounded(model.offset_before_ms),
        "offset_after_ms": _rounded(model.offset_after_ms),
        "edit_confidence": model.edit_confidence,
        "model_scores": {k: round(v, 2) for k, v in model.scores.items()},
        "timeline": {
            "times_s": [round(float(x), 3) for x in model.window_times_s],
            "offsets_ms": [round(float(x), 1) for x in model.window_offsets_ms],
            "strength": [round(float(x), 3) for x in model.window_strength],
        },
    }
