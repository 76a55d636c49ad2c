"""PaSST base, 10 s at 32 kHz: one 1295-d row per clip = 527 AudioSet logits
followed by the 768-d embedding (hear21passt's basic model in ``"all"`` mode).

Our own torch implementation of hear21passt 0.0.26's inference path (its package imports
torchaudio, which cannot live beside the CPU torch here; see DEPENDENCIES.md):

Front end (``AugmentMelSTFT`` in eval mode):

- input resampled to 32 kHz, quantised to int16 ÷ 32768, **zero-padded / cut to exactly
  10 s** (320 000 samples; a longer clip keeps its first 10 s, never a random crop);
- pre-emphasis ``y[t] = x[t+1] − 0.97·x[t]`` (one sample shorter);
- ``torch.stft``: n_fft 1024, hop 320, win 800 (symmetric Hann, ``periodic=False``),
  ``center=True`` with reflect padding; power ``re² + im²`` → 1000 frames;
- 128 Kaldi-style mel filters (``1127·ln(1 + f/700)``, triangles in the mel domain over
  the 512 non-Nyquist bins, 0–15 000 Hz; a zero column for the Nyquist bin), exactly
  ``torchaudio.compliance.kaldi.get_mel_banks(128, 1024, 32000, 0, 15000, 100, -500, 1)``;
- ``(log(mel + 1e-5) + 4.5) / 5``.

Network (``PaSST``, DeiT-style ViT-base with two tokens): Conv2d 16×16 patches with
stride 10 (12 × 99 grid for 128 × 1000), + time (1, 768, 1, 99) and frequency
(1, 768, 12, 1) positional embeddings (time cut to the input), flatten, prepend cls and
dist tokens (+ ``new_pos_embed``), 12 pre-norm blocks (12 heads, MLP 3072, GELU,
LayerNorm eps 1e-6), final LayerNorm; ``features = (x[:, 0] + x[:, 1]) / 2``;
``logits = head(features)`` with ``head = LayerNorm(768) → Linear(768, 527)``
(``head_dist`` exists in the checkpoint and is loaded but not used at inference).
Output row = ``concat(logits, features)`` (hear21passt ``PasstBasicWrapper`` "all").

State-dict keys (``passt-s-f128-p16-s10-ap.476-swa.pt``; read from the hear21passt
source, not verified against the weight file, which cannot be downloaded here)::

    cls_token (1,1,768)  dist_token (1,1,768)  new_pos_embed (1,2,768)
    freq_new_pos_embed (1,768,12,1)  time_new_pos_embed (1,768,1,99)
    patch_embed.proj.{weight (768,1,16,16), bias}
    blocks.{0..11}.norm1.{weight,bias}  blocks.N.attn.qkv.{weight (2304,768), bias}
    blocks.N.attn.proj.{weight,bias}    blocks.N.norm2.{weight,bias}
    blocks.N.mlp.fc1.{weight (3072,768), bias}  blocks.N.mlp.fc2.{weight,bias}
    norm.{weight,bias}  head.0.{weight,bias} (LayerNorm)  head.1.{weight (527,768), bias}
    head_dist.{weight (527,768), bias}

Width, depth, MLP size, class count and positional grids are read from the shapes
(``num_heads`` = width / 64 unless given), so reduced checkpoints with the same keys
build reduced networks (the fast tests use them).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from fmbench.components import ModelFile
from fmbench.modelstore import ModelFileError

from .common import CheckpointEmbedder, shape_of

SAMPLE_RATE = 32_000
CLIP_SAMPLES = 10 * SAMPLE_RATE
N_FFT = 1024
WIN = 800
HOP = 320
N_MELS = 128
FMIN, FMAX = 0.0, 15_000.0
PATCH_STRIDE = 10
N_CLASSES = 527
EMBED_DIM = 768

PASST_FILE = ModelFile(
    "passt-s-f128-p16-s10-ap.476-swa.pt",
    url="https://github.com/kkoutini/PaSST/releases/download/v0.0.1-audioset/"
    "passt-s-f128-p16-s10-ap.476-swa.pt",
    description="PaSST-S (patch stride 10, 128 mel, AudioSet mAP .476, SWA) weights as used "
    "by hear21passt's base model",
    format="torch",
)


def _kaldi_mel(f: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


@functools.cache
def mel_banks() -> np.ndarray:
    """Kaldi mel filters, shape ``(128, 513)`` float32 (last column, Nyquist, zero)."""
    n_bins = N_FFT // 2
    mel_lo, mel_hi = _kaldi_mel(FMIN), _kaldi_mel(FMAX)
    delta = (mel_hi - mel_lo) / (N_MELS + 1)
    i = np.arange(N_MELS)[:, None]
    left, center, right = mel_lo + i * delta, mel_lo + (i + 1) * delta, mel_lo + (i + 2) * delta
    mel = _kaldi_mel(SAMPLE_RATE / N_FFT * np.arange(n_bins))[None, :]
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = np.maximum(0.0, np.minimum(up, down)).astype(np.float32)
    banks = np.pad(banks, ((0, 0), (0, 1)))
    banks.setflags(write=False)
    return banks


def fix_length(y: np.ndarray) -> np.ndarray:
    """Exactly 10 s at 32 kHz: zero-padded at the end or cut (first 10 s kept)."""
    x = np.asarray(y)[:CLIP_SAMPLES]
    if len(x) < CLIP_SAMPLES:
        x = np.pad(x, (0, CLIP_SAMPLES - len(x)))
    return x


def mel_spectrogram(x: Any) -> Any:
    """``(batch, samples)`` float32 tensor → ``(batch, 1, 128, frames)`` PaSST input."""
    import torch

    x = x[:, 1:] - 0.97 * x[:, :-1]
    window = torch.hann_window(WIN, periodic=False, dtype=x.dtype, device=x.device)
    spec = torch.stft(
        x,
        N_FFT,
        hop_length=HOP,
        win_length=WIN,
        window=window,
        center=True,
        pad_mode="reflect",
        normalized=False,
        return_complex=True,
    )
    power = spec.real**2 + spec.imag**2
    banks = torch.from_numpy(np.array(mel_banks())).to(device=x.device, dtype=power.dtype)
    mel = torch.matmul(banks, power)
    return ((torch.log(mel + 1e-5) + 4.5) / 5.0).unsqueeze(1)


def make_passt(
    embed_dim: int = EMBED_DIM,
    depth: int = 12,
    num_heads: int = 12,
    mlp_hidden: int = 4 * EMBED_DIM,
    num_classes: int = N_CLASSES,
    patch: tuple[int, int] = (16, 16),
    grid: tuple[int, int] = (12, 99),
) -> Any:
    """Build the PaSST network (imports torch); defaults are PaSST-S p16 s10 sizes."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
            self.proj = nn.Linear(embed_dim, embed_dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, n, c = x.shape
            qkv = self.qkv(x).reshape(b, n, 3, num_heads, c // num_heads).permute(2, 0, 3, 1, 4)
            attn = (qkv[0] @ qkv[1].transpose(-2, -1)) * (c // num_heads) ** -0.5
            out = attn.softmax(dim=-1) @ qkv[2]
            return self.proj(out.transpose(1, 2).reshape(b, n, c))

    class Mlp(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(embed_dim, mlp_hidden)
            self.fc2 = nn.Linear(mlp_hidden, embed_dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc2(F.gelu(self.fc1(x)))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(embed_dim, eps=1e-6)
            self.attn = Attention()
            self.norm2 = nn.LayerNorm(embed_dim, eps=1e-6)
            self.mlp = Mlp()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class PatchEmbed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Conv2d(1, embed_dim, kernel_size=patch, stride=PATCH_STRIDE)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(x)

    class PaSST(nn.Module):
        """PaSST inference network (module docstring); returns ``(logits, features)``."""

        def __init__(self) -> None:
            super().__init__()
            self.patch_embed = PatchEmbed()
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            self.dist_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            self.new_pos_embed = nn.Parameter(torch.zeros(1, 2, embed_dim))
            self.freq_new_pos_embed = nn.Parameter(torch.zeros(1, embed_dim, grid[0], 1))
            self.time_new_pos_embed = nn.Parameter(torch.zeros(1, embed_dim, 1, grid[1]))
            self.blocks = nn.Sequential(*[Block() for _ in range(depth)])
            self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
            self.head = nn.Sequential(nn.LayerNorm(embed_dim), nn.Linear(embed_dim, num_classes))
            self.head_dist = nn.Linear(embed_dim, num_classes)
            self.out_dim = num_classes + embed_dim

        def forward(self, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """``(batch, 1, 128, frames)`` → ``(logits, features)``."""
            x = self.patch_embed(spec)
            b, _, f, t = x.shape
            if f != self.freq_new_pos_embed.shape[2] or t > self.time_new_pos_embed.shape[3]:
                raise ValueError(
                    f"patch grid {f}×{t} does not fit the positional embeddings "
                    f"{self.freq_new_pos_embed.shape[2]}×{self.time_new_pos_embed.shape[3]}"
                )
            x = x + self.time_new_pos_embed[:, :, :, :t] + self.freq_new_pos_embed
            x = x.flatten(2).transpose(1, 2)
            cls = self.cls_token.expand(b, -1, -1) + self.new_pos_embed[:, :1, :]
            dist = self.dist_token.expand(b, -1, -1) + self.new_pos_embed[:, 1:, :]
            x = self.norm(self.blocks(torch.cat((cls, dist, x), dim=1)))
            features = (x[:, 0] + x[:, 1]) / 2
            return self.head(features), features

    return PaSST()


class PasstEmbedder(CheckpointEmbedder):
    """``passt``: one ``[527 logits, 768-d embedding]`` row per clip, 10 s at 32 kHz
    (options ``model``, ``device``, ``num_heads``)."""

    name = "passt"
    what = "PaSST"
    sample_rate = SAMPLE_RATE
    default_dim = N_CLASSES + EMBED_DIM
    default_file = PASST_FILE
    settings = {"sr": SAMPLE_RATE, "clip": CLIP_SAMPLES, "mode": "all", "fmax": int(FMAX)}

    def __init__(self, model: Any = None, device: str | None = "auto", num_heads: Any = None):
        super().__init__(model, device, batch_size=1)
        self.num_heads = None if num_heads is None else int(num_heads)

    def build_network(self, state: Mapping[str, Any]) -> Any:
        """A PaSST whose sizes are read from ``state``'s shapes."""
        p, what = self.checkpoint, self.what
        embed_dim = shape_of(state, "cls_token", p, what)[-1]
        depth = 0
        while f"blocks.{depth}.norm1.weight" in state:
            depth += 1
        if depth == 0:
            shape_of(state, "blocks.0.norm1.weight", p, what)  # raises, naming the key
        heads = self.num_heads or max(1, embed_dim // 64)
        if embed_dim % heads:
            raise ModelFileError(
                f"checkpoint {p}: width {embed_dim} is not divisible by {heads} heads"
            )
        ph, pw = shape_of(state, "patch_embed.proj.weight", p, what)[2:4]
        grid = (
            shape_of(state, "freq_new_pos_embed", p, what)[2],
            shape_of(state, "time_new_pos_embed", p, what)[3],
        )
        frames = 1 + (CLIP_SAMPLES - 1) // HOP  # after pre-emphasis, centred STFT
        need = ((N_MELS - ph) // PATCH_STRIDE + 1, (frames - pw) // PATCH_STRIDE + 1)
        if grid[0] != need[0] or grid[1] < need[1]:
            raise ModelFileError(
                f"checkpoint {p} is not a PaSST f128 s10 checkpoint (wrong architecture): "
                f"positional grid {grid[0]}×{grid[1]}, a 10 s input needs {need[0]}×≥{need[1]}"
            )
        return make_passt(
            embed_dim=embed_dim,
            depth=depth,
            num_heads=heads,
            mlp_hidden=shape_of(state, "blocks.0.mlp.fc1.weight", p, what)[0],
            num_classes=shape_of(state, "head.1.weight", p, what)[0],
            patch=(ph, pw),
            grid=grid,
        )

    def forward(self, net: Any, y: np.ndarray) -> np.ndarray:
        """One row: ``concat(logits, features)`` of the padded / cut 10 s clip."""
        import torch

        x = torch.from_numpy(fix_length(y).astype(np.float32))[None].to(self.device)
        logits, features = net(mel_spectrogram(x))
        return torch.cat([logits, features], dim=1).float().cpu().numpy()
