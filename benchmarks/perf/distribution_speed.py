"""FAD and KAD speed at embedding sizes, against references measured in the same process.

Usage: python benchmarks/perf/distribution_speed.py [--fad-rows 100] [--kad-rows 1000] [--dim 1295]

FAD: our row form (``frechet_distance_rows``, the N×N problem when N < d) vs our d×d
form and vs scipy's ``sqrtm`` formula (frechet-audio-distance's), on the same data.
KAD: ``kernel_audio_distance_bandwidth`` (bandwidth from the reference rows) vs a plain
implementation with four general distance products (the previous code's structure).
Prints CPU seconds (process time, all threads) and wall seconds, best of a few repeats;
ratios > 1 mean ours is faster. The machine load is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from fmbench_plugins.embeddings.distribution import (
    frechet_distance,
    frechet_distance_rows,
    gaussian_stats,
    kernel_audio_distance_bandwidth,
)


def _best(fn, repeat: int) -> tuple[float, float, object]:
    cpu = wall = float("inf")
    value = None
    for _ in range(repeat):
        t, w = time.process_time(), time.perf_counter()
        value = fn()
        cpu, wall = min(cpu, time.process_time() - t), min(wall, time.perf_counter() - w)
    return cpu, wall, value


def _scipy_fad(x: np.ndarray, y: np.ndarray) -> float:
    from scipy import linalg

    mu1, s1 = gaussian_stats(x)
    mu2, s2 = gaussian_stats(y)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _plain_kad(x: np.ndarray, y: np.ndarray) -> float:
    def sq(a, b):
        return np.clip((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0, None)

    d = np.sqrt(sq(x, x)[np.triu_indices(len(x), 1)])
    h = float(np.partition(d, (len(d) - 1) // 2)[(len(d) - 1) // 2])
    g = 1.0 / (2 * h * h + 1e-8)
    m, n = len(x), len(y)
    kxx = (np.exp(-g * sq(x, x)).sum() - m) / (m * (m - 1))
    kyy = (np.exp(-g * sq(y, y)).sum() - n) / (n * (n - 1))
    return 100 * (kxx + kyy - 2 * np.exp(-g * sq(x, y)).mean())


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fad-rows", type=int, default=100)
    parser.add_argument("--kad-rows", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=1295)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    d = args.dim
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    print(f"load average at start: {os.getloadavg()}")

    x = rng.standard_normal((args.fad_rows, d)) @ mix
    y = 0.1 + 1.2 * rng.standard_normal((args.fad_rows, d)) @ mix
    rows = _best(lambda: frechet_distance_rows(x, y), 5)
    dxd = _best(lambda: frechet_distance(*gaussian_stats(x), *gaussian_stats(y)), 2)
    ref = _best(lambda: _scipy_fad(x, y), 1)
    print(f"FAD N={args.fad_rows} d={d}  (CPU s / wall s / value)")
    for label, r in (("row form", rows), ("d×d form", dxd), ("scipy sqrtm", ref)):
        print(f"  {label:12s} {r[0]:8.4f} {r[1]:8.4f}  {r[2]:.10g}")
    print(
        f"  row form vs scipy: {ref[0] / rows[0]:.0f}x CPU, rel diff {abs(rows[2] / ref[2] - 1):.1e}"
    )
    print(
        f"  row form vs d×d:   {dxd[0] / rows[0]:.0f}x CPU, rel diff {abs(rows[2] / dxd[2] - 1):.1e}"
    )

    x = rng.standard_normal((args.kad_rows, d)) @ mix
    y = 0.05 + rng.standard_normal((args.kad_rows, d)) @ mix
    ours = _best(lambda: kernel_audio_distance_bandwidth(x, y, "reference")[0], 3)
    plain = _best(lambda: _plain_kad(x, y), 2)
    print(f"KAD N={args.kad_rows} per side, d={d}, bandwidth from the reference rows")
    for label, r in (("ours", ours), ("plain", plain)):
        print(f"  {label:12s} {r[0]:8.4f} {r[1]:8.4f}  {r[2]:.10g}")
    print(
        f"  ours vs plain: {plain[0] / ours[0]:.2f}x CPU, rel diff {abs(ours[2] / plain[2] - 1):.1e}"
    )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
