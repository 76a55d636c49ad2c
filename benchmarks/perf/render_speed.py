"""Render speed of the ``dx7`` engine against dexed-py, measured in the same run.

Median milliseconds per 9.6 s render (spec §2.2 settings) on one core over the voices of
the shared DX7 banks (``../shared/data/dx7/syx``), dexed-py (C++, if installed) timed on
the same voices, interleaved voice by voice so machine load affects both alike; then the
ratio. Optionally the scaling of :func:`fmbench.render.render_batch` with 1 vs N workers.

    python benchmarks/perf/render_speed.py [--syx-dir DIR] [--limit N] [--repeat R]
        [--fidelity reference|hardware] [--workers 2] [--batch 64]

Not a test: numbers depend on the machine. Report medians of a few runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

DEFAULT_SYX = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "dx7" / "syx"


def _load(syx_dir: Path, limit: int | None):
    from fmbench.patch.syx import read_syx

    items = []
    for path in sorted(syx_dir.glob("*.syx")):
        bank = read_syx(path)
        for i, patch in enumerate(bank.to_patches()):
            items.append((path, i, patch))
    return items[:limit] if limit else items


def _dexed_renderer():
    try:
        import dexed
    except ImportError:
        return None
    synth = dexed.DexedSynth(sample_rate=48000)
    banks: dict[Path, list] = {}

    def render(path: Path, index: int) -> None:
        if path not in banks:
            banks[path] = dexed.Patch.load_bank(str(path))
        synth.load_patch(banks[path][index])
        synth.render(midi_note=60, velocity=100, note_duration=6.4, render_duration=9.6)

    return render


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print per-engine medians, the ratio and batch scaling."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--syx-dir", type=Path, default=DEFAULT_SYX)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=1, help="timed renders per voice (median)")
    ap.add_argument("--fidelity", default="reference")
    ap.add_argument("--workers", type=int, default=2, help="0 = skip the batch scaling run")
    ap.add_argument("--batch", type=int, default=64, help="voices in the batch scaling run")
    args = ap.parse_args(argv)

    from fmbench_dx7.renderer import DX7Renderer

    from fmbench.render import RenderSettings

    items = _load(args.syx_dir, args.limit)
    if not items:
        print(f"no .syx voices under {args.syx_dir}", file=sys.stderr)
        return 1
    settings = RenderSettings()
    ours = DX7Renderer(fidelity=args.fidelity)
    t0 = time.perf_counter()
    ours.render(items[0][2], settings)  # JIT compile / cache load
    print(f"first render (numba compile or cache load): {1e3 * (time.perf_counter() - t0):.0f} ms")
    dexed_render = _dexed_renderer()

    ours_ms: list[float] = []
    dexed_ms: list[float] = []
    for path, index, patch in items:
        a, b = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            ours.render(patch, settings)
            a.append(1e3 * (time.perf_counter() - t))
            if dexed_render is not None:
                t = time.perf_counter()
                dexed_render(path, index)
                b.append(1e3 * (time.perf_counter() - t))
        ours_ms.append(statistics.median(a))
        if b:
            dexed_ms.append(statistics.median(b))

    def q(xs: list[float], p: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]

    print(f"voices: {len(items)}  ({args.fidelity} fidelity, 9.6 s @ 48 kHz, one core)")
    print(
        f"dx7 (ours):  median {statistics.median(ours_ms):7.2f} ms   p10 {q(ours_ms, 0.1):6.2f}"
        f"   p90 {q(ours_ms, 0.9):6.2f}   total {sum(ours_ms) / 1e3:.2f} s"
    )
    if dexed_ms:
        print(
            f"dexed-py:    median {statistics.median(dexed_ms):7.2f} ms   p10 "
            f"{q(dexed_ms, 0.1):6.2f}   p90 {q(dexed_ms, 0.9):6.2f}   total "
            f"{sum(dexed_ms) / 1e3:.2f} s"
        )
        ratio = statistics.median(ours_ms) / statistics.median(dexed_ms)
        per_voice = statistics.median(a / b for a, b in zip(ours_ms, dexed_ms, strict=True))
        print(f"ratio ours/dexed: {ratio:.2f}x (median of per-voice ratios {per_voice:.2f}x)")
    else:
        print("dexed-py not installed: no reference timing")

    if args.workers > 1:
        from fmbench.render import render_batch

        patches = [p for _, _, p in items[: args.batch]]
        times = {}
        for w in (1, args.workers):
            t = time.perf_counter()
            for _ in render_batch(patches, settings, renderer=ours, workers=w):
                pass
            times[w] = time.perf_counter() - t
            print(
                f"render_batch workers={w}: {times[w]:.2f} s for {len(patches)} voices "
                f"({1e3 * times[w] / len(patches):.1f} ms/voice)"
            )
        print(f"speed-up with {args.workers} workers: {times[1] / times[args.workers]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
