"""Compare the ``dx7`` engine (each fidelity mode) with the ``dexed`` reference renderer.

Renders every voice of the shared DX7 banks (256 voices in ``../shared/data/dx7/syx``)
with ``dexed`` and with ``dx7`` in fidelity ``reference`` and, when the engine offers it,
``hardware``, all with the same :class:`~fmbench.render.RenderSettings` (48 kHz, note 60,
velocity 100, 6.4 s held + 3.2 s release). Each dx7 render is scored against the dexed
render of the same patch with:

- the RMS-envelope cosine (the project's ``rms`` metric; higher = closer), and
- the log-mel distance in dB (128 mels, level-normalised; lower = closer) — see
  :mod:`fmbench_dexed.compare` for the exact definitions.

Prints the distribution (median, quartiles, min, max) overall and per bank, the number of
voices where the hardware mode is closer than the reference mode, and the median time of
one dexed-py render (one core). Needs the ``fmbench-dexed`` plugin (GPL, a separate
distribution) and librosa.

    python benchmarks/perf/compare_renderers.py [--syx-dir DIR] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SYX = REPO / ".." / "shared" / "data" / "dx7" / "syx"


def load_voices(syx_dir: Path, limit: int | None) -> tuple[list, list[str], list[str]]:
    """(patches, labels, bank names) of every bank in ``syx_dir`` (``limit`` per bank)."""
    from fmbench.patch.syx import read_syx

    patches, labels, banks = [], [], []
    for path in sorted(syx_dir.glob("*.syx")):
        bank = read_syx(path)
        for i, voice in enumerate(bank.voices[:limit]):
            patches.append(voice.to_patch())
            labels.append(f"{path.stem}:{i + 1:02d} {voice.name.strip()}")
            banks.append(path.stem)
    if not patches:
        raise SystemExit(f"no .syx banks found in {syx_dir}")
    return patches, labels, banks


def dx7_renderers() -> dict[str, object]:
    """``dx7/reference`` and, when supported, ``dx7/hardware`` from the registry."""
    from fmbench.plugins import get_registry

    registry = get_registry()
    out: dict[str, object] = {}
    for fidelity in ("reference", "hardware"):
        try:
            out[f"dx7/{fidelity}"] = registry.create("renderer", "dx7", fidelity=fidelity)
        except Exception as exc:  # engine missing or mode not offered yet
            print(f"# dx7 fidelity={fidelity!r} unavailable: {exc}", file=sys.stderr)
    return out


def time_dexed_py(patches: list, settings) -> np.ndarray:
    """Milliseconds of dexed-py's own ``render`` per voice (conversion and loading excluded)."""
    import dexed
    from fmbench_dexed.convert import patch_to_vced

    synth = dexed.DexedSynth(sample_rate=float(settings.sample_rate))
    hold = settings.hold_frames * settings.block_size / settings.sample_rate
    total = settings.segment_samples / settings.sample_rate
    out = []
    for patch in patches:
        synth.load_patch(dexed.Patch.from_sysex(patch_to_vced(patch)))
        t = time.perf_counter()
        synth.render(settings.notes[0], settings.velocities[0], hold, total)
        out.append((time.perf_counter() - t) * 1000)
    return np.asarray(out)


