"""Weight-free audio embedders: segment statistics of MFCCs and of log-mel energies.

Both share one front end, in numpy only (no librosa needed):

- input resampled to 16 kHz with :meth:`fmbench.audio.Audio.resample` (soxr ``VHQ``);
- frames of 400 samples (25 ms) every 160 (10 ms), no centering, periodic Hann window,
  512-point real FFT, power spectrum;
- mel filterbank: triangular filters on the HTK mel scale
  (``mel = 2595·log10(1 + f/700)``), unit peak, no area normalisation;
- frames are grouped into non-overlapping **segments of 96 frames (0.96 s)**, like
  VGGish's examples; a partial last segment is dropped, except that a clip shorter than
  one segment gives one segment of what it has (a clip shorter than one frame is
  zero-padded to one frame). A 9.6 s clip gives 9 rows.

``mfcc`` (80-d per segment): 40 mel bands over 20–8000 Hz, ``log(mel + 1e-6)``, DCT-II
(orthonormal) → 20 coefficients (c0 included); Δ = first difference along time (the
first frame's Δ is 0); row = ``[mean(mfcc), std(mfcc), mean(Δ), std(Δ)]`` over the
segment's frames (population std).

``logmel`` (128-d per segment): 64 mel bands over 125–7500 Hz (VGGish's band layout),
``log(mel + 0.01)``; row = ``[mean, std]`` per band over the segment's frames.

Frame-level vectors are summarised per segment so that a clip yields a handful of rows,
as VGGish does: that keeps KAD's pairwise kernel (quadratic in rows) tractable and FAD's
covariance well-conditioned. Everything is float64 internally and deterministic.
"""

from __future__ import annotations

import functools

import numpy as np

from fmbench.audio import Audio
from fmbench.dsp import stft_magnitude

SAMPLE_RATE = 16_000
WIN_LENGTH = 400
HOP_LENGTH = 160
N_FFT = 512
SEGMENT_FRAMES = 96
VERSION = "0.1.0"


def _hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@functools.cache
def mel_filterbank(
    n_mels: int, fmin: float, fmax: float, sr: int = SAMPLE_RATE, n_fft: int = N_FFT
) -> np.ndarray:
    """Triangular HTK-mel filters, shape ``(n_fft // 2 + 1, n_mels)``, unit peak."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (freqs[:, None] - lower) / (center - lower)
    falling = (upper - freqs[:, None]) / (upper - center)
    fb = np.maximum(0.0, np.minimum(rising, falling))
    fb.setflags(write=False)
    return fb


@functools.cache
def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II as a ``(n_in, n_out)`` matrix (first ``n_out`` coefficients)."""
    n = np.arange(n_in)[:, None]
    k = np.arange(n_out)[None, :]
    m = np.cos(np.pi * (2 * n + 1) * k / (2 * n_in)) * np.sqrt(2.0 / n_in)
    m[:, 0] /= np.sqrt(2.0)
    m.setflags(write=False)
    return m


def power_spectrogram(y: np.ndarray) -> np.ndarray:
    """``|FFT|²`` of 25 ms Hann frames every 10 ms at 16 kHz: ``(frames, 257)``."""
    x = np.asarray(y, dtype=np.float64)
    if len(x) < WIN_LENGTH:
        x = np.pad(x, (0, WIN_LENGTH - len(x)))
    return stft_magnitude(x, WIN_LENGTH, HOP_LENGTH, N_FFT) ** 2


def segment_stats(frames: np.ndarray) -> np.ndarray:
    """Mean and std over non-overlapping 96-frame segments: ``(segments, 2·dim)``."""
    n = len(frames)
    n_seg = max(1, n // SEGMENT_FRAMES)
    size = SEGMENT_FRAMES if n >= SEGMENT_FRAMES else n
    seg = frames[: n_seg * size].reshape(n_seg, size, frames.shape[1])
    return np.concatenate([seg.mean(axis=1), seg.std(axis=1)], axis=1)


class _SegmentEmbedder:
    """Common front end; subclasses turn a power spectrogram into frame features."""

    name = "segment"
    dim = 0
    sample_rate = SAMPLE_RATE
    hop_seconds = SEGMENT_FRAMES * HOP_LENGTH / SAMPLE_RATE  # 0.96 s per output row

    @property
    def identity(self) -> str:
        return f"{self.name}@{VERSION}(sr={SAMPLE_RATE},win={WIN_LENGTH},hop={HOP_LENGTH},seg={SEGMENT_FRAMES})"

    def frames(self, n_samples: int, sample_rate: int = SAMPLE_RATE) -> int:
        """How many rows a clip of ``n_samples`` at ``sample_rate`` yields."""
        n16 = int(np.ceil(n_samples * SAMPLE_RATE / sample_rate))
        n_frames = 1 + max(0, n16 - WIN_LENGTH) // HOP_LENGTH
        return max(1, n_frames // SEGMENT_FRAMES)

    def frame_features(self, power: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, audio: Audio) -> np.ndarray:
        """``(segments, dim)`` float32 for one clip (any rate; resampled to 16 kHz)."""
        if len(audio) == 0:
            raise ValueError("cannot embed empty audio")
        y = audio.resample(SAMPLE_RATE).samples
        return self.frame_features(power_spectrogram(y)).astype(np.float32)


class MfccEmbedder(_SegmentEmbedder):
    """Segment statistics of 20 MFCCs and their deltas (80-d rows, 0.96 s each)."""

    name = "mfcc"
    n_mels = 40
    n_mfcc = 20
    dim = 4 * 20

    def mfcc(self, power: np.ndarray) -> np.ndarray:
        """Frame MFCCs ``(frames, 20)`` from a power spectrogram."""
        mel = power @ mel_filterbank(self.n_mels, 20.0, 8000.0)
        return np.log(mel + 1e-6) @ dct_matrix(self.n_mels, self.n_mfcc)

    def frame_features(self, power: np.ndarray) -> np.ndarray:
        """Per segment: mean and std of the MFCCs and of their first differences."""
        c = self.mfcc(power)
        delta = np.diff(c, axis=0, prepend=c[:1])
        st_c, st_d = segment_stats(c), segment_stats(delta)
        k = self.n_mfcc
        return np.concatenate([st_c[:, :k], st_c[:, k:], st_d[:, :k], st_d[:, k:]], axis=1)


class LogMelEmbedder(_SegmentEmbedder):
    """Segment mean and std of 64 log-mel bands, 125–7500 Hz (128-d rows, 0.96 s each)."""

    name = "logmel"
    n_mels = 64
    dim = 2 * 64

    def frame_features(self, power: np.ndarray) -> np.ndarray:
        """Per segment: mean and std of each log-mel band."""
        return segment_stats(np.log(power @ mel_filterbank(self.n_mels, 125.0, 7500.0) + 0.01))
