"""Small signal-processing building blocks shared by the metric and embedder plugins.

Only what several components compute identically lives here (framing, the periodic Hann
window, a power spectrogram); feature definitions that differ on purpose (the VGGish mel
matrix, the MFCC front end, the timbral models) stay with their component.
"""

from __future__ import annotations

import functools

import numpy as np


def frame(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Non-copying ``(n_frames, length)`` view of 1-D ``x``: frames start every ``hop``
    samples, no padding (pad first if the caller wants centred frames)."""
    return np.lib.stride_tricks.sliding_window_view(np.asarray(x), length)[::hop]


@functools.cache
def periodic_hann(length: int) -> np.ndarray:
    """The periodic Hann window ``0.5 − 0.5·cos(2πn/N)`` (as ``scipy.signal.get_window``)."""
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)
    w.setflags(write=False)
    return w


def stft_magnitude(x: np.ndarray, length: int, hop: int, n_fft: int) -> np.ndarray:
    """``|rfft|`` of periodic-Hann frames: ``(n_frames, n_fft // 2 + 1)``, float64."""
    frames = frame(np.asarray(x, dtype=np.float64), length, hop)
    return np.abs(np.fft.rfft(frames * periodic_hann(length), n=n_fft, axis=1))
