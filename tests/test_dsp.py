"""Shared DSP helpers and the audio validity check."""

from __future__ import annotations

import numpy as np
import scipy.signal

from fmbench.audio import Audio, audio_problem
from fmbench.dsp import frame, periodic_hann, stft_magnitude


def test_frame_is_a_strided_view():
    x = np.arange(10.0)
    f = frame(x, 4, 3)
    assert f.tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    assert not f.flags.writeable


def test_periodic_hann_matches_scipy():
    assert np.allclose(periodic_hann(400), scipy.signal.get_window("hann", 400, fftbins=True))


def test_stft_magnitude_of_a_sine_peaks_at_its_bin():
    sr, n_fft = 16000, 512
    t = np.arange(sr) / sr
    mag = stft_magnitude(np.sin(2 * np.pi * 1000 * t), 400, 160, n_fft)
    assert mag.shape == (1 + (sr - 400) // 160, n_fft // 2 + 1)
    assert int(np.argmax(mag[10])) == round(1000 * n_fft / sr)


def test_audio_problem():
    assert audio_problem(None) == "no audio"
    assert audio_problem(Audio(np.zeros(0), 8000)) == "empty audio"
    assert "NaN" in audio_problem(Audio(np.array([0.0, np.nan]), 8000))
    assert audio_problem(Audio(np.zeros(4), 8000)) is None
