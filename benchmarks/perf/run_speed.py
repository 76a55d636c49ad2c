"""End-to-end speed of `fmbench run` on the default benchmark (weight-free metric set).

Measures, in one process: the reference, a cold run with nothing to reuse (empty cache,
the package's shipped reference layer ignored: both sides computed); a cold run as a new
user has it (empty cache, shipped reference layer: only the generated side computed); and
a warm re-run (a new run directory, everything cached). A 2-item run before them pays
numba's compilation into an empty JIT cache and is printed apart (a cold CLI process pays
it too). Prints per-stage timings, each
run's ratio against the reference, and against the targets (cold ≤ 30 s, warm ≤ 1.5 s
on a 2-core machine).

    python benchmarks/perf/run_speed.py [--generator retrieval] [--workers 2] [--limit N]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import tempfile
import time
from pathlib import Path

from fmbench.cache import Cache, shipped_layer_off
from fmbench.executor import default_workers
from fmbench.run.runner import RunConfig, Runner

TARGETS = {"cold-nothing-shipped": 30.0, "cold": 30.0, "warm": 1.5}


def timed_run(config: RunConfig, run_dir: Path, cache: Cache) -> tuple[float, dict]:
    t0 = time.perf_counter()
    result = Runner(config, run_dir=run_dir, cache=cache).run()
    return time.perf_counter() - t0, result.summary.to_dict()["timings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default="retrieval")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--limit", type=int)
    parser.add_argument("--metrics", help="comma-separated specs (default: the benchmark's)")
    args = parser.parse_args()
    config = RunConfig(
        benchmark="default",
        generator=args.generator,
        workers=args.workers,
        limit=args.limit,
        metrics=tuple(args.metrics.split(",")) if args.metrics else None,
    )
    with tempfile.TemporaryDirectory() as tmp:
        print(f"default benchmark, generator {args.generator}, {args.workers} workers, "
              f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
        #: each cold run starts from its own empty cache folder; the warm run reuses the
        #: folder of the cold run before it
        folders = {"cold-nothing-shipped": "cache-a", "cold": "cache-b", "warm": "cache-b"}
        # first, what only a process's first run pays: numba compiling the renderer's and
        # the metrics' kernels into an empty JIT cache (two items, a cache of its own)
        os.environ["FMBENCH_CACHE"] = str(Path(tmp) / "cache-jit")
        jit = dataclasses.replace(config, limit=2)
        seconds, _ = timed_run(jit, Path(tmp) / "run-jit", Cache())
        print(f"{'JIT compile (2 items)':>20}: {seconds:7.2f} s  (not in the figures below)")
        reference = None
        for label, folder in folders.items():
            # metrics use the $FMBENCH_CACHE root, so point it at the run's folder
            os.environ["FMBENCH_CACHE"] = str(Path(tmp) / folder)
            off = label == "cold-nothing-shipped"
            with shipped_layer_off() if off else contextlib.nullcontext():
                seconds, timings = timed_run(config, Path(tmp) / f"run-{label}", Cache())
            reference = reference or seconds
            target = TARGETS[label]
            print(
                f"{label:>20}: {seconds:7.2f} s  (× reference {seconds / reference:.2f}, "
                f"target {target:g} s, ratio {seconds / target:.2f})"
                f"  stages: generate {timings['generate_s']:.2f} s, render {timings['render_s']:.2f} s,"
                f" score {timings['score_s']:.2f} s"
            )
            slow = sorted(timings["score_s_by_metric"].items(), key=lambda kv: -kv[1])[:4]
            print("       slowest metrics: " + ", ".join(f"{k} {v:.2f} s" for k, v in slow))
        print(f"load at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
