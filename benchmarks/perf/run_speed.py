"""End-to-end speed of `fmbench run` on the default benchmark (weight-free metric set).

Measures, in one process, a cold run (empty cache: every render and embedding computed)
and a warm re-run (a new run directory, everything cached), and prints per-stage timings
and the ratio of each against the targets of issue 4 (cold < 60 s, warm < 3 s on a
2-core machine).

    python benchmarks/perf/run_speed.py [--generator retrieval] [--workers 2] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from fmbench.cache import Cache
from fmbench.executor import default_workers
from fmbench.run.runner import RunConfig, Runner

TARGETS = {"cold": 60.0, "warm": 3.0}


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
        # every cache (renders, embeddings, timbral features, envelopes) starts empty:
        # metrics use the $FMBENCH_CACHE root, so point it at the fresh folder
        os.environ["FMBENCH_CACHE"] = str(Path(tmp) / "cache")
        cache = Cache()
        print(f"default benchmark, generator {args.generator}, {args.workers} workers")
        for label, run_dir in (("cold", "run-cold"), ("warm", "run-warm")):
            seconds, timings = timed_run(config, Path(tmp) / run_dir, cache)
            target = TARGETS[label]
            print(
                f"{label:>5}: {seconds:7.2f} s  (target {target:.0f} s, ratio {seconds / target:.2f})"
                f"  stages: generate {timings['generate_s']:.2f} s, render {timings['render_s']:.2f} s,"
                f" score {timings['score_s']:.2f} s"
            )
            slow = sorted(timings["score_s_by_metric"].items(), key=lambda kv: -kv[1])[:4]
            print("       slowest metrics: " + ", ".join(f"{k} {v:.2f} s" for k, v in slow))


if __name__ == "__main__":
    main()
