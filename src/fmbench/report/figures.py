"""Pictures for the report: spectrogram images (palette PNG, no imaging library needed) and
RMS envelopes drawn as inline SVG.

Every spectrogram uses one fixed scale — the same log-frequency axis, the same dB range
(:data:`DB_FLOOR` to 0 dBFS) and pixels per second — so a generated render and its
reference can be compared by eye, and so can renders from different runs.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from html import escape

import numpy as np
import scipy.fft

#: lowest level shown (dB relative to a full-scale sine); quieter bins are black
DB_FLOOR = -90.0
#: lowest and highest frequency of the spectrogram's (logarithmic) frequency axis, Hz
F_MIN, F_MAX = 30.0, 16_000.0
#: image height in pixels (frequency rows) and horizontal pixels per second
SPEC_HEIGHT = 128
PIXELS_PER_SECOND = 40
N_FFT = 2048

# colour map: a perceptually ordered dark-to-bright ramp (anchors of matplotlib's magma)
_ANCHORS = np.array(
    [
        (0, 0, 4),
        (28, 16, 68),
        (79, 18, 123),
        (129, 37, 129),
        (181, 54, 122),
        (229, 80, 100),
        (251, 135, 97),
        (254, 194, 135),
        (252, 253, 191),
    ],
    dtype=np.float64,
)


def _palette() -> bytes:
    x = np.linspace(0, len(_ANCHORS) - 1, 256)
    cols = np.stack([np.interp(x, np.arange(len(_ANCHORS)), _ANCHORS[:, c]) for c in range(3)], 1)
    return np.rint(cols).astype(np.uint8).tobytes()


PALETTE = _palette()


def png_palette(indices: np.ndarray, palette: bytes = PALETTE) -> bytes:
    """Encode a 2-D ``uint8`` array of palette indices as an 8-bit palette PNG."""
    a = np.ascontiguousarray(indices, dtype=np.uint8)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"expected a non-empty 2-D index array, got shape {a.shape}")
    if len(palette) % 3 or not 3 <= len(palette) <= 768:
        raise ValueError("a PNG palette holds 1 to 256 RGB triples")
    h, w = a.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = np.empty((h, w + 1), dtype=np.uint8)
    raw[:, 0] = 0  # filter type "none" on every row
    raw[:, 1:] = a
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
        + chunk(b"PLTE", palette)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def _frames(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    n = 1 + (len(x) - n_fft) // hop
    return np.lib.stride_tricks.as_strided(
        x, shape=(n, n_fft), strides=(x.strides[0] * hop, x.strides[0]), writeable=False
    )


def _log_bands(sample_rate: int, n_fft: int, height: int) -> np.ndarray:
    """A (height, n_fft//2+1) matrix summing FFT bin powers into log-spaced bands (each
    row has at least one bin: low bands that fall between bins take the nearest one)."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    top = min(F_MAX, sample_rate / 2)
    edges = np.geomspace(F_MIN, top, height + 1)
    m = np.zeros((height, len(freqs)), dtype=np.float32)
    for i in range(height):
        sel = (freqs >= edges[i]) & (freqs < edges[i + 1])
        if not sel.any():
            sel = np.zeros(len(freqs), dtype=bool)
            sel[int(np.argmin(np.abs(freqs - math.sqrt(edges[i] * edges[i + 1]))))] = True
        m[i, sel] = 1.0
    return m[::-1]  # row 0 = the highest band (top of the image)


_BANDS: dict[tuple[int, int, int], np.ndarray] = {}


