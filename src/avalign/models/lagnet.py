"""LagNet: which lag puts the sound where its source moves? A mixture of region experts.

On real footage the sound comes from one place in the picture (a mouth, a hand, a struck drum)
while the rest of the frame moves for other reasons, so the whole-frame motion energy barely
follows the sound. LagNet compares the sound with every *region* of the picture separately and
lets the evidence pick the region:

1. **Streams.** The audio token of each step (energy, onset, flatness, MFCC, and with
   ``feature.audio_bands`` the voice-band envelope and log-mel bands) goes through dilated
   temporal convolutions. The picture becomes several streams: each cell of the motion grid
   (its flow energy and flow change, beside the whole frame's), the whole frame, and, when the
   features hold face evidence, the mouth (opening, width, motion; face motion and presence).
   Each stream gets its own input projection and shares one temporal encoder.
2. **A lag distribution per stream.** As in SyncNet, the cosine similarity of picture step ``t``
   and sound step ``t + tau`` is averaged along each diagonal (positive ``tau`` = audio late),
   then turned into a probability over lags.
3. **Mixture.** A gate weighs the streams from what they show (their content and how sharply
   their similarity peaks), and adds a *no evidence* expert that spreads its probability evenly
   over all lags. The file's lag distribution is the weighted mixture. Where nothing in the
   picture follows the sound (a still picture, music over unrelated images), the gate learns to
   trust the even expert, and the distribution stays flat: the model says it cannot tell.

Outputs: ``lag_logits`` (the log of the mixture, so that ``softmax`` gives it back), the offset
estimate (the most probable lag, refined by a parabola), ``score`` = 1 - P(lag within the
ITU-R BT.1359 in-sync band), and ``evidence`` = 1 - the gate's weight on the even expert.

Trained with the negative log-likelihood of the true lag (lag 0 for synchronized windows); muted
and noisy windows, which have no lag, teach the gate to choose the even expert.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from avalign.models.base import SyncModel
from avalign.models.correlation import circular_overlap, parabolic_offset
from avalign.models.inputs import FACE_KEYS, TYPES

SYNCED, TIME_SHIFT = TYPES.index("None"), TYPES.index("time_shift")
NO_LAG = tuple(TYPES.index(t) for t in ("mute", "noise"))
GLOBAL_DIMS = 3  # flow energy, frame difference, flow change of the whole frame
#: ITU-R BT.1359 in-sync band in avalign's sign (positive = audio late), ms
IN_SYNC_BAND_MS = (-45.0, 125.0)


def grid_and_face(visual_dim: int) -> tuple[int, int]:
    """The motion grid's side and the number of face values in a visual token of this size."""
    for face in (len(FACE_KEYS), 0):
        rest = visual_dim - GLOBAL_DIMS - face
        side = math.isqrt(max(rest // 2, 0))
        if rest > 0 and rest == 2 * side * side:
            return side, face
    raise ValueError(f"visual token of {visual_dim} values: not [global 3, 2 grids, face?]")


class DilatedConv(nn.Module):
    """Residual depthwise-separable 1-D convolutions with growing dilation over ``(N, C, T)``.

    Each block filters every channel in time (kernel ``kernel``, dilation 1, 2, 4, ...) and then
    mixes channels (a 1x1 convolution): a fifth of the arithmetic of full convolutions, which
    matters here because every picture stream of every window goes through it.
    """

    def __init__(self, width: int, layers: int, kernel: int = 5, dropout: float = 0.1) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(
                    width,
                    width,
                    kernel,
                    padding=(kernel // 2) * 2**i,
                    dilation=2**i,
                    groups=width,
                ),
                nn.Conv1d(width, width, 1),
                nn.GELU(),
                nn.Dropout(dropout),
            )
            for i in range(layers)
        )
        self.norm = nn.GroupNorm(1, width)

    def forward(self, hidden: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        """``hidden`` ``(N, C, T)``, ``gate`` ``(N, 1, T)`` (1 on real steps): ``(N, C, T)``."""
        hidden = hidden * gate
        for block in self.blocks:
            hidden = (hidden + block(hidden)) * gate
        return self.norm(hidden) * gate


def standardized(keys: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """Keys ``(..., C, T)`` centred over the window's valid steps, channel by channel, and scaled
    to a mean squared norm of 1 per step: their products along a diagonal then average to a
    correlation (as in normalised cross-correlation), which what stays constant over the window
    (a face that is always there, a steady hum) cannot inflate."""
    count = gate.sum(-1, keepdim=True).clamp_min(1.0)
    centred = (keys - (keys * gate).sum(-1, keepdim=True) / count) * gate
    power = centred.pow(2).sum((-2, -1), keepdim=True) / count
    return centred / power.clamp_min(1e-8).sqrt()


def stream_similarity(
    keys_v: torch.Tensor, keys_a: torch.Tensor, mask: torch.Tensor, max_lag: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cosine similarity of every picture stream with the sound along each diagonal.

    ``keys_v`` ``(B, S, C, T)`` and ``keys_a`` ``(B, C, T)``, unit vectors per step (zero on
    padded steps). Entry ``[b, s, max_lag + tau]`` is the mean over valid ``t`` of
    ``<keys_v[b, s, :, t], keys_a[b, :, t + tau]>`` (positive ``tau`` = audio late): one FFT
    cross-correlation per stream, summed over channels, divided by the overlapping valid steps.
    Also returns which lags overlap at all, ``(B, lags)``.
    """
    steps = mask.shape[1]
    size = 2 * steps
    spectrum_v = torch.fft.rfft(keys_v, n=size)
    spectrum_a = torch.fft.rfft(keys_a, n=size)
    full = torch.fft.irfft((spectrum_a[:, None] * spectrum_v.conj()).sum(2), n=size)
    overlap = circular_overlap(mask, size)
    order = torch.cat([torch.arange(size - max_lag, size), torch.arange(0, max_lag + 1)]).to(
        mask.device
    )
    counts = overlap[:, order]
    return full[..., order] / counts.clamp_min(1.0)[:, None], counts > 0


class LagNet(SyncModel):
    """Lag classifier over picture streams (grid cells, whole frame, mouth) with a gate."""

    estimates_offset = True
    #: detect judges a file from its lag posterior (and may say "cannot tell")
    decides_by_lag = True

    def __init__(
        self,
        visual_dim: int,
        audio_dim: int,
        width: int = 16,
        layers: int = 1,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        max_offset_s: float = 2.0,
        no_lag_weight: float = 0.5,
        lr: float = 3e-3,
        weight_decay: float = 1e-2,
        theta: float | None = None,
        step_ms: float = 40.0,
        **_: object,
    ) -> None:
        super().__init__(visual_dim, audio_dim, theta, step_ms)
        self.save_hyperparameters()
        self.grid, self.face_dims = grid_and_face(visual_dim)
        # whole input values dropped at random while training: a few dozen clips are easy to
        # memorise through one telling feature; this makes the model spread its evidence
        self.input_dropout = nn.Dropout(input_dropout)
        self.max_lag = max(1, round(max_offset_s * 1000.0 / step_ms))
        cells = self.grid * self.grid
        self.cell_in = nn.Linear(2 + GLOBAL_DIMS, width)
        self.frame_in = nn.Linear(GLOBAL_DIMS, width)
        self.face_in = nn.Linear(self.face_dims, width) if self.face_dims else None
        self.stream_kind = nn.Parameter(torch.zeros(cells + 1 + bool(self.face_dims), width))
        self.visual_encoder = DilatedConv(width, layers, dropout=dropout)
        self.audio_in = nn.Linear(audio_dim, width)
        self.audio_encoder = DilatedConv(width, layers, dropout=dropout)
        self.visual_key = nn.Linear(width, width, bias=False)
        self.audio_key = nn.Linear(width, width, bias=False)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(10.0)))
        # gate: a stream's content and the shape of its similarity curve -> its weight
        self.gate = nn.Sequential(nn.Linear(width + 3, width), nn.GELU(), nn.Linear(width, 1))
        self.even_gate = nn.Sequential(nn.Linear(2 * width, width), nn.GELU(), nn.Linear(width, 1))

    # ------------------------------------------------------------------ streams
    def streams(self, visual: torch.Tensor) -> torch.Tensor:
        """``(B, S, width, T)``: one projected stream per grid cell, the frame, the mouth."""
        cells = self.grid * self.grid
        glob = visual[..., :GLOBAL_DIMS]
        flow = visual[..., GLOBAL_DIMS : GLOBAL_DIMS + cells]
        accel = visual[..., GLOBAL_DIMS + cells : GLOBAL_DIMS + 2 * cells]
        per_cell = torch.stack(
            [flow, accel, *(g.expand_as(flow) for g in glob.split(1, -1))], -1
        )  # (B, T, cells, 5)
        parts = [self.cell_in(per_cell).permute(0, 2, 3, 1), self.frame_in(glob).mT.unsqueeze(1)]
        if self.face_in is not None:
            parts.append(self.face_in(visual[..., -self.face_dims :]).mT.unsqueeze(1))
        streams = torch.cat(parts, 1)  # (B, S, width, T)
        return streams + self.stream_kind[None, :, :, None]

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        visual, audio = self.normalized(batch)
        visual, audio = self.input_dropout(visual), self.input_dropout(audio)
        mask = batch["mask"]
        size, steps = mask.shape
        streams = self.streams(visual)
        count, width = streams.shape[1], streams.shape[2]
        gate = mask[:, None, :].float()  # (B, 1, T)
        hidden_v = self.visual_encoder(
            streams.reshape(size * count, width, steps), gate.repeat_interleave(count, 0)
        ).view(size, count, width, steps)
        hidden_a = self.audio_encoder(self.audio_in(audio).mT, gate)  # (B, width, T)
        keys_v = standardized(
            torch.einsum("bsct,dc->bsdt", hidden_v, self.visual_key.weight), gate[:, None]
        )
        keys_a = standardized(torch.einsum("bct,dc->bdt", hidden_a, self.audio_key.weight), gate)
        max_lag = min(self.max_lag, steps - 1)
        similarity, valid = stream_similarity(keys_v, keys_a, mask, max_lag)  # (B, S, lags)
        logits = (similarity * self.log_temperature.exp()).masked_fill(~valid[:, None], -1e4)
        per_stream = logits.log_softmax(-1)
        # the gate sees what each stream holds and how sharply its similarity peaks
        counts = gate.sum(-1).clamp_min(1.0)  # (B, 1)
        content = hidden_v.sum(-1) / counts[:, :, None]  # (B, S, width)
        valid_sim = similarity.masked_fill(~valid[:, None], float("nan"))
        mean_sim = valid_sim.nanmean(-1)
        shape = torch.stack(
            [
                torch.nan_to_num(valid_sim, nan=-2.0).amax(-1),
                mean_sim,
                torch.nan_to_num(valid_sim - mean_sim[..., None]).pow(2).mean(-1),
            ],
            -1,
        )
        stream_gate = self.gate(torch.cat([content, shape], -1)).squeeze(-1)  # (B, S)
        audio_summary = hidden_a.sum(-1) / counts
        even_gate = self.even_gate(torch.cat([audio_summary, content.mean(1)], -1))  # (B, 1)
        weights = torch.cat([even_gate, stream_gate], 1).log_softmax(-1)  # even expert first
        lags_valid = valid.float().sum(-1, keepdim=True)
        even = torch.where(valid, -lags_valid.log(), torch.full_like(logits[:, 0], -1e4))
        experts = torch.cat([even[:, None], per_stream], 1)  # (B, 1 + S, lags)
        lag_logits = torch.logsumexp(weights.unsqueeze(-1) + experts, 1)
        probability = lag_logits.exp()
        lag_ms = (torch.arange(-max_lag, max_lag + 1, device=mask.device) * self.step_ms).float()
        band = (lag_ms >= IN_SYNC_BAND_MS[0]) & (lag_ms <= IN_SYNC_BAND_MS[1])
        best = lag_logits.argmax(1)
        return {
            "lag_logits": lag_logits,
            "score": 1.0 - probability[:, band].sum(1).clamp(0.0, 1.0),
            "offset_ms": ((best - max_lag).float() + parabolic_offset(lag_logits, best))
            * self.step_ms,
            "offset_confidence": probability.gather(1, best[:, None]).squeeze(1),
            "evidence": 1.0 - weights[:, 0].exp(),
            "stream_weights": weights[:, 1:].exp(),
        }

    # ------------------------------------------------------------------ training
    def loss(self, batch: dict, out: dict[str, torch.Tensor]) -> torch.Tensor:
        lag_logits = out["lag_logits"]
        max_lag = (lag_logits.shape[1] - 1) // 2
        lag = torch.round(batch["offset_ms"] / self.step_ms).long()
        kind = batch["type_index"]
        lag = torch.where(kind == SYNCED, torch.zeros_like(lag), lag)
        known = ((kind == SYNCED) | (kind == TIME_SHIFT)) & (lag.abs() <= max_lag)
        loss = lag_logits.sum() * 0.0
        if known.any():
            loss = loss + nn.functional.nll_loss(lag_logits[known], lag[known] + max_lag)
        no_lag = torch.zeros_like(known)
        for index in NO_LAG:
            no_lag |= kind == index
        if no_lag.any():
            # nothing in the picture can match a muted or noisy sound: the even expert should win
            even_weight = (1.0 - out["evidence"][no_lag]).clamp_min(1e-6)
            loss = loss - self.hparams.no_lag_weight * even_weight.log().mean()
        return loss

    def configure_optimizers(self, max_epochs: int | None = None):
        return self.adamw(cosine=True, max_epochs=max_epochs)