def fmt(d: dict, digits: int = 3) -> str:
    """One distribution as a fixed-width row."""
    keys = ("median", "q1", "q3", "min", "max")
    return f"{d['n']:4d} " + " ".join(f"{d[k]:8.{digits}f}" for k in keys)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--syx-dir", type=Path, default=DEFAULT_SYX)
    ap.add_argument("--limit", type=int, default=None, help="voices per bank (default all)")
    ap.add_argument("--json", type=Path, default=None, help="write per-voice scores here")
    args = ap.parse_args(argv)

    from fmbench_dexed import DexedRenderer
    from fmbench_dexed.compare import compare, distribution

    from fmbench.render import RenderSettings

    patches, labels, banks = load_voices(args.syx_dir.resolve(), args.limit)
    candidates = dx7_renderers()
    if not candidates:
        print("no dx7 renderer available: nothing to compare", file=sys.stderr)
    settings = RenderSettings()
    dexed = DexedRenderer()
    print(f"# {len(patches)} voices from {args.syx_dir.resolve()}")
    print(f"# reference renderer: {dexed.identity}")
    for name, r in candidates.items():
        print(f"# {name}: {getattr(r, 'identity', '?')}")
    print(f"# settings: {settings.key}")

    t0 = time.perf_counter()

    def progress(i: int, n: int) -> None:
        if i % 32 == 0 or i == n:
            print(f"#   {i}/{n} voices, {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    result = compare(patches, candidates, dexed, settings, labels=labels, progress=progress)

    bank_names = sorted(set(banks), key=banks.index)
    header = f"{'':28s}{'n':>4s} {'median':>8s} {'q1':>8s} {'q3':>8s} {'min':>8s} {'max':>8s}"
    for metric, title in (
        ("cosine", "RMS-envelope cosine vs dexed (higher = closer)"),
        ("logmel", "log-mel distance vs dexed, dB, level-normalised (lower = closer)"),
    ):
        print(f"\n## {title}\n{header}")
        for name in candidates:
            print(f"{name + ' (all)':28s}{fmt(result.summary(metric, name))}")
        for bank in bank_names:
            subset = [i for i, b in enumerate(banks) if b == bank]
            for name in candidates:
                print(f"{name + ' ' + bank:28s}{fmt(result.summary(metric, name, subset))}")

    if {"dx7/reference", "dx7/hardware"} <= candidates.keys():
        cos_r = np.asarray(result.cosine["dx7/reference"])
        cos_h = np.asarray(result.cosine["dx7/hardware"])
        mel_r = np.asarray(result.logmel["dx7/reference"])
        mel_h = np.asarray(result.logmel["dx7/hardware"])
        print("\n## hardware vs reference mode (per voice)")
        print(f"cosine higher with hardware: {int(np.sum(cos_h > cos_r + 1e-9))}/{len(cos_r)}")
        print(f"cosine lower with hardware:  {int(np.sum(cos_h < cos_r - 1e-9))}/{len(cos_r)}")
        print(f"log-mel lower with hardware: {int(np.sum(mel_h < mel_r - 1e-9))}/{len(mel_r)}")
        print(f"log-mel higher with hardware: {int(np.sum(mel_h > mel_r + 1e-9))}/{len(mel_r)}")
        print(f"median log-mel change (hardware - reference): {np.median(mel_h - mel_r):+.3f} dB")

    for name in candidates:
        worst = np.argsort(result.logmel[name])[-5:][::-1]
        print(f"\n## {name}: largest log-mel distances")
        for i in worst:
            print(
                f"  {labels[i]:34s} {result.logmel[name][i]:7.2f} dB  cos {result.cosine[name][i]:.3f}"
            )

    print("\n## silent renders (peak below 1 LSB)")
    for name, flags in result.silent.items():
        print(f"{name:28s}{sum(flags)}/{len(flags)}")
    print("\n## render time per 9.6 s voice, this process (one core)")
    for name, secs in result.seconds.items():
        d = distribution(np.asarray(secs) * 1000)
        print(f"{name:28s}median {d['median']:8.1f} ms  (q1 {d['q1']:.1f}, q3 {d['q3']:.1f})")

    raw_ms = time_dexed_py(patches, settings)
    d = distribution(raw_ms)
    print(
        f"{'dexed-py synth.render only':28s}median {d['median']:8.1f} ms  "
        f"(q1 {d['q1']:.1f}, q3 {d['q3']:.1f}; mean {np.mean(raw_ms):.1f})"
    )

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "labels": labels,
                    "banks": banks,
                    "cosine": result.cosine,
                    "logmel": result.logmel,
                    "silent": result.silent,
                    "seconds": result.seconds,
                    "identities": {
                        "dexed": dexed.identity,
                        **{k: getattr(v, "identity", "?") for k, v in candidates.items()},
                    },
                },
                indent=1,
            )
        )
        print(f"\n# per-voice scores written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
