"""VGGish: 16 kHz, non-overlapping 0.96 s examples, raw 128-d output.

Front end (the VGGish recipe, numpy, float64):

- input resampled to 16 kHz (:meth:`fmbench.audio.Audio.resample`), quantised to int16
  and divided by 32768;
- frames of 400 samples (25 ms) every 160 (10 ms), no padding; periodic Hann window;
  magnitude ``|rfft|`` with 512 points (257 bins);
- 64 triangular mel filters, 125–7500 Hz, built on the HTK mel scale
  ``1127·ln(1 + f/700)`` *in the mel domain* (bin centres at ``linspace(0, 8000, 257)``
  Hz converted to mel), DC bin zeroed; ``log(mel + 0.01)``;
- examples of 96 frames, hop 96 (non-overlapping); the partial tail is dropped: a 9.6 s
  clip gives 9 examples. A clip shorter than one example (0.975 s) is zero-padded to
  exactly one example (upstream would return none; fmbench defines one row).

Network (:class:`VGGish`): 4 blocks of 3×3 convolutions (64 | 128 | 256, 256 | 512, 512
channels, padding 1, ReLU) each followed by 2×2 max-pooling, a flatten in
(height, width, channel) order (TensorFlow's), and Linear 12288→4096, ReLU,
4096→4096, ReLU, 4096→128. **No final ReLU, no PCA / quantisation**: the raw 128-d
output, as the original kadtk loader used it.

State-dict keys (torchvggish's ``vggish-10086976.pth``, a plain ``OrderedDict``)::

    features.0.{weight,bias}    Conv2d(1, 64, 3)       features.8.{weight,bias}   Conv2d(256, 256, 3)
    features.3.{weight,bias}    Conv2d(64, 128, 3)     features.11.{weight,bias}  Conv2d(256, 512, 3)
    features.6.{weight,bias}    Conv2d(128, 256, 3)    features.13.{weight,bias}  Conv2d(512, 512, 3)
    embeddings.0.{weight,bias}  Linear(12288, 4096)    embeddings.2.{weight,bias} Linear(4096, 4096)
    embeddings.4.{weight,bias}  Linear(4096, 128)

(indices of ``nn.Sequential`` with ReLU / MaxPool2d in between; verified against the
torchvggish 0.2 source, not against the weight file itself, which cannot be downloaded
here). Channel and layer widths are read from the checkpoint's shapes, so a reduced
checkpoint with the same keys (used by the fast tests) builds a reduced network; the
output must stay 128-d.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from fmbench.components import ModelFile
from fmbench.dsp import stft_magnitude

from .common import CheckpointEmbedder, shape_of

SAMPLE_RATE = 16_000
WINDOW = 400
HOP = 160
N_FFT = 512
N_MELS = 64
FMIN, FMAX = 125.0, 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96
EMBED_DIM = 128
#: samples needed for one 96-frame example
EXAMPLE_SAMPLES = WINDOW + (EXAMPLE_FRAMES - 1) * HOP

CONV_INDICES = (0, 3, 6, 8, 11, 13)
POOL_AFTER = (0, 3, 8, 13)  # conv indices followed by MaxPool2d
FC_INDICES = (0, 2, 4)

VGGISH_FILE = ModelFile(
    "vggish-10086976.pth",
    url="https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
    description="VGGish weights (torchvggish port of the TensorFlow AudioSet model), "
    "a plain state dict with keys features.* and embeddings.*",
    format="torch",
)


def _hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


@functools.cache
def mel_matrix() -> np.ndarray:
    """The VGGish mel weights, shape ``(257, 64)`` (see the module docstring)."""
    bins_mel = _hz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1))
    edges = np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), N_MELS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (center - lower)
    falling = (upper - bins_mel[:, None]) / (upper - center)
    m = np.maximum(0.0, np.minimum(rising, falling))
    m[0, :] = 0.0
    m.setflags(write=False)
    return m


def log_mel(y: np.ndarray) -> np.ndarray:
    """``(frames, 64)`` log-mel magnitudes of 16 kHz samples (at least 400 of them)."""
    x = np.asarray(y, dtype=np.float64)
    return np.log(stft_magnitude(x, WINDOW, HOP, N_FFT) @ mel_matrix() + LOG_OFFSET)


def examples(y: np.ndarray) -> np.ndarray:
    """``(n, 96, 64)`` non-overlapping examples; the partial tail is dropped and a clip
    shorter than one example is zero-padded to one."""
    x = np.asarray(y, dtype=np.float64)
    if len(x) < EXAMPLE_SAMPLES:
        x = np.pad(x, (0, EXAMPLE_SAMPLES - len(x)))
    mel = log_mel(x)
    n = len(mel) // EXAMPLE_FRAMES
    return mel[: n * EXAMPLE_FRAMES].reshape(n, EXAMPLE_FRAMES, N_MELS)


def n_examples(n_samples: int) -> int:
    """How many rows a 16 kHz clip of ``n_samples`` gives."""
    if n_samples < EXAMPLE_SAMPLES:
        return 1
    return (1 + (n_samples - WINDOW) // HOP) // EXAMPLE_FRAMES


def make_vggish(
    channels: tuple[int, ...] = (64, 128, 256, 256, 512, 512),
    hidden: tuple[int, int] = (4096, 4096),
    out_dim: int = EMBED_DIM,
) -> Any:
    """Build :class:`VGGish` (imports torch); defaults are the official sizes."""
    import torch
    from torch import nn

    class VGGish(nn.Module):
        """The VGGish network without its final ReLU (module docstring)."""

        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            c_in = 1
            for idx, c_out in zip(CONV_INDICES, channels, strict=True):
                assert len(layers) == idx  # torchvggish's nn.Sequential indices
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]
                if idx in POOL_AFTER:
                    layers.append(nn.MaxPool2d(2, 2))
                c_in = c_out
            self.features = nn.Sequential(*layers)
            flat = c_in * (EXAMPLE_FRAMES // 16) * (N_MELS // 16)
            self.embeddings = nn.Sequential(
                nn.Linear(flat, hidden[0]),
                nn.ReLU(),
                nn.Linear(hidden[0], hidden[1]),
                nn.ReLU(),
                nn.Linear(hidden[1], out_dim),
            )
            self.out_dim = out_dim

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """``(batch, 1, 96, 64)`` log-mel examples → ``(batch, 128)``."""
            x = self.features(x)
            x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # NHWC flatten, as TF
            return self.embeddings(x)

    return VGGish()


class VggishEmbedder(CheckpointEmbedder):
    """``vggish``: 128-d raw VGGish rows, one per 0.96 s (options ``model``, ``device``,
    ``batch_size`` = examples per forward pass)."""

    name = "vggish"
    what = "VGGish"
    sample_rate = SAMPLE_RATE
    default_dim = EMBED_DIM
    default_file = VGGISH_FILE
    settings = {"sr": SAMPLE_RATE, "win": WINDOW, "hop": HOP, "mels": N_MELS, "ex": 96}

    def build_network(self, state: Mapping[str, Any]) -> Any:
        """A VGGish whose widths are read from ``state``'s shapes."""
        p = self.checkpoint
        channels = tuple(
            shape_of(state, f"features.{i}.weight", p, self.what)[0] for i in CONV_INDICES
        )
        h0 = shape_of(state, "embeddings.0.weight", p, self.what)[0]
        h1 = shape_of(state, "embeddings.2.weight", p, self.what)[0]
        out = shape_of(state, "embeddings.4.weight", p, self.what)[0]
        if out != EMBED_DIM:
            from fmbench.modelstore import ModelFileError

            raise ModelFileError(
                f"checkpoint {p} is not a VGGish checkpoint (wrong architecture): "
                f"embeddings.4.weight has {out} outputs, VGGish has {EMBED_DIM}"
            )
        return make_vggish(channels, (h0, h1), out)

    def forward(self, net: Any, y: np.ndarray) -> np.ndarray:
        """All examples of a clip, ``batch_size`` per forward pass."""
        import torch

        ex = torch.from_numpy(examples(y).astype(np.float32)).unsqueeze(1)
        rows = [
            net(ex[i : i + self.batch_size].to(self.device)).float().cpu()
            for i in range(0, len(ex), self.batch_size)
        ]
        return torch.cat(rows).numpy()
