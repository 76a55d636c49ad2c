"""Per-clip speed of the weight-free audio metrics vs librosa, measured in one process.

Usage: python benchmarks/perf/metrics_speed.py [--clips N]

Prints ms per 9.6 s 48 kHz clip for: the RMS envelope (ours vs librosa.feature.rms on
the same 44.1 kHz signal, resampling included for both), and the mfcc embedder (ours vs
librosa.feature.mfcc with comparable settings). Ratios > 1 mean ours is faster.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from fmbench_plugins.embeddings.features import LogMelEmbedder, MfccEmbedder
from fmbench_plugins.rms.envelope import rms_envelope

from fmbench.audio import Audio


def _best_ms(fn, clips, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for c in clips:
            fn(c)
        best = min(best, (time.perf_counter() - t) / len(clips))
    return best * 1e3


def main() -> None:
    """Run the measurements and print a small table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    args = parser.parse_args()
    import librosa

    rng = np.random.default_rng(0)
    n = 460_800
    t = np.arange(n) / 48_000
    clips = [
        Audio(
            (
                0.3 * np.sin(2 * np.pi * 110 * (i + 1) * t) * np.exp(-t)
                + 0.01 * rng.standard_normal(n)
            ).astype(np.float32),
            48_000,
        )
        for i in range(args.clips)
    ]
    rows = []
    ours = _best_ms(lambda a: rms_envelope(a.resample(44_100, quality="HQ").samples), clips)
    ref = _best_ms(
        lambda a: librosa.feature.rms(
            y=librosa.resample(a.samples, orig_sr=48_000, target_sr=44_100, res_type="soxr_hq")
        ),
        clips,
    )
    rows.append(("rms envelope (incl. resample)", ours, ref))
    ours = _best_ms(lambda a: rms_envelope(a.samples), clips)
    ref = _best_ms(lambda a: librosa.feature.rms(y=a.samples), clips)
    rows.append(("rms envelope (framing only)", ours, ref))
    mfcc, logmel = MfccEmbedder(), LogMelEmbedder()
    ours = _best_ms(mfcc.embed, clips)
    ref = _best_ms(
        lambda a: librosa.feature.mfcc(
            y=a.resample(16_000).samples,
            sr=16_000,
            n_mfcc=20,
            n_fft=512,
            win_length=400,
            hop_length=160,
            n_mels=40,
            fmin=20,
            fmax=8000,
            htk=True,
            center=False,
        ),
        clips,
    )
    rows.append(("mfcc embedder vs librosa.feature.mfcc", ours, ref))
    rows.append(("logmel embedder", _best_ms(logmel.embed, clips), float("nan")))
    print(f"{'what':42s} {'ours ms':>9s} {'librosa ms':>11s} {'ratio':>7s}")
    for name, a, b in rows:
        print(f"{name:42s} {a:9.2f} {b:11.2f} {b / a:7.2f}")


if __name__ == "__main__":
    main()
