"""timbral-models vs timbral-fast: speed (default) or per-attribute agreement (--agreement).

Renders the shared DX7 voices (``../shared/data/dx7/syx``; 256 voices) with a registered
renderer (``dx7`` by default; 48 kHz, note 60, velocity 100, 9.6 s) and runs both
extractors in this process:

- speed: seconds per clip of each over the first ``--n`` clips (after one warm-up call
  each, which pays numba compilation and librosa caches), and the ratio;
- ``--agreement``: per attribute, the median and maximum absolute difference (0–100
  scale; reverb: number of differing 0/1 decisions) over ``--limit`` voices (all by
  default: ~20–30 min, timbral-models dominates). ``--ref-cache FILE`` keeps the
  timbral-models values in a JSON file (per voice, with a hash of its audio, so a changed
  renderer recomputes them) and an interrupted sweep resumes.

    python benchmarks/perf/timbral_speed.py [--n 8] [--renderer dx7]
    python benchmarks/perf/timbral_speed.py --agreement [--limit N] [--ref-cache F]

Needs timbral-models (``pip install --no-deps timbral-models==0.4.0 six pyloudnorm``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SYX = REPO / ".." / "shared" / "data" / "dx7" / "syx"
#: the largest |timbral-fast − timbral-models| accepted per attribute (0–100 scale)
TOLERANCE = 1e-4


def render_voices(syx_dir: Path, renderer: str, limit: int | None):
    """(labels, audios) for the voices of every bank in ``syx_dir``."""
    from fmbench.patch.syx import read_syx
    from fmbench.plugins import get_registry
    from fmbench.render import RenderSettings

    r = get_registry().create("renderer", renderer)
    settings = RenderSettings()
    labels, audios = [], []
    for path in sorted(syx_dir.glob("*.syx")):
        for i, voice in enumerate(read_syx(path)):
            if limit is not None and len(labels) >= limit:
                return labels, audios
            labels.append(f"{path.name}:{i}")
            audios.append(r.render(voice.to_patch(), settings))
    return labels, audios


def _models(audio) -> dict[str, float]:
    from fmbench_plugins.timbral.metric import _models_extract

    return _models_extract(audio.samples.astype(np.float64), audio.sample_rate)


def _fast(audio) -> dict[str, float]:
    from fmbench_plugins.timbral.audiocommons import extract

    return extract(audio.samples.astype(np.float64), audio.sample_rate)


def speed(audios) -> None:
    """Print per-clip wall and CPU seconds of both extractors and their ratio (one BLAS
    thread, as in fmbench's worker processes)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        _models(audios[0]), _fast(audios[0])  # warm-up
        wall: dict[str, list[float]] = {"timbral-models": [], "timbral-fast": []}
        cpu: dict[str, list[float]] = {"timbral-models": [], "timbral-fast": []}
        for a in audios:
            for name, fn in (("timbral-models", _models), ("timbral-fast", _fast)):
                t0, c0 = time.perf_counter(), time.process_time()
                fn(a)
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
    for name in wall:
        print(
            f"{name:15s} {np.median(wall[name]):7.3f} s/clip wall, "
            f"{np.median(cpu[name]):7.3f} s/clip CPU (medians of {len(wall[name])})"
        )
    ratio = np.median(cpu["timbral-models"]) / np.median(cpu["timbral-fast"])
    print(f"speed-up (CPU, median/median): {ratio:.1f}x; load {os.getloadavg()[0]:.1f}")


def agreement(labels, audios, ref_cache: Path | None) -> int:
    """Print per-attribute |fast − models| statistics; returns 1 if outside tolerance."""
    from fmbench_plugins.timbral.metric import KEYS

    ref: dict[str, dict] = {}
    if ref_cache and ref_cache.exists():
        ref = json.loads(ref_cache.read_text())
    diffs, errors = [], []
    for n, (label, audio) in enumerate(zip(labels, audios, strict=True)):
        # keyed by voice and audio content: a changed renderer invalidates the entry
        digest = hashlib.sha256(np.ascontiguousarray(audio.samples).tobytes()).hexdigest()[:16]
        if ref.get(label, {}).get("sha") != digest:
            try:
                ref[label] = {"vals": _models(audio), "err": None, "sha": digest}
            except Exception as exc:  # noqa: BLE001
                ref[label] = {"vals": None, "err": repr(exc), "sha": digest}
            if ref_cache and n % 8 == 0:
                ref_cache.write_text(json.dumps(ref))
        try:
            fast, ferr = _fast(audio), None
        except Exception as exc:  # noqa: BLE001
            fast, ferr = None, repr(exc)
        rv = ref[label]["vals"]
        if rv is None or fast is None:
            errors.append((label, ref[label]["err"], ferr))
            continue
        diffs.append([fast[k] - rv[k] for k in KEYS])
    if ref_cache:
        ref_cache.write_text(json.dumps(ref))
    d = np.abs(np.array(diffs))
    print(f"{len(diffs)} clips compared; {len(errors)} with an extractor error")
    for label, e_ref, e_fast in errors:
        print(f"  {label}: timbral-models: {e_ref}; timbral-fast: {e_fast}")
    print(f"{'attribute':12s} {'median':>9s} {'max':>9s}")
    for j, k in enumerate(KEYS):
        if k == "reverb":
            print(f"{k:12s} {int((d[:, j] > 0).sum()):>9d} differing decisions")
        else:
            print(f"{k:12s} {np.median(d[:, j]):9.1e} {d[:, j].max():9.1e}")
    bad = d[:, :7].max() > TOLERANCE or d[:, 7].any()
    bad = bad or any((e_ref is None) != (e_fast is None) for _, e_ref, e_fast in errors)
    print(f"within tolerance (every attribute within {TOLERANCE:g}, same reverb):", not bad)
    return int(bad)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agreement", action="store_true")
    p.add_argument("--n", type=int, default=8, help="clips for the speed run")
    p.add_argument("--limit", type=int, default=None, help="voices for --agreement")
    p.add_argument("--renderer", default="dx7")
    p.add_argument("--syx-dir", type=Path, default=DEFAULT_SYX)
    p.add_argument("--ref-cache", type=Path, default=None)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    limit = args.limit if args.agreement else args.n
    t0 = time.perf_counter()
    labels, audios = render_voices(args.syx_dir, args.renderer, limit)
    print(
        f"rendered {len(audios)} voices with {args.renderer!r} in {time.perf_counter() - t0:.1f} s"
    )
    if args.agreement:
        return agreement(labels, audios, args.ref_cache)
    speed(audios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
