"""Per-window evidence about the offset: a log-likelihood over a common grid of lags.

Every detector speaks to the time-line analysis (`avalign.detection.timeline`) through one shape,
`LagEvidence`: for each window (its centre time), a log-likelihood ``log P(window | lag)`` at each
lag of one evenly spaced grid (ms, positive = audio late). This module is the one place where a
detector's output becomes that shape:

- `from_probabilities`: a model that gives probabilities over lags per window (a trained lag
  head; any future detector that does the same) is used as it is, mixed with a small uniform
  "outlier" share (`OUTLIER_SHARE`), so that one confused window that puts ~0 on the true lag
  costs a bounded amount (``log(OUTLIER_SHARE / lags)``, about 7.6 nats for 101 lags) instead of
  vetoing the file.
- `correlation_evidence`: the training-free default turns each window's cross-correlation of the
  picture's motion V(t) and the sound's energy A(t) into a pseudo log-likelihood. The correlation
  at lag ``k``, ``rho_k`` (z-scored curves, divided by the overlap ``n - |k|``), is expressed in
  units of its noise level when picture and sound are unrelated: Bartlett's formula,
  ``var(rho_k) = S / (n - |k|)`` with ``S = sum_j r_vv(j) r_aa(j)`` from the two curves' own
  autocorrelations (slow, smooth curves make chance correlations larger, so their peaks count
  less). ``z_k = rho_k / sqrt(var(rho_k))`` is then what a Gaussian model of the correlation
  makes a log-likelihood of: if matching activity raises the correlation at the true lag by
  ``mu`` noise standard deviations, ``log P(window | lag = k) = mu * z_k + const``, i.e. a softmax
  of ``z / temperature`` with ``temperature = 1 / mu``. The default temperature 1 assumes the
  weakest evidence worth counting (``mu = 1``): each window is trusted little, and a shift that
  holds for the whole file becomes certain by adding up many windows. Lags that a window cannot
  test (too little overlap, beyond ``max_lag_s``) get ``z = 0``, the value of no relation.

Windows overlap (a 4 s window every 2 s counts each instant twice), so the evidence carries a
``weight`` (hop / window, at most 1) by which the time-line analysis scales summed
log-likelihoods: the same second of footage is not counted as two independent observations.

**Finer than a step, and in the time a viewer sees** (`presented`). A detector reads lags in
whole feature steps (40 ms at 25 steps/s), and a trained lag head reads them as a quantiser
does: the packaged LagNet puts 0.95 of its probability on one lag, the one that the sound's
onset falls in, wherever in its step the onset lies. The same detector run on the sound moved
by a fraction of a step (`phase_shifts_ms`: ``n`` phases centred on 0) lands on other whole
lags; each run's probabilities, read at its own lags plus its shift and averaged over the runs,
are the evidence on a grid ``n`` times finer, whose peak is the dithered quantiser's mean (error
within half of ``step / n`` instead of a one-sided whole step). Then the picture: a change of
picture is placed at the middle of its step, and 25 fps pictures are all shown at the end of
theirs (`avalign.features.stream.picture_delay_ms`), so the lags are moved back by that delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from avalign.models.correlation import correlate_curves
from avalign.models.inputs import audio_curve

#: Share of a window's probability spread evenly over all lags (a window that is plain wrong).
OUTLIER_SHARE = 0.05
#: Default softmax temperature of the correlation's z-scores (1 / expected z at the true lag).
TEMPERATURE = 1.0
#: Autocorrelation lags summed in Bartlett's formula, as a share of the window's steps.
BARTLETT_SPAN = 0.25


@dataclass(frozen=True)
class LagEvidence:
    """Every window's log-likelihood over one grid of lags, ready for `fit_timeline`.

    Attributes
    ----------
    centres_s : (N,) window centre times, s, increasing.
    lags_ms : (L,) the lag grid, ms, evenly spaced and increasing (positive = audio late).
    loglik : (N, L) ``log P(window | lag)``, each row normalised (its probabilities sum to 1).
    weight : scale for sums over windows (hop / window when windows overlap, else 1).
    method : where the evidence comes from: "xcorr" (training-free) or "lag_head" (a model).
    """

    centres_s: np.ndarray
    lags_ms: np.ndarray
    loglik: np.ndarray
    weight: float = 1.0
    method: str = "xcorr"
    #: the detector's own lag step, ms, when the grid is finer (`presented`); None: the grid's
    resolution_ms: float | None = None

    @property
    def step_ms(self) -> float:
        return float(self.lags_ms[1] - self.lags_ms[0]) if self.lags_ms.size > 1 else 1.0

    @property
    def resolution(self) -> float:
        """The lag step the detector itself can tell apart, ms (at least the grid's step)."""
        return max(self.step_ms, self.resolution_ms or 0.0)

    def __len__(self) -> int:
        return int(self.loglik.shape[0])


def overlap_weight(window_s: float, hop_s: float) -> float:
    """How much each window counts when summed: hop / window for overlapping windows, else 1."""
    return float(min(1.0, hop_s / window_s)) if window_s > 0 else 1.0


def from_probabilities(
    probabilities: np.ndarray, outlier_share: float = OUTLIER_SHARE
) -> np.ndarray:
    """``log((1 - e) p + e / L)`` per row: probabilities over lags -> bounded log-likelihoods."""
    p = np.asarray(probabilities, dtype=np.float64)
    p = p / np.clip(p.sum(axis=-1, keepdims=True), 1e-300, None)
    return np.log((1.0 - outlier_share) * p + outlier_share / p.shape[-1])


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax of ``scores / temperature``."""
    x = np.asarray(scores, dtype=np.float64) / temperature
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def lag_head_evidence(
    lag_probabilities: list[dict[int, float]],
    centres_s: np.ndarray,
    fps: float,
    weight: float = 1.0,
) -> LagEvidence:
    """Evidence from a trained lag head: per window ``{lag in steps: probability}``."""
    span = max(abs(lag) for window in lag_probabilities for lag in window)
    dense = np.zeros((len(lag_probabilities), 2 * span + 1))
    for i, window in enumerate(lag_probabilities):
        for lag, p in window.items():
            dense[i, lag + span] = p
    lags_ms = np.arange(-span, span + 1) * 1000.0 / fps
    return LagEvidence(
        np.asarray(centres_s, float), lags_ms, from_probabilities(dense), weight, "lag_head"
    )


def bartlett_scale(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``S = sum_j r_vv(j) r_aa(j)`` per row: the chance-correlation variance, times ``n``.

    ``v`` and ``a`` are ``(windows, n)`` z-scored curves; ``r`` their own autocorrelations
    (|j| up to a quarter of the window). White curves give 1, smooth curves more; never below 1.
    """
    n = v.shape[1]
    total = np.ones(v.shape[0])
    for j in range(1, max(1, int(BARTLETT_SPAN * n))):
        r_v = np.einsum("ij,ij->i", v[:, :-j], v[:, j:]) / n
        r_a = np.einsum("ij,ij->i", a[:, :-j], a[:, j:]) / n
        total += 2.0 * r_v * r_a
    return np.maximum(1.0, total)


def _zscore(x: np.ndarray) -> np.ndarray:
    """Each row standardised; flat rows become 0."""
    x = x.astype(np.float64) - x.mean(axis=1, keepdims=True)
    std = x.std(axis=1, keepdims=True)
    return np.where(std > 1e-6, x / np.maximum(std, 1e-6), 0.0)


def correlation_zscores(
    visual: np.ndarray, audio: np.ndarray, lag_steps: np.ndarray, max_lag_s: float, fps: float
) -> np.ndarray:
    """Cross-correlation of V(t) and A(t) at ``lag_steps``, in noise standard deviations.

    ``visual`` and ``audio`` are ``(windows, n)``: windows of one length, done in one batch.
    0 where picture or sound is flat, and at lags the window cannot test (as `correlate_curves`
    decides: within ``max_lag_s`` and overlapping at least half the window).
    """
    count, n = visual.shape
    z = np.zeros((count, lag_steps.size))
    if n < 4 or not count:
        return z
    v, a = _zscore(visual), _zscore(audio)
    found = correlate_curves(
        torch.from_numpy(visual.astype(np.float32)),
        torch.from_numpy(audio.astype(np.float32)),
        torch.ones(count, n, dtype=torch.bool),
        max_lag_s=max_lag_s,
        step_ms=1000.0 / fps,
    )
    rho = found["rho"].numpy().astype(np.float64)  # lags -(n-1) .. n-1
    scale = bartlett_scale(v, a)
    limit = min(max_lag_s * fps, 0.5 * n)
    testable = (np.abs(lag_steps) <= limit + 1e-9) & (np.abs(lag_steps) < n)
    lags = lag_steps[testable].astype(int)
    z[:, testable] = rho[:, lags + n - 1] * np.sqrt((n - np.abs(lags))[None, :] / scale[:, None])
    flat = ~(v.any(axis=1) & a.any(axis=1))
    z[flat] = 0.0
    return z


def correlation_evidence(
    features: dict[str, np.ndarray],
    spans: list[tuple[int, int]],
    fps: float,
    max_lag_s: float,
    *,
    temperature: float = TEMPERATURE,
    weight: float = 1.0,
) -> LagEvidence:
    """Training-free evidence: each window's correlation z-scores made a pseudo log-likelihood.

    ``spans`` are the windows to use (step ranges); leave out windows whose sound is missing,
    silent or noise: they say nothing about the offset.
    """
    top = round(max_lag_s * fps)
    lag_steps = np.arange(-top, top + 1)
    visual = features["flow_energy"]
    audio = audio_curve(features["audio_energy"])
    z = np.zeros((len(spans), lag_steps.size))
    for length in {b - a for a, b in spans}:  # one batch per window length
        rows = [i for i, (a, b) in enumerate(spans) if b - a == length]
        z[rows] = correlation_zscores(
            np.stack([visual[spans[i][0] : spans[i][1]] for i in rows]),
            np.stack([audio[spans[i][0] : spans[i][1]] for i in rows]),
            lag_steps,
            max_lag_s,
            fps,
        )
    centres = np.array([(a + b) / 2.0 / fps for a, b in spans])
    loglik = from_probabilities(softmax(z, temperature)) if len(spans) else z
    return LagEvidence(centres, lag_steps * 1000.0 / fps, loglik, weight, "xcorr")


#: Window kinds whose sound itself is the problem: they carry no evidence about the offset.
SOUND_KINDS = frozenset({"mute", "silent", "noise"})


def window_evidence(
    features: dict[str, np.ndarray],
    spans: list[tuple[int, int]],
    windows: list,
    fps: float,
    *,
    max_lag_s: float,
    window_s: float,
    hop_s: float,
    lag_probabilities: list[dict[int, float]] | None = None,
    temperature: float = TEMPERATURE,
) -> LagEvidence | None:
    """The evidence of a scored file, whichever detector scored it (None: no usable window).

    ``windows`` are the detector's `WindowScore` per span; windows whose sound is missing,
    silent or noise are left out. With ``lag_probabilities`` (a trained lag head, one dict per
    span) those are used; otherwise the training-free cross-correlation. A new detector plugs in
    here: give it a branch that turns its output into a row of log-likelihoods per window.
    """
    keep = [i for i, w in enumerate(windows) if w.kind not in SOUND_KINDS]
    if not keep:
        return None
    weight = overlap_weight(window_s, hop_s)
    if lag_probabilities:
        centres = np.array([(spans[i][0] + spans[i][1]) / 2.0 / fps for i in keep])
        return lag_head_evidence([lag_probabilities[i] for i in keep], centres, fps, weight)
    return correlation_evidence(
        features, [spans[i] for i in keep], fps, max_lag_s, temperature=temperature, weight=weight
    )


def phase_shifts_ms(step_ms: float, phases: int) -> np.ndarray:
    """``phases`` shifts of the sound within one step, centred on 0 (0 itself when odd), ms."""
    count = max(1, int(phases))
    return (np.arange(count) - (count - 1) / 2.0) * step_ms / count


def presented(
    runs: list[LagEvidence], shifts_ms: np.ndarray | list[float], delay_ms: float = 0.0
) -> LagEvidence:
    """One evidence from runs of one detector on the sound moved by ``shifts_ms`` (the same
    windows in each), on a grid ``len(runs)`` times finer, with lags moved back by the picture's
    ``delay_ms``: offsets as a viewer sees them (see the module's docstring).

    Run ``i`` read the sound ``shifts_ms[i]`` later, so its lag ``L`` means an offset of
    ``L + shifts_ms[i]``. Each window's probabilities are read at those offsets (linearly
    between a run's own lags) and averaged over the runs.
    """
    base = runs[0]
    step = base.step_ms
    count = len(runs)
    if count == 1:
        fine, loglik = base.lags_ms, base.loglik
    else:
        fine = np.linspace(base.lags_ms[0], base.lags_ms[-1], (base.lags_ms.size - 1) * count + 1)
        mean = np.zeros((len(base), fine.size))
        for run, shift in zip(runs, shifts_ms, strict=True):
            probability = np.exp(run.loglik)
            for row in range(len(base)):
                mean[row] += np.interp(fine, run.lags_ms + shift, probability[row])
        mean /= np.clip(mean.sum(axis=1, keepdims=True), 1e-300, None)
        loglik = np.log(np.clip(mean, 1e-300, None))
    return LagEvidence(
        base.centres_s,
        fine - delay_ms,
        loglik,
        base.weight,
        base.method,
        resolution_ms=step if count > 1 else base.resolution_ms,
    )
