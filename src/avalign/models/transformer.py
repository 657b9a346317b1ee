"""A cross-modal transformer over time-aligned visual and audio tokens, with a lag head.

Each step gives one visual token (flow energy, frame difference, motion change, their grids) and
one audio token (log energy, onset strength, MFCC). The model has three parts:

1. **Unimodal encoders** (temporal convolutions) give every token context within its own stream.
   They are translation-equivariant and see no absolute time, so the lag head below cannot cheat
   by matching positions instead of content.
2. **Lag head** (a learned, SyncNet-style cross-correlation): visual and audio embeddings are
   compared at every pair of steps; averaging the similarities along each diagonal gives a score
   per lag ``tau`` (audio step ``t + tau`` against visual step ``t``; positive = audio late). A
   softmax over lags is trained to point at lag 0 for synchronized samples and at the true lag for
   time-shifted ones; its argmax (refined by a parabola) is the offset estimate, its probability
   the confidence.
3. **Cross-modal encoder**: joint attention over [CLS] + both streams; the [CLS] output, together
   with the lag head's evidence (probability of lag 0, of the best lag, their similarities),
   feeds the sync head (binary) and the misalignment-type head (none + 4 types). At fine step
   rates the streams are average-pooled to about ``joint_rate_hz`` tokens per second first: the
   lag head keeps the full time resolution, while attention (quadratic in the number of tokens)
   stays as cheap as at 5 steps/s.

``modalities="audio"`` or ``"video"`` keeps one stream only (no lag head): the ablation that
shows whether one stream alone gives the label away.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from avalign.models.base import SyncModel
from avalign.models.correlation import circular_overlap, parabolic_offset
from avalign.models.inputs import TYPES

MODALITIES = ("both", "audio", "video")
TIME_SHIFT = TYPES.index("time_shift")
SYNCED = TYPES.index("None")


def time_encoding(steps: int, width: int) -> torch.Tensor:
    """Sinusoidal encoding of step indices, ``(steps, width)``."""
    position = torch.arange(steps, dtype=torch.float32).unsqueeze(1)
    rates = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(1000.0) / width))
    table = torch.zeros(steps, width)
    table[:, 0::2] = torch.sin(position * rates)
    table[:, 1::2] = torch.cos(position * rates[: width // 2])
    return table


class TemporalConv(nn.Module):
    """Residual 1-D convolutions over time (same length out), applied to ``(B, T, C)`` tokens."""

    def __init__(self, width: int, layers: int, kernel: int = 5, dropout: float = 0.1) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(width, width, kernel, padding=kernel // 2), nn.GELU(), nn.Dropout(dropout)
            )
            for _ in range(layers)
        )
        self.norm = nn.LayerNorm(width)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        gate = mask.unsqueeze(1).float()
        hidden = tokens.transpose(1, 2) * gate
        for block in self.blocks:
            hidden = (hidden + block(hidden)) * gate
        return self.norm(hidden.transpose(1, 2))


def encoder(width: int, heads: int, layers: int) -> nn.TransformerEncoder:
    # no dropout inside attention: on the CPU it costs more than the attention itself
    layer = nn.TransformerEncoderLayer(
        width, heads, dim_feedforward=2 * width, dropout=0.0, batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def pool_steps(tokens: torch.Tensor, mask: torch.Tensor, size: int):
    """Masked mean over consecutive groups of ``size`` steps: ``(B, ceil(T / size), C)``, mask."""
    if size <= 1:
        return tokens, mask
    batch, steps, width = tokens.shape
    groups = -(-steps // size)
    pad = groups * size - steps
    gate = nn.functional.pad(mask.float(), (0, pad)).view(batch, groups, size)
    padded = nn.functional.pad(tokens, (0, 0, 0, pad)).view(batch, groups, size, width)
    counts = gate.sum(2)
    pooled = (padded * gate.unsqueeze(-1)).sum(2) / counts.clamp_min(1.0).unsqueeze(-1)
    return pooled, counts > 0


def lag_similarity(visual: torch.Tensor, audio: torch.Tensor, mask: torch.Tensor, max_lag: int):
    """Mean cosine similarity along each diagonal: ``(B, 2 * max_lag + 1)`` and its validity.

    Entry ``max_lag + tau`` is the mean over valid ``t`` of ``<visual[t], audio[t + tau]>``,
    computed for all lags at once as an FFT cross-correlation summed over the embedding channels
    and divided by the number of overlapping valid steps.
    """
    steps = mask.shape[1]
    size = 2 * steps
    gate = mask.unsqueeze(-1).float()
    spectrum_v = torch.fft.rfft((visual * gate).transpose(1, 2), n=size)
    spectrum_a = torch.fft.rfft((audio * gate).transpose(1, 2), n=size)
    full = torch.fft.irfft(
        (spectrum_a * spectrum_v.conj()).sum(1), n=size
    )  # lags 0.., then negative
    overlap = circular_overlap(mask, size)
    order = torch.cat([torch.arange(size - max_lag, size), torch.arange(0, max_lag + 1)]).to(
        mask.device
    )
    sums, counts = full[:, order], overlap[:, order]
    return sums / counts.clamp_min(1.0), counts > 0


class CrossModalTransformer(SyncModel):
    """Unimodal encoders, a lag head and a cross-modal encoder with sync and type heads."""

    estimates_offset = True

    def __init__(
        self,
        visual_dim: int,
        audio_dim: int,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 2,
        unimodal_layers: int = 2,
        dropout: float = 0.1,
        modalities: str = "both",
        max_offset_s: float = 2.0,
        type_weight: float = 0.5,
        lag_weight: float = 1.0,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        theta: float | None = 0.5,
        step_ms: float = 200.0,
        max_steps: int = 1024,
        joint_rate_hz: float = 5.0,
        **_: object,
    ) -> None:
        super().__init__(visual_dim, audio_dim, theta, step_ms)
        if modalities not in MODALITIES:
            raise ValueError(f"model.modalities must be one of {MODALITIES}, not {modalities!r}")
        self.save_hyperparameters()
        self.max_lag = max(1, round(max_offset_s * 1000.0 / step_ms))
        # steps averaged into one joint-encoder token (1 at 5 steps/s, 5 at 25 steps/s)
        self.joint_pool = max(1, round(1000.0 / step_ms / joint_rate_hz))
        self.visual_in = nn.Linear(visual_dim, d_model)
        self.audio_in = nn.Linear(audio_dim, d_model)
        self.modality = nn.Parameter(torch.zeros(3, d_model))  # cls, visual, audio
        nn.init.normal_(self.modality, std=0.02)
        self.register_buffer("time_table", time_encoding(max_steps, d_model), persistent=False)
        self.visual_encoder = TemporalConv(d_model, unimodal_layers, dropout=dropout)
        self.audio_encoder = TemporalConv(d_model, unimodal_layers, dropout=dropout)
        self.visual_key = nn.Linear(d_model, d_model)
        self.audio_key = nn.Linear(d_model, d_model)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(10.0)))
        self.joint_encoder = encoder(d_model, heads, layers)
        self.norm = nn.LayerNorm(d_model)
        evidence = 4 if modalities == "both" else 0
        self.sync_head = nn.Sequential(
            nn.Linear(d_model + evidence, d_model), nn.GELU(), nn.Linear(d_model, 2)
        )
        self.type_head = nn.Linear(d_model + evidence, len(TYPES))

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        visual, audio = self.normalized(batch)
        mask = batch["mask"]
        size, steps = mask.shape
        use_video = self.hparams.modalities in ("both", "video")
        use_audio = self.hparams.modalities in ("both", "audio")
        tokens = [self.modality[0].expand(size, 1, -1)]
        valid = [torch.ones(size, 1, dtype=torch.bool, device=mask.device)]
        out: dict[str, torch.Tensor] = {}
        if use_video:
            hv = self.visual_encoder(self.visual_in(visual), mask)
            self._add_joint_tokens(tokens, valid, hv, mask, 1)
        if use_audio:
            ha = self.audio_encoder(self.audio_in(audio), mask)
            self._add_joint_tokens(tokens, valid, ha, mask, 2)
        joint = self.joint_encoder(torch.cat(tokens, 1), src_key_padding_mask=~torch.cat(valid, 1))
        summary = self.norm(joint[:, 0])
        if use_video and use_audio:
            max_lag = min(self.max_lag, steps - 1)
            keys_v = nn.functional.normalize(self.visual_key(hv), dim=-1)
            keys_a = nn.functional.normalize(self.audio_key(ha), dim=-1)
            similarity, lag_valid = lag_similarity(keys_v, keys_a, mask, max_lag)
            lag_logits = (similarity * self.log_temperature.exp()).masked_fill(~lag_valid, -1e4)
            probability = lag_logits.softmax(1)
            best = probability.argmax(1)
            evidence = torch.stack(
                [
                    probability[:, max_lag],
                    probability.gather(1, best[:, None]).squeeze(1),
                    similarity[:, max_lag],
                    similarity.gather(1, best[:, None]).squeeze(1),
                ],
                1,
            )
            summary = torch.cat([summary, evidence], 1)
            out.update(
                lag_logits=lag_logits,
                offset_ms=((best - max_lag).float() + parabolic_offset(lag_logits, best))
                * self.step_ms,
                offset_confidence=probability.gather(1, best[:, None]).squeeze(1),
            )
        sync_logits = self.sync_head(summary)
        out.update(
            score=sync_logits.softmax(-1)[:, 1],
            sync_logits=sync_logits,
            type_logits=self.type_head(summary),
        )
        return out

    def _add_joint_tokens(
        self, tokens: list, valid: list, hidden: torch.Tensor, mask: torch.Tensor, modality: int
    ) -> None:
        """Append one stream's (pooled) tokens, with time and modality encodings, and its mask."""
        pooled, pooled_mask = pool_steps(hidden, mask, self.joint_pool)
        times = self.time_table[: pooled.shape[1]].unsqueeze(0)
        tokens.append(pooled + times + self.modality[modality])
        valid.append(pooled_mask)

    def loss(self, batch: dict, out: dict[str, torch.Tensor]) -> torch.Tensor:
        loss = nn.functional.cross_entropy(out["sync_logits"], batch["target"])
        loss = loss + self.hparams.type_weight * nn.functional.cross_entropy(
            out["type_logits"], batch["type_index"]
        )
        if "lag_logits" in out:
            max_lag = (out["lag_logits"].shape[1] - 1) // 2
            lag = torch.round(batch["offset_ms"] / self.step_ms).long()
            known = (batch["type_index"] == SYNCED) | (
                (batch["type_index"] == TIME_SHIFT) & (lag.abs() <= max_lag) & (lag != 0)
            )
            if known.any():
                target = (
                    torch.where(batch["type_index"] == SYNCED, torch.zeros_like(lag), lag) + max_lag
                )
                loss = loss + self.hparams.lag_weight * nn.functional.cross_entropy(
                    out["lag_logits"][known], target[known]
                )
        return loss

    def configure_optimizers(self, max_epochs: int | None = None):
        return self.adamw(cosine=True, max_epochs=max_epochs)
