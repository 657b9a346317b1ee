"""Feature settings; their fingerprint names the cache folder, so caches never mix settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from avalign.storage.fingerprint import fingerprint

#: Bump when the meaning of a stored feature changes, so old caches are not reused.
FEATURE_VERSION = 6  # 6: gray thumbnails by FFmpeg's area scaler; 5: big frames halved first
FLOW_METHODS = ("dis", "farneback")


@dataclass(frozen=True)
class FlowConfig:
    """Optical flow between consecutive feature frames."""

    method: str = "dis"  # "dis" (fast, default) or "farneback" (the seed's method, ~25x slower)
    dis_preset: str = "ultrafast"  # DIS quality: ultrafast | fast | medium
    compensate_camera: bool = True  # subtract the median flow (global camera motion) first
    grid: int = 4  # the flow-energy grid is grid x grid cells

    def __post_init__(self) -> None:
        if self.method not in FLOW_METHODS:
            raise ValueError(f"flow.method must be one of {FLOW_METHODS}, not {self.method!r}")
        if self.dis_preset not in ("ultrafast", "fast", "medium"):
            raise ValueError(
                f"flow.dis_preset must be ultrafast, fast or medium, not {self.dis_preset!r}"
            )


@dataclass(frozen=True)
class MfccConfig:
    """MFCC settings (torchaudio); window and hop are in samples at the feature sample rate."""

    n_mfcc: int = 13
    n_mels: int = 40
    n_fft: int = 400  # 25 ms at 16 kHz
    hop_length: int = 160  # 10 ms at 16 kHz


@dataclass(frozen=True)
class FaceFeatureConfig:
    """Face and mouth evidence per step (`avalign.features.face`), computed on whole clips."""

    enabled: bool = False
    frame_side: int = 256  # short side of the colour picture given to the face models, pixels
    version: int = 2  # 2: colour pictures shrunk by halvings then bilinear (was: area filter)
    detect_every_s: float = 0.5  # face detector period, s
    landmarks_every: int = 2  # face mesh every N steps

    def tracker_config(self):
        """The face tracker's schedule (`avalign.features.face.FaceConfig`)."""
        from avalign.features.face import FaceConfig

        return FaceConfig(detect_every_s=self.detect_every_s, landmarks_every=self.landmarks_every)

    def __post_init__(self) -> None:
        if self.frame_side < 64:
            raise ValueError(f"face.frame_side must be >= 64 pixels, got {self.frame_side}")


@dataclass(frozen=True)
class FeatureConfig:
    """Everything that determines a sample's features."""

    fps: float = 5.0  # feature steps per second (visual frame rate), Hz
    frame_size: tuple[int, int] = (112, 112)  # (width, height) of stored gray frames, pixels
    sample_rate: int = 16000  # audio is resampled to this rate, Hz
    flow: FlowConfig = field(default_factory=FlowConfig)
    mfcc: MfccConfig = field(default_factory=MfccConfig)
    save_frames: bool = True  # store the gray frames in each NPZ (needed by frame-based models)
    version: int = FEATURE_VERSION
    # Evidence added after version 5; left out of the fingerprint while off (see `fingerprint`).
    audio_bands: bool = False  # log-mel bands per step and a voice-band (300-3000 Hz) envelope
    face: FaceFeatureConfig = field(default_factory=FaceFeatureConfig)

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.sample_rate % 1 or (self.sample_rate / self.fps) % 1:
            raise ValueError(
                f"sample_rate / fps must be a whole number of samples per step "
                f"({self.sample_rate} / {self.fps})"
            )

    @property
    def samples_per_step(self) -> int:
        return round(self.sample_rate / self.fps)

    def fingerprint(self) -> str:
        """Hash of the settings. Evidence that was added later and is switched off is left out,
        so the caches of features that it does not change stay valid."""
        values = asdict(self)
        if values["audio_bands"] is False:
            values.pop("audio_bands")
        if not values["face"]["enabled"]:
            values.pop("face")
        return fingerprint(values)

    @classmethod
    def from_dict(cls, values: dict) -> FeatureConfig:
        """Build from a plain mapping (e.g. a Hydra config node)."""
        values = dict(values)
        flow = FlowConfig(**dict(values.pop("flow", {})))
        mfcc = MfccConfig(**dict(values.pop("mfcc", {})))
        face = FaceFeatureConfig(**dict(values.pop("face", {}) or {}))
        if "frame_size" in values:
            values["frame_size"] = tuple(int(v) for v in values["frame_size"])
        return cls(flow=flow, mfcc=mfcc, face=face, **values)
