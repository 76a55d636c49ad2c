"""Render speed of the ``dx7`` engine (both sine modes) against dexed-py, in the same run.

Per voice of the shared DX7 banks (``../shared/data/dx7/syx``): one 9.6 s render (default
render settings) with ``DX7Renderer(sine="exact")``, ``DX7Renderer(sine="fast")`` and dexed-py
(C++, if installed), interleaved voice by voice so that machine load affects all alike, each
the best of ``--repeat`` runs, timed as CPU time of this process (``time.process_time``:
insensitive to time spent descheduled on a shared machine) and as wall time. Printed: the
median ms per render over the voices (one core), p10/p90, the ratio to dexed-py, the same
split into voices whose feedback is ≥ 5 (the exact mode's libm stretch) and the rest; then
the scaling with 1 vs ``--workers`` processes of :func:`fmbench.render.render_batch` (the
audio comes back to this process) and of the same renders with only a sample count coming
back ("engine only"): wall time including the fork of the warm process, CPU time per voice
of this process and its workers, and the load average (on a shared machine the wall-clock
speed-up is bounded by the cores actually free).

    python benchmarks/perf/render_speed.py [--syx-dir DIR] [--limit N] [--repeat R]
        [--fidelity reference|hardware] [--workers 2] [--batch 64]

Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
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


def _best(fn, repeat: int) -> tuple[float, float]:
    """(best CPU ms, best wall ms) of ``repeat`` calls."""
    cpu = wall = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        c1, w1 = time.process_time(), time.perf_counter()
        cpu, wall = min(cpu, 1e3 * (c1 - c0)), min(wall, 1e3 * (w1 - w0))
    return cpu, wall


def _render_len(renderer, settings, patch) -> int:
    """Render in the worker and send back only the sample count (no audio transfer)."""
    return len(renderer.render(patch, settings))


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _q(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print per-engine medians, ratios and batch scaling."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--syx-dir", type=Path, default=DEFAULT_SYX)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="runs per voice and engine (best)")
    ap.add_argument("--fidelity", default="reference")
    ap.add_argument("--workers", type=int, default=2, help="0 or 1 = skip the scaling run")
    ap.add_argument("--batch", type=int, default=64, help="voices in the batch scaling run")
    args = ap.parse_args(argv)

    from fmbench_plugins.dx7.renderer import DX7Renderer

    from fmbench.render import RenderSettings

    items = _load(args.syx_dir, args.limit)
    if not items:
        print(f"no .syx voices under {args.syx_dir}", file=sys.stderr)
        return 1
    settings = RenderSettings()
    modes = ("exact", "fast")
    ours = {m: DX7Renderer(fidelity=args.fidelity, sine=m) for m in modes}
    t0 = time.perf_counter()
    for r in ours.values():
        r.render(items[0][2], settings)  # JIT compile / cache load
    print(f"first renders (numba compile or cache load): {time.perf_counter() - t0:.2f} s")
    dexed_render = _dexed_renderer()

    cpu: dict[str, list[float]] = {m: [] for m in (*modes, "dexed")}
    wall: dict[str, list[float]] = {m: [] for m in (*modes, "dexed")}
    chaotic: list[bool] = []
    for path, index, patch in items:
        chaotic.append(patch.feedback >= 5)
        for m in modes:
            c, w = _best(partial(ours[m].render, patch, settings), args.repeat)
            cpu[m].append(c)
            wall[m].append(w)
        if dexed_render is not None:
            c, w = _best(partial(dexed_render, path, index), args.repeat)
            cpu["dexed"].append(c)
            wall["dexed"].append(w)

    print(
        f"voices: {len(items)} ({args.fidelity} fidelity, 9.6 s @ 48 kHz, one core, best of "
        f"{args.repeat} per voice; load average {os.getloadavg()[0]:.2f})"
    )
    names = {"exact": "dx7 sine=exact", "fast": "dx7 sine=fast", "dexed": "dexed-py"}
    print(f"{'':16}{'cpu median':>11}{'p10':>7}{'p90':>7}{'wall median':>13}{'vs dexed':>10}")
    have_dexed = bool(cpu["dexed"])
    for m in (*modes, "dexed") if have_dexed else modes:
        med = statistics.median(cpu[m])
        ratio = f"{med / statistics.median(cpu['dexed']):9.2f}x" if have_dexed else ""
        print(
            f"{names[m]:16}{med:8.2f} ms{_q(cpu[m], 0.1):7.2f}{_q(cpu[m], 0.9):7.2f}"
            f"{statistics.median(wall[m]):10.2f} ms{ratio}"
        )
    if not have_dexed:
        print("dexed-py not installed: no reference timing")
    else:
        for m in modes:
            per_voice = [a / b for a, b in zip(cpu[m], cpu["dexed"], strict=True)]
            groups = []
            for label, want in (("feedback >= 5", True), ("feedback <= 4", False)):
                sel = [r for r, c in zip(per_voice, chaotic, strict=True) if c == want]
                if sel:
                    groups.append(f"{label} ({len(sel)}): {statistics.median(sel):.2f}x")
            print(
                f"{names[m]}: median of per-voice cpu ratios {statistics.median(per_voice):.2f}x"
                f"; {'; '.join(groups)}"
            )

    if args.workers > 1:
        from fmbench.executor import LocalExecutor
        from fmbench.render import render_batch

        patches = [p for _, _, p in items[: args.batch]]
        for m in modes:
            for what in ("render_batch", "engine only"):
                wall_s, cpu_s = {}, {}
                for w in (1, args.workers):
                    # pool start-up (fork of this warm process) included; CPU = this
                    # process + its terminated workers
                    ex = LocalExecutor(w)
                    c0 = time.process_time() + _children_cpu()
                    t = time.perf_counter()
                    try:
                        if what == "render_batch":
                            results = render_batch(patches, settings, renderer=ours[m], executor=ex)
                        else:  # the same renders, only a sample count comes back
                            job = partial(_render_len, ours[m], settings)
                            results = ex.map(job, patches, chunksize=4)
                        for _ in results:
                            pass
                        wall_s[w] = time.perf_counter() - t
                    finally:
                        ex.close()
                    cpu_s[w] = time.process_time() + _children_cpu() - c0
                per = ", ".join(
                    f"{w} worker{'s' if w > 1 else ''}: wall {wall_s[w]:.2f} s, "
                    f"cpu {1e3 * cpu_s[w] / len(patches):.1f} ms/voice"
                    for w in wall_s
                )
                print(
                    f"{what:12} {names[m]} ({len(patches)} voices) {per}; wall speed-up "
                    f"{wall_s[1] / wall_s[args.workers]:.2f}x (load average "
                    f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
