"""How far ``DX7Renderer(sine="fast")`` is from the default ``sine="exact"``.

Renders every voice of the shared DX7 banks (``../shared/data/dx7/syx``) and the golden
specs A/B/C (docs/renderer.md#golden-values) with both sine modes (default render
settings, int16) and prints: how many voices are bit-identical; for the others the maximum
int16 difference, the fraction of differing samples, the RMS-envelope cosine
(``fmbench_plugins.rms.envelope``) and, with librosa, the log-mel distance of
``fmbench_dexed.compare`` (dB); the golden statistics of both modes. What
docs/renderer.md#sine-modes says about the two modes comes from this script.

    python benchmarks/perf/dx7_sine_modes.py [--syx-dir DIR] [--limit N] [--fidelity F]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

DEFAULT_SYX = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "dx7" / "syx"
SPECS = Path(__file__).resolve().parents[2] / "plugins" / "fmbench_plugins.dx7" / "tests"


def _envelope(x: np.ndarray):
    from fmbench_plugins.rms.envelope import rms_envelope

    from fmbench.audio import Audio

    return rms_envelope(Audio.from_int16(x, 48_000).resample(44_100, quality="HQ").samples)


def _q(xs, p):
    return float(np.quantile(np.asarray(xs, dtype=np.float64), p)) if len(xs) else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Compare the two sine modes and print the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--syx-dir", type=Path, default=DEFAULT_SYX)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--fidelity", default="reference")
    args = ap.parse_args(argv)

    from fmbench_plugins.dx7.renderer import DX7Renderer
    from fmbench_plugins.rms.envelope import envelope_cosine

    from fmbench.patch.syx import read_syx
    from fmbench.render import RenderSettings

    try:
        from fmbench_dexed.compare import log_mel_distance
    except ImportError:  # pragma: no cover - optional
        log_mel_distance = None
    settings = RenderSettings()
    exact = DX7Renderer(args.fidelity, sine="exact")
    fast = DX7Renderer(args.fidelity, sine="fast")

    voices = []
    for path in sorted(args.syx_dir.glob("*.syx")):
        for i, patch in enumerate(read_syx(path).to_patches()):
            voices.append((f"{path.stem}:{i + 1:02d}", patch))
    voices = voices[: args.limit] if args.limit else voices
    if not voices:
        print(f"no .syx voices under {args.syx_dir}", file=sys.stderr)
        return 1

    same = {"fb<=4": 0, "fb>=5": 0}
    count = {"fb<=4": 0, "fb>=5": 0}
    rows = []
    for label, patch in voices:
        group = "fb>=5" if patch.feedback >= 5 else "fb<=4"
        count[group] += 1
        a = exact.render_int16(patch, settings).astype(np.int64)
        b = fast.render_int16(patch, settings).astype(np.int64)
        d = np.abs(a - b)
        if not d.any():
            same[group] += 1
            continue
        cos = envelope_cosine(_envelope(a.astype(np.int16)), _envelope(b.astype(np.int16)))
        lm = (
            log_mel_distance(a / 32768.0, b / 32768.0, 48_000)
            if log_mel_distance is not None
            else float("nan")
        )
        rows.append((label, group, int(d.max()), float(np.mean(d > 0)), cos, lm))

    print(f"{len(voices)} voices ({args.fidelity} fidelity, 9.6 s @ 48 kHz, int16)")
    for g in ("fb<=4", "fb>=5"):
        print(f"  feedback {g[2:]}: {same[g]} of {count[g]} bit-identical in both sine modes")
    if rows:
        maxd = [r[2] for r in rows]
        frac = [r[3] for r in rows]
        cos = [r[4] for r in rows]
        lm = [r[5] for r in rows]
        print(f"  {len(rows)} voices differ:")
        print(
            f"    max |int16 diff|     median {_q(maxd, 0.5):8.0f}   max {max(maxd):8d}"
            f"   (full scale 32767)"
        )
        print(
            f"    differing samples    median {_q(frac, 0.5):8.1%}   min {min(frac):8.1%}"
            f"   max {max(frac):8.1%}"
        )
        print(
            f"    RMS-envelope cosine  median {_q(cos, 0.5):8.5f}   p10 {_q(cos, 0.1):8.5f}"
            f"   min {min(cos):8.5f}"
        )
        print(
            f"    log-mel distance dB  median {_q(lm, 0.5):8.3f}   p90 {_q(lm, 0.9):8.3f}"
            f"   max {max(lm):8.3f}"
        )
        print(f"  all {len(voices)} voices: RMS-envelope cosine min {min(cos):.5f}")
        worst = sorted(rows, key=lambda r: r[4])[:5]
        print("  lowest cosines: " + ", ".join(f"{r[0]} {r[4]:.4f}" for r in worst))

    sys.path.insert(0, str(SPECS))
    from _dx7_specs import spec_a, spec_b, spec_c

    print("golden specs A/B/C (peak, RMS, first samples):")
    for name, patch in (("A", spec_a()), ("B", spec_b()), ("C", spec_c())):
        for mode, r in (("exact", exact), ("fast", fast)):
            x = r.render_int16(patch, settings).astype(np.int64)
            rms = float(np.sqrt(np.mean(x.astype(float) ** 2)))
            print(f"  {name} {mode:5}: peak {np.abs(x).max():5d}  RMS {rms:8.2f}  {x[:6].tolist()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