def spectrogram_indices(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Palette indices (``SPEC_HEIGHT`` × ~``PIXELS_PER_SECOND``·seconds) of a power
    spectrogram on the report's fixed scale (log frequency, :data:`DB_FLOOR`..0 dBFS)."""
    x = np.asarray(samples, dtype=np.float32)
    hop = max(1, int(round(sample_rate / PIXELS_PER_SECOND)))
    n_fft = N_FFT if sample_rate >= 32_000 else N_FFT // 2
    key = (sample_rate, n_fft, SPEC_HEIGHT)
    if key not in _BANDS:
        _BANDS[key] = _log_bands(sample_rate, n_fft, SPEC_HEIGHT)
    window = np.hanning(n_fft).astype(np.float32)
    # frame k is centred on sample k*hop: exactly ceil(seconds * PIXELS_PER_SECOND) columns
    n_cols = max(1, -(-len(x) // hop))
    x = np.pad(x, (n_fft // 2, n_fft // 2))
    frames = _frames(x, n_fft, hop)[:n_cols] * window
    power = np.abs(scipy.fft.rfft(frames, axis=1)) ** 2  # float32 in, float32 out
    # a full-scale sine puts (sum(window)/2)^2 times the window's noise bandwidth in
    # bins (1.5 for Hann) into its band: that is 0 dB
    ref = 1.5 * (window.sum() / 2.0) ** 2
    bands = power @ _BANDS[key].T  # (frames, height)
    db = 10.0 * np.log10(np.maximum(bands / ref, 1e-12))
    scaled = np.clip((db - DB_FLOOR) / -DB_FLOOR, 0.0, 1.0) * 255.0
    return np.rint(scaled.T).astype(np.uint8)


def spectrogram_png(samples: np.ndarray, sample_rate: int) -> bytes:
    """:func:`spectrogram_indices` encoded as a palette PNG."""
    return png_palette(spectrogram_indices(samples, sample_rate))


def colorbar_png(width: int = 256, height: int = 10) -> bytes:
    """The colour scale as a horizontal PNG (left = :data:`DB_FLOOR`, right = 0 dBFS)."""
    row = np.linspace(0, 255, width).round().astype(np.uint8)
    return png_palette(np.tile(row, (height, 1)))


def rms_envelope(samples: np.ndarray, sample_rate: int, points_per_second: int = 20) -> np.ndarray:
    """Frame RMS in dBFS (floored at :data:`DB_FLOOR`), ``points_per_second`` values per
    second of audio (non-overlapping frames)."""
    x = np.asarray(samples, dtype=np.float32)
    hop = max(1, sample_rate // points_per_second)
    n = max(1, len(x) // hop)
    x = x[: n * hop] if len(x) >= hop else np.pad(x, (0, hop - len(x)))
    rms = np.sqrt(np.mean(np.square(x.reshape(n, hop)), axis=1, dtype=np.float64))
    # a full-scale sine has RMS 1/sqrt(2): that is 0 dB
    return np.maximum(20.0 * np.log10(np.maximum(rms * math.sqrt(2.0), 1e-9)), DB_FLOOR)


def envelope_svg(
    curves: Sequence[tuple[str, np.ndarray, float, str]],
    *,
    width: int = 640,
    height: int = 160,
) -> str:
    """Overlaid RMS envelopes as an inline SVG.

    ``curves`` holds ``(label, envelope_db, seconds, css_class)``: each envelope spans
    ``seconds`` on a shared time axis (the longest curve's duration) and the dB axis runs
    from :data:`DB_FLOOR` to 0.
    """
    pad_l, pad_b, pad_t, pad_r = 34, 18, 6, 6
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    t_max = max((c[2] for c in curves), default=1.0) or 1.0
    parts = [
        f'<svg class="env" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="RMS envelopes">'
    ]
    for db in range(0, int(DB_FLOOR) - 1, -30):
        y = pad_t + h * (db / DB_FLOOR)
        parts.append(
            f'<line class="grid" x1="{pad_l}" x2="{pad_l + w}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{pad_l - 4}" y="{y + 4:.1f}" text-anchor="end">{db}</text>'
        )
    step = next((s for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0) if t_max / s <= 12), 60.0)
    t = 0.0
    while t <= t_max + 1e-9:
        x = pad_l + w * t / t_max
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{height - 4}" text-anchor="middle">'
            f"{round(t, 3):g}s</text>"
        )
        t += step
    for label, env, seconds, css in curves:
        if len(env) == 0:
            continue
        xs = pad_l + w * (np.arange(len(env)) + 0.5) / len(env) * (seconds / t_max)
        ys = pad_t + h * (np.asarray(env) / DB_FLOOR)
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True))
        parts.append(
            f'<polyline class="{escape(css)}" points="{pts}"><title>{escape(label)}</title>'
            "</polyline>"
        )
    parts.append("</svg>")
    return "".join(parts)
